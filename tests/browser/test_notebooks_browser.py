"""The notebooks in a real JupyterLab and Chromium: Run All, the magic's images, the panel's Generate, save.

The session's JupyterLab (``conftest.py``) gives kernels a sentinel API token and a loopback demo
backend, so the notebooks run in "real" mode with a token that must never reach a saved file.
Screenshots go to ``tests/artifacts/notebook-*.png``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import SENTINEL_API_TOKEN, JupyterLab, LabPage

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"
RUN_TIMEOUT_MS = 90_000
TALL = {"width": 1440, "height": 4200}
"""A viewport tall enough for a whole notebook in one screenshot (JupyterLab scrolls inside the page)."""

ALL_EXECUTED = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext.session || !w.sessionContext.session.kernel) return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.length > 0 && cells.every(c => c.model.executionCount !== null && c.model.executionCount !== undefined)
    && w.sessionContext.session.kernel.status === 'idle';
}"""
OUTPUT_TYPES = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map(c => c.model.outputs.toJSON().map(o => [o.output_type, o.name || '', (o.text || o.evalue || '').toString()]))"""
IMAGES_LOADED = """([selector, count]) => [...document.querySelectorAll(selector)]
  .filter(i => i.complete && i.naturalWidth > 0).length >= count"""


def copy_notebooks(lab: JupyterLab) -> None:
    """The repository's notebooks into the lab's root (as on Binder); the originals stay untouched and clean."""
    target = lab.root / "notebooks"
    target.mkdir(exist_ok=True)
    for notebook in NOTEBOOKS.glob("*.ipynb"):
        if not (target / notebook.name).exists():
            shutil.copy(notebook, target / notebook.name)


def _stored(lab: JupyterLab) -> set[Path]:
    return set((lab.root / "notebooks" / "seedream-outputs").rglob("prediction.json"))


def _open(lab_page: LabPage, name: str) -> str:
    """Open a notebook and return a CSS selector for its panel only.

    JupyterLab restores the tabs of earlier tests (its workspace), and with windowing off their
    outputs stay in the DOM: every selector is scoped to the notebook under test.
    """
    lab_page.open(f"notebooks/{name}")
    scope: str = lab_page.page.evaluate("() => '#' + CSS.escape(window.jupyterapp.shell.currentWidget.id)")
    return scope


def _no_errors(page: Any, name: str) -> None:
    for index, outputs in enumerate(page.evaluate(OUTPUT_TYPES)):
        for kind, stream, text in outputs:
            assert kind != "error", f"{name}: code cell {index} raised: {text}"
            assert stream != "stderr" or "Traceback" not in text, f"{name}: code cell {index}: {text}"


def _generate_enabled(page: Any, scope: str) -> None:
    page.wait_for_function(
        "(scope) => { const b = [...document.querySelectorAll(scope + ' .seedream-panel button')]"
        ".find(b => b.textContent.includes('Generate')); return b && !b.disabled; }", arg=scope, timeout=30_000)


def test_quickstart_runs_all_generates_from_the_panel_and_saves_without_tokens(
        jupyter_lab: JupyterLab, lab_page: LabPage) -> None:
    copy_notebooks(jupyter_lab)
    before = _stored(jupyter_lab)
    page = lab_page.page
    page.set_viewport_size(TALL)
    scope = _open(lab_page, "01-quickstart.ipynb")
    lab_page.run_all()

    # The magic's image, then the panel, then the last cell (%seedream config).
    page.wait_for_function(IMAGES_LOADED, arg=[f"{scope} .jp-OutputArea .seedream-result img", 1],
                           timeout=RUN_TIMEOUT_MS)
    panel = page.locator(f"{scope} .seedream-panel")
    panel.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    page.locator(f"{scope} .jp-OutputArea .seedream-config").wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(ALL_EXECUTED, timeout=RUN_TIMEOUT_MS)
    _no_errors(page, "01-quickstart")
    assert page.locator(f"{scope} .jp-OutputArea .seedream-history img").count() >= 1
    config = page.locator(f"{scope} .jp-OutputArea .seedream-config").inner_text()
    assert "real service" in config and SENTINEL_API_TOKEN not in config
    lab_page.screenshot("notebook-01-quickstart-run-all.png")
    page.locator(f"{scope} .jp-OutputArea .seedream-result").first.screenshot(
        path=str(lab_page.screenshot_path("notebook-01-quickstart-magic.png")))

    _generate_enabled(page, scope)
    panel.locator("button", has_text="Generate").click()
    page.wait_for_function(IMAGES_LOADED, arg=[f"{scope} .seedream-panel .seedream-image img", 1],
                           timeout=RUN_TIMEOUT_MS)
    panel.locator(".seedream-status", has_text="succeeded").wait_for(timeout=30_000)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(lab_page.screenshot_path("notebook-01-quickstart-panel.png")))
    prompts = {json.loads(p.read_text(encoding="utf-8"))["input"]["prompt"] for p in _stored(jupyter_lab) - before}
    assert prompts == {"a red fox on fresh snow, watercolour", "a lighthouse on a cliff at dusk, oil painting"}

    saved = lab_page.save("notebooks/01-quickstart.ipynb")
    text = json.dumps(saved)
    state = saved["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert state.get("state"), "no widget state was saved, so the token checks below would prove little"
    assert "seedream-image" in text  # the panel's gallery is in the saved state
    assert "seedream-result" in text  # and the magic's output in the cell outputs
    assert SENTINEL_API_TOKEN not in text
    assert jupyter_lab.token not in text
    assert len(text) < 3_000_000  # thumbnails, not originals


@pytest.mark.parametrize(("name", "selector", "images"), [
    ("02-editing.ipynb", ".seedream-panel", 0),
    ("03-sequential-and-compare.ipynb", ".jp-OutputArea .seedream-compare img", 4),
    ("04-python-api.ipynb", ".jp-OutputArea .seedream-result img", 2),
])
def test_the_other_notebooks_run_all_in_jupyterlab(jupyter_lab: JupyterLab, lab_page: LabPage, name: str,
                                                   selector: str, images: int) -> None:
    copy_notebooks(jupyter_lab)
    page = lab_page.page
    page.set_viewport_size(TALL)
    scope = _open(lab_page, name)
    lab_page.run_all()
    if images:
        page.wait_for_function(IMAGES_LOADED, arg=[f"{scope} {selector}", images], timeout=RUN_TIMEOUT_MS)
    else:
        page.locator(f"{scope} {selector}").wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(ALL_EXECUTED, timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(IMAGES_LOADED, arg=[f"{scope} .jp-OutputArea img", 2], timeout=RUN_TIMEOUT_MS)
    _no_errors(page, name)
    lab_page.screenshot(f"notebook-{name.removesuffix('.ipynb')}.png")
