"""HTML and text renderings shared by results, the magic, the panel and progress displays.

Everything user- or service-provided (prompts, logs, error text) is HTML-escaped
here, in one place. Images are embedded as small JPEG thumbnails (512 px), never
as the multi-megabyte originals, so saved notebooks stay small.
"""

from __future__ import annotations

import base64
import html
import itertools
import sys
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .prediction import Prediction
    from .result import Comparison, Result

__all__ = ["ProgressDisplay", "comparison_html", "error_html", "in_notebook", "result_html", "shorten", "status_html",
           "status_text", "thumbnail_data_uri"]

_FONT = "font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 12px;"
_MUTED = "color: var(--jp-ui-font-color2, #666);"


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


@lru_cache(maxsize=512)
def _thumb(path: str, mtime: float, max_px: int) -> str:
    from .images import thumbnail

    data, mime = thumbnail(Path(path), max_px=max_px)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_data_uri(path: Path, max_px: int = 512) -> str:
    """A data URI of a JPEG thumbnail (cached per file and modification time)."""
    return _thumb(str(path), path.stat().st_mtime, max_px)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (rich display works), False in a terminal or a script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    zmqshell = sys.modules.get("ipykernel.zmqshell")  # imported by every Jupyter kernel (Colab's subclasses it)
    return shell is not None and zmqshell is not None and isinstance(shell, zmqshell.ZMQInteractiveShell)


def _figure(path: Path, caption: str, *, max_px: int = 256) -> str:
    return (f'<figure style="margin:0;display:inline-block;vertical-align:top">'
            f'<img src="{thumbnail_data_uri(path)}" alt="{esc(caption)}" title="{esc(path)}" '
            f'style="max-width:{max_px}px;max-height:{max_px}px;border-radius:4px;display:block"/>'
            f'<figcaption style="{_FONT}{_MUTED}">{esc(caption)}</figcaption></figure>')


def result_html(result: Result, *, max_px: int = 256) -> str:
    """A thumbnail grid with the prompt and a caption (size, count, id, time, folder)."""
    count = len(result.paths)
    figures = "".join(
        _figure(path, f"{i} of {count}" if count > 1 else "", max_px=max_px) for i, path in enumerate(result.paths, 1))
    badge = _badge("DEMO", "#b45309") if result.demo else ""
    return (f'<div class="seedream-result" style="{_FONT}">'
            f'<div style="margin-bottom:4px">{badge}<b>{esc(shorten(result.prompt, 160))}</b></div>'
            f'<div style="display:flex;flex-wrap:wrap;gap:8px">{figures}</div>'
            f'<div style="{_MUTED}margin-top:4px">{esc(result.caption())}</div></div>')


def comparison_html(comparison: Comparison) -> str:
    """A table: rows are the first axis, columns the product of the others."""
    names = list(comparison.axes)
    row_axis, col_axes = names[0], names[1:]
    col_values = list(itertools.product(*(comparison.axes[n] for n in col_axes))) or [()]
    cells = {tuple(settings[n] for n in names): outcome for settings, outcome in comparison.cells}
    head = "".join(
        f'<th style="{_FONT}">{esc(", ".join(f"{n}={v}" for n, v in zip(col_axes, values, strict=False)) or "")}</th>'
        for values in col_values)
    rows = []
    for row_value in comparison.axes[row_axis]:
        tds = []
        for values in col_values:
            outcome = cells.get((row_value, *values))
            tds.append(f'<td style="vertical-align:top;padding:4px">{_cell(outcome)}</td>')
        rows.append(f'<tr><th style="{_FONT}">{esc(row_axis)}={esc(row_value)}</th>{"".join(tds)}</tr>')
    return (f'<div class="seedream-compare" style="{_FONT}"><b>{esc(shorten(comparison.prompt, 160))}</b>'
            f'<table><tr><th></th>{head}</tr>{"".join(rows)}</table></div>')


