"""`SeedreamGallery` and its lightbox in real Chromium: JupyterLab (light and dark theme), Notebook 7 and Voila.

In each: the grid shows the newest page, the search box filters it, a click opens the lightbox on the
full image (sent over the comm), ← → move across images, ↑ ↓ across runs, Escape closes; the notebook
keeps its cell selection (the keys stay in the widget). In JupyterLab the text contrast is measured in
both themes and screenshots go to /work/shots/ (gallery-light.png, gallery-dark.png, lightbox-light.png,
lightbox-dark.png), also to tests/artifacts/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _stored_runs import write_runs

from .conftest import SENTINEL_API_TOKEN, JupyterLab, LabPage

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SEEDREAM_SHOTS", "/work/shots"))
FOLDER = "gallery-outputs"
CELLS = ["from seedream_widgets import SeedreamGallery\n"
         f"gallery = SeedreamGallery({FOLDER!r}, page_size=12)\n"
         "gallery"]
RUNS = 30  # 28 single images, then the 2 newest with 2 images each

# The contrast of a text element against the first opaque background behind it (WCAG relative luminance).
CONTRAST = """(element) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = element, back = null;
  while (node && node.nodeType === 1) {
    const bg = parse(getComputedStyle(node).backgroundColor);
    if (bg.length >= 3 && (bg.length < 4 || bg[3] > 0.95)) { back = bg.slice(0, 3); break; }
    node = node.parentElement;
  }
  back = back || [255, 255, 255];
  const fg = parse(getComputedStyle(element).color);
  const a = fg.length > 3 ? fg[3] : 1;
  const text = [0, 1, 2].map((i) => fg[i] * a + back[i] * (1 - a));
  const [hi, lo] = [lum(text), lum(back)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}"""


@pytest.fixture(scope="module")
def stored_runs(jupyter_lab: JupyterLab) -> Path:
    """Real-layout runs in the lab's root (the kernels start there)."""
    root = jupyter_lab.root / FOLDER
    shutil.rmtree(root, ignore_errors=True)
    now = datetime.now(timezone.utc)
    write_runs(root, RUNS - 2, days=20, px=512, end=now - timedelta(days=2))
    write_runs(root, 2, days=1, images=2, px=512, end=now, seed=18)
    # The newest run becomes an edit of the oldest run's image, as "use as input" makes it: the sidecar keeps the
    # input as type, size and hash of its data URI (gallery.redact_input).
    sidecars = sorted(root.glob("*/*/prediction.json"), key=lambda p: json.loads(p.read_text())["saved_at"])
    source = sidecars[0].parent / "1.jpg"
    text = base64.b64encode(source.read_bytes())
    edit = json.loads(sidecars[-1].read_text())
    edit["input"]["image_input"] = [f"data:image/jpeg;sha256={hashlib.sha256(text).hexdigest()[:16]};"
                                    f"bytes={len(text) * 3 // 4}"]
    sidecars[-1].write_text(json.dumps(edit))
    return root


def _wait_for_grid(page: Any, scope: str = "") -> None:
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{scope} .sdw-gallery .sdw-cell img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 12", timeout=90_000)


def _counter(page: Any) -> str:
    return str(page.locator(".sdw-lightbox .sdw-lb-counter").inner_text())


