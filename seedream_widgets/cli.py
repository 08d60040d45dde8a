"""The ``seedream`` command: one argparse subcommand per front-door action, rendering the engine's runs on a terminal.

>>> main(["generate", "a red fox in the snow", "--size", "1K", "-o", "out"])  # doctest: +SKIP
DEMO · succeeded · 0.6 s · 1 image · jgphg58vscwhgj1j3nw69jk2t9 · Generated image 1 of 1
/home/me/out/2026-11-24/jgphg58vscwhgj1j3nw69jk2t9/1.jpg

Each subcommand is one ``_add_<name>`` function that registers its parser and
sets ``handler`` to the function that runs it; adding a subcommand is adding
one such pair and one line to `SUBCOMMANDS`. Like the other front doors the
command is thin: options and messages in option words come from
`seedream_widgets.options`, a generation is a `Run` (a batch a `Batch`) started
through the client and waited for on the main thread, its states drawn with
`display.status_text`, and stored runs are read through `Gallery`. It starts no
thread and writes no file of its own. Exit codes are the `EXIT_*` constants.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import json
import logging
import os
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .display import shorten, status_text
from .errors import APIError, DeadlineExceeded, PredictionCanceled, PredictionError, SeedreamError, ValidationError
from .options import (
    add_field_options,
    caveat_notes,
    field_for,
    field_values,
    imply_sequential,
    option_names,
    parse_field_text,
    problem_lines,
)
from .schema import FIELDS

if TYPE_CHECKING:
    from .batch import BatchState
    from .client import Seedream
    from .config import Settings
    from .gallery import Gallery
    from .result import Result
    from .run import Run, RunState
    from .schema import SeedreamInput

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SERVICE",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "build_parser",
    "main",
]

EXIT_OK = 0
"""Everything asked for is done."""
EXIT_INTERNAL = 1
"""A bug (an unexpected exception); ``--debug`` shows its traceback."""
EXIT_USAGE = 2
"""A bad option, a bad batch file, or input the model's schema rejects (also argparse's own code)."""
EXIT_SERVICE = 3
"""The service could not be used: refused (401, 402, 404, 429...), unreachable, misconfigured, or its
outputs could not be downloaded."""
EXIT_FAILED = 4
"""A prediction failed, was canceled elsewhere, or passed the ``--timeout``; in a batch, some item did not
succeed."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), after the running predictions were canceled on the service. SIGTERM and SIGHUP
cancel the same way and exit with 143 and 129."""

TICK_SECONDS = 0.2
"""How often the live status line redraws on a terminal (its elapsed time moves between events)."""

ENVIRONMENT_HELP = """\
environment (the same as the Python API; options win over them):
  SEEDREAM_API_TOKEN or REPLICATE_API_TOKEN   API token (never accepted as an option: it would show in `ps`)
  SEEDREAM_BASE_URL    API root, e.g. https://api.replicate.com/v1 or https://api.quickrouter.ai/replicate/v1
  SEEDREAM_MODEL       owner/name (default bytedance/seedream-4)
  SEEDREAM_OUTPUT_DIR  where images and their JSON sidecars go (default ./seedream-outputs)
With no token and no base URL everything runs against a local demo backend: placeholder images,
nothing billed."""

EXIT_HELP = """\
exit status:
  0 ok · 2 bad option, batch file or input (the message names the field) · 3 service error
  (token, model, network, download) · 4 prediction failed, canceled or timed out (batch: some
  item did not succeed) · 130 Ctrl-C, after canceling the prediction on the service"""


class _UsageProblem(Exception):
    """A usage problem a handler found (bad file, unknown id prefix): one message, exit status 2."""


class _Stopped(Exception):
    """The run was interrupted and cleaned up; the message says what was canceled."""


# -- shared parser pieces --------------------------------------------------------------------------------


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_service_options(parser: argparse.ArgumentParser) -> None:
    """Options of every subcommand that uses the service or the output folder."""
    group = parser.add_argument_group("service and storage (override the environment)")
    group.add_argument("--base-url", metavar="URL",
                       help="API root, e.g. https://api.replicate.com/v1 (default: $SEEDREAM_BASE_URL; the local "
                            "demo backend when no token is set)")
    group.add_argument("--model", metavar="OWNER/NAME",
                       help="model to run (default: $SEEDREAM_MODEL, else bytedance/seedream-4)")
    group.add_argument("-o", "--output-dir", metavar="DIR",
                       help="folder for images and their JSON sidecars (default: $SEEDREAM_OUTPUT_DIR, else "
                            "./seedream-outputs)")
    group.add_argument("--debug", action="store_true", help="show tracebacks and the client's request log")


def _add_output_options(parser: argparse.ArgumentParser, what: str, *, quiet: bool = True) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout (never the token)")
    if quiet:
        group.add_argument("-q", "--quiet", action="store_true",
                           help="no status lines on stderr; errors still show")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


_IMAGE_HELP = "A local file path works too: it is sent inline (at most a few MB each)."


# -- generate ------------------------------------------------------------------------------------------------


def _add_generate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        formatter_class=_formatter,
        help="make images from a prompt (and optional input images); print the saved files",
        description="Generate images with Seedream 4, wait for them, save them with a JSON sidecar, and print\n"
                    "their paths. On a terminal a status line shows the elapsed time, the status, the images\n"
                    "so far and the last log line. Ctrl-C cancels the prediction on the service.",
        epilog=f"""\
