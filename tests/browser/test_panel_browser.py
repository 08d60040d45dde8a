"""`SeedreamPanel` in a real JupyterLab and Chromium: run, click Generate, see the images, save, no token."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from PIL import Image

from .conftest import SENTINEL_API_TOKEN, JupyterLab, LabPage

pytestmark = pytest.mark.browser

NOTEBOOK = "panel.ipynb"
CELLS = [
    "from seedream_widgets import SeedreamPanel\n"
    "panel = SeedreamPanel(prompt='a red fox in the snow, watercolor', size='1K', aspect_ratio='4:3',\n"
    "                      sequential_image_generation='auto', max_images=2)\n"
    "panel",
]


def test_panel_generates_in_jupyterlab_and_the_saved_notebook_has_no_token(
        jupyter_lab: JupyterLab, lab_page: LabPage, tmp_path: Path) -> None:
    jupyter_lab.write_notebook(NOTEBOOK, CELLS)
    page = lab_page.page
    lab_page.open(NOTEBOOK)
    lab_page.run_all()

    generate = page.locator(".seedream-panel button", has_text="Generate")
    generate.wait_for(state="visible", timeout=60_000)
    page.wait_for_function(  # the kernel-side refresh enabled it (valid preset)
        "() => { const b = [...document.querySelectorAll('.seedream-panel button')]"
        ".find(b => b.textContent.includes('Generate')); return b && !b.disabled; }", timeout=30_000)
    assert page.locator(".seedream-panel", has_text="Seedream 4").count() == 1
    generate.click()

    images = page.locator(".seedream-panel .seedream-image img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.seedream-panel .seedream-image img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= 2", timeout=60_000)
    assert images.count() == 2
    page.locator(".seedream-panel .seedream-status", has_text="succeeded").wait_for(timeout=30_000)
    # JupyterLab's rendermime resolved the relative links to the server's files.
    download = page.locator(".seedream-panel .seedream-image a[download]").first.get_attribute("href") or ""
    assert "/files/seedream-outputs/" in download, download
    outputs = sorted((jupyter_lab.root / "seedream-outputs").rglob("*.jpg"))
    assert len(outputs) == 2

    page.locator(".seedream-panel").scroll_into_view_if_needed()
    lab_page.screenshot("panel-jupyterlab.png")
    page.locator(".seedream-panel").screenshot(path=str(lab_page.screenshot_path("panel-jupyterlab-widget.png")))

    # A real upload through the browser: the thumbnail shows, the original leaves the widget state.
    original = tmp_path / "noise.png"
    Image.effect_noise((320, 240), 64).convert("RGB").save(original)
    with page.expect_file_chooser(timeout=10_000) as chooser:
        page.locator(".seedream-panel button", has_text="Upload").click()
    chooser.value.set_files(str(original))
    page.locator(".seedream-panel .seedream-input img").first.wait_for(timeout=30_000)
    page.locator(".seedream-panel button", has_text="Upload (1)").wait_for(timeout=10_000)  # counts what is in use
    page.locator(".seedream-panel .seedream-input-cell button", has_text="Remove").click()
    page.wait_for_function("() => !document.querySelector('.seedream-panel .seedream-input-cell')",
                           timeout=10_000)

    # The editing loop: the first image becomes an input; the request preview shows it (shortened).
    page.locator(".seedream-panel .seedream-cell").first.locator("button", has_text="Use as input").click()
    page.locator(".seedream-panel .seedream-input img").first.wait_for(timeout=30_000)
    page.locator(".seedream-panel").get_by_text("Request preview").click()
    page.locator(".seedream-panel pre", has_text="sha256=").first.wait_for(timeout=30_000)
    page.locator(".seedream-panel").screenshot(path=str(lab_page.screenshot_path("panel-jupyterlab-edit.png")))

    saved = lab_page.save(NOTEBOOK)
    text = json.dumps(saved)
    state = saved["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert state.get("state"), "the widget state was not saved (so the check below would prove nothing)"
    assert "seedream-image" in text  # the gallery is in the saved state
    assert SENTINEL_API_TOKEN not in text
    assert jupyter_lab.token not in text
    assert len(text) < 3_000_000  # thumbnails, not originals
    assert base64.b64encode(original.read_bytes()).decode()[40:240] not in text
