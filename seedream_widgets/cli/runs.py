"""``seedream generate`` and ``seedream batch``: inputs from words and files, runs started, followed and interrupted.

Options are the chosen model's fields (`options.add_field_options` with that model's schema);
each input is built and checked by the client; a run is a `Run` (a batch a `Batch`) waited for on
the main thread, drawn by `terminal.StatusLine` / `terminal.BatchView`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import json
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .. import options, snippets
from ..config import ENV_BASE_URL
from ..display import shorten
from ..errors import DeadlineExceeded, OutputError, PredictionCanceled, PredictionError, SeedreamError, ValidationError
from ..result import Result
from .parsing import (
    ENVIRONMENT_HELP,
    EXIT_FAILED,
    EXIT_HELP,
    EXIT_OK,
    EXIT_USAGE,
    Stopped,
    Subparsers,
    UsageProblem,
    add_common,
    add_fields,
    add_spending,
    command,
    count,
    seconds,
)
from .terminal import PHASE_STYLES, BatchView, StatusLine, Terminal

if TYPE_CHECKING:
    from ..batch import BatchState
    from ..client import Seedream
    from ..models import Estimate, ModelSchema
    from ..run import Run, RunState
    from ..schema import SeedreamInput

TICK_SECONDS = 0.2
"""How often live status lines redraw on a terminal (the elapsed time moves between events)."""
DEMO_SERVER_URL = "http://127.0.0.1:8765/v1"
"""Where ``--dry-run``'s curl points in demo mode: ``seedream demo-server --port 8765`` (the embedded backend's port
is gone when the command ends)."""


def terminal(args: argparse.Namespace) -> Terminal:
    """The command's streams (made by `main`)."""
    made: Terminal = args.terminal
    return made


def client(args: argparse.Namespace) -> Seedream:
    """A client with the command's settings (option, else environment, else default)."""
    from ..client import Seedream

    metadata = getattr(args, "metadata", None)
    return Seedream(base_url=args.base_url, model=getattr(args, "model", None), output_dir=args.output_dir,
                    max_cost=getattr(args, "max_cost", None),
                    embed_metadata=None if metadata is None else {"off": False}.get(metadata, metadata))


