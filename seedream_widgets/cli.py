"""The ``seedream`` command: one argparse subcommand per action, rendering the engine's runs on a terminal.

>>> main(["generate", "a red fox in the snow", "--size", "1K", "-o", "out"])  # doctest: +SKIP
DEMO · succeeded · 0.6 s · 1 image · jgphg58vscwhgj1j3nw69jk2t9 · Generated image 1 of 1
/home/me/out/2026-11-24/jgphg58vscwhgj1j3nw69jk2t9/1.jpg

Each subcommand is an ``_add_<name>`` function (its parser, whose ``handler`` is ``_run_<name>``)
listed in `SUBCOMMANDS`. Like every front door it is thin: options, and messages in option words,
come from `seedream_widgets.options`; a generation is a `Run` (a batch a `Batch`) started through
the client and waited for on the main thread, its states drawn with `display.status_text`; stored
runs are read through `Gallery`. It starts no thread and writes no file. Exit codes are `EXIT_*`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import difflib
import functools
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
from typing import TYPE_CHECKING, Any, TypeAlias

from . import options
from ._version import __version__
from .config import Settings, resolve_settings, scrub
from .display import shorten, status_text
from .errors import APIError, DeadlineExceeded, PredictionCanceled, PredictionError, SeedreamError, ValidationError
from .result import Result
from .schema import FIELDS

if TYPE_CHECKING:
    from .batch import BatchState
    from .client import Seedream
    from .gallery import Gallery
    from .run import Run, RunState
    from .schema import SeedreamInput

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SERVICE", "EXIT_USAGE", "SUBCOMMANDS",
           "build_parser", "main"]

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


_formatter = functools.partial(argparse.RawDescriptionHelpFormatter, max_help_position=32)


def _command(subparsers: Subparsers, name: str, run: Callable[[argparse.Namespace], int], summary: str,
             description: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand's parser, whose ``handler`` is ``run``."""
    parser = subparsers.add_parser(name, formatter_class=_formatter, help=summary, description=description,
                                   epilog=epilog)
    parser.set_defaults(handler=run)
    return parser


def _add_common(parser: argparse.ArgumentParser, what: str, *, quiet: bool = True) -> None:
    """``--json`` (``-q``), and the options of every subcommand that uses the service or the output folder."""
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout (never the token)")
    if quiet:
        group.add_argument("-q", "--quiet", action="store_true", help="no status lines on stderr; errors still show")
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


def _above_zero(kind: Callable[[str], float], expected: str, least: str) -> Callable[[str], Any]:
    """An argparse type: a number above 0 (NaN is not), read by ``kind``; the messages name what is expected."""
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be {least}, got {text.strip()}")
        return value

    return convert


_count = _above_zero(int, "a whole number", "at least 1")
_seconds = _above_zero(float, "seconds", "more than 0 seconds")
_IMAGE_HELP = "A local file path works too: it is sent inline (at most a few MB each)."


def _add_generate(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "generate", _run_generate,
        "make images from a prompt (and optional input images); print the saved files",
        "Generate images with Seedream 4, wait for them, save them with a JSON sidecar, and print\n"
        "their paths. On a terminal a status line shows the elapsed time, the status, the images\n"
        "so far and the last log line. Ctrl-C cancels the prediction on the service.",
        f"""\
examples:
  seedream generate "a red fox in the snow, watercolour" --size 1K
  seedream generate "the same fox, at night" --image fox.jpg -a 16:9 -o out/
  seedream generate "four seasons of one tree" -n 4          # a set: implies --sequential auto
  seedream generate "a poster" --size custom --width 3000 --height 1500 --json > run.json
  echo "a lighthouse at dawn" | seedream generate -
  seedream "a red fox" --size 1K                             # "generate" may be left out

{EXIT_HELP}

{ENVIRONMENT_HELP}""")
    parser.add_argument("prompt", nargs="+", metavar="PROMPT",
                        help='what to draw, or how to edit the input images (quote it, or give "-" to read '
                             "it from stdin)")
    options.add_field_options(parser, image_help=_IMAGE_HELP, image_metavar="PATH_OR_URL")
    parser.add_argument_group("waiting").add_argument(
        "--timeout", type=_seconds, metavar="S", help="give up waiting after S seconds (exit 4; the prediction "
        "keeps running and `seedream show ID` finishes it later). Default 600")
    _add_common(parser, "the prediction (with the saved paths)")