examples:
  seedream generate "a red fox in the snow, watercolour" --size 1K
  seedream generate "the same fox, at night" --image fox.jpg -a 16:9 -o out/
  seedream generate "four seasons of one tree" -n 4          # a set: implies --sequential auto
  seedream generate "a poster" --size custom --width 3000 --height 1500 --json > run.json
  echo "a lighthouse at dawn" | seedream generate -
  seedream "a red fox" --size 1K                             # "generate" may be left out

{EXIT_HELP}

{ENVIRONMENT_HELP}""",
    )
    parser.add_argument("prompt", nargs="+", metavar="PROMPT",
                        help='what to draw, or how to edit the input images (quote it, or give "-" to read '
                             "it from stdin)")
    add_field_options(parser, image_help=_IMAGE_HELP, image_metavar="PATH_OR_URL")
    group = parser.add_argument_group("waiting")
    group.add_argument("--timeout", type=_seconds, metavar="S",
                       help="give up waiting after S seconds (exit 4; the prediction keeps running and "
                            "`seedream show ID` finishes it later). Default 600")
    _add_output_options(parser, "the prediction (with the saved paths)")
    _add_service_options(parser)
    parser.set_defaults(handler=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt)
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    fields, implied = imply_sequential(field_values(args))
    with _client(args) as client:
        with caveat_notes() as caveats:
            inp = client.build_input(prompt, **fields)
        for note in [*implied, *caveats]:
            _note(args, f"note: {note}")
        result = _follow(args, client.start(inp, timeout=args.timeout),
                         lambda what: f"canceled: {what} was canceled on the service; nothing was saved")
        _print_result(args, result, client.settings.token, "saved ")
    return EXIT_OK


def _print_result(args: argparse.Namespace, result: Result, token: str, caption: str) -> None:
    """The saved paths on stdout (the caption on stderr), or the whole run as JSON."""
    if args.json:
        data = result.prediction.to_json()
        data["input"] = dict(result.input)  # as stored: data: URIs shortened to their hash
        data.update(paths=[str(p) for p in result.paths], folder=str(result.folder), demo=result.demo,
                    base_url=result.base_url, elapsed=None if result.elapsed is None else round(result.elapsed, 3),
                    sizes=[list(size) for size in result.sizes])
        _print_json(data, token)
        return
    _note(args, f"{caption}{result.caption()}")
    for path in result.paths:
        print(path, flush=True)


# -- batch -------------------------------------------------------------------------------------------------


def _add_batch(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "batch",
        formatter_class=_formatter,
        help="one prediction per line of a .jsonl or row of a .csv file; a rerun skips what is done",
        description="""\
