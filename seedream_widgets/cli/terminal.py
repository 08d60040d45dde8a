"""What the command prints, and how: rich on a terminal (colour, tables, live lines), plain text everywhere else.

Results go to stdout, status and notes to stderr. Colour only when the stream is a terminal and
``NO_COLOR`` is not set; output to a pipe or a file is plain, unwrapped and free of escape codes,
so ``seedream history | grep fox`` and ``--json > run.json`` work. A run's status is
`display.status_text` of its `RunState`, a batch's `display.batch_text` of its `BatchState`:
this module only chooses colours and where the lines go.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import traceback
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .. import options
from ..config import scrub
from ..display import batch_text, shorten, status_text
from ..errors import (
    APIError,
    CostLimitExceeded,
    DeadlineExceeded,
    OutputError,
    PredictionError,
    SeedreamError,
    ValidationError,
)
from .parsing import EXIT_FAILED, EXIT_INTERNAL, EXIT_SERVICE, EXIT_USAGE, UsageProblem

if TYPE_CHECKING:
    from ..batch import BatchState
    from ..models import ModelSchema
    from ..run import RunState

PHASE_STYLES = {"succeeded": "green", "failed": "red", "timed_out": "red", "canceled": "yellow", "aborted": "yellow",
                "queued": "dim", "submitting": "cyan", "starting": "cyan", "processing": "cyan", "saving": "cyan"}
"""The colour of a run's status word on a terminal."""
DEMO_STYLE = "bold yellow"
MAX_LIVE_ITEMS = 12
"""Running items a batch shows a live line for (the rest are counted)."""


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def ask(question: str) -> bool:
    """A yes from the person at the terminal; False without asking when stdin or stderr is not one (scripts)."""
    if not (is_terminal(sys.stdin) and is_terminal(sys.stderr)):
        return False
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):  # end of input (Ctrl-D): what follows starts on its own line
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def _console(stream: IO[str]) -> Console:
    tty = is_terminal(stream)
    colour = tty and not os.environ.get("NO_COLOR")
    # Off a terminal: no colour system at all (so no escape code of any kind) and no wrapping.
    return Console(file=stream, force_terminal=tty, color_system="auto" if colour else None, no_color=not colour,
                   width=None if tty else 10_000, highlight=False, markup=False, emoji=False, soft_wrap=not tty)


class Terminal:
    """The two streams of one command: ``out`` (results) and ``err`` (status, notes, errors)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.out = _console(sys.stdout)
        self.err = _console(sys.stderr)
        self.quiet = quiet
        self.live = is_terminal(sys.stderr)
        """stderr is a terminal: status lines are redrawn in place."""

    def note(self, text: str, style: str = "") -> None:
        """A line on stderr, unless ``--quiet``."""
        if not self.quiet:
            self.err.print(text, style=style or None, soft_wrap=True)

    def print(self, text: str | Text = "", style: str = "") -> None:
        self.out.print(text, style=style or None, soft_wrap=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str | Text]], *, flex: str = "",
              fold: bool = False, show_header: bool = True, optional: Sequence[str] = ()) -> None:
        """Aligned columns (a bold header on a terminal). Off a terminal nothing is cut or wrapped and lines carry
        no trailing spaces. On one, every column keeps its whole width (ids are copied from here) but ``flex``,
        which takes the width left: shortened with an ellipsis, or folded onto more lines with ``fold``; on a
        narrow one the ``optional`` columns are left out, in order, until ``flex`` has some room."""
        console = self.out
        if console.is_terminal and flex in headers:
            for name in optional:  # a narrow terminal: the flexible column keeps some room, the optional go
                if _room(console.width, headers, rows, flex) >= 24 or name not in headers:
                    continue
                index = list(headers).index(name)
                headers = [h for i, h in enumerate(headers) if i != index]
                rows = [[cell for i, cell in enumerate(row) if i != index] for row in rows]
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", expand=False,
                      show_header=show_header)
        for header in headers:
            if header != flex or not console.is_terminal:
                table.add_column(header, no_wrap=True)
            else:
                table.add_column(header, no_wrap=not fold, overflow="fold" if fold else "ellipsis",
                                 max_width=max(12, _room(console.width, headers, rows, flex)))
        for row in rows:
            table.add_row(*row)
        if console.is_terminal:
            console.print(table)
            return
        with console.capture() as captured:
            console.print(table)
        console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
        console.file.flush()

    def pairs(self, rows: Sequence[tuple[str, str | Text]]) -> None:
        """``key  value`` lines (keys dim on a terminal)."""
        self.table(["", " "], [(Text(key, style="dim"), value) for key, value in rows], flex=" ", fold=True,
                   show_header=False)

    def json(self, data: Any, token: str) -> None:
        """JSON on stdout, with the token scrubbed from anything a server echoed (it is never put there)."""
        print(scrub(json.dumps(data, indent=2, ensure_ascii=False, default=str), token), flush=True)


def _room(width: int, headers: Sequence[str], rows: Sequence[Sequence[str | Text]], flex: str) -> int:
    """The width left for column ``flex`` when every other column is as wide as its widest cell."""
    fixed = [max(Text(h).cell_len, *(Text(str(row[i])).cell_len for row in rows)) for i, h in enumerate(headers)
             if h != flex]
    return width - sum(fixed) - 2 * (len(headers) - 1)


def styled_status(text: str, phase: str) -> Text:
    """`display.status_text`'s line with the DEMO mark and the status word coloured."""
    line = Text(text)
    start = 0
    if text.startswith("DEMO · "):
        line.stylize(DEMO_STYLE, 0, 4)
        start = len("DEMO · ")
    end = text.find(" · ", start)
    line.stylize(PHASE_STYLES.get(phase, ""), start, end if end >= 0 else len(text))
    return line


