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
import contextlib
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
    "details_html",
    "error_html",
    "error_text",
    "esc",
    "in_notebook",
    "note_html",
    "prompt_diff_html",
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
    "text": "var(--jp-ui-font-color1, inherit)",
    "muted": "var(--jp-ui-font-color2, inherit)",
    "border": "var(--jp-border-color1, #9ca3af)",
    "surface": "var(--jp-layout-color2, transparent)",
    "warn": "var(--jp-ui-font-color1, inherit)",
    "warn_edge": "var(--jp-warn-color1, #d97706)",
    "warn_surface": "transparent",
    "error": "var(--jp-ui-font-color1, inherit)",
    "error_edge": "var(--jp-error-color1, #dc2626)",
    "error_surface": "transparent",
    "link": "var(--jp-content-link-color, #1d4ed8)",
    "badge_demo": "#9a3412",
    "badge_model": "#1d4ed8",
    "badge_ok": "#166534",
    "badge_error": "#991b1b",
    "badge_idle": "#4b5563",
    "badge_busy": "#1e40af",
    "mark": "rgba(250, 204, 21, 0.35)",
}
"""Every colour the package draws with, readable in JupyterLab's light and dark themes (text at least 4.5:1).

Text always takes the theme's own font colours (``inherit`` outside JupyterLab, so VS Code and Colab
keep theirs); warnings and errors are marked by a coloured edge and a badge, never by coloured text
on a tinted slab. Badges keep fixed dark colours with white text, which reads on any background.
"""

FONT = "font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 12px; line-height: 1.45;"
MUTED = f"color: {COLORS['muted']};"
ROW = "background: transparent;"
"""On every table row: JupyterLab stripes the odd rows of rendered tables, and muted text on the stripe falls
just under 4.5:1 in the light theme (measured in Chromium: tests/browser/test_magic_look_browser.py)."""
MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 11px; white-space: pre-wrap;"
_STATUS_BADGES = {"succeeded": COLORS["badge_ok"], "failed": COLORS["badge_error"],
                  "timed_out": COLORS["badge_error"], "canceled": COLORS["badge_idle"],
                  "aborted": COLORS["badge_idle"], "queued": COLORS["badge_idle"]}


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
    """A remark (an implied setting, an ignored field): theme text, marked by a warning-coloured edge."""
    return (f'<div class="seedream-note" style="{FONT}color:{COLORS["text"]};border-left:3px solid '
            f'{COLORS["warn_edge"]};padding:1px 8px;margin:2px 0"><b>note:</b> {esc(text)}</div>')