@contextlib.contextmanager
def signals(names: Sequence[str], handler: Callable[[int, FrameType | None], Any], *,
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


def follow(args: argparse.Namespace, run: Run, stopped: Callable[[str], str]) -> Result:
    """Wait for a run on this (main) thread, drawing its states on stderr. An interrupt inside `Run.wait` cancels
    the prediction on the service and waits for that cleanup; ``stopped(what)`` is then the message."""
    status = StatusLine(terminal(args))
    try:
        return run.wait(on_state=status.draw, every=TICK_SECONDS)
    except KeyboardInterrupt:
        run.cancel()  # Run.wait has done it; this covers an interrupt that landed just outside it
        raise Stopped(stopped(f"prediction {run.id}" if run.id else "the prediction")) from None
    finally:
        status.close()


def print_result(args: argparse.Namespace, result: Result, token: str, caption: str) -> None:
    """The saved paths on stdout (the caption on stderr), or the whole run as JSON."""
    term = terminal(args)
    if args.json:
        return term.json({  # the input as stored: data: URIs shortened to their hash
            **result.prediction.to_json(), "input": dict(result.input), "paths": [str(p) for p in result.paths],
            "folder": str(result.folder), "demo": result.demo, "base_url": result.base_url, "cost": result.cost,
            "elapsed": None if result.elapsed is None else round(result.elapsed, 3),
            "sizes": [list(size) for size in result.sizes]}, token)
    term.note(f"{caption}{result.caption()}", "green" if caption else "")
    for path in result.paths:
        term.print(str(path))


def _estimate_json(estimate: Estimate) -> dict[str, Any]:
    return {"images": estimate.images, "usd": estimate.usd, "runs": estimate.runs, "demo": estimate.demo,
            "unpriced": list(estimate.unpriced), "text": estimate.describe()}


def _field_notes(args: argparse.Namespace) -> list[str]:
    schema: ModelSchema = args.schema
    return [f"{schema.model}'s field {name} has no option here (one of the command's own options has its name); "
            "set it in a batch file" for name in args.clashing]


# -- generate ---------------------------------------------------------------------------------------------


def add_generate(subparsers: Subparsers, schema: ModelSchema) -> None:
    parser = command(
        subparsers, "generate", run_generate,
        "make images from a prompt (and optional input images); print the saved files",
        f"Generate images with {schema.label}.\n"
        "Wait for them, save them with a JSON sidecar (and their record inside each file), and print\n"
        "their paths. On a terminal a status line shows the elapsed time, the status, the images so\n"
        "far and the last log line. Ctrl-C cancels the prediction on the service. The model fields\n"
        "below are that model's: `seedream generate --model M --help` lists another model's.",
        f"""\
examples:
  seedream generate "a red fox in the snow, watercolour" --size 1K
  seedream generate "the same fox, at night" --image fox.jpg -a 16:9 -o out/
  seedream generate "four seasons of one tree" -n 4          # a set: implies --sequential auto
  seedream generate "a poster" --size custom --width 3000 --height 1500 --json > run.json
  seedream generate "a fox" --model bytedance/seedream-5-lite --size 3K --output-format png
  seedream generate "a fox" -n 6 --dry-run                   # the request, its curl and its price; nothing sent
  echo "a lighthouse at dawn" | seedream generate -
  seedream "a red fox" --size 1K                             # "generate" may be left out before a quoted prompt

{EXIT_HELP}

{ENVIRONMENT_HELP}""")
    parser.add_argument("prompt", nargs="+", metavar="PROMPT",
                        help='what to draw, or how to edit the input images (quote it, or give "-" to read '
                             "it from stdin)")
    group = parser.add_argument_group("waiting")
    group.add_argument("--timeout", type=seconds, metavar="S", help="give up waiting after S seconds (exit 4; the "
                       "prediction keeps running and `seedream show ID` finishes it later). Default 600")
    group.add_argument("--dry-run", action="store_true",
                       help="print the request (payload and curl) and its price at most; send nothing")
    add_spending(parser)
    add_common(parser, "the prediction (with the saved paths)")
    add_fields(parser, schema)


def run_generate(args: argparse.Namespace) -> int:
    term, schema = terminal(args), args.schema
    prompt = " ".join(args.prompt)
    if prompt == "-":
        prompt = sys.stdin.read().strip()
    fields, implied = options.imply_sequential(options.field_values(args, schema), schema=schema)
    with client(args) as made:
        with options.caveat_notes(schema) as caveats:
            inp = made.build_input(prompt, **fields)
        for note in [*_field_notes(args), *implied, *caveats]:
            term.note(f"note: {note}", "yellow")
        if args.dry_run:
            return _dry_run(args, made, inp)
        result = follow(args, made.start(inp, timeout=args.timeout),
                        lambda what: f"canceled: {what} was canceled on the service; nothing was saved")
        print_result(args, result, made.settings.token, "saved ")
        for remark in made.core.catalog.notes:  # what the service lacked (no /files, no /models), said once
            term.note(f"note: {remark}", "yellow")
    return EXIT_OK


def _dry_run(args: argparse.Namespace, made: Seedream, inp: SeedreamInput) -> int:
    """The request ``generate`` would send, as JSON and curl, and its price at most; nothing is sent."""
    term, settings = terminal(args), made.settings
    shown_settings = settings
    comment = ""
    if settings.demo and not (args.base_url or os.environ.get(ENV_BASE_URL)):
        shown_settings = replace(settings, base_url=DEMO_SERVER_URL)
        comment = "# the local demo backend: start it first with `seedream demo-server --port 8765`\n"
    body = snippets.shown_body(settings, inp.to_payload())
    url, curl = snippets.create_url(shown_settings), comment + snippets.curl_command(shown_settings, body)
    estimate = made.core.estimate_inputs([inp])
    inline = body["input"] != snippets.create_body(settings, inp.to_payload())["input"]
    if args.json:
        term.json({"sent": False, "url": url, "body": body, "curl": curl, "estimate": _estimate_json(estimate)},
                  settings.token)
    else:
        term.print("# dry run: nothing was sent", "bold")
        term.print(f"POST {url}")
        term.print(json.dumps(body, indent=2, ensure_ascii=False))
        term.print("\n# curl", "bold")
        term.print(curl)
        term.print(f"\n# price: {estimate.describe()}", "bold")
        if inline:
            term.print("# data: URIs are shortened here for display; the request carries them whole", "dim")
    made.core.check_cost(estimate)  # over --max-cost: refused here too (exit 2)
    return EXIT_OK


# -- batch -----------------------------------------------------------------------------------------------


def add_batch(subparsers: Subparsers, schema: ModelSchema) -> None:
    parser = command(
        subparsers, "batch", run_batch,
        "one prediction per line of a .jsonl or row of a .csv file; a rerun skips what is done", """\
Run one prediction per item of FILE, a few at a time (on a terminal, a live line per running
item), then print a summary table (item, status, prediction id, saved paths or the error).
Before anything is sent it prints how many images the batch makes at most and their price.

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
  seedream batch prompts.jsonl --dry-run          # validate, price, and show what would run
  seedream batch prompts.jsonl --max-cost 2       # refused (nothing sent) if it could cost more than $2

exit status:
  0 every item is done · 2 bad option or unreadable file (--dry-run: some item is invalid), or
  over --max-cost · 3 service unusable (token, base URL) · 4 some item failed or is invalid (see
  the table) · 130 Ctrl-C, after canceling the running predictions (rerun to continue)

{ENVIRONMENT_HELP}""")
    parser.add_argument("file", metavar="FILE", help="a .jsonl or .csv file of items, or - for stdin")
    group = parser.add_argument_group("running")
    group.add_argument("-c", "--concurrency", type=count, default=4, metavar="N",
                       help="predictions in flight at once (default 4)")
    group.add_argument("--timeout", type=seconds, metavar="S",
                       help="give up on an item after S seconds (it counts as failed; default 600)")
    group.add_argument("--rerun", action="store_true",
                       help="generate every item, even those already done in the output folder")
    group.add_argument("--dry-run", action="store_true",
                       help="validate every item, show what would run or be skipped and its price; send nothing")
    add_spending(parser)
    add_common(parser, "the summary, one object per item,")
    add_fields(parser, schema, title=f"defaults for every item (the {schema.label} fields)")


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
    unsaved: bool = False
    """Made (and billed) but its images could not be written: `seedream show ID` saves them."""

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
            self.unsaved = isinstance(state.error, OutputError) and bool(state.error.prediction_id)
        return f"{self.status}: {self.error}"


_ERROR_STATUSES = ((ValidationError, "invalid"), (PredictionCanceled, "canceled"), (DeadlineExceeded, "timed out"),
                   (PredictionError, "failed"), (OutputError, "not saved"))
_DONE = ("done", "done earlier", "resumed")


def run_batch(args: argparse.Namespace) -> int:
    term, schema = terminal(args), args.schema
    items, base = _read_batch(args.file, schema)
    defaults = options.field_values(args, schema)
    with client(args) as made:
        for item in items:
            _prepare(item, made, defaults, base, schema)
        valid = [item for item in items if item.input is not None]
        inputs = [item.input for item in valid if item.input is not None]
        # What start_many(skip_stored=True) will skip or resume, as the engine matches it (nothing is sent).
        for index, found in (made.match_stored(inputs) if not args.rerun else {}).items():
            if isinstance(found, str):
                valid[index].resume_id = found
            else:
                valid[index].status, valid[index].prediction_id = "done earlier", found.id
                valid[index].paths = list(found.paths)
        for note in [*_field_notes(args), *(f"{item.label}: {note}" for item in items for note in item.notes)]:
            term.note(f"note: {note}", "yellow")
        todo = [item for item in items if item.status == "pending"]
        invalid = sum(1 for item in items if item.status == "invalid")
        resumable = sum(1 for item in todo if item.resume_id)
        term.note(f"{len(items)} item{_s(len(items))} in {args.file}: {len(items) - len(todo) - invalid} done "
                  f"earlier, {invalid} invalid, {len(todo)} to run"
                  + (f" ({resumable} still running from an earlier run, resumed)" if resumable else "")
                  + (" [DEMO backend]" if made.settings.demo else ""))
        # A resumed prediction is paid for already: only new creates count.
        estimate = made.core.estimate_inputs([item.input for item in todo if item.input and not item.resume_id])
        if todo:
            term.note(f"price: {estimate.describe()}")
        if args.dry_run:
            for item in todo:
                item.status = "would resume" if item.resume_id else "would run"
            _print_summary(items, args, made.settings.token)
            made.core.check_cost(estimate)
            return EXIT_USAGE if invalid else EXIT_OK
        made.core.check_cost(estimate)  # before anything is sent (start_many would refuse it too)
        interrupted = _run_items(args, made, valid, todo, inputs) if todo else False
        _print_summary(items, args, made.settings.token)
    for item in items:
        if item.unsaved:
            term.note(f"{item.label}: prediction {item.prediction_id} was made but its images could not be written; "
                      f"once the cause is fixed: seedream show {item.prediction_id} (or run this batch again)", "red")
    left = sum(1 for item in items if item.status not in _DONE)
    if interrupted:
        raise Stopped(f"interrupted: running predictions were canceled on the service; {left} item{_s(left)} "
                      "not done. Run the same command again to continue (done items are skipped).")
    return EXIT_FAILED if left else EXIT_OK


def _run_items(args: argparse.Namespace, made: Seedream, valid: list[_Item], todo: list[_Item],
               inputs: list[SeedreamInput]) -> bool:
    """Run the batch, drawing it; returns whether it was interrupted."""
    view = BatchView(terminal(args))

    def progress(state: BatchState) -> None:  # a line per item as it ends: [3/10] line 4 done · <id> · 1 image
        for item, run in zip(valid, state.items, strict=True):
            if item.status == "pending" and run.done:
                text = item.record(run)
                if item.status != "not done":  # an interrupted item gets no line
                    finished = sum(i.status != "pending" for i in todo)
                    view.ended(f"[{finished}/{len(todo)}] {item.label} {text}",
                               "" if item.status in _DONE else "red")
        view.draw(state)

    batch = made.start_many(inputs, concurrency=args.concurrency, timeout=args.timeout,
                            skip_stored=not args.rerun, labels=[item.label for item in valid])
    interrupted = False
    try:
        batch.wait(on_state=progress, every=TICK_SECONDS)
    except KeyboardInterrupt:  # Batch.wait canceled them and waited; this covers one just outside it
        batch.cancel()
        interrupted = True
    finally:
        view.close()
    for item, run in zip(valid, batch.runs, strict=True):
        if item.status == "pending":  # still unwinding from an interrupt
            item.record(run.state)
    return interrupted


def _read_batch(name: str, schema: ModelSchema) -> tuple[list[_Item], Path | None]:
    """The items of a batch file (or stdin), and the folder relative image paths are resolved against."""
    if name == "-":
        text, base, kind = sys.stdin.read(), None, ""
    else:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise UsageProblem(f"{name}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"{name}: cannot read it ({exc})") from None
        base = path.parent
        kind = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}.get(path.suffix.lower(), "")
    if not kind:
        kind = "jsonl" if text.lstrip().startswith(("{", '"')) else "csv"
    items = _read_jsonl(text, schema) if kind == "jsonl" else _read_csv(text, name, schema)
    if not items:
        raise UsageProblem(f"{name}: no items (expected one JSON object per line, or a CSV with a prompt column)")
    return items, base


def _read_jsonl(text: str, schema: ModelSchema) -> list[_Item]:
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
        items.append(_Item(number, {getattr(options.field_for(str(key), schema), "name", str(key)): field_value
                                    for key, field_value in value.items()}))
    return items


def _read_csv(text: str, name: str, schema: ModelSchema) -> list[_Item]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise UsageProblem(f"{name}: not a readable CSV file ({exc})") from None
    columns = []
    for title in header:
        spec = options.field_for(title, schema) if title.strip() else None
        if spec is None:
            known = ["prompt", *(s.name for s in schema.fields if options.option_names(s))]
            close = difflib.get_close_matches(title.strip().replace("-", "_"), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageProblem(f"{name}: unknown column {title!r}{hint} (columns: {', '.join(known)})")
        columns.append(spec)
    if not any(spec.name == "prompt" for spec in columns):
        raise UsageProblem(f"{name}: no 'prompt' column (the header is: {', '.join(header)})")
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
        raise UsageProblem(f"{name}: line {reader.line_num}: {exc}") from None
    return items


def _prepare(item: _Item, made: Seedream, defaults: Mapping[str, Any], base: Path | None,
             schema: ModelSchema) -> None:
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
    values, implied = options.imply_sequential(values, schema=schema)
    with options.caveat_notes(schema) as caveats:
        (outcome,) = made.item_inputs([values])
    if isinstance(outcome, SeedreamError):
        item.status = "invalid"
        item.error = ("; ".join(options.problem_lines(outcome, schema)) if isinstance(outcome, ValidationError)
                      else str(outcome))
        return
    item.input, item.notes = outcome, [*implied, *caveats]


def _print_summary(items: Sequence[_Item], args: argparse.Namespace, token: str) -> None:
    term = terminal(args)
    if args.json:
        return term.json([{"item": item.label, "line": item.line, "prompt": item.prompt, "status": item.status,
                           "id": item.prediction_id, "paths": [str(p) for p in item.paths], "error": item.error}
                          for item in items], token)
    term.table(("ITEM", "STATUS", "ID", "PATHS OR ERROR"), [
        (f"{item.label} {shorten(item.prompt, 28)}".rstrip(), Text(item.status, style=_status_style(item.status)),
         item.prediction_id or "-", ", ".join(str(p) for p in item.paths) or item.error or "-") for item in items],
        flex="PATHS OR ERROR", fold=True)
    counts = Counter(item.status for item in items)
    term.print(" · ".join(f"{n} {status}" for status, n in counts.items()))


def _status_style(status: str) -> str:
    return PHASE_STYLES["succeeded"] if status in _DONE else "dim" if status.startswith("would") else "red"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