def demo_mark(text: str, demo: bool) -> Text:
    """``[DEMO] text``, the mark in colour on a terminal."""
    return Text.assemble(("[DEMO] ", DEMO_STYLE), text) if demo else Text(text)


class StatusLine:
    """A renderer of `RunState` on stderr: one line rewritten in place on a terminal; elsewhere a plain line
    whenever the status, the image count or the last log line changes, the first naming the prediction; nothing
    with ``--quiet``."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.mode = "off" if terminal.quiet else "live" if terminal.live else "lines"
        self.shown: tuple[str, int, str] | None = None

    def draw(self, state: RunState) -> None:
        shown = (state.status, len(state.images), state.last_log_line)
        err = self.terminal.err
        if self.mode == "live":
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            err.file.write("\r")
            err.print(styled_status(shorten(status_text(state), width), state.phase), end="", soft_wrap=True)
            err.file.write("\x1b[K")
            err.file.flush()
        elif self.mode == "lines" and state.id and shown != self.shown:
            if self.shown is None:
                err.print(f"prediction {state.id}" + (" (DEMO backend)" if state.demo else ""))
            err.print(status_text(state))
        else:
            return
        self.shown = shown

    def close(self) -> None:
        """End the live line: its last state (`Run.wait` always draws the last one) stays on screen."""
        if self.mode == "live" and self.shown is not None:
            self.terminal.err.file.write("\n")
            self.terminal.err.file.flush()


def _item_text(state: RunState) -> str:
    return status_text(state).removeprefix("DEMO · ")  # the batch's line says DEMO once


class BatchView:
    """A renderer of `BatchState` on stderr. On a terminal: a live block (the batch's line, then one line per
    running item: its label and `display.status_text`) under the lines of the items that ended. Elsewhere:
    a line when an item's prediction starts and when it ends. Nothing with ``--quiet``."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._live: Live | None = None
        self._started: set[int] = set()

    def draw(self, state: BatchState) -> None:
        if self.terminal.quiet:
            return
        if not self.terminal.live:
            for index, item in enumerate(state.items):
                if item.id and not item.done and index not in self._started:
                    self._started.add(index)
                    self.terminal.note(f"{item.label} started · {item.id}")
            return
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        running = [item for item in state.items if item.phase != "queued" and not item.done]
        lines = [Text(shorten(batch_text(state), width), style="bold")]
        lines += [Text.assemble(f"  {item.label} · ", styled_status(shorten(_item_text(item), width - 12),
                                                                     item.phase)) for item in running[:MAX_LIVE_ITEMS]]
        if len(running) > MAX_LIVE_ITEMS:
            lines.append(Text(f"  … and {len(running) - MAX_LIVE_ITEMS} more running", style="dim"))
        if self._live is None:  # refreshed here, on the waiting thread, never by a thread of rich's own
            self._live = Live(console=self.terminal.err, auto_refresh=False, transient=True, redirect_stdout=False,
                              redirect_stderr=False)
            self._live.start()
        self._live.update(Group(*lines), refresh=True)

    def ended(self, text: str, style: str = "") -> None:
        """An item's outcome, printed above the live block (or as a plain line)."""
        self.terminal.note(text, style)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


