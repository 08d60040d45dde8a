"""What a person sees of `SeedreamPanel` in JupyterLab and Chromium (issues 15-17 and 19).

- every text the panel renders reads at 4.5:1 or more (3:1 for large text), in the light and the dark
  theme (computed colours over the composited background; disabled controls are exempt, as in WCAG 1.4.3);
- a problem is marked at its field (the control outlined in the theme's error colour, the message
  beside it) and the size note says nothing for an invalid size;
- the preview's Copy button puts the snippet on the clipboard, and its lines never split a word;
- the model choice (seedream-5-lite), and "Restore settings" offered for an uploaded image;
- a saved notebook opened again without its kernel's widgets shows the last result as a picture.

Screenshots go to tests/artifacts/ (and to ``$SHOTS_DIR`` when set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import JupyterLab, LabPage

pytestmark = pytest.mark.browser

PROMPT = ("a bowl of ramen on a wooden counter, studio lighting, steam rising, soft shadows, shallow depth of "
          "field, photographed from above")
CELL = ("from seedream_widgets import SeedreamPanel\n"
        f"panel = SeedreamPanel(prompt={PROMPT!r}, size='1K', aspect_ratio='4:3')\n"
        "panel")
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

CONTRAST = """(root) => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(parseFloat);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => {
    const a = top[3]; return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = (el) => {  // every background from the page down, composited
    const chain = []; for (let e = el; e; e = e.parentElement) chain.unshift(e);
    let color = [255, 255, 255, 1];
    for (const e of chain) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) color = over(c, color); }
    return color; };
  const opacity = (el) => {
    let o = 1; for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; };
  const checked = [], failed = [];
  for (const el of root.querySelectorAll('*')) {
    if (['STYLE', 'SCRIPT', 'OPTION'].includes(el.tagName)) continue;
    const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) && el.type !== 'checkbox' && el.type !== 'file'
      && (el.value || '').trim();
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!field && !own) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || !el.getClientRects().length) continue;
    if (el.closest(':disabled, .mod-disabled, [disabled]')) continue;  // inactive controls: no contrast requirement
    const text = (field ? el.value : el.textContent).trim().slice(0, 40);
    const bg = background(el), fg = parse(style.color);
    const shown = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], bg);
    const [a, b] = [lum(shown), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05), size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;  // WCAG 1.4.3: large text needs 3:1
    checked.push(text);
    if (ratio < need) failed.push({text, ratio: Math.round(ratio * 100) / 100, size, color: style.color,
                                  background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')',
                                  classes: el.className && el.className.toString()});
  }
  return {checked, failed};
}"""


def shot(lab_page: LabPage, locator: Any, name: str) -> Path:
    """A screenshot of ``locator`` into tests/artifacts/ (and $SHOTS_DIR)."""
    path = lab_page.screenshot_path(name)
    locator.screenshot(path=str(path))
    extra = os.environ.get("SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / name)
    return path


def set_theme(page: Any, theme: str) -> None:
    page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", THEMES[theme])
    page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=THEMES[theme], timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet applied


@pytest.fixture
def panel_page(jupyter_lab: JupyterLab, lab_page: LabPage, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A notebook with one panel, run; yields the panel's locator (the theme is set back to light after)."""
    name = f"look-{request.node.name.replace('[', '-').replace(']', '')}.ipynb"
    jupyter_lab.write_notebook(name, [CELL])
    lab_page.page.set_viewport_size({"width": 1440, "height": 2400})  # the whole panel in view (and in shots)
    lab_page.open(name)
    lab_page.run_all()
    scope = lab_page.page.evaluate("() => '#' + CSS.escape(window.jupyterapp.shell.currentWidget.id)")
    panel = lab_page.page.locator(f"{scope} .seedream-panel")
    panel.wait_for(state="visible", timeout=60_000)
    generate_enabled(lab_page.page, scope)
    try:
        yield panel
    finally:
        set_theme(lab_page.page, "light")


def generate_enabled(page: Any, scope: str) -> None:
    page.wait_for_function(
        "(scope) => { const b = [...document.querySelectorAll(scope + ' .seedream-panel button')]"
        ".find(b => b.textContent.trim() === 'Generate'); return b && !b.disabled; }", arg=scope, timeout=30_000)