def _exercise(page: Any, shots: str = "") -> None:
    """The grid, a search, the lightbox with keys, Escape. ``shots``: a theme name to take screenshots in."""
    cells = page.locator(".sdw-gallery .sdw-cell")
    assert cells.count() == 12
    assert "of 30 runs" in page.locator(".sdw-gallery-summary").inner_text()
    prompts = cells.locator(".sdw-cell-prompt").all_inner_texts()
    assert prompts[0].endswith("#1") and prompts[2].endswith("#27"), prompts  # newest first

    search = page.locator(".seedream-gallery-filters input[type=text]")
    search.fill("lighthouse")
    search.press("Enter")
    page.wait_for_function("() => { const p = [...document.querySelectorAll('.sdw-gallery .sdw-cell-prompt')];"
                           " return p.length > 0 && p.every(e => e.textContent.includes('lighthouse')); }",
                           timeout=30_000)
    assert cells.count() == 4  # runs 1, 11 and 21 of the 28, and the newest but one
    search.fill("")
    search.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.sdw-gallery .sdw-cell').length === 12", timeout=30_000)
    _wait_for_grid(page)
    if shots:
        _shoot(page.locator(".seedream-gallery"), f"gallery-{shots}.png")

    lightbox = page.locator(".sdw-lightbox")
    assert not lightbox.is_visible()
    cells.first.locator(".sdw-cell-thumb").click()
    lightbox.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("() => { const i = document.querySelector('.sdw-lightbox .sdw-lb-image');"
                           " return i && i.src.startsWith('blob:') && i.complete && i.naturalWidth === 512; }",
                           timeout=30_000)  # the full image came over the comm, not the thumbnail
    assert _counter(page).startswith("1 / 14")  # 2 runs of 2 images, 10 of 1
    assert "image 1 of 2" in _counter(page)
    assert "Model" in lightbox.locator(".sdw-lb-details").inner_text()
    assert page.evaluate("() => document.activeElement.classList.contains('sdw-lightbox')")

    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.sdw-lightbox .sdw-lb-counter').textContent"
                           ".startsWith('2 / 14')", timeout=10_000)
    page.keyboard.press("ArrowDown")  # the next run's first image
    page.wait_for_function("() => document.querySelector('.sdw-lightbox .sdw-lb-counter').textContent"
                           ".startsWith('3 / 14')", timeout=10_000)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.sdw-lightbox .sdw-lb-counter').textContent"
                           ".startsWith('5 / 14')", timeout=10_000)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelector('.sdw-lightbox .sdw-lb-counter').textContent"
                           ".startsWith('4 / 14')", timeout=10_000)
    page.wait_for_function("() => document.querySelector('.sdw-lightbox .sdw-lb-image').src.startsWith('blob:')",
                           timeout=30_000)
    page.keyboard.press("+")  # zoom in from "fit" (the image is 512 px, shown larger than that here)
    page.wait_for_function("() => document.querySelector('.sdw-lightbox').classList.contains('sdw-lb-zoomed')",
                           timeout=10_000)
    assert lightbox.locator("button", has_text="%").count() == 1
    page.keyboard.press("0")
    page.wait_for_function("() => !document.querySelector('.sdw-lightbox').classList.contains('sdw-lb-zoomed')",
                           timeout=10_000)
    name = lightbox.locator(".sdw-lb-title").inner_text()
    assert name.endswith("_a-red-fox-in-the-snow-watercolor-0_2.jpg"), name  # RunRecord.file_name
    with page.expect_download(timeout=30_000) as download:
        lightbox.locator("button", has_text="Download").click()
    assert download.value.suggested_filename == name
    lightbox.focus()
    if shots:
        _shoot(lightbox, f"lightbox-{shots}.png")
    # The newest run is an edit: its input image is found and compared with a before/after slider.
    page.keyboard.press("Home")
    lightbox.locator("button", has_text="Before / after").click()
    page.wait_for_function("() => { const i = document.querySelector('.sdw-lightbox .sdw-lb-before');"
                           " return i && !i.hidden && i.src.startsWith('blob:') && i.complete; }", timeout=30_000)
    lightbox.locator(".sdw-lb-slider").fill("30")
    assert "30%" in str(lightbox.locator(".sdw-lb-image").get_attribute("style"))
    if shots:
        _shoot(lightbox, f"lightbox-compare-{shots}.png")
    lightbox.locator("button", has_text="Before / after").click()
    lightbox.focus()
    page.keyboard.press("Escape")
    lightbox.wait_for(state="hidden", timeout=10_000)
    assert SENTINEL_API_TOKEN not in page.content()