def _run_generate(args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt)
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    fields, implied = options.imply_sequential(options.field_values(args))
    with _client(args) as client:
        with options.caveat_notes() as caveats:
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
        return _print_json({  # the input as stored: data: URIs shortened to their hash
            **result.prediction.to_json(), "input": dict(result.input), "paths": [str(p) for p in result.paths],
            "folder": str(result.folder), "demo": result.demo, "base_url": result.base_url,
            "elapsed": None if result.elapsed is None else round(result.elapsed, 3),
            "sizes": [list(size) for size in result.sizes]}, token)
    _note(args, f"{caption}{result.caption()}")
    for path in result.paths:
        print(path, flush=True)


def _add_batch(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "batch", _run_batch,
        "one prediction per line of a .jsonl or row of a .csv file; a rerun skips what is done", """\
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
being created (and billed) again. --rerun generates every item anyway.""", f"""\
examples:
  seedream batch prompts.jsonl --size 1K --concurrency 4
  seedream batch shots.csv -o shoot/ --json > summary.json
  seedream batch prompts.jsonl --dry-run          # validate and show what would run

exit status:
  0 every item is done · 2 bad option or unreadable file (--dry-run: some item is invalid) ·
  3 service unusable (token, base URL) · 4 some item failed or is invalid (see the table) ·
  130 Ctrl-C, after canceling the running predictions (rerun to continue)

{ENVIRONMENT_HELP}""")
    parser.add_argument("file", metavar="FILE", help="a .jsonl or .csv file of items, or - for stdin")
    options.add_field_options(parser, title="defaults for every item (the model's fields)", image_help=_IMAGE_HELP,
                              image_metavar="PATH_OR_URL")
    group = parser.add_argument_group("running")
    group.add_argument("-c", "--concurrency", type=_count, default=4, metavar="N",
                       help="predictions in flight at once (default 4)")
    group.add_argument("--timeout", type=_seconds, metavar="S",
                       help="give up on an item after S seconds (it counts as failed; default 600)")
    group.add_argument("--rerun", action="store_true",
                       help="generate every item, even those already done in the output folder")
    group.add_argument("--dry-run", action="store_true",
                       help="validate every item and show what would run or be skipped; send nothing")
    _add_common(parser, "the summary, one object per item,")


@dataclass
class _Item:
    """One line of a batch file, from its text to its outcome."""

    line: int
    values: dict[str, Any] | None
    """The item's own fields by schema name (None when the line could not be read)."""
    error: str = ""
    input: SeedreamInput | None = None
    notes: list[str] = field(default_factory=list)
    status: str = "pending"
    prediction_id: str = ""
    paths: list[Path] = field(default_factory=list)
    resume_id: str = ""
    """A prediction that a killed earlier run left running, which this item resumes."""

    @property
    def label(self) -> str:
        return f"line {self.line}"

    @property
    def prompt(self) -> str:
        value = (self.values or {}).get("prompt")
        return value if isinstance(value, str) else ""

    def record(self, state: RunState) -> str:
        """Take the outcome of the item's run from its last state; returns the progress text."""
        self.prediction_id = state.id
        if state.result is not None:
            earlier, resumed = state.note == "done earlier", state.id == self.resume_id
            self.status = "done earlier" if earlier else "resumed" if resumed else "done"
            self.paths = list(state.result.paths)
            return f"{self.status} · {state.id} · {len(self.paths)} image{_s(len(self.paths))}"
        if not state.done or (state.phase == "canceled" and state.error is None):
            # Canceled by our own interrupt (the command cancels nothing else), or still unwinding from it.
            self.status, self.error = "not done", "interrupted (canceled on the service)"
        else:
            self.status = next((name for kind, name in _ERROR_STATUSES if isinstance(state.error, kind)), "error")
            self.error = str(state.error).splitlines()[0] if str(state.error) else type(state.error).__name__
        return f"{self.status}: {self.error}"


_ERROR_STATUSES = ((ValidationError, "invalid"), (PredictionCanceled, "canceled"), (DeadlineExceeded, "timed out"),
                   (PredictionError, "failed"))