def generated(panel: Any) -> None:
    """Click Generate and wait for the images and the history strip."""
    panel.locator("button", has_text="Generate").first.click()
    panel.locator(".seedream-status", has_text="succeeded").wait_for(timeout=60_000)
    panel.page.wait_for_function(
        "(el) => [...el.querySelectorAll('.seedream-image img')].filter(i => i.complete && i.naturalWidth).length"
        " >= 1 && el.querySelector('.seedream-history-cell')", arg=panel.element_handle(), timeout=30_000)


def contrast(panel: Any) -> dict[str, Any]:
    result: dict[str, Any] = panel.evaluate(CONTRAST)
    return result


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_reads_at_4_5_to_1_and_problems_are_marked_at_their_field(
        panel_page: Any, lab_page: LabPage, theme: str) -> None:
    page, panel = lab_page.page, panel_page
    set_theme(page, theme)
    generated(panel)
    report = contrast(panel)  # the accordions closed (their headers), then open (all inside)
    assert not report["failed"], f"{theme}: below 4.5:1: {json.dumps(report['failed'], indent=1)}"
    for title in ("Compare models", "Request preview"):
        panel.get_by_text(title).first.click()
    panel.locator(".seedream-snippet pre").first.wait_for(timeout=10_000)
    report = contrast(panel)
    assert len(report["checked"]) > 40, report["checked"]  # the labels, notes, status, history, preview ...
    assert not report["failed"], f"{theme}: below 4.5:1: {json.dumps(report['failed'], indent=1)}"
    panel.scroll_into_view_if_needed()
    shot(lab_page, panel, f"panel-{theme}.png")

    # A width of 500: the Width row is marked, the message is beside it, the size note says nothing.
    panel.locator(".widget-toggle-button", has_text="custom").click()
    width = panel.locator(".seedream-row", has_text="Width").locator("input")
    width.fill("500")
    width.press("Tab")
    row = panel.locator(".seedream-row.seedream-invalid")
    row.wait_for(timeout=10_000)
    assert row.count() == 1 and "Width" in row.inner_text()
    problem = row.locator(".seedream-field-problem")
    assert "must be at least 1024" in problem.inner_text() and problem.is_visible()
    border = row.evaluate("""(r) => { const s = getComputedStyle(r.children[1]), probe = document.createElement('i');
      probe.style.color = 'var(--jp-error-color1)'; r.appendChild(probe); const error = getComputedStyle(probe).color;
      probe.remove(); return [s.borderTopStyle, s.borderTopColor, error]; }""")
    assert border[0] == "solid" and border[1] == border[2], border  # outlined in the theme's error colour
    height_note = panel.locator(".seedream-row", has_text="Height").locator(".widget-html").last.inner_text()
    assert "px" not in height_note, height_note
    assert panel.locator("button", has_text="Generate").first.is_disabled()
    report = contrast(panel)
    assert not report["failed"], f"{theme}, with a problem: {json.dumps(report['failed'], indent=1)}"
    assert any("must be at least 1024" in text for text in report["checked"]), "the problem's text was measured"
    row.scroll_into_view_if_needed()
    shot(lab_page, panel, f"panel-problem-{theme}.png")


def test_copy_puts_the_snippet_on_the_clipboard_and_lines_never_split_words(
        panel_page: Any, lab_page: LabPage, jupyter_lab: JupyterLab) -> None:
    page, panel = lab_page.page, panel_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=jupyter_lab.url)
    panel.get_by_text("Request preview").first.click()
    panel.locator(".lm-TabBar-tab", has_text="curl").click()
    snippet = panel.locator(".seedream-snippet:visible")
    snippet.locator("pre").wait_for(timeout=10_000)
    expected = snippet.locator("pre").text_content() or ""
    assert "curl" in expected and PROMPT in expected
    snippet.locator("button.seedream-copy").click()
    page.wait_for_function("(el) => el.textContent === 'Copied'", arg=snippet.locator("button").element_handle(),
                           timeout=5_000)
    assert page.evaluate("() => navigator.clipboard.readText()") == expected
    # The JSON tab wraps the long prompt only between words: every word is drawn on one line.
    panel.locator(".lm-TabBar-tab", has_text="JSON payload").click()
    pre = panel.locator(".seedream-snippet:visible pre")
    split = pre.evaluate("""(pre) => {
      const node = [...pre.childNodes].find(n => n.nodeType === 3); const text = node.textContent, broken = [];
      const lines = new Set(); let at = 0;
      for (const word of text.split(/\\s+/)) {
        const start = text.indexOf(word, at); if (!word) continue; at = start + word.length;
        const range = document.createRange(); range.setStart(node, start); range.setEnd(node, start + word.length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top))); tops.forEach(t => lines.add(t));
        if (tops.size > 1) broken.push(word);
      }
      return {broken, lines: lines.size, wide: pre.scrollWidth > pre.clientWidth};
    }""")
    assert split["broken"] == [], split
    shot(lab_page, panel.locator(".seedream-snippet:visible"), "panel-preview-json.png")