def _manage(page: Any) -> None:
    """Star, delete and undo, and a panel with a run's settings, by clicks."""
    third = page.locator(".sdw-gallery .sdw-cell").nth(2)
    prompt = third.locator(".sdw-cell-prompt").inner_text()
    third.locator(".sdw-cell-star").click()
    page.locator(".sdw-gallery .sdw-cell").nth(2).locator(".sdw-cell-star.sdw-starred").wait_for(timeout=30_000)
    page.locator(".sdw-gallery .sdw-cell").nth(2).locator(".sdw-cell-star").click()
    page.locator(".sdw-gallery .sdw-cell").nth(2).locator(".sdw-cell-star:not(.sdw-starred)").wait_for(timeout=30_000)
    page.locator(".sdw-gallery .sdw-cell").nth(2).locator(".sdw-cell-delete").click()
    notice = page.locator(".sdw-gallery-notice")
    notice.filter(has_text="trash").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('.sdw-gallery-summary').textContent.includes('of 29 runs')",
                           timeout=30_000)
    notice.locator("button", has_text="Undo").click()
    notice.filter(has_text="Restored").wait_for(timeout=30_000)
    assert page.locator(".sdw-gallery .sdw-cell").nth(2).locator(".sdw-cell-prompt").inner_text() == prompt
    page.locator(".sdw-gallery .sdw-cell").nth(2).locator("button", has_text="Panel").click()
    panel = page.locator(".seedream-gallery .seedream-panel")
    panel.wait_for(timeout=60_000)
    panel.locator("textarea").first.wait_for(timeout=30_000)
    assert panel.locator("textarea").first.input_value() == prompt
    page.locator(".seedream-gallery button", has_text="Close panel").click()
    panel.wait_for(state="detached", timeout=30_000)


def _shoot(locator: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(SHOTS / name))
    shutil.copy(SHOTS / name, LabPage.screenshot_path(name))


def _contrast(page: Any) -> dict[str, float]:
    """The lowest contrast ratio of each kind of text the gallery and the open lightbox draw."""
    selectors = [".sdw-cell-prompt", ".sdw-cell-meta", ".sdw-gallery-summary", ".sdw-gallery-page",
                 ".sdw-cell-actions .sdw-button", ".sdw-lb-label", ".sdw-lb-value", ".sdw-lb-prompt",
                 ".sdw-lb-title", ".sdw-lb-counter", ".sdw-lb-tools .sdw-button", ".sdw-lb-help"]
    found = {}
    for selector in selectors:
        elements = page.locator(selector)
        if elements.count():
            found[selector] = min(elements.nth(i).evaluate(CONTRAST) for i in range(min(elements.count(), 6)))
    return found


def test_gallery_in_jupyterlab_light_and_dark(jupyter_lab: JupyterLab, lab_page: LabPage,
                                              stored_runs: Path) -> None:
    jupyter_lab.write_notebook("gallery.ipynb", CELLS)
    page = lab_page.page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    lab_page.open("gallery.ipynb")
    lab_page.run_all()
    _wait_for_grid(page)
    active = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
    _exercise(page, shots="light")
    # The keys stayed in the widget: the notebook's cell selection did not move.
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active

    _manage(page)
    page.locator(".sdw-gallery .sdw-cell").first.locator(".sdw-cell-thumb").click()
    page.locator(".sdw-lightbox").wait_for(state="visible")
    light = _contrast(page)
    page.keyboard.press("Escape")

    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet swaps in
    _exercise(page, shots="dark")
    page.locator(".sdw-gallery .sdw-cell").first.locator(".sdw-cell-thumb").click()
    page.locator(".sdw-lightbox").wait_for(state="visible")
    dark = _contrast(page)
    page.keyboard.press("Escape")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")

    low = {f"{theme} {k}": round(v, 2) for theme, found in (("light", light), ("dark", dark))
           for k, v in found.items() if v < 4.5}
    assert len(light) >= 10 and len(dark) >= 10, (light, dark)
    assert not low, f"text under 4.5:1 contrast: {low}"
    assert not errors, f"JavaScript errors on the page: {errors}"



