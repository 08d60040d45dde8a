"""How everything looks: styles, the DEMO badge, thumbnails, and the HTML and text renderers of runs and results.

The one owner of presentation. `RunState` (a run in flight), `BatchState` (many), `Result`,
`Comparison` and errors each have an HTML renderer (notebooks, widgets) and a text renderer
(terminals, ``text/plain``); the magic, the panel and the command line only choose where to put
them. Importing this module registers the renderers with `seedream_widgets._present`, so
results display themselves without importing it.

Everything user- or service-provided (prompts, logs, error text) is HTML-escaped here, in one
place. Images are embedded as small JPEG thumbnails (512 px), never as the multi-megabyte
originals, so saved notebooks stay small. Colours are JupyterLab's theme variables, with
fallbacks for other front ends, so both the light and the dark theme read well.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _present

if TYPE_CHECKING:
    from .batch import BatchState
    from .result import Comparison, Result
    from .run import RunState

__all__ = [
    "COLORS",
    "BatchProgress",
    "badge",
    "batch_html",
    "batch_text",
    "comparison_html",
    "demo_badge",
    "error_html",
    "error_text",
    "esc",
    "in_notebook",
    "note_html",
    "result_html",
    "result_text",
    "short_path",
    "shorten",
    "status_html",
    "status_text",
    "thumbnail_bytes_uri",
    "thumbnail_data_uri",
]

COLORS = {
    "text": "var(--jp-ui-font-color1, #1f2937)",
    "muted": "var(--jp-ui-font-color2, #4b5563)",
    "border": "var(--jp-border-color2, #d1d5db)",
    "surface": "var(--jp-layout-color2, #f3f4f6)",
    "warn": "var(--jp-warn-color0, #92400e)",
    "warn_surface": "var(--jp-warn-color3, #fffbeb)",
    "error": "var(--jp-error-color0, #991b1b)",
    "error_surface": "var(--jp-error-color3, #fef2f2)",
    "ok": "var(--jp-success-color0, #166534)",
    "accent": "var(--jp-brand-color0, #1d4ed8)",
    "badge_demo": "#9a3412",
    "badge_model": "#1d4ed8",
}
"""Every colour the package draws with. Badges keep fixed colours (white text on them reads in both themes)."""

FONT = "font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 12px; line-height: 1.45;"
MUTED = f"color: {COLORS['muted']};"
MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 11px; white-space: pre-wrap;"
_STATUS_COLORS = {"succeeded": COLORS["ok"], "failed": COLORS["error"], "timed_out": COLORS["error"],
                  "canceled": COLORS["muted"], "aborted": COLORS["muted"]}


def esc(text: Any) -> str:
    """HTML-escaped text (quotes included): every user or service text goes through this."""
    return html.escape(str(text), quote=True)


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most ``limit`` characters (white space folded, "…" where cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_path(path: Path) -> str:
    """A path relative to the working folder when it is inside it (what a notebook user sees), else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (rich display works), False in a terminal or a script."""
    shell = sys.modules.get("IPython") and _shell()
    zmqshell = sys.modules.get("ipykernel.zmqshell")  # imported by every Jupyter kernel (Colab's subclasses it)
    return bool(shell) and zmqshell is not None and isinstance(shell, zmqshell.ZMQInteractiveShell)


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()


# -- thumbnails -----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _thumb(path: str, mtime: float, max_px: int) -> str:
    from .images import thumbnail

    data, mime = thumbnail(Path(path), max_px=max_px)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_data_uri(path: Path, max_px: int = 512) -> str:
    """A data URI of a JPEG thumbnail of an image file (cached per file and modification time)."""
    return _thumb(str(path), path.stat().st_mtime, max_px)


def thumbnail_bytes_uri(data: bytes, max_px: int = 192) -> tuple[str, float | None]:
    """A JPEG thumbnail data URI of image bytes, and their aspect ratio (width / height)."""
    from PIL import Image

    from .images import thumbnail

    thumb, mime = thumbnail(io.BytesIO(data), max_px=max_px)
    with Image.open(io.BytesIO(data)) as original:
        width, height = original.size
    return f"data:{mime};base64,{base64.b64encode(thumb).decode('ascii')}", (width / height if height else None)


# -- small pieces ----------------------------------------------------------------------------------


def badge(text: str, color: str) -> str:
    return (f'<span style="background:{color};color:#fff;border-radius:3px;padding:0 5px;margin-right:6px;'
            f'font-size:11px;font-weight:600">{esc(text)}</span>')


def demo_badge() -> str:
    """The DEMO label every door shows in demo mode."""
    return badge("DEMO", COLORS["badge_demo"])


def note_html(text: str) -> str:
    """A remark (an implied setting, an ignored field): readable in both themes."""
    return f'<div class="seedream-note" style="{FONT}color:{COLORS["warn"]}">note: {esc(text)}</div>'


def _figure(path: Path, caption: str, *, max_px: int = 256) -> str:
    return (f'<figure style="margin:0;display:inline-block;vertical-align:top">'
            f'<img src="{thumbnail_data_uri(path)}" alt="{esc(caption)}" title="{esc(path)}" '
            f'style="max-width:{max_px}px;max-height:{max_px}px;border-radius:4px;display:block"/>'
            f'<figcaption style="{FONT}{MUTED}">{esc(caption)}</figcaption></figure>')


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- a run in flight -----------------------------------------------------------------------------


def status_text(state: RunState) -> str:
    """``processing · 3.2 s · 1 image · <id> · Generating 2304x1728 image ...`` (one plain line)."""
    parts = [state.status.replace("_", " "), f"{state.elapsed:.1f} s", _plural(len(state.images), "image")]
    if state.id:
        parts.append(state.id)
    if state.note and not state.done:
        parts.append(state.note)
    if state.last_log_line:
        parts.append(shorten(state.last_log_line, 100))
    if state.demo:
        parts.insert(0, "DEMO")
    return " · ".join(parts)


def status_html(state: RunState, *, thumbnails: bool = True, max_px: int = 160) -> str:
    """The live status line of a run (and the images saved so far)."""
    status = state.status.replace("_", " ")
    color = _STATUS_COLORS.get(state.phase, COLORS["accent"])
    rest = status_text(state).removeprefix("DEMO · ")[len(status):]
    figures = ""
    if thumbnails:
        shown = []
        for i, path in enumerate(state.images, 1):
            try:  # images of a set move into the run's folder when it is stored: skip moved ones
                shown.append(_figure(path, f"{i}", max_px=max_px))
            except OSError:
                continue
        figures = "".join(shown)
    gallery = f'<div style="display:flex;flex-wrap:wrap;gap:6px;margin-top:4px">{figures}</div>' if figures else ""
    return (f'<div class="seedream-status" style="{FONT}color:{COLORS["text"]}">'
            f'{demo_badge() if state.demo else ""}<b style="color:{color}">{esc(status)}</b>{esc(rest)}'
            f'{gallery}</div>')


# -- many runs -------------------------------------------------------------------------------------


def batch_text(state: BatchState) -> str:
    """``compare: 3/4 done · 1 failed · 2.5 s`` (one plain line)."""
    counts = state.counts
    failed = f" · {counts['failed']} failed" if counts["failed"] else ""
    running = f" · {counts['running']} running" if counts["running"] and not state.done else ""
    note = f" · {state.note}" if state.note else ""
    demo = "DEMO · " if state.demo else ""
    return f"{demo}{state.label}: {state.finished}/{state.total} done{failed}{running}{note} · {state.elapsed:.1f} s"


def batch_html(state: BatchState) -> str:
    pct = 100 * state.finished / max(1, state.total)
    return (f'<div class="seedream-status" style="{FONT}color:{COLORS["text"]}">'
            f'<progress value="{pct:.0f}" max="100" style="width:240px"></progress> {esc(batch_text(state))}</div>')


class BatchProgress:
    """``12/64 done · 1 failed · 8.3 s`` updated in place: a display handle in notebooks, lines elsewhere.

    Like ``tqdm.notebook`` it degrades to plain text without a front end.
    """

    def __init__(self) -> None:
        self._handle: Any = None
        self._rich = in_notebook()
        self._last_print = 0.0
        self._printed_final = False

    def __call__(self, state: BatchState) -> None:
        if self._rich:
            from IPython.display import display

            bundle = {"text/plain": batch_text(state), "text/html": batch_html(state)}
            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
            else:
                self._handle.update(bundle, raw=True)
        elif (state.done and not self._printed_final) or time.monotonic() - self._last_print > 2:
            self._last_print = time.monotonic()
            self._printed_final = state.done
            print(batch_text(state), flush=True)


# -- results -----------------------------------------------------------------------------------------


def result_text(result: Result) -> str:
    """The caption, then one line per image file (what a terminal shows)."""
    return "\n".join([result.caption(), *(f"  {path}" for path in result.paths)])


def result_html(result: Result, *, max_px: int = 256) -> str:
    """A thumbnail grid with the prompt and a caption (size, count, id, time, folder)."""
    count = len(result.paths)
    figures = "".join(
        _figure(path, f"{i} of {count}" if count > 1 else "", max_px=max_px) for i, path in enumerate(result.paths, 1))
    return (f'<div class="seedream-result" style="{FONT}color:{COLORS["text"]}">'
            f'<div style="margin-bottom:4px">{demo_badge() if result.demo else ""}'
            f'<b>{esc(shorten(result.prompt, 160))}</b></div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:8px">{figures}</div>'
            f'<div style="{MUTED}margin-top:4px">{esc(result.caption())}</div></div>')


def comparison_html(comparison: Comparison) -> str:
    """A table: rows are the first axis, columns the product of the others."""
    names = list(comparison.axes)
    row_axis, col_axes = names[0], names[1:]
    col_values = list(itertools.product(*(comparison.axes[n] for n in col_axes))) or [()]
    cells = {tuple(settings[n] for n in names): outcome for settings, outcome in comparison.cells}
    head = "".join(
        f'<th style="{FONT}">{esc(", ".join(f"{n}={v}" for n, v in zip(col_axes, values, strict=False)) or "")}</th>'
        for values in col_values)
    rows = []
    for row_value in comparison.axes[row_axis]:
        tds = []
        for values in col_values:
            outcome = cells.get((row_value, *values))
            tds.append(f'<td style="vertical-align:top;padding:4px">{_cell(outcome)}</td>')
        rows.append(f'<tr><th style="{FONT}">{esc(row_axis)}={esc(row_value)}</th>{"".join(tds)}</tr>')
    demo = demo_badge() if any(r.demo for r in comparison.results) else ""
    return (f'<div class="seedream-compare" style="{FONT}color:{COLORS["text"]}">{demo}'
            f'<b>{esc(shorten(comparison.prompt, 160))}</b>'
            f'<table><tr><th></th>{head}</tr>{"".join(rows)}</table></div>')


def _cell(outcome: Any) -> str:
    if outcome is None:
        return ""
    if isinstance(outcome, BaseException):
        return f'<div style="color:{COLORS["error"]};max-width:192px">{esc(outcome)}</div>'
    size = f"{outcome.sizes[0][0]}x{outcome.sizes[0][1]}" if outcome.sizes else ""
    return "".join(_figure(p, size, max_px=192) for p in outcome.paths)


# -- errors ---------------------------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def error_html(error: BaseException) -> str:
    """A short styled error box: the message, escaped, without a traceback."""
    return (f'<div class="seedream-error" style="{FONT}border-left:3px solid {COLORS["error"]};'
            f'background:{COLORS["error_surface"]};color:{COLORS["text"]};padding:6px 10px;white-space:pre-wrap">'
            f'<b style="color:{COLORS["error"]}">{esc(type(error).__name__)}</b>: {esc(error)}</div>')


def _run_state_html(state: RunState) -> str:
    if state.result is not None:
        return result_html(state.result)
    if state.error is not None:
        return error_html(state.error)
    return status_html(state)


def _progress_view() -> Callable[[BatchState], None] | None:
    return BatchProgress()


def _register() -> None:
    _present.register_html("seedream_widgets.result.Result", result_html)
    _present.register_html("seedream_widgets.result.Comparison", comparison_html)
    _present.register_html("seedream_widgets.run.RunState", _run_state_html)
    _present.register_html("seedream_widgets.batch.BatchState", batch_html)
    _present.register_progress(_progress_view)


_register()