def _figure(path: Path, caption: str, *, max_px: int = 256) -> str:
    """A thumbnail (at the size shown) with its caption; OSError when the file is gone (callers skip it)."""
    return (f'<figure style="margin:0;display:inline-block;vertical-align:top">'
            f'<img src="{thumbnail_data_uri(path, max_px)}" alt="{esc(caption)}" title="{esc(path)}" '
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
    color = _STATUS_BADGES.get(state.phase, COLORS["badge_busy"])
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
            f'{demo_badge() if state.demo else ""}{badge(status, color)}{esc(rest.removeprefix(" · "))}'
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
    """A thumbnail grid with the prompt, the inputs of an edit beside its outputs, a caption and a details view."""
    count = len(result.paths)
    figures = "".join(
        _figure(path, f"{i} of {count}" if count > 1 else "", max_px=max_px) for i, path in enumerate(result.paths, 1))
    sources = sources_html(result, max_px=max_px // 2)
    body = (f'<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start">{sources}'
            f'<div style="display:flex;flex-wrap:wrap;gap:8px">{figures}</div></div>')
    return (f'<div class="seedream-result" style="{FONT}color:{COLORS["text"]}">'
            f'<div style="margin-bottom:4px">{demo_badge() if result.demo else ""}'
            f'<b>{esc(shorten(result.prompt, 160))}</b></div>{body}'
            f'<div style="{MUTED}margin-top:4px">{esc(result.caption())}</div>{details_html(result)}</div>')


def sources_html(result: Result, *, max_px: int, label: str = "") -> str:
    """An edit's input images (kept small in the run's folder, and URLs) with an arrow to its outputs; "" for none.

    ``label`` goes before them (the panel says "made from")."""
    inputs = []
    for i, path in enumerate(result.input_paths, 1):
        with contextlib.suppress(OSError):  # an input gone from the run's folder since: left out
            inputs.append(_figure(path, f"input {i}", max_px=max_px))
    inputs += [f'<a href="{esc(url)}" target="_blank" style="{MUTED}max-width:{max_px}px;overflow-wrap:anywhere">'
               f'input: {esc(shorten(url, 48))}</a>' for url in result.input_urls]
    if not inputs:
        return ""
    lead = f'<span style="{MUTED}">{esc(label)}</span>' if label else ""
    return (f'<div class="seedream-inputs" style="display:flex;flex-wrap:wrap;gap:6px;align-items:center;'
            f'padding-right:8px;border-right:1px solid {COLORS["border"]}">{lead}{"".join(inputs)}'
            f'<span style="{MUTED}font-size:18px">&#8594;</span></div>')


def details_html(result: Result) -> str:
    """A folded "details" view: what made the run (its generation record, as written into its files)."""
    rows: list[tuple[str, Any]] = [("prompt", result.prompt), ("model", result.model or "?"), ("prediction", result.id)]
    version = result.prediction.version
    if version and version != "hidden":
        rows.append(("version", version))
    rows += [(k, v) for k, v in result.input.items() if k not in ("prompt", "image_input")]
    if result.input.get("image_input"):
        rows.append(("input images", len(result.input["image_input"])))
    if result.prediction.created_at:
        rows.append(("created", result.prediction.created_at.isoformat(timespec="seconds")))
    if result.cost is not None:
        rows.append(("cost", "nothing (demo)" if result.demo else f"${result.cost:.3f}"))
    rows.append(("folder", short_path(result.folder)))
    cells = "".join(f'<tr style="{ROW}"><th style="text-align:left;padding-right:10px;{MUTED}font-weight:500">'
                    f'{esc(k)}</th>'
                    f'<td style="text-align:left;overflow-wrap:anywhere">{esc(v)}</td></tr>' for k, v in rows)
    return (f'<details class="seedream-details" style="margin-top:2px"><summary style="{MUTED}cursor:pointer">'
            f'details</summary><table style="{FONT}border-collapse:collapse">{cells}</table></details>')


def comparison_html(comparison: Comparison) -> str:
    """Labelled grids: rows are the first axis, columns the second, one grid per value of a third.

    A cell's caption names only what differs from its row and column (never the whole prompt); a
    prompt axis shows its prompts with the words that differ highlighted.
    """
    names = list(comparison.axes)
    row_axis, col_axis = names[0], (names[1] if len(names) > 1 else None)
    page_axes = names[2:]
    cells = {tuple(settings.get(n) for n in names): (i, outcome)
             for i, (settings, outcome) in enumerate(comparison.cells)}
    pages = list(itertools.product(*(comparison.axes[n] for n in page_axes))) or [()]
    blocks = []
    for page in pages:
        cols = list(comparison.axes[col_axis]) if col_axis else [None]
        head = "".join(f'<th style="{FONT}text-align:left">{_axis_label(comparison, col_axis, v)}</th>'
                       for v in cols) if col_axis else ""
        rows = []
        for row_value in comparison.axes[row_axis]:
            tds = []
            for col_value in cols:
                key = (row_value, *([col_value] if col_axis else []), *page)
                index, outcome = cells.get(key, (-1, None))
                note = comparison.notes[index] if 0 <= index < len(comparison.notes) else ""
                tds.append(f'<td style="vertical-align:top;padding:4px">{_cell(outcome, note)}</td>')
            rows.append(f'<tr style="{ROW}"><th style="{FONT}text-align:left;vertical-align:top;max-width:220px">'
                        f'{_axis_label(comparison, row_axis, row_value)}</th>{"".join(tds)}</tr>')
        title = ", ".join(f"{n}={v}" for n, v in zip(page_axes, page, strict=True))
        caption = f'<div style="font-weight:600;margin:8px 0 2px 0">{esc(title)}</div>' if title else ""
        blocks.append(f'{caption}<table style="border-collapse:collapse"><tr style="{ROW}"><th></th>{head}</tr>'
                      f'{"".join(rows)}</table>')
    demo = demo_badge() if any(r.demo for r in comparison.results) else ""
    axes = " × ".join(f"{n} ({len(v)})" for n, v in comparison.axes.items())
    return (f'<div class="seedream-compare" style="{FONT}color:{COLORS["text"]}">{demo}'
            f'<b>{esc(shorten(comparison.prompt, 160))}</b> <span style="{MUTED}">{esc(axes)}</span>'
            f'{"".join(blocks)}</div>')


def _axis_label(comparison: Comparison, axis: str | None, value: Any) -> str:
    if axis is None:
        return ""
    if axis == "prompt":
        return f'<span style="font-weight:400">{prompt_diff_html(str(value), comparison.axes["prompt"])}</span>'
    return f"{esc(axis)}={esc(value)}"


def prompt_diff_html(prompt: str, prompts: Any) -> str:
    """``prompt`` with the words not shared by every prompt of the axis highlighted."""
    common = set.intersection(*(set(str(p).split()) for p in prompts)) if prompts else set()
    return " ".join(esc(word) if word in common else
                    f'<mark style="background:{COLORS["mark"]};color:inherit">{esc(word)}</mark>'
                    for word in prompt.split())


def _cell(outcome: Any, note: str = "") -> str:
    extra = f'<div style="{MUTED}max-width:192px">{esc(note)}</div>' if note else ""
    if outcome is None:
        return extra
    if isinstance(outcome, BaseException):
        return (f'<div style="border-left:3px solid {COLORS["error_edge"]};padding-left:6px;max-width:192px;'
                f'overflow-wrap:anywhere">{esc(outcome)}</div>{extra}')
    size = f"{outcome.sizes[0][0]}x{outcome.sizes[0][1]}" if outcome.sizes else ""
    return "".join(_figure(p, size, max_px=192) for p in outcome.paths) + extra


# -- errors ---------------------------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def error_html(error: BaseException) -> str:
    """A short error box: the message, escaped, without a traceback (theme text, an error-coloured edge)."""
    return (f'<div class="seedream-error" style="{FONT}border-left:3px solid {COLORS["error_edge"]};'
            f'color:{COLORS["text"]};padding:4px 10px;white-space:pre-wrap;overflow-wrap:anywhere">'
            f'{badge(type(error).__name__, COLORS["badge_error"])}{esc(error)}</div>')


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