# -- errors ---------------------------------------------------------------------------------------


def exit_status(exc: BaseException) -> int:
    """The exit status for an error: 2 usage/validation/cost, 3 service, 4 prediction, 1 anything else."""
    if isinstance(exc, (ValidationError, UsageProblem, CostLimitExceeded)):
        return EXIT_USAGE
    if isinstance(exc, PredictionError):
        return EXIT_FAILED
    return EXIT_SERVICE if isinstance(exc, SeedreamError) else EXIT_INTERNAL


_OPTIONS = {"model": "--model", "timeout": "--timeout", "axes": "--vary"}
_RESUME_CALL = re.compile(r"resume\(['\"]([^'\"]+)['\"]\)")


def in_option_words(text: str) -> str:
    """An engine message written for Python in the command's words (``resume('ID')`` -> ``seedream show ID``)."""
    text = _RESUME_CALL.sub(r"`seedream show \1`", text)
    text = text.replace("(it is listed by in_flight())", "(`seedream history` lists it)")
    return text.replace("max_cost=", "--max-cost").replace("over max_cost", "over --max-cost")


def error_lines(exc: BaseException, schema: ModelSchema | None = None) -> list[str]:
    if isinstance(exc, ValidationError):
        head = ("the service rejected the input" if exc.status == 422 else "invalid input") + "; fix and try again:"
        lines = options.problem_lines(exc, schema)
        # Problems with what is not a model field, named as the command's options.
        lines = [_OPTIONS.get(line.split(":", 1)[0], line.split(":", 1)[0]) + line[len(line.split(":", 1)[0]):]
                 for line in lines]
        return [head, *(f"  {line}" for line in lines)]
    lines = in_option_words(str(exc) or type(exc).__name__).splitlines()
    if isinstance(exc, APIError) and type(exc).__name__ not in lines[0]:
        lines[0] = f"{type(exc).__name__}: {lines[0]}"
    if isinstance(exc, DeadlineExceeded) and exc.prediction is not None:
        lines.append(f"`seedream show {exc.prediction.id}` waits for it and saves its images later "
                     "(or give a longer --timeout)")
    if isinstance(exc, OutputError) and exc.prediction_id and not isinstance(exc, APIError):
        lines.append(f"once the cause is fixed, this saves its images: seedream show {exc.prediction_id}")
    return lines


def report(terminal: Terminal, prog: str, exc: BaseException, *, debug: bool = False, json_mode: bool = False,
           schema: ModelSchema | None = None) -> int:
    """Print an error (a few lines on stderr, red on a terminal; also JSON on stdout with ``--json``); its status."""
    status = exit_status(exc)
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    lines = error_lines(exc, schema)
    if status == EXIT_INTERNAL:
        lines = [f"internal error: {type(exc).__name__}: {lines[0]}", "run again with --debug for the traceback"
                 if not debug else "this is a bug; please report it with the traceback above"]
    terminal.err.print(f"{prog}: {lines[0]}", style="bold red", soft_wrap=True)
    for line in lines[1:]:
        terminal.err.print(line if line.startswith("  ") else f"  {line}", soft_wrap=True)
    if json_mode and status != EXIT_INTERNAL:
        prediction = getattr(exc, "prediction", None)
        print(json.dumps({"error": {"type": type(exc).__name__, "message": "\n".join(lines), "exit_status": status},
                          "prediction": prediction and prediction.to_json()}, indent=2), flush=True)
    return status
