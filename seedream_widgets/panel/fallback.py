"""The panel's static copy: the last result as plain HTML, for where the widget cannot be shown.

A saved notebook opened without its kernel (or after a restart) has no widget model: JupyterLab then
shows "Error displaying widget: model not found" for the widget's output and never falls back to
another type of the same output (jupyterlab-manager's ``WidgetRenderer``). So the panel displays a
second output beside the widget, this HTML, updated in place (a display id) as results come; the live
widget's own stylesheet hides it, so only a page without the widget shows it. The widget's own
output also carries this HTML as ``text/html`` (viewers that do not run widgets, such as nbconvert
without widget state, show that instead).
"""

from __future__ import annotations

from ..display import COLORS, FONT, MUTED, esc, result_html
from ..result import Result


def fallback_class(model_id: str) -> str:
    return f"seedream-fallback-{model_id}"


def fallback_html(result: Result | None, model_id: str) -> str:
    """What a page without the live panel shows in its place: the last result, and how to get the panel back."""
    note = (f'<div style="{MUTED}margin-bottom:4px">Seedream panel (a static copy: run the cell to use the panel)'
            f'{" · its last result:" if result is not None else ""}</div>')
    body = result_html(result) if result is not None else ""
    return (f'<div class="seedream-fallback {fallback_class(model_id)}" style="{FONT}color:{COLORS["text"]}">'
            f'{note}{body}</div>')


def fallback_text(result: Result | None) -> str:
    return f"SeedreamPanel (static copy): {result.caption()}" if result is not None else "SeedreamPanel"


def hide_css(model_id: str) -> str:
    """The rules the live panel carries: its static copy is hidden wherever the panel itself shows."""
    name = esc(fallback_class(model_id))
    return f".{name}{{display:none!important}} .jp-OutputArea-child:has(.{name}){{display:none!important}}"