Run one prediction per item of FILE, a few at a time, then print a summary table
(item, status, prediction id, saved paths or the error).

  FILE.jsonl   one JSON object per line: {"prompt": "...", "size": "1K", ...}
               (a bare JSON string is a prompt; blank lines and lines starting with # are skipped)
  FILE.csv     a header row with a "prompt" column and any field columns (size, aspect_ratio,
               max_images, ...; option spellings such as aspect-ratio work too). Empty cells keep
               the defaults; several images in one cell are separated by |.
  -            read the items from stdin (JSON lines when the text starts with { or ", else CSV)

Field options given here are defaults for every item; an item's own values win.
Relative image paths in the file are relative to the file's folder.

Resuming: an item is done when the output folder already holds a complete run with the
same model, the same mode (demo or real) and exactly the same input. A rerun of the same
command (after Ctrl-C, a crash, or failures) skips those and makes only the rest;
identical items in one file are counted, so three identical lines make three runs.
Predictions a killed run left running are picked up from the engine's journal instead of
being created (and billed) again. --rerun generates every item anyway.""",
        epilog=f"""\
examples:
  seedream batch prompts.jsonl --size 1K --concurrency 4
  seedream batch shots.csv -o shoot/ --json > summary.json
  seedream batch prompts.jsonl --dry-run          # validate and show what would run

exit status:
  0 every item is done · 2 bad option or unreadable file (--dry-run: some item is invalid) ·
  3 service unusable (token, base URL) · 4 some item failed or is invalid (see the table) ·
  130 Ctrl-C, after canceling the running predictions (rerun to continue)

{ENVIRONMENT_HELP}""",
    )
    parser.add_argument("file", metavar="FILE", help="a .jsonl or .csv file of items, or - for stdin")
    add_field_options(parser, title="defaults for every item (the model's fields)", image_help=_IMAGE_HELP,
                      image_metavar="PATH_OR_URL")
    group = parser.add_argument_group("running")
    group.add_argument("-c", "--concurrency", type=_positive_int, default=4, metavar="N",
                       help="predictions in flight at once (default 4)")
    group.add_argument("--timeout", type=_seconds, metavar="S",
                       help="give up on an item after S seconds (it counts as failed; default 600)")
    group.add_argument("--rerun", action="store_true",
                       help="generate every item, even those already done in the output folder")
    group.add_argument("--dry-run", action="store_true",
                       help="validate every item and show what would run or be skipped; send nothing")
    _add_output_options(parser, "the summary, one object per item,")
    _add_service_options(parser)
    parser.set_defaults(handler=_run_batch)


@dataclass
class _Item:
    """One line of a batch file, from its text to its outcome."""

    line: int
    values: dict[str, Any] | None
    """The item's own fields by schema name (None when the line could not be read)."""
    problem: str = ""
    """Why the item is invalid (empty when it is fine)."""
    input: SeedreamInput | None = None
    notes: list[str] = field(default_factory=list)
    status: str = "pending"
    prediction_id: str = ""
    paths: list[Path] = field(default_factory=list)
    error: str = ""
    resume_id: str = ""
    """A journaled prediction of a killed earlier run that this item resumes."""

    @property
    def label(self) -> str:
        return f"line {self.line}"

    @property
    def prompt(self) -> str:
        value = (self.values or {}).get("prompt")
        return value if isinstance(value, str) else ""

    def record(self, state: RunState) -> str:
        """Take the outcome of the item's run from its final state; returns the progress text."""
        self.status, self.prediction_id = _item_status(state, self.resume_id), state.id
        if state.result is not None:
            self.paths = list(state.result.paths)
            return f"{self.status} · {state.id} · {len(self.paths)} image{_s(len(self.paths))}"
        text = "interrupted (canceled on the service)" if self.status == "not done" else str(state.error or "")
        self.error = text.splitlines()[0] if text else type(state.error).__name__
        return f"{self.status}: {self.error}"


_DONE_STATUSES = frozenset({"done", "done earlier", "resumed"})


def _run_batch(args: argparse.Namespace) -> int:
    items, base = _read_batch(args.file)
    defaults = field_values(args)
    with _client(args) as client:
        settings = client.settings
        for item in items:
            _prepare(item, client, defaults, base)
        valid = [item for item in items if item.input is not None]
        inputs = [item.input for item in valid if item.input is not None]
        # What start_many(skip_stored=True) will skip or resume, matched by the engine (nothing is sent).
        for index, found in (client.match_stored(inputs) if not args.rerun else {}).items():
            if isinstance(found, str):
                valid[index].resume_id = found
            else:
                valid[index].status, valid[index].prediction_id = "done earlier", found.id
                valid[index].paths = list(found.paths)
        for item in items:
            for note in item.notes:
                _note(args, f"note: {item.label}: {note}")
        todo = [item for item in items if item.status == "pending"]
        invalid = [item for item in items if item.status == "invalid"]
        earlier = len(items) - len(todo) - len(invalid)
        resumable = sum(1 for item in todo if item.resume_id)
        _note(args, f"{len(items)} item{_s(len(items))} in {args.file}: {earlier} done earlier, "
                    f"{len(invalid)} invalid, {len(todo)} to run"
                    + (f" ({resumable} still running from an earlier run, resumed)" if resumable else "")
                    + (" [DEMO backend]" if settings.demo else ""))
        if args.dry_run:
            for item in todo:
                item.status = "would resume" if item.resume_id else "would run"
            _print_summary(items, args, settings.token)
            return EXIT_USAGE if invalid else EXIT_OK
        interrupted = False
        if todo:
            batch = client.start_many(inputs, concurrency=args.concurrency, timeout=args.timeout,
                                      skip_stored=not args.rerun, labels=[item.label for item in valid])
            try:
                batch.wait(on_state=_BatchLines(args, valid, len(todo)), every=TICK_SECONDS)
            except KeyboardInterrupt:
                batch.cancel()  # Batch.wait has canceled and waited; this covers an interrupt just outside it
                interrupted = True
            for item, run in zip(valid, batch.runs, strict=True):
                if item.status == "pending":  # ended while interrupted (or still unwinding): no progress line
                    item.record(run.state)
        _print_summary(items, args, settings.token)
    left = sum(1 for item in items if item.status not in _DONE_STATUSES)
    if interrupted:
        raise _Stopped(f"interrupted: running predictions were canceled on the service; {left} item{_s(left)} "
                       "not done. Run the same command again to continue (done items are skipped).")
    return EXIT_FAILED if left else EXIT_OK


def _item_status(state: RunState, resume_id: str) -> str:
    """What the summary calls an item's run, from its last state."""
    if state.phase == "succeeded":
        return "done earlier" if state.note == "done earlier" else "resumed" if state.id == resume_id else "done"
    if not state.done or (state.phase == "canceled" and state.error is None):
        return "not done"  # canceled by our own interrupt (the command cancels nothing else), or still unwinding
    if isinstance(state.error, ValidationError):
        return "invalid"
    if isinstance(state.error, PredictionCanceled):
        return "canceled"
    if isinstance(state.error, DeadlineExceeded):
        return "timed out"
    return "failed" if isinstance(state.error, PredictionError) else "error"


class _BatchLines:
    """A renderer of `BatchState`: one stderr line per item as it ends, ``[3/10] line 4 done · <id> · 1 image``."""

    def __init__(self, args: argparse.Namespace, items: Sequence[_Item], total: int) -> None:
        self.args, self.items, self.total, self.count = args, items, total, 0

    def __call__(self, state: BatchState) -> None:
        for item, run in zip(self.items, state.items, strict=True):
            if item.status == "pending" and run.done and _item_status(run, item.resume_id) != "not done":
                self.count += 1
                _note(self.args, f"[{self.count}/{self.total}] {item.label} {item.record(run)}")


def _read_batch(name: str) -> tuple[list[_Item], Path | None]:
    """The items of a batch file (or stdin), and the folder relative image paths are resolved against."""
    if name == "-":
        text, base, kind = sys.stdin.read(), None, ""
    else:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise _UsageProblem(f"{name}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise _UsageProblem(f"{name}: cannot read it ({exc})") from None
        base = path.parent
        kind = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}.get(path.suffix.lower(), "")
    if not kind:
        kind = "jsonl" if text.lstrip().startswith(("{", '"')) else "csv"
    items = _read_jsonl(text) if kind == "jsonl" else _read_csv(text, name)
    if not items:
        raise _UsageProblem(f"{name}: no items (expected one JSON object per line, or a CSV with a prompt column)")
    return items, base


def _read_jsonl(text: str) -> list[_Item]:
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            items.append(_Item(number, None, f"not valid JSON ({exc.msg} at column {exc.pos + 1})"))
            continue
        if isinstance(value, str):
            value = {"prompt": value}
        if not isinstance(value, dict):
            items.append(_Item(number, None, f"expected a JSON object like {{\"prompt\": \"...\"}}, "
                                             f"got {type(value).__name__}"))
            continue
        # Option spellings ("aspect-ratio") are accepted as keys; anything else is left for the schema to name.
        values = {}
        for key, field_value in value.items():
            spec = field_for(str(key))
            values[spec.name if spec else str(key)] = field_value
        items.append(_Item(number, values))
    return items


def _read_csv(text: str, name: str) -> list[_Item]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise _UsageProblem(f"{name}: not a readable CSV file ({exc})") from None
    columns = []
    for title in header:
        spec = field_for(title) if title.strip() else None
        if spec is None:
            known = ["prompt", *(s.name for s in FIELDS if option_names(s))]
            close = difflib.get_close_matches(title.strip().replace("-", "_"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _UsageProblem(f"{name}: unknown column {title!r}{hint} (columns: {', '.join(known)})")
        columns.append(spec)
    if not any(spec.name == "prompt" for spec in columns):
        raise _UsageProblem(f"{name}: no 'prompt' column (the header is: {', '.join(header)})")
    items = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                items.append(_Item(number, None, f"has {len(row)} cells but the header has {len(columns)} columns"))
                continue
            values = {spec.name: cell if spec.name == "prompt" else parse_field_text(spec, cell)
                      for spec, cell in zip(columns, row, strict=False) if cell.strip()}
            items.append(_Item(number, values))
    except csv.Error as exc:
        raise _UsageProblem(f"{name}: line {reader.line_num}: {exc}") from None
    return items


def _prepare(item: _Item, client: Seedream, defaults: Mapping[str, Any], base: Path | None) -> None:
    """Validate one item with the engine (the command's defaults under its own values), noting caveats."""
    if item.values is None:
        item.status = "invalid"
        return
    values = {**defaults, **item.values}
    if values.get("prompt") is None:
        item.status, item.problem = "invalid", "no prompt (add a \"prompt\" key or cell)"
        return
    images = values.get("image_input")
    if base is not None and isinstance(images, (list, str)):
        values["image_input"] = [_relative_to(base, image) for image in ([images] if isinstance(images, str)
                                                                          else images)]
    values, implied = imply_sequential(values)
    with caveat_notes() as caveats:
        (outcome,) = client.item_inputs([values])
    if isinstance(outcome, SeedreamError):
        item.status = "invalid"
        item.problem = "; ".join(problem_lines(outcome)) if isinstance(outcome, ValidationError) else str(outcome)
        return
    item.input, item.notes = outcome, [*implied, *caveats]


def _relative_to(base: Path, image: Any) -> Any:
    if not isinstance(image, str) or image[:8].lower().startswith(("http://", "https://", "data:")):
        return image
    return image if os.path.isabs(image) else str(base / image)


def _print_summary(items: Sequence[_Item], args: argparse.Namespace, token: str) -> None:
    if args.json:
        _print_json([{"item": item.label, "line": item.line, "prompt": item.prompt, "status": item.status,
                      "id": item.prediction_id, "paths": [str(p) for p in item.paths],
                      "error": item.problem or item.error} for item in items], token)
        return
    _print_table([("ITEM", "STATUS", "ID", "PATHS OR ERROR")] + [
        (f"{item.label} {shorten(item.prompt, 28)}".rstrip(), item.status, item.prediction_id or "-",
         ", ".join(str(p) for p in item.paths) or item.problem or item.error or "-") for item in items])
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    print(" · ".join(f"{n} {status}" for status, n in counts.items()), flush=True)


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns on stdout; the last one is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


# -- history, show, config ---------------------------------------------------------------------------------


def _add_history(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        formatter_class=_formatter,
        help="list the runs stored in the output folder, newest first",
        description="List the runs stored in the output folder (newest first), and any prediction that was\n"
                    "started but never stored (finish those with `seedream show ID`). Sends no request.",
        epilog="""\
examples:
  seedream history            # the last 20 runs
  seedream history 5 -o out/
  seedream history 0 --json   # every run, as JSON (the sidecars plus their paths)""",
    )
    parser.add_argument("count", nargs="?", type=int, default=20, metavar="N",
                        help="how many runs to list (default 20; 0 lists all)")
    _add_output_options(parser, "the runs (their sidecars plus paths)", quiet=False)
    _add_service_options(parser)
    parser.set_defaults(handler=_run_history)


def _run_history(args: argparse.Namespace) -> int:
    settings = _settings(args)
    gallery = _gallery(settings)
    records = gallery.history(args.count if args.count > 0 else None)
    in_flight = gallery.in_flight()
    if args.json:
        _print_json({"runs": [{**dict(r.sidecar), "folder": str(r.folder), "paths": [str(p) for p in r.paths],
                               "complete": r.complete} for r in records],
                     "in_flight": in_flight}, settings.token)
        return EXIT_OK
    if not records and not in_flight:
        print(f"No runs stored in {settings.output_dir.absolute()} yet. Make one with: "
              'seedream generate "a red fox in the snow"')
        return EXIT_OK
    if records:
        _print_table([("SAVED", "ID", "IMAGES", "SIZE", "PROMPT")] + [
            (_local_time(r.saved_at), r.id, f"{len(r.paths)}" + ("" if r.complete else " (missing)"),
             "x".join(map(str, r.sizes[0])) if r.sizes else "-", ("[DEMO] " if r.demo else "") + shorten(r.prompt, 60))
            for r in records])
    if in_flight:
        print(f"\nstarted but not stored ({len(in_flight)}; `seedream show ID` waits for one and saves it):")
        for entry in in_flight:
            prompt = shorten(str((entry.get("input") or {}).get("prompt", "")), 60)
            print(f"  {entry.get('id', '?')}  {_local_time(str(entry.get('journaled_at', '')))}  {prompt}")
    return EXIT_OK


def _add_show(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "show",
        formatter_class=_formatter,
        help="print a run's image paths; download them again (or wait for the run) when missing",
        description="Print the image paths of a stored run. If its images are missing, or the prediction was\n"
                    "never stored (a run that timed out or was killed), ask the service for it, wait if it is\n"
                    "still running, download and store it. Output URLs expire about an hour after a run.",
        epilog="""\
examples:
  seedream show jgphg58vscwhgj1j3nw69jk2t9
  seedream show jgph                 # a unique prefix of a stored run's id is enough
  seedream show jgphg58vscwhgj1j3nw69jk2t9 --json""",
    )
    parser.add_argument("id", metavar="ID", help="a prediction id (see `seedream history`)")
    parser.add_argument("--timeout", type=_seconds, metavar="S",
                        help="give up waiting for a running prediction after S seconds (default 600)")
    _add_output_options(parser, "the run (with its paths)")
    _add_service_options(parser)
    parser.set_defaults(handler=_run_show)


def _run_show(args: argparse.Namespace) -> int:
    from .result import Result

    settings = _settings(args)
    gallery = _gallery(settings)
    prediction_id = _full_id(gallery, args.id.strip())
    record = gallery.find(prediction_id)
    if record is not None and record.complete:  # from disk, without a request
        _print_result(args, Result.from_record(record), settings.token, "")
        return EXIT_OK
    with _client(args) as client:
        if record is not None:
            _note(args, f"{prediction_id}: images missing from {record.folder}; downloading them again")
        else:
            _note(args, f"{prediction_id}: not stored in {client.settings.output_dir}; asking the service")
        result = _follow(args, client.resume_run(prediction_id, timeout=args.timeout),
                         lambda _: f"canceled: stopped waiting; {prediction_id} was canceled on the service if it "
                                   "was still running")
        _print_result(args, result, client.settings.token, "")
    return EXIT_OK


def _full_id(gallery: Gallery, given: str) -> str:
    """The id of the one stored run whose id starts with ``given`` (or ``given`` itself)."""
    if not given:
        raise _UsageProblem("the prediction id is empty; `seedream history` lists them")
    if gallery.find(given) is not None or not given.replace("-", "").replace("_", "").isalnum():
        return given
    matches = sorted({record.id for record in gallery.find_prefix(given)})
    if len(matches) > 1:
        raise _UsageProblem(f"{given!r} matches {len(matches)} stored runs ({', '.join(matches[:5])}); "
                            "give more of the id")
    return matches[0] if matches else given


def _add_config(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        formatter_class=_formatter,
        help="show the effective settings (token masked) and whether this is the demo backend",
        description="Show the settings a command would use, resolved the way the Python API resolves them:\n"
                    "option, else environment variable, else default. The token is always masked.",
        epilog=f"""\
examples:
  seedream config
  SEEDREAM_BASE_URL=https://api.quickrouter.ai/replicate/v1 seedream config
  seedream config --json

{ENVIRONMENT_HELP}""",
    )
    _add_output_options(parser, "the settings", quiet=False)
    _add_service_options(parser)
    parser.set_defaults(handler=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    described = settings.describe()
    described["output_dir"] = str(settings.output_dir.absolute())
    if settings.demo and not settings.base_url:
        described["base_url"] = "(the embedded demo backend on 127.0.0.1, started when a command needs it)"
    if args.json:
        _print_json({**described, "demo": settings.demo, "token_source": settings.token_source}, settings.token)
        return EXIT_OK
    width = max(len(key) for key in described)
    for key, value in described.items():
        print(f"{key.ljust(width)}  {value}")
    if settings.demo:
        print("\nDemo mode: placeholder images, nothing billed. Set SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN) "
              "for the real service.")
    return EXIT_OK


# -- demo-server -----------------------------------------------------------------------------------------


def _add_demo_server(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo-server",
        formatter_class=_formatter,
        help="serve the local Replicate-compatible demo backend (placeholder images, nothing billed)",
        description="Serve the local demo backend until Ctrl-C. Point a client at it with "
                    "SEEDREAM_BASE_URL=http://HOST:PORT/v1 and any token.",
        epilog="""\
examples:
  seedream demo-server --port 8765
  SEEDREAM_BASE_URL=http://127.0.0.1:8765/v1 seedream generate "a red fox"   # in another terminal
  seedream demo-server --port 8765 --token secret --per-image-seconds 2

prompt directives the demo understands: [demo:slow=S] adds S seconds; [demo:fail=message]
makes the prediction fail with that message.""",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    parser.add_argument("--token", default=None,
                        help="accept only this bearer token (default: any non-empty token)")
    parser.add_argument("--start-seconds", type=float, default=0.05, metavar="S",
                        help="how long a prediction stays 'starting' (default 0.05)")
    parser.add_argument("--base-seconds", type=float, default=0.4, metavar="S",
                        help="processing time before the first image (default 0.4)")
    parser.add_argument("--per-image-seconds", type=float, default=0.2, metavar="S",
                        help="time per image (default 0.2)")
    parser.add_argument("--output-ttl", type=float, default=3600.0, metavar="S",
                        help="seconds until output files expire (default 3600)")
    parser.add_argument("--image-format", choices=("jpeg", "png", "webp"), default="jpeg",
                        help="output image format (default jpeg)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the demo has no real security)")
    parser.set_defaults(handler=_run_demo_server)


def _run_demo_server(args: argparse.Namespace) -> int:
    from .demo import DemoServer
    from .demo.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        print(f"seedream demo-server: refusing to listen on {args.host}, which is not a loopback address; "
              "pass --allow-remote if you really mean it.", file=sys.stderr)
        return 2
    if args.port < 0 or args.port > 65535:
        print(f"seedream demo-server: --port must be from 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        server = DemoServer(args.host, args.port, token=args.token, start_seconds=args.start_seconds,
                            base_seconds=args.base_seconds, per_image_seconds=args.per_image_seconds,
                            output_ttl=args.output_ttl, image_format=args.image_format)
        server.start()
    except (OSError, ValueError) as exc:
        print(f"seedream demo-server: cannot start: {exc}", file=sys.stderr)
        return 1
    auth = "only the token given with --token" if args.token else "any non-empty bearer token"
    print(f"Seedream demo backend on {server.base_url}  (base URL for SEEDREAM_BASE_URL)", flush=True)
    print(f"Accepts {auth}; admin endpoints under {server.url}/_demo/. Ctrl-C stops it.", flush=True)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    # Ctrl-C and SIGTERM (docker stop, kill) both end it cleanly: the handler only sets an event,
    # so no KeyboardInterrupt can land in the middle of stop(). SIGINT is handled explicitly because
    # a process started in the background by a shell inherits it ignored. Handlers exist only on
    # the main thread; elsewhere (tests) the caller stops it.
    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    print("Seedream demo backend stopped.", flush=True)
    return 0


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_generate,
    _add_batch,
    _add_history,
    _add_show,
    _add_config,
    _add_demo_server,
)
"""Every subcommand's registration function, in the order ``--help`` lists them."""


# -- running on the engine, and what the user sees while it runs ------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    """The effective settings without starting anything (history, show, config)."""
    from .config import resolve_settings

    return resolve_settings(None, args.base_url, args.model, args.output_dir)


def _gallery(settings: Settings) -> Gallery:
    """The output folder's runs, read without a client (no demo backend is started to list them)."""
    from .gallery import Gallery

    return Gallery(settings.output_dir.absolute())


def _client(args: argparse.Namespace) -> Seedream:
    from .client import Seedream

    return Seedream(base_url=args.base_url, model=args.model, output_dir=args.output_dir)


def _follow(args: argparse.Namespace, run: Run, stopped: Callable[[str], str]) -> Result:
    """Wait for a run on this (main) thread, drawing its states on stderr.

    An interrupt (Ctrl-C, or SIGTERM/SIGHUP through `_termination_cancels`) inside `Run.wait`
    cancels the prediction on the service and waits for that cleanup before it propagates;
    ``stopped(what)`` is then the message.
    """
    status = _StatusLine(args)
    try:
        return run.wait(on_state=status.draw, every=TICK_SECONDS)
    except KeyboardInterrupt:
        run.cancel()  # Run.wait has done it; this covers an interrupt that landed just outside it
        raise _Stopped(stopped(f"prediction {run.id}" if run.id else "the prediction")) from None
    finally:
        status.close()


class _StatusLine:
    """A renderer of `RunState` on stderr (`display.status_text`): one line rewritten in place on a
    terminal; elsewhere a plain line whenever the status, the image count or the last log line changes,
    the first naming the prediction; nothing with ``--quiet``."""

    def __init__(self, args: argparse.Namespace) -> None:
        tty = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.mode = "off" if args.quiet else "live" if tty else "lines"
        self.shown: tuple[str, int, str] | None = None
        self.drawn = False

    def draw(self, state: RunState) -> None:
        if self.mode == "live":
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            sys.stderr.write(f"\r{shorten(status_text(state), width)}\x1b[K")
            sys.stderr.flush()
            self.drawn = True
        elif self.mode == "lines" and state.id:
            if self.shown is None:
                print(f"prediction {state.id}" + (" (DEMO backend)" if state.demo else ""), file=sys.stderr)
            shown = (state.status, len(state.images), state.last_log_line)
            if shown != self.shown:
                self.shown = shown
                print(status_text(state), file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the live line (its last state, drawn by `Run.wait`, stays on screen)."""
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.drawn = False


# -- messages -----------------------------------------------------------------------------------------------


def _note(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr, flush=True)


def _print_json(data: Any, token: str) -> None:
    """JSON on stdout, with the token scrubbed from anything a server echoed (it is never put there)."""
    from .config import scrub

    print(scrub(json.dumps(data, indent=2, ensure_ascii=False, default=str), token), flush=True)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso[:19] or "-"


def exit_status(exc: BaseException) -> int:
    """The exit status for an error: 2 usage/validation, 3 service, 4 prediction, 1 anything else."""
    if isinstance(exc, (ValidationError, _UsageProblem)):
        return EXIT_USAGE
    if isinstance(exc, PredictionError):
        return EXIT_FAILED
    return EXIT_SERVICE if isinstance(exc, SeedreamError) else EXIT_INTERNAL


def _error_lines(exc: BaseException) -> list[str]:
    if isinstance(exc, ValidationError):
        head = ("the service rejected the input" if exc.status == 422 else "invalid input") + "; fix and try again:"
        return [head, *(f"  {line}" for line in problem_lines(exc))]
    text = str(exc) or type(exc).__name__
    lines = text.splitlines()
    if isinstance(exc, APIError) and type(exc).__name__ not in lines[0]:
        lines[0] = f"{type(exc).__name__}: {lines[0]}"
    if isinstance(exc, DeadlineExceeded) and exc.prediction is not None:
        lines.append(f"`seedream show {exc.prediction.id}` waits for it and saves its images later "
                     "(or give a longer --timeout)")
    return lines


def _report(prog: str, exc: BaseException, debug: bool, json_mode: bool) -> int:
    status = exit_status(exc)
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    lines = _error_lines(exc)
    if status == EXIT_INTERNAL:
        lines = [f"internal error: {type(exc).__name__}: {lines[0]}", "run again with --debug for the traceback"
                 if not debug else "this is a bug; please report it with the traceback above"]
    print(f"{prog}: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}" if not line.startswith("  ") else line, file=sys.stderr)
    sys.stderr.flush()
    if json_mode and status != EXIT_INTERNAL:
        prediction = getattr(exc, "prediction", None)
        print(json.dumps({"error": {"type": type(exc).__name__, "message": "\n".join(lines),
                                    "exit_status": status},
                          "prediction": prediction.to_json() if prediction is not None else None}, indent=2),
              flush=True)
    return status


@contextlib.contextmanager
def _termination_cancels(received: list[int]) -> Iterator[None]:
    """SIGTERM and SIGHUP (``kill``, a closed terminal) interrupt like Ctrl-C, so the prediction is canceled too.

    Only signals left at their default action are taken over: ``nohup`` (SIGHUP
    ignored) keeps working. Handlers exist only on the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- the command -------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seedream",
        formatter_class=_formatter,
        description="Seedream 4 (ByteDance, via Replicate's predictions API) from a terminal: generate and\n"
                    "edit images, run batches, look at what you made. With no token configured it runs\n"
                    "against a local demo backend (placeholder images, nothing billed).",
        epilog=f"""\
examples:
  seedream generate "a red fox in the snow" --size 1K
  seedream generate "make it night" --image fox.jpg -o out/
  seedream batch prompts.jsonl --concurrency 4
  seedream history
  seedream show ID
  seedream config
  seedream demo-server --port 8765

`seedream COMMAND --help` explains each command and its options.

{EXIT_HELP}

{ENVIRONMENT_HELP}""",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _with_shorthand(argv: list[str], commands: Sequence[str]) -> list[str]:
    """``seedream "a red fox" --size 1K`` means ``seedream generate ...``.

    Only when the first word is not a command and does not look like a typo of
    one, so ``seedream histroy`` is an error rather than a paid generation.
    """
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return argv
    if " " not in argv[0] and difflib.get_close_matches(argv[0], commands, n=1, cutoff=0.6):
        return argv
    return ["generate", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seedream`` command; returns the exit status."""
    parser = build_parser()
    raw = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(_with_shorthand(raw, _commands(parser)))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    prog = f"seedream {args.command}"
    debug = bool(getattr(args, "debug", False))
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
        logging.getLogger("seedream_widgets").setLevel(logging.DEBUG)
    received: list[int] = []
    try:
        with _termination_cancels(received):
            return handler(args)
    except _Stopped as stop:
        print(f"{prog}: {stop}", file=sys.stderr, flush=True)
        return 128 + (received[-1] if received else signal.SIGINT)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return 128 + (received[-1] if received else signal.SIGINT)
    except BrokenPipeError:
        # stdout went away (`| head`): stop quietly, and keep Python from complaining at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:
        return _report(prog, exc, debug, bool(getattr(args, "json", False)))