def test_the_model_choice_and_restore_settings_from_an_uploaded_image(
        panel_page: Any, lab_page: LabPage, jupyter_lab: JupyterLab) -> None:
    page, panel = lab_page.page, panel_page
    panel.locator(".seedream-row", has_text="Model").locator("select").select_option(label="Seedream 5 lite")
    panel.locator("b", has_text="Seedream 5 lite").wait_for(timeout=20_000)
    panel.locator(".widget-toggle-button", has_text="3K").wait_for(timeout=20_000)
    sizes = panel.locator(".seedream-choices").first.locator(".widget-toggle-button").all_inner_texts()
    assert [s.strip() for s in sizes] == ["2K", "3K"]
    assert "dropped: size='1K'" in panel.locator(".seedream-model-note, .seedream-notice").first.inner_text()
    labels = [text.strip() for text in panel.locator(".seedream-row > .widget-html:first-child").all_inner_texts()]
    assert "Format" in labels and "Width" not in labels, labels
    generated(panel)
    panel.scroll_into_view_if_needed()
    shot(lab_page, panel, "panel-model-5lite.png")

    # The image it made carries its record: uploading it offers "Restore settings".
    made = max((jupyter_lab.root / "seedream-outputs").rglob("1.png"), key=lambda p: p.stat().st_mtime)
    prompt = panel.locator("textarea")
    prompt.fill("a different prompt, typed since")
    prompt.press("Tab")
    with page.expect_file_chooser(timeout=10_000) as chooser:
        panel.locator("button", has_text="Upload").click()
    chooser.value.set_files(str(made))
    offer = panel.locator(".seedream-ask")
    offer.locator("button", has_text="Restore settings").wait_for(timeout=30_000)
    assert "carries how it was made" in offer.inner_text() and "seedream-5-lite" in offer.inner_text()
    report = contrast(panel)
    assert not report["failed"], report["failed"]
    offer.scroll_into_view_if_needed()
    shot(lab_page, panel, "panel-restore.png")
    offer.locator("button", has_text="Restore settings").click()
    page.wait_for_function("(t) => t.value.startsWith('a bowl of ramen')", arg=prompt.element_handle(),
                           timeout=20_000)
    offer.locator("button", has_text="Undo").wait_for(timeout=10_000)
    assert panel.locator(".seedream-input-cell").count() == 0


def test_a_saved_notebook_without_its_widgets_shows_the_last_result(
        panel_page: Any, lab_page: LabPage, jupyter_lab: JupyterLab, request: pytest.FixtureRequest) -> None:
    page, panel = lab_page.page, panel_page
    generated(panel)
    # While the panel lives, its static copy is in the output but hidden.
    copy = page.locator(".seedream-fallback")
    assert copy.count() == 1 and not copy.first.is_visible()
    name = f"look-{request.node.name}.ipynb"
    saved = lab_page.save(name)
    html = "".join("".join(output.get("data", {}).get("text/html", "")) for cell in saved["cells"]
                   for output in cell.get("outputs", []))
    assert "seedream-fallback" in html and "<img" in html  # the picture is in the saved file
    # Opened again as after a kernel restart, with JupyterLab's default (no widget state saved), once signed as
    # the user's own (trusted: JupyterLab picks the widget view, whose model is gone) and once not (untrusted:
    # JupyterLab picks the widget output's own text/html instead, and no stylesheet hides anything).
    saved["metadata"].pop("widgets", None)
    for trusted in (True, False):
        name = f"reopened-{'trusted' if trusted else 'untrusted'}.ipynb"
        (jupyter_lab.root / name).write_text(json.dumps(saved), encoding="utf-8")
        if trusted:
            trust(jupyter_lab, name)
        lab_page.open(name)
        scope = page.evaluate("() => '#' + CSS.escape(window.jupyterapp.shell.currentWidget.id)")
        if trusted:
            page.locator(f"{scope} .jp-OutputArea-output", has_text="model not found").first.wait_for(timeout=30_000)
        picture = page.locator(f"{scope} .seedream-fallback img").first
        picture.wait_for(state="visible", timeout=20_000)
        assert picture.evaluate("(i) => i.complete && i.naturalWidth > 0")
        assert page.locator(f"{scope} .seedream-fallback img").count() == 1  # one picture, not two
        assert "a bowl of ramen" in page.locator(f"{scope} .jp-Cell").first.inner_text()
        shot(lab_page, page.locator(f"{scope} .jp-Cell").first,
             "panel-static-copy.png" if trusted else "panel-static-copy-untrusted.png")


