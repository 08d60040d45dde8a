"""What a person sees of ``%%seedream`` in JupyterLab and Chromium (issues 19 and 21), light and dark.

One notebook shows every kind of output the magic draws: a result with its caption, a caveat note, a
failed prediction, a 2 x 2 template comparison and a three-axis one. In both themes every text of those
outputs reads at 4.5:1 or more (3:1 for large text), and each grid is labelled by its axes' values.
Screenshots go to tests/artifacts/ (and ``$SHOTS_DIR``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import JupyterLab, LabPage
from .test_panel_look_browser import CONTRAST, set_theme, shot

pytestmark = pytest.mark.browser

CELLS = [
    # Its own output folder: the session's JupyterLab is shared, and other tests count the runs in theirs.
    "import os\nos.environ['SEEDREAM_OUTPUT_DIR'] = 'magic-look-outputs'\n%load_ext seedream_widgets",
    "%%seedream -s 1K -a 4:3 -o fox\na red fox in the snow, watercolour",
    "%%seedream -s 1K --width 2048\na lighthouse at dusk, the width is ignored",  # a caveat: a note
    "%%seedream -s 1K --compare animal=fox,owl weather=snow,rain\na {animal} in the {weather}",
    "%%seedream -s 1K --compare animal=fox,owl aspect_ratio=1:1,16:9 style=ink,oil\na {style} {animal}",
    "%%seedream -s 1K\n[demo:fail=the model ran out of paint] a teapot",  # last: an error ends "Run All"
]
OURS = ".seedream-result, .seedream-compare, .seedream-note, .seedream-error, .seedream-status"


def _outputs(page: Any, scope: str) -> dict[str, Any]:
    """The contrast report over every element the magic drew (each of OURS, outermost only)."""
    report: dict[str, Any] = page.evaluate(
        """([scope, ours, check]) => {
             const fn = eval(check), checked = [], failed = [];
             const roots = [...document.querySelectorAll(scope + ' .jp-OutputArea-output')]
               .flatMap(o => [...o.querySelectorAll(ours)]).filter(e => !e.parentElement.closest(ours));
             for (const root of roots) { const r = fn(root); checked.push(...r.checked); failed.push(...r.failed); }
             return {checked, failed, roots: roots.map(r => r.className), text: roots.map(r => r.innerText).join(' ')};
           }""",
        [scope, OURS, CONTRAST])
    return report


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_output_of_the_magic_reads_at_4_5_to_1_and_grids_are_labelled(
        jupyter_lab: JupyterLab, lab_page: LabPage, theme: str) -> None:
    name = f"magic-look-{theme}.ipynb"
    jupyter_lab.write_notebook(name, CELLS)
    page = lab_page.page
    page.set_viewport_size({"width": 1300, "height": 3600})
    lab_page.open(name)
    set_theme(page, theme)
    lab_page.run_all()
    scope = page.evaluate("() => '#' + CSS.escape(window.jupyterapp.shell.currentWidget.id)")
    # Every cell done: the fox's image, the note, the failure, and both grids with all their images loaded.
    page.wait_for_function(
        """(scope) => { const q = (s) => [...document.querySelectorAll(scope + ' ' + s)];
             const loaded = (s) => q(s).filter(i => i.complete && i.naturalWidth).length;
             return loaded('.seedream-result img') >= 1 && q('.seedream-note').length >= 1
               && q('.seedream-error').length >= 1 && q('.seedream-compare').length >= 2
               && loaded('.seedream-compare img') >= 4 + 8; }""", arg=scope, timeout=180_000)
    page.wait_for_timeout(500)  # the last status line replaced

    report = _outputs(page, scope)
    assert {"seedream-result", "seedream-note", "seedream-error", "seedream-compare"} <= {
        cls.split()[0] for cls in report["roots"]}, report["roots"]
    assert len(report["checked"]) > 30, report["checked"]
    assert not report["failed"], f"{theme}: below 4.5:1: {json.dumps(report['failed'], indent=1)}"
    texts = report["text"]
    for label in ("animal", "fox", "owl", "snow", "rain", "16:9", "ink", "oil", "ran out of paint"):
        assert label in texts, f"{label!r} is not shown"

    notebook = page.locator(f"{scope} .jp-WindowedPanel-outer, {scope} .jp-Notebook").first
    shot(lab_page, notebook, f"magic-{theme}.png")
    grid = page.locator(f"{scope} .seedream-compare").first
    grid.scroll_into_view_if_needed()
    shot(lab_page, grid, f"magic-compare-{theme}.png")
    set_theme(page, "light")