def _cell(outcome: Any) -> str:
    from .result import Result

    if isinstance(outcome, Result):
        size = f"{outcome.sizes[0][0]}x{outcome.sizes[0][1]}" if outcome.sizes else ""
        return "".join(_figure(p, size, max_px=192) for p in outcome.paths)
    if outcome is None:
        return ""
    return f'<div style="color:#b91c1c;max-width:192px">{esc(outcome)}</div>'


def _badge(text: str, color: str) -> str:
    return (f'<span style="background:{color};color:white;border-radius:3px;padding:0 5px;margin-right:6px;'
            f'font-size:11px;font-weight:600">{esc(text)}</span>')


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most ``limit`` characters (white space folded, "…" where cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(prediction: Prediction | None, elapsed: float, images: int, *, demo: bool = False) -> str:
    """``processing · 3.2 s · 1 image · Generating 2304x1728 image ...`` (one plain line)."""
    status = prediction.status if prediction else "submitting"
    parts = [status, f"{elapsed:.1f} s", f"{images} image{'s' if images != 1 else ''}"]
    if prediction and prediction.last_log_line:
        parts.append(shorten(prediction.last_log_line, 100))
    if demo:
        parts.insert(0, "DEMO")
    return " · ".join(parts)


def status_html(prediction: Prediction | None, elapsed: float, images: int, *, demo: bool = False,
                thumbnails: Sequence[Path] = ()) -> str:
    """The live status line (and any images saved so far) of a running generation."""
    status = prediction.status if prediction else "submitting"
    colors = {"succeeded": "#15803d", "failed": "#b91c1c", "canceled": "#6b7280"}
    text = status_text(prediction, elapsed, images)
    text = text[len(status):]
    badge = _badge("DEMO", "#b45309") if demo else ""
    pid = f' <span style="{_MUTED}">{esc(prediction.id)}</span>' if prediction else ""
    figures = "".join(_figure(p, f"{i}", max_px=160) for i, p in enumerate(thumbnails, 1))
    gallery = f'<div style="display:flex;flex-wrap:wrap;gap:6px;margin-top:4px">{figures}</div>' if figures else ""
    return (f'<div class="seedream-status" style="{_FONT}">{badge}'
            f'<b style="color:{colors.get(status, "#1d4ed8")}">{esc(status)}</b>{esc(text)}{pid}{gallery}</div>')


def error_html(error: BaseException) -> str:
    """A short styled error box: the message, escaped, without a traceback."""
    title = type(error).__name__
    return (f'<div class="seedream-error" style="{_FONT}border-left:3px solid #b91c1c;background:#fef2f2;'
            f'color:#7f1d1d;padding:6px 10px;white-space:pre-wrap"><b>{esc(title)}</b>: {esc(error)}</div>')


class ProgressDisplay:
    """``12/64 done · 1 failed · 8.3 s`` updated in place: a display handle in notebooks, lines elsewhere.

    Like ``tqdm.notebook`` it degrades to plain text without a front end.
    """

    def __init__(self, total: int, label: str = "seedream") -> None:
        self.total, self.label = total, label
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._handle: Any = None
        self._last_print = 0.0
        if in_notebook():
            from IPython.display import HTML, display

            self._handle = display(HTML(self._html()), display_id=True)  # type: ignore[no-untyped-call]

    def _text(self) -> str:
        failed = f" · {self.failed} failed" if self.failed else ""
        return (f"{self.label}: {self.done}/{self.total} done{failed} · "
                f"{time.monotonic() - self.started:.1f} s")

    def _html(self) -> str:
        pct = 100 * self.done / max(1, self.total)
        return (f'<div style="{_FONT}"><progress value="{pct:.0f}" max="100" style="width:240px"></progress> '
                f'{esc(self._text())}</div>')

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._html()))  # type: ignore[no-untyped-call]
        elif self.done == self.total or time.monotonic() - self._last_print > 2:
            self._last_print = time.monotonic()
            print(self._text(), flush=True)