def trust(lab: JupyterLab, name: str) -> None:
    """Sign a notebook as the lab's user would by saving it (``jupyter trust`` with the lab's data folder)."""
    home = lab.root.parent / "home"
    env = {**os.environ, "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_PLATFORM_DIRS": "1"}
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(lab.root / name)], env=env, check=True,
                   capture_output=True, timeout=60)


def test_view_shows_a_run_large_and_the_arrow_keys_reach_the_history(panel_page: Any, lab_page: LabPage) -> None:
    page, panel = lab_page.page, panel_page
    generated(panel)
    prompt = panel.locator("textarea")
    prompt.fill("a heron in the reeds")
    prompt.press("Control+Enter")  # the drop zone's Ctrl+Enter, anywhere in the panel: Generate
    panel.locator(".seedream-history-cell button", has_text="#2").wait_for(timeout=60_000)
    panel.locator(".seedream-cell button", has_text="View").first.click()
    lightbox = panel.locator(".sdw-lightbox")
    lightbox.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("(el) => { const i = el.querySelector('.sdw-lb-image');"
                           " return i && i.complete && i.naturalWidth > 0; }", arg=lightbox.element_handle(),
                           timeout=30_000)
    counter = lightbox.locator(".sdw-lb-counter")
    assert counter.inner_text().startswith("1 / ")
    assert "a heron in the reeds" in lightbox.inner_text()
    page.keyboard.press("ArrowRight")  # the run before it, from the history
    page.wait_for_function("(el) => el.textContent.startsWith('2 / ')", arg=counter.element_handle(),
                           timeout=10_000)
    assert "a bowl of ramen" in lightbox.inner_text()
    report = contrast(panel)
    assert not report["failed"], report["failed"]
    lightbox.scroll_into_view_if_needed()
    shot(lab_page, panel, "panel-lightbox.png")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_running_panel_shows_processing_its_id_and_log_line_within_1_5_s(
        panel_page: Any, lab_page: LabPage, theme: str) -> None:
    """Issue 14's live progress, seen in the browser: on a backend that takes 6 s, "processing", the prediction
    id and the model's log line are on screen 1.5 s after Generate; the log tail repeats no line."""
    import re
    import time

    page, panel = lab_page.page, panel_page
    set_theme(page, theme)
    panel.locator("textarea").first.fill("[demo:slow=6] a lighthouse at dusk, oil painting")
    panel.locator("textarea").first.press("Tab")  # the value reaches the kernel (ipywidgets syncs on change)
    page.wait_for_timeout(300)
    clicked = time.monotonic()
    panel.locator("button", has_text="Generate").first.click()
    live = panel.locator(".seedream-live")
    live.get_by_text("processing").first.wait_for(timeout=5_000)
    page.wait_for_function("(el) => /[0-9a-z]{26}/.test(el.textContent) && el.textContent.includes('Generating')",
                           arg=live.element_handle(), timeout=5_000)
    seen = time.monotonic() - clicked
    text = live.inner_text()
    shot(lab_page, panel, f"panel-midrun-{theme}.png")
    assert seen <= 1.5 + 0.5, f"processing, id and log line after {seen:.2f} s (1.5 s, plus the browser's round trip)"
    assert re.search(r"\b[0-9a-z]{26}\b", text), text
    lines = [line for line in text.splitlines() if line.startswith(("Using seed", "Generating"))]
    assert len(lines) == len(set(lines)), f"a log line shown twice: {text}"
    panel.locator("button", has_text="Cancel").first.click()
    panel.get_by_text("canceled").first.wait_for(timeout=15_000)