def _fresh_page(chromium: Any) -> tuple[Any, Any]:
    """A browser context of its own (the front ends outside JupyterLab) and its page: (context, page)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1100})
    context.set_default_timeout(60_000)
    return context, context.new_page()


def test_gallery_in_notebook_7(jupyter_lab: JupyterLab, chromium: Any, stored_runs: Path) -> None:
    jupyter_lab.write_notebook("gallery-nb7.ipynb", CELLS)
    context, page = _fresh_page(chromium)
    errors: list[str] = []
    # Notebook 7.6 itself throws on load with this server's lab settings, on a plain notebook too ("Cannot read
    # properties of undefined (reading 'schema')", "Command 'filebrowser:open-path' not registered"): only errors
    # from anywidget or our modules (which anywidget loads from blob: URLs) count here.
    page.on("pageerror", lambda error: errors.append(str(error))
            if any(mark in str(error.stack) for mark in ("blob:", "anywidget", "sdw")) else None)
    try:
        page.goto(f"{jupyter_lab.url}/notebooks/gallery-nb7.ipynb?token={jupyter_lab.token}", timeout=90_000)
        for attempt in range(3):  # Notebook 7 exposes no app object: run the cell with its key (Ctrl+Enter stays)
            page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click(timeout=90_000)
            page.keyboard.press("Control+Enter")
            try:
                page.locator(".sdw-gallery").wait_for(timeout=40_000)
                break
            except Exception:  # a key pressed while the page was still wiring its kernel can be lost
                if attempt == 2:
                    raise
        _wait_for_grid(page)
        _exercise(page)
        page.screenshot(path=str(LabPage.screenshot_path("gallery-notebook7.png")))
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


def test_gallery_in_voila(jupyter_lab: JupyterLab, chromium: Any, stored_runs: Path) -> None:
    jupyter_lab.write_notebook("gallery-voila.ipynb", CELLS)
    context, page = _fresh_page(chromium)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{jupyter_lab.url}/voila/render/gallery-voila.ipynb?token={jupyter_lab.token}", timeout=90_000)
        _wait_for_grid(page)
        _exercise(page)
        page.screenshot(path=str(LabPage.screenshot_path("gallery-voila.png")), full_page=True)
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


DROP_CELLS = ["import ipywidgets as widgets\n"
              "from seedream_widgets.frontend import DropZone\n"
              "zone = DropZone()\n"
              "said = widgets.Label('nothing yet')\n"
              "zone.on_files(lambda files: setattr(said, 'value', 'got ' + ', '.join(f'{f.name}:{f.how}:{len(f.data)}'"
              " for f in files)))\n"
              "zone.on_submit(lambda: setattr(said, 'value', 'submitted'))\n"
              "widgets.VBox([zone, said])"]

# A file handed to the zone as the browser would on a paste or a drop (a DataTransfer holding a File).
DISPATCH = """([kind, name, size]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(size)], name, {type: 'image/png'}));
  const zone = document.querySelector('.sdw-drop');
  const event = kind === 'paste' ? new ClipboardEvent('paste', {clipboardData: data, bubbles: true})
                                 : new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true});
  zone.dispatchEvent(event);
}"""


def test_drop_zone_in_jupyterlab_paste_drop_and_ctrl_enter(jupyter_lab: JupyterLab, lab_page: LabPage) -> None:
    jupyter_lab.write_notebook("drop.ipynb", DROP_CELLS)
    page = lab_page.page
    lab_page.open("drop.ipynb")
    lab_page.run_all()
    zone = page.locator(".sdw-drop")
    zone.wait_for(timeout=60_000)
    said = page.locator(".jp-OutputArea .widget-label")
    said.filter(has_text="nothing yet").wait_for(timeout=30_000)

    page.evaluate(DISPATCH, ["paste", "clip.png", 300])
    said.filter(has_text="got clip.png:paste:300").wait_for(timeout=30_000)
    page.evaluate(DISPATCH, ["drop", "dropped.png", 1200])
    said.filter(has_text="got dropped.png:drop:1200").wait_for(timeout=30_000)
    page.evaluate(DISPATCH, ["drop", "huge.png", 11 * 2**20])  # over 10 MB: refused in the browser, said there
    zone.filter(has_text="too large").wait_for(timeout=30_000)
    assert "dropped.png" in said.inner_text()

    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.executionCount")
    zone.focus()
    page.keyboard.press("Control+Enter")
    said.filter(has_text="submitted").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # Ctrl+Enter went to the widget, not to the notebook (which would have run the cell again).
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.executionCount") == count