def _run_batch(args: argparse.Namespace) -> int:
    items, base = _read_batch(args.file)
    defaults = options.field_values(args)
    with _client(args) as client:
        for item in items:
            _prepare(item, client, defaults, base)
        valid = [item for item in items if item.input is not None]
        inputs = [item.input for item in valid if item.input is not None]
        # What start_many(skip_stored=True) will skip or resume, as the engine matches it (nothing is sent).
        for index, found in (client.match_stored(inputs) if not args.rerun else {}).items():
            if isinstance(found, str):
                valid[index].resume_id = found
            else:
                valid[index].status, valid[index].prediction_id = "done earlier", found.id
                valid[index].paths = list(found.paths)
        for note in (f"note: {item.label}: {note}" for item in items for note in item.notes):
            _note(args, note)
        todo = [item for item in items if item.status == "pending"]
        invalid = sum(1 for item in items if item.status == "invalid")
        resumable = sum(1 for item in todo if item.resume_id)
        _note(args, f"{len(items)} item{_s(len(items))} in {args.file}: {len(items) - len(todo) - invalid} done "
                    f"earlier, {invalid} invalid, {len(todo)} to run"
                    + (f" ({resumable} still running from an earlier run, resumed)" if resumable else "")
                    + (" [DEMO backend]" if client.settings.demo else ""))
        if args.dry_run:
            for item in todo:
                item.status = "would resume" if item.resume_id else "would run"
            _print_summary(items, args, client.settings.token)
            return EXIT_USAGE if invalid else EXIT_OK
        interrupted = False

        def progress(state: BatchState) -> None:  # a line per item as it ends: [3/10] line 4 done · <id> · 1 image
            for item, run in zip(valid, state.items, strict=True):
                if item.status == "pending" and run.done:
                    text = item.record(run)
                    if item.status != "not done":  # an interrupted item gets no line
                        _note(args, f"[{sum(i.status != 'pending' for i in todo)}/{len(todo)}] {item.label} {text}")

        if todo:
            batch = client.start_many(inputs, concurrency=args.concurrency, timeout=args.timeout,
                                      skip_stored=not args.rerun, labels=[item.label for item in valid])
            try:
                batch.wait(on_state=progress, every=TICK_SECONDS)
            except KeyboardInterrupt:  # Batch.wait canceled them and waited; this covers one just outside it
                batch.cancel()
                interrupted = True
            for item, run in zip(valid, batch.runs, strict=True):
                if item.status == "pending":  # still unwinding from an interrupt
                    item.record(run.state)
        _print_summary(items, args, client.settings.token)
    left = sum(1 for item in items if item.status not in ("done", "done earlier", "resumed"))
    if interrupted:
        raise _Stopped(f"interrupted: running predictions were canceled on the service; {left} item{_s(left)} "
                       "not done. Run the same command again to continue (done items are skipped).")
    return EXIT_FAILED if left else EXIT_OK


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
        items.append(_Item(number, {getattr(options.field_for(str(key)), "name", str(key)): field_value
                                    for key, field_value in value.items()}))
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
        spec = options.field_for(title) if title.strip() else None
        if spec is None:
            known = ["prompt", *(s.name for s in FIELDS if options.option_names(s))]
            close = difflib.get_close_matches(title.strip().replace("-", "_"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _UsageProblem(f"{name}: unknown column {title!r}{hint} (columns: {', '.join(known)})")
        columns.append(spec)
    if not any(spec.name == "prompt" for spec in columns):
        raise _UsageProblem(f"{name}: no 'prompt' column (the header is: {', '.join(header)})")
    items = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                items.append(_Item(reader.line_num, None,
                                   f"has {len(row)} cells but the header has {len(columns)} columns"))
                continue
            items.append(_Item(reader.line_num, {
                spec.name: cell if spec.name == "prompt" else options.parse_field_text(spec, cell)
                for spec, cell in zip(columns, row, strict=False) if cell.strip()}))
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
        item.status, item.error = "invalid", "no prompt (add a \"prompt\" key or cell)"
        return
    images = values.get("image_input")
    if base is not None and isinstance(images, (list, str)):  # relative paths are relative to the file's folder
        values["image_input"] = [
            image if not isinstance(image, str) or os.path.isabs(image) or image[:8].lower().startswith(
                ("http://", "https://", "data:")) else str(base / image)
            for image in ([images] if isinstance(images, str) else images)]
    values, implied = options.imply_sequential(values)
    with options.caveat_notes() as caveats:
        (outcome,) = client.item_inputs([values])
    if isinstance(outcome, SeedreamError):
        item.status = "invalid"
        item.error = "; ".join(options.problem_lines(outcome)) if isinstance(outcome, ValidationError) else str(outcome)
        return
    item.input, item.notes = outcome, [*implied, *caveats]


def _print_summary(items: Sequence[_Item], args: argparse.Namespace, token: str) -> None:
    if args.json:
        return _print_json([{"item": item.label, "line": item.line, "prompt": item.prompt, "status": item.status,
                             "id": item.prediction_id, "paths": [str(p) for p in item.paths], "error": item.error}
                            for item in items], token)
    _print_table([("ITEM", "STATUS", "ID", "PATHS OR ERROR")] + [
        (f"{item.label} {shorten(item.prompt, 28)}".rstrip(), item.status, item.prediction_id or "-",
         ", ".join(str(p) for p in item.paths) or item.error or "-") for item in items])
    counts = collections.Counter(item.status for item in items)
    print(" · ".join(f"{n} {status}" for status, n in counts.items()), flush=True)


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns on stdout; the last one is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


def _add_history(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "history", _run_history, "list the runs stored in the output folder, newest first",
        "List the runs stored in the output folder (newest first), and any prediction that was\n"
        "started but never stored (finish those with `seedream show ID`). Sends no request.", """\
examples:
  seedream history            # the last 20 runs
  seedream history 5 -o out/
  seedream history 0 --json   # every run, as JSON (the sidecars plus their paths)""")
    parser.add_argument("count", nargs="?", type=int, default=20, metavar="N",
                        help="how many runs to list (default 20; 0 lists all)")
    _add_common(parser, "the runs (their sidecars plus paths)", quiet=False)


def _run_history(args: argparse.Namespace) -> int:
    settings, gallery = _stored(args)
    records, in_flight = gallery.history(args.count if args.count > 0 else None), gallery.in_flight()
    if args.json:
        _print_json({"runs": [{**dict(r.sidecar), "folder": str(r.folder), "paths": [str(p) for p in r.paths],
                               "complete": r.complete} for r in records], "in_flight": in_flight}, settings.token)
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


def _add_show(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "show", _run_show,
        "print a run's image paths; download them again (or wait for the run) when missing",
        "Print the image paths of a stored run. If its images are missing, or the prediction was\n"
        "never stored (a run that timed out or was killed), ask the service for it, wait if it is\n"
        "still running, download and store it. Output URLs expire about an hour after a run.", """\
examples:
  seedream show jgphg58vscwhgj1j3nw69jk2t9
  seedream show jgph                 # a unique prefix of a stored run's id is enough
  seedream show jgphg58vscwhgj1j3nw69jk2t9 --json""")
    parser.add_argument("id", metavar="ID", help="a prediction id (see `seedream history`)")
    parser.add_argument("--timeout", type=_seconds, metavar="S",
                        help="give up waiting for a running prediction after S seconds (default 600)")
    _add_common(parser, "the run (with its paths)")


def _run_show(args: argparse.Namespace) -> int:
    settings, gallery = _stored(args)
    prediction_id = _full_id(gallery, args.id.strip())
    record = gallery.find(prediction_id)
    if record is not None and record.complete:  # from disk, without a request
        _print_result(args, Result.from_record(record), settings.token, "")
        return EXIT_OK
    with _client(args) as client:
        _note(args, f"{prediction_id}: images missing from {record.folder}; downloading them again" if record else
                    f"{prediction_id}: not stored in {client.settings.output_dir}; asking the service")
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


def _add_config(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "config", _run_config,
        "show the effective settings (token masked) and whether this is the demo backend",
        "Show the settings a command would use, resolved the way the Python API resolves them:\n"
        "option, else environment variable, else default. The token is always masked.", f"""\
examples:
  seedream config
  SEEDREAM_BASE_URL=https://api.quickrouter.ai/replicate/v1 seedream config
  seedream config --json

{ENVIRONMENT_HELP}""")
    _add_common(parser, "the settings", quiet=False)


def _run_config(args: argparse.Namespace) -> int:
    settings = resolve_settings(None, args.base_url, args.model, args.output_dir)  # no client: nothing is started
    described = settings.describe()
    described["output_dir"] = str(settings.output_dir.absolute())
    if settings.demo and not settings.base_url:
        described["base_url"] = "(the embedded demo backend on 127.0.0.1, started when a command needs it)"
    if args.json:
        _print_json({**described, "demo": settings.demo, "token_source": settings.token_source}, settings.token)
        return EXIT_OK
    _print_table(list(described.items()))
    if settings.demo:
        print("\nDemo mode: placeholder images, nothing billed. Set SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN) "
              "for the real service.")
    return EXIT_OK


def _add_demo_server(subparsers: Subparsers) -> None:
    parser = _command(
        subparsers, "demo-server", _run_demo_server,
        "serve the local Replicate-compatible demo backend (placeholder images, nothing billed)",
        "Serve the local demo backend until Ctrl-C. Point a client at it with "
        "SEEDREAM_BASE_URL=http://HOST:PORT/v1 and any token.", """\
examples:
  seedream demo-server --port 8765
  SEEDREAM_BASE_URL=http://127.0.0.1:8765/v1 seedream generate "a red fox"   # in another terminal
  seedream demo-server --port 8765 --token secret --per-image-seconds 2

prompt directives the demo understands: [demo:slow=S] adds S seconds; [demo:fail=message]
makes the prediction fail with that message.""")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    parser.add_argument("--token", default=None, help="accept only this bearer token (default: any non-empty token)")
    for name, default, what in (("start", 0.05, "how long a prediction stays 'starting'"),
                                ("base", 0.4, "processing time before the first image"),
                                ("per-image", 0.2, "time per image")):
        parser.add_argument(f"--{name}-seconds", type=float, default=default, metavar="S",
                            help=f"{what} (default {default})")
    parser.add_argument("--output-ttl", type=float, default=3600.0, metavar="S",
                        help="seconds until output files expire (default 3600)")
    parser.add_argument("--image-format", choices=("jpeg", "png", "webp"), default="jpeg",
                        help="output image format (default jpeg)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the demo has no real security)")


def _run_demo_server(args: argparse.Namespace) -> int:
    from .demo import DemoServer
    from .demo.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        raise _UsageProblem(f"refusing to listen on {args.host}, which is not a loopback address; pass "
                            "--allow-remote if you really mean it.")
    if args.port < 0 or args.port > 65535:
        raise _UsageProblem(f"--port must be from 0 to 65535, got {args.port}")
    try:
        server = DemoServer(args.host, args.port, token=args.token, start_seconds=args.start_seconds,
                            base_seconds=args.base_seconds, per_image_seconds=args.per_image_seconds,
                            output_ttl=args.output_ttl, image_format=args.image_format).start()
    except (OSError, ValueError) as exc:
        print(f"seedream demo-server: cannot start: {exc}", file=sys.stderr)
        return 1
    auth = "only the token given with --token" if args.token else "any non-empty bearer token"
    print(f"Seedream demo backend on {server.base_url}  (base URL for SEEDREAM_BASE_URL)", flush=True)
    print(f"Accepts {auth}; admin endpoints under {server.url}/_demo/. Ctrl-C stops it.", flush=True)
    stopped = threading.Event()
    # Ctrl-C and SIGTERM (docker stop, kill) both end it cleanly: the handler only sets an event, so no
    # KeyboardInterrupt can land in the middle of stop(). SIGINT is handled explicitly because a process
    # started in the background by a shell inherits it ignored. Off the main thread (tests) the caller stops it.
    with _signals(("SIGINT", "SIGTERM"), lambda signum, frame: stopped.set(), only_default=False):
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    print("Seedream demo backend stopped.", flush=True)
    return 0


SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _add_generate, _add_batch, _add_history, _add_show, _add_config, _add_demo_server)
"""Every subcommand's registration function, in the order ``--help`` lists them."""


def _stored(args: argparse.Namespace) -> tuple[Settings, Gallery]:
    """The settings and the stored runs, read without a client (no request, no demo backend started)."""
    from .gallery import Gallery

    settings = resolve_settings(None, args.base_url, args.model, args.output_dir)
    return settings, Gallery(settings.output_dir.absolute())


def _client(args: argparse.Namespace) -> Seedream:
    from .client import Seedream

    return Seedream(base_url=args.base_url, model=args.model, output_dir=args.output_dir)


def _follow(args: argparse.Namespace, run: Run, stopped: Callable[[str], str]) -> Result:
    """Wait for a run on this (main) thread, drawing its states on stderr. An interrupt inside `Run.wait` cancels
    the prediction on the service and waits for that cleanup; ``stopped(what)`` is then the message."""
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

    def draw(self, state: RunState) -> None:
        shown = (state.status, len(state.images), state.last_log_line)
        if self.mode == "live":
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            print(f"\r{shorten(status_text(state), width)}\x1b[K", end="", file=sys.stderr, flush=True)
        elif self.mode == "lines" and state.id and shown != self.shown:
            if self.shown is None:
                print(f"prediction {state.id}" + (" (DEMO backend)" if state.demo else ""), file=sys.stderr)
            print(status_text(state), file=sys.stderr, flush=True)
        else:
            return
        self.shown = shown

    def close(self) -> None:
        """End the live line: its last state (`Run.wait` always draws the last one) stays on screen."""
        if self.mode == "live" and self.shown is not None:
            print(file=sys.stderr, flush=True)


def _note(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr, flush=True)


def _print_json(data: Any, token: str) -> None:
    """JSON on stdout, with the token scrubbed from anything a server echoed (it is never put there)."""
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
    return (EXIT_USAGE if isinstance(exc, (ValidationError, _UsageProblem)) else EXIT_FAILED
            if isinstance(exc, PredictionError) else EXIT_SERVICE if isinstance(exc, SeedreamError) else EXIT_INTERNAL)


def _error_lines(exc: BaseException) -> list[str]:
    if isinstance(exc, ValidationError):
        head = ("the service rejected the input" if exc.status == 422 else "invalid input") + "; fix and try again:"
        return [head, *(f"  {line}" for line in options.problem_lines(exc))]
    lines = (str(exc) or type(exc).__name__).splitlines()
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
    print(f"{prog}: {lines[0]}", *(line if line.startswith("  ") else f"  {line}" for line in lines[1:]), sep="\n",
          file=sys.stderr, flush=True)
    if json_mode and status != EXIT_INTERNAL:
        prediction = getattr(exc, "prediction", None)
        print(json.dumps({"error": {"type": type(exc).__name__, "message": "\n".join(lines), "exit_status": status},
                          "prediction": prediction and prediction.to_json()}, indent=2), flush=True)
    return status


@contextlib.contextmanager
def _signals(names: Sequence[str], handler: Callable[[int, FrameType | None], Any], *,
             only_default: bool) -> Iterator[None]:
    """``handler`` for these signals while inside (on the main thread: elsewhere there are none). With
    ``only_default``, signals someone set to be ignored are left alone, so ``nohup`` keeps working."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (getattr(signal, name) for name in names if hasattr(signal, name)):
            if not only_default or signal.getsignal(signum) == signal.SIG_DFL:
                previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


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


def _with_shorthand(argv: list[str], commands: Sequence[str]) -> list[str]:
    """``seedream "a red fox" --size 1K`` means ``seedream generate ...``, unless the first word looks like a
    misspelt command: ``seedream histroy`` is an error rather than a paid generation."""
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return argv
    if " " not in argv[0] and difflib.get_close_matches(argv[0], commands, n=1, cutoff=0.6):
        return argv
    return ["generate", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seedream`` command; returns the exit status."""
    parser = build_parser()
    commands = next(list(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args = parser.parse_args(_with_shorthand(list(argv) if argv is not None else sys.argv[1:], commands))
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

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    try:
        # SIGTERM and SIGHUP (`kill`, a closed terminal) interrupt like Ctrl-C, so the prediction is canceled too.
        with _signals(("SIGTERM", "SIGHUP"), interrupt, only_default=True):
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
