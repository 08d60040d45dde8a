"""The panel's static copy: the last result as plain HTML, for where the widget cannot be shown.

A saved notebook opened without its kernel (or after a restart) has no widget model: in a trusted
notebook JupyterLab then shows "Error displaying widget: model not found" for the widget's output and
never falls back to another type of the same output (jupyterlab-manager's ``WidgetRenderer``; an
untrusted one picks the output's ``text/html``, `widget_html`). So the panel displays a second output
beside the widget (``SeedreamPanel._ipython_display_``): this HTML, updated in place (a display id)
as results come, with the page's stylesheet and script (`styles`), which hide it wherever the live
panel is on the page; only a page without the widget shows it.
"""

from __future__ import annotations

from ..display import COLORS, FONT, MUTED, result_html
from ..result import Result
from .styles import page_html


def fallback_class(model_id: str) -> str:
    return f"seedream-fallback-{model_id}"


def fallback_html(result: Result | None, model_id: str) -> str:
    """What a page without the live panel shows in its place: the last result ("" before there is one)."""
    if result is None:
        return f'<div class="seedream-fallback {fallback_class(model_id)}"></div>'
    return (f'<div class="seedream-fallback {fallback_class(model_id)}" style="{FONT}color:{COLORS["text"]}">'
            f'<div style="{MUTED}margin-bottom:4px">The Seedream panel\'s last result (a static copy: run the cell '
            f'to use the panel)</div>{result_html(result)}</div>')


def widget_html(result: Result | None, model_id: str) -> str:
    """The widget output's own ``text/html``: what viewers that do not run widgets show for it."""
    return fallback_html(result, model_id) if result is not None else (
        f'<div class="seedream-fallback" style="{FONT}{MUTED}">A Seedream panel (run the cell to use it)</div>')


def fallback_text(result: Result | None) -> str:
    return f"SeedreamPanel (static copy): {result.caption()}" if result is not None else "SeedreamPanel"


def companion_html(result: Result | None, model_id: str) -> str:
    """The output beside the widget: the page's stylesheet and script, then the static copy."""
    return page_html(model_id, fallback_class(model_id)) + fallback_html(result, model_id)
