"""The commands over what is stored: history, show, info, export, star, unstar, delete, trash, verify, reindex, cost.

They read through `Gallery` (its index: fast on years of runs) and `RunRecord`, and image files
through `seedream_widgets.provenance`; every change (a star, the trash, an export) is the
gallery's. Only ``show`` sends requests, and only when a run's images are missing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .. import options
from ..config import DEFAULT_MODEL, Settings, resolve_settings
from ..display import shorten
from ..errors import SeedreamError
from ..gallery import Gallery, RunRecord
from ..provenance import ForeignRecord, GenerationRecord, file_sha256, read_generation
from ..result import Result
from .compare import print_comparison
from .parsing import EXIT_OK, EXIT_USAGE, Subparsers, UsageProblem, add_common, command, day, seconds, until_day
from .runs import client, follow, print_result, terminal
from .terminal import DEMO_STYLE, ask, demo_mark, is_terminal

if TYPE_CHECKING:
    from ..schema import SeedreamInput

EXIT_PROBLEMS = 1
"""``verify`` found something wrong, or ``info`` a file without a record."""
STAR = "★"


def stored(args: argparse.Namespace, folder: str | None = None) -> tuple[Settings, Gallery]:
    """The settings and the stored runs, read without a client (no request, no demo backend started)."""
    settings = resolve_settings(None, getattr(args, "base_url", None), None, folder or args.output_dir)
    return settings, Gallery(settings.output_dir.absolute())


def full_id(gallery: Gallery, given: str) -> str:
    """The id of the one stored run whose id starts with ``given`` (or ``given`` itself)."""
    if not given:
        raise UsageProblem("the prediction id is empty; `seedream history` lists them")
    if gallery.find(given) is not None or not given.replace("-", "").replace("_", "").isalnum():
        return given
    matches = sorted({record.id for record in gallery.find_prefix(given)})
    if len(matches) > 1:
        raise UsageProblem(f"{given!r} matches {len(matches)} stored runs ({', '.join(matches[:5])}); "
                           "give more of the id")
    return matches[0] if matches else given


def _record(gallery: Gallery, given: str) -> RunRecord:
    record = gallery.find(full_id(gallery, given.strip()))
    if record is None:
        raise UsageProblem(f"no stored run {given!r} in {gallery.root}; `seedream history` lists them")
    return record


def _local_time(iso: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso[:19] or "-"


def _model(name: str) -> str:
    return name.removeprefix("bytedance/") or "-"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# -- history and show --------------------------------------------------------------------------------------


def add_history(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "history", run_history, "list and search the runs stored in the output folder, newest first",
        "List the runs stored in the output folder (newest first), and any prediction that was\n"
        "started but never stored (finish those with `seedream show ID`). Searches and filters\n"
        "use the gallery's index, so they stay fast on years of runs. Sends no request.", """\
examples:
  seedream history                      # the last 20 runs
  seedream history 5 -o out/
  seedream history --search "red fox" --model bytedance/seedream-4.5 --since 7d
  seedream history --starred --limit 50 --offset 50
  seedream history 0 --json             # every run, as JSON (the sidecars plus their paths)""")
    parser.add_argument("count", nargs="?", type=int, default=None, metavar="N",
                        help="how many runs to list (default 20; 0 lists all); the same as --limit")
    group = parser.add_argument_group("search and filters (every one given must match)")
    group.add_argument("-s", "--search", metavar="TEXT", help="words of the prompt (parts of words, any order)")
    group.add_argument("--model", metavar="OWNER/NAME", help="runs of this model only")
    group.add_argument("--starred", action="store_true", help="starred runs only (`seedream star ID`)")
    group.add_argument("--group", metavar="GROUP", help="the cells of one comparison (`seedream compare`)")
    group.add_argument("--since", type=day, metavar="DATE",
                       help="saved on or after DATE (2026-11-24, an ISO time, 7d, today, yesterday; UTC)")
    group.add_argument("--until", type=until_day, metavar="DATE", help="saved on or before DATE (a whole day)")
    group.add_argument("--limit", type=int, metavar="N", help="list at most N runs (0: all)")
    group.add_argument("--offset", type=int, default=0, metavar="N", help="skip the N newest matches (paging)")
    add_common(parser, "the runs (their sidecars plus paths)", quiet=False, model=False)


def run_history(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    limit = next((n for n in (args.limit, args.count) if n is not None), 20)
    if limit < 0 or args.offset < 0:
        raise UsageProblem("--limit, N and --offset must be 0 or more")
    filters: dict[str, Any] = {"model": args.model, "since": args.since, "until": args.until,
                               "starred": True if args.starred else None, "group": args.group}
    filtered = bool(args.search) or any(value is not None for value in filters.values())
    records = gallery.search(args.search, limit=limit or None, offset=args.offset, **filters)
    total = gallery.count(args.search, **filters) if records or args.offset else 0
    in_flight = [] if filtered else gallery.in_flight()
    if args.json:
        term.json({"runs": [{**dict(r.sidecar), "folder": str(r.folder), "paths": [str(p) for p in r.paths],
                             "complete": r.complete, "starred": r.starred} for r in records],
                   "total": total, "in_flight": in_flight}, settings.token)
        return EXIT_OK
    if not records and not in_flight:
        term.print("No stored run matches." if filtered or args.offset else
                   f"No runs stored in {settings.output_dir.absolute()} yet. Make one with: "
                   'seedream generate "a red fox in the snow"')
        return EXIT_OK
    if records:
        grouped = any(r.group for r in records)  # a column only when some run is a comparison's cell
        term.table(("SAVED", "ID", STAR, "IMAGES", "SIZE", "MODEL", *(("GROUP",) if grouped else ()), "PROMPT"), [
            (_local_time(r.saved_at), r.id, Text(STAR if r.starred else "", style=DEMO_STYLE),
             f"{len(r.files)}" + ("" if r.complete else " (missing)"),
             "x".join(map(str, r.size)) if any(r.size) else "-", _model(r.model),
             *((r.group or "-",) if grouped else ()), demo_mark(shorten(r.prompt, 60), r.demo))
            for r in records], flex="PROMPT", optional=("GROUP", "MODEL", "SIZE", "IMAGES"))
        shown = args.offset + len(records)
        if shown < total:
            term.note(f"{args.offset + 1}-{shown} of {total} runs; --offset {shown} lists the next ones", "dim")
    if in_flight:
        term.print(f"\nstarted but not stored ({len(in_flight)}; `seedream show ID` waits for one and saves it):")
        for entry in in_flight:
            prompt = shorten(str((entry.get("input") or {}).get("prompt", "")), 60)
            term.print(f"  {entry.get('id', '?')}  {_local_time(str(entry.get('journaled_at', '')))}  {prompt}")
    return EXIT_OK


def add_show(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "show", run_show,
        "print a run's image paths; download them again (or wait for the run) when missing",
        "Print the image paths of a stored run. If its images are missing, or the prediction was\n"
        "never stored (a run that timed out, was killed, or could not be written: disk full), ask\n"
        "the service for it, wait if it is still running, download and store it. Output URLs expire\n"
        "about an hour after a run.", """\
examples:
  seedream show jgphg58vscwhgj1j3nw69jk2t9
  seedream show jgph                 # a unique prefix of a stored run's id is enough
  seedream show jgphg58vscwhgj1j3nw69jk2t9 --json
  seedream show cmp-20261201-101500-a1b2c3     # a comparison: its grid again""")
    parser.add_argument("id", metavar="ID", help="a prediction id (see `seedream history`), or a comparison's group "
                                                 "(cmp-...: its grid)")
    parser.add_argument("--timeout", type=seconds, metavar="S",
                        help="give up waiting for a running prediction after S seconds (default 600)")
    add_common(parser, "the run (with its paths)")


def run_show(args: argparse.Namespace) -> int:
    settings, gallery = stored(args)
    if args.id.strip().startswith("cmp-"):  # a comparison kept as a group: its grid, from disk
        with client(args) as made:
            print_comparison(args, made.comparison(args.id.strip()), settings.token)
        return EXIT_OK
    prediction_id = full_id(gallery, args.id.strip())
    record = gallery.find(prediction_id)
    if record is not None and record.complete:  # from disk, without a request
        print_result(args, Result.from_record(record), settings.token, "")
        return EXIT_OK
    with client(args) as made:
        terminal(args).note(f"{prediction_id}: images missing from {record.folder}; downloading them again" if record
                            else f"{prediction_id}: not stored in {made.settings.output_dir}; asking the service")
        result = follow(args, made.resume_run(prediction_id, timeout=args.timeout),
                        lambda _: f"canceled: stopped waiting; {prediction_id} was canceled on the service if it "
                                  "was still running")
        print_result(args, result, made.settings.token, "")
    return EXIT_OK


# -- keeping: star, delete, trash, export, reindex -------------------------------------------------------------


def add_keeping(subparsers: Subparsers) -> None:
    for name, summary in (("star", "star runs (history --starred lists them)"), ("unstar", "remove their star"),
                          ("delete", "move runs to the trash in the output folder (`seedream trash` to restore)")):
        parser = command(subparsers, name, run_keeping, summary, f"{summary[0].upper()}{summary[1:]}.", f"""\
examples:
  seedream {name} jgphg58vscwhgj1j3nw69jk2t9
  seedream {name} jgph 82tb            # unique prefixes of stored runs' ids""")
        parser.add_argument("ids", nargs="+", metavar="ID", help="prediction ids or unique prefixes")
        add_common(parser, "the runs", quiet=False, model=False, service=False)
    parser = command(
        subparsers, "trash", run_trash, "list the trash, restore runs from it, or empty it",
        "Deleted runs wait in {output folder}/.trash until the trash is emptied.", """\
examples:
  seedream trash                       # what is in it
  seedream trash restore jgph          # back into the history
  seedream trash empty --yes           # delete them for good""")
    parser.add_argument("action", nargs="?", choices=("list", "restore", "empty"), default="list",
                        help="list (default), restore ID..., or empty")
    parser.add_argument("ids", nargs="*", metavar="ID", help="for restore: prediction ids or unique prefixes")
    parser.add_argument("-y", "--yes", action="store_true", help="empty without asking (it asks on a terminal)")
    add_common(parser, "the runs in the trash", quiet=False, model=False, service=False)
    parser = command(
        subparsers, "export", run_export, "copy runs' images to a folder under readable names",
        "Copy the images of stored runs into DIR under descriptive names\n"
        "(2026-11-24_a-red-fox-in-the-snow_1.jpg), provenance included. An image exported again is\n"
        "not copied twice; a name another file has gets the run's id added. Prints the copies.", """\
examples:
  seedream export jgph 82tb --to ~/Pictures/foxes""")
    parser.add_argument("ids", nargs="+", metavar="ID", help="prediction ids or unique prefixes")
    parser.add_argument("--to", required=True, metavar="DIR", help="the folder to copy into (made if missing)")
    add_common(parser, "the copies", quiet=False, model=False, service=False)
    parser = command(
        subparsers, "reindex", run_reindex, "rebuild the gallery's index from every stored run's sidecar",
        "Rebuild the search index ({output folder}/.index) from the sidecars, which stay the truth.\n"
        "Never needed for correctness (the index notices new runs by itself); useful after moving\n"
        "run folders around by hand.", "examples:\n  seedream reindex -o out/")
    add_common(parser, "the count and time", quiet=False, model=False, service=False)


def run_keeping(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    done = []
    for given in args.ids:
        record = _record(gallery, given)
        if args.command == "delete":
            gallery.delete(record.id)
            term.note(f"moved to the trash: {record.id}  {shorten(record.prompt, 60)}")
        else:
            record = gallery.star(record.id, args.command == "star")
            term.note(f"{STAR if record.starred else 'unstarred'} {record.id}  {shorten(record.prompt, 60)}")
        done.append(record.id)
    if args.json:
        term.json({args.command: done}, settings.token)
    elif args.command == "delete":
        term.note(f"`seedream trash restore {' '.join(done)}` brings {'it' if len(done) == 1 else 'them'} back",
                  "dim")
    return EXIT_OK


def run_trash(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    if args.action == "restore":
        if not args.ids:
            raise UsageProblem("name the runs to restore: seedream trash restore ID...")
        trashed = gallery.trash()
        for given in args.ids:
            matches = {r.id for r in trashed if r.id.startswith(given.strip())} if given.strip() else set()
            if len(matches) != 1:
                raise UsageProblem(f"{given!r} matches {len(matches)} runs in the trash; `seedream trash` lists them")
            record = gallery.restore(matches.pop())
            term.note(f"restored {record.id}  {shorten(record.prompt, 60)}")
        return EXIT_OK
    if args.ids:
        raise UsageProblem(f"`seedream trash {args.action}` takes no ids (only restore does)")
    if args.action == "empty":
        held = len(gallery.trash())
        if held and not args.yes and is_terminal(sys.stdin) and is_terminal(sys.stderr) \
                and not ask(f"Delete the {held} run{_s(held)} in the trash for good? [y/N] "):
            term.note("kept the trash as it is")
            return EXIT_OK
        emptied = gallery.empty_trash()
        if args.json:
            term.json({"deleted": emptied}, settings.token)
        else:
            term.note(f"deleted {emptied} run{_s(emptied)} for good")
        return EXIT_OK
    records = gallery.trash()
    if args.json:
        term.json([{**dict(r.sidecar), "folder": str(r.folder)} for r in records], settings.token)
    elif not records:
        term.print("The trash is empty.")
    else:
        term.table(("SAVED", "ID", "IMAGES", "PROMPT"), [
            (_local_time(r.saved_at), r.id, str(len(r.files)), demo_mark(shorten(r.prompt, 60), r.demo))
            for r in records], flex="PROMPT")
        term.note(f"{len(records)} run{_s(len(records))} in {gallery.trash_dir}; `seedream trash restore ID` brings "
                  "one back, `seedream trash empty` deletes them for good", "dim")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    records = [_record(gallery, given) for given in args.ids]  # every id checked before anything is copied
    exported = []
    for record in records:
        copies = gallery.export(record.id, Path(args.to).expanduser().absolute())
        exported.append({"id": record.id, "paths": [str(p) for p in copies]})
        if not args.json:
            for path in copies:
                term.print(str(path))
    if args.json:
        term.json(exported, settings.token)
    return EXIT_OK


def run_reindex(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    started = time.monotonic()
    runs = gallery.reindex()
    took = time.monotonic() - started
    if args.json:
        term.json({"runs": runs, "seconds": round(took, 3), "folder": str(gallery.root)}, settings.token)
    else:
        term.print(f"reindexed {runs} run{_s(runs)} in {took:.2f} s ({gallery.root / '.index'})")
    return EXIT_OK


# -- checking: verify, info, cost ----------------------------------------------------------------------------


def add_checking(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "verify", run_verify, "check every stored run: files present, hashes and records as stored",
        "Check every run folder in FOLDER (default: the output folder): its sidecar is readable,\n"
        "every image it lists is there with the sha256 the sidecar recorded, and each image's\n"
        "embedded record is readable and names the run. Exit 1 with a list of what is wrong.", """\
examples:
  seedream verify
  seedream verify shoot/ --json""")
    parser.add_argument("folder", nargs="?", metavar="FOLDER", help="an output folder (default: -o, else "
                                                                    "$SEEDREAM_OUTPUT_DIR, else ./seedream-outputs)")
    add_common(parser, "what was checked and every problem", quiet=False, model=False, service=False)
    parser = command(
        subparsers, "info", run_info, "print how images were made, from the record inside each file",
        "Print the generation record inside each image: ours (prompt, model, settings, prediction\n"
        "id, seed), AUTOMATIC1111's parameters or ComfyUI's prompt, and the command that makes it\n"
        "again. Exit 1 when a file carries no record, 2 when a file cannot be read.", """\
examples:
  seedream info seedream-outputs/2026-11-24/jgph.../1.jpg
  seedream info ~/Downloads/*.png --json""")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG or WebP files")
    add_common(parser, "the records", quiet=False, model=False, service=False)
    parser = command(
        subparsers, "cost", run_cost, "what the stored runs cost, by day and model",
        "Sum what the runs in the output folder cost, by day and model (each run's images times\n"
        "the model's price per image when it ran). Demo runs cost nothing. Sends no request.", """\
examples:
  seedream cost
  seedream cost -o shoot/ --json""")
    add_common(parser, "the rows and totals", quiet=False, model=False, service=False)


def run_verify(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args, args.folder)
    if not gallery.root.is_dir():
        raise UsageProblem(f"{gallery.root}: no such folder")
    problems: list[tuple[str, str, str]] = []
    runs = images = 0
    for folder in gallery.run_folders():
        runs += 1
        run = RunRecord(folder.name, folder)
        where = f"{folder.parent.name}/{folder.name}"
        listed = run.sidecar.get("images")
        if not run.sidecar or not isinstance(listed, list) or not listed:
            problems.append((where, "prediction.json", "missing, not readable JSON, or lists no images"))
            continue
        for number, entry in enumerate(listed, 1):
            images += 1
            name = str(entry.get("file") or "") if isinstance(entry, dict) else ""
            problem = _image_problem(run, folder / name, entry) if name else "not named in the sidecar"
            if problem:
                problems.append((where, name or f"image {number}", problem))
    unstored = gallery.in_flight()
    if args.json:
        term.json({"folder": str(gallery.root), "runs": runs, "images": images, "ok": not problems,
                   "problems": [{"run": r, "file": f, "problem": p} for r, f, p in problems],
                   "in_flight": [entry.get("id") for entry in unstored]}, settings.token)
    elif problems:
        term.print(f"{len(problems)} problem{_s(len(problems))} in {runs} run{_s(runs)} ({images} image{_s(images)}) "
                   f"in {gallery.root}:", "bold red")
        term.table(("RUN", "FILE", "PROBLEM"), problems, flex="PROBLEM", fold=True)
    else:
        term.print(f"ok: {runs} run{_s(runs)}, {images} image{_s(images)} in {gallery.root}: every file present, "
                   "hashes and records as stored", "green")
    if unstored and not args.json:
        term.note(f"{len(unstored)} prediction{_s(len(unstored))} started but never stored; `seedream show ID` saves "
                  f"each: {', '.join(str(e.get('id')) for e in unstored)}", "yellow")
    return EXIT_PROBLEMS if problems else EXIT_OK


def _image_problem(run: RunRecord, path: Path, entry: dict[str, Any]) -> str:
    """What is wrong with one stored image ("" when nothing)."""
    if not path.is_file():
        return "missing"
    expected = entry.get("sha256")
    if expected and file_sha256(path) != expected:
        return "its sha256 is not the one recorded in the sidecar (the file changed after it was stored)"
    metadata = entry.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("mode") not in ("full", "label") or not metadata.get("written"):
        return ""
    try:
        found = read_generation(path)
    except (OSError, ValueError) as exc:
        return f"its embedded record cannot be read ({exc})"
    if metadata["mode"] == "full" and not (isinstance(found, GenerationRecord) and found.prediction_id == run.id):
        return "its embedded generation record is missing or names another prediction"
    if found is None:
        return "its embedded AI label is missing"
    return ""


def run_info(args: argparse.Namespace) -> int:
    term = terminal(args)
    status, shown = EXIT_OK, []
    for name in args.images:
        path = Path(name).expanduser()
        try:
            record = read_generation(path) if path.is_file() else None
            problem = "" if path.is_file() else "no such file"
        except (OSError, ValueError) as exc:
            record, problem = None, f"cannot read it ({exc})"
        if problem:
            status = EXIT_USAGE
            term.err.print(f"seedream info: {name}: {problem}", style="bold red")
            continue
        again = _again(record) if record is not None else ""
        if record is None:
            status = max(status, EXIT_PROBLEMS)
        if args.json:
            shown.append({"path": str(path), "again": again, **_record_json(record)})
            continue
        title = ("a seedream-widgets record" if isinstance(record, GenerationRecord) else
                 f"{record.tool} metadata" if record is not None else
                 "no generation record (no seedream-widgets, AUTOMATIC1111 or ComfyUI metadata)")
        term.print(Text.assemble((str(path), "bold"), f": {title}"))
        if record is not None:
            term.pairs([(f"  {key}", value) for key, value in _record_rows(record, again) if value])
    if args.json:
        term.json(shown, "")
    return status


def _record_rows(record: GenerationRecord | ForeignRecord, again: str) -> list[tuple[str, str]]:
    if isinstance(record, ForeignRecord):
        fields = ", ".join(f"{k}={v}" for k, v in record.fields.items() if k != "prompt")
        return [("prompt", record.prompt), ("fields", fields), ("model", record.model),
                ("settings", ", ".join(f"{k}: {v}" for k, v in record.settings.items())),
                ("notes", "; ".join(record.notes)), ("again", again)]
    settings = ", ".join(f"{k}={v}" for k, v in record.input.items() if k != "prompt")
    version = f" (version {record.version[:12]})" if record.version and record.version != "hidden" else ""
    image = f"{record.index} of {record.count}" + (f", {record.size}" if record.size else "")
    return [("prompt", record.prompt), ("model", record.model + version), ("prediction", record.prediction_id),
            ("created", _local_time(record.created_at) if record.created_at else ""), ("image", image),
            ("seed", "" if record.seed is None else str(record.seed)), ("settings", settings),
            ("made by", record.software + (" · DEMO backend (a placeholder image)" if record.demo else "")),
            ("again", again)]


def _record_json(record: GenerationRecord | ForeignRecord | None) -> dict[str, Any]:
    if isinstance(record, GenerationRecord):
        return {"kind": "seedream", "record": record.to_dict()}
    if isinstance(record, ForeignRecord):
        return {"kind": record.tool, "record": {"tool": record.tool, "prompt": record.prompt, "model": record.model,
                                                "fields": dict(record.fields), "settings": dict(record.settings),
                                                "notes": list(record.notes), "text": record.text}}
    return {"kind": None, "record": None}


def _again(record: GenerationRecord | ForeignRecord) -> str:
    """The ``seedream generate`` command that makes the recorded input again ("" when it cannot be rebuilt)."""
    from ..schema import restore_input

    try:
        with options.caveat_notes():
            inp, _ = restore_input(record)
    except (SeedreamError, KeyError, TypeError, ValueError):
        return ""
    return shlex.join(["seedream", "generate", *_words(inp)])


def _words(inp: SeedreamInput) -> list[str]:
    payload = inp.to_payload()
    words = [str(payload.get("prompt", ""))] + (["--model", inp.model] if inp.model != DEFAULT_MODEL else [])
    for spec in inp.schema.fields:
        names = options.option_names(spec)
        if spec.name not in payload or not names:
            continue
        value = payload[spec.name]
        if spec.kind == "bool":
            words += [names[-1]] if value != spec.default else []
        elif spec.kind == "uris":
            words += [word for item in value for word in (names[-1], str(item))]
        else:
            words += [names[-1], str(value).lower() if isinstance(value, bool) else str(value)]
    return words


def run_cost(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings, gallery = stored(args)
    rows = gallery.costs()
    spent = round(sum(float(r["usd"] or 0) for r in rows if not r["demo"]), 6)
    demo_runs = sum(int(r["runs"]) for r in rows if r["demo"])
    unpriced = sum(int(r["unpriced"] or 0) for r in rows)
    if args.json:
        term.json({"rows": rows, "usd": spent, "demo_runs": demo_runs, "unpriced_runs": unpriced}, settings.token)
        return EXIT_OK
    if not rows:
        term.print(f"Nothing spent: no runs stored in {gallery.root}.")
        return EXIT_OK
    term.table(("DAY", "MODEL", "RUNS", "IMAGES", "USD"), [
        (str(r["day"]), demo_mark(str(r["model"]) or "-", bool(r["demo"])), str(r["runs"]), str(r["images"] or 0),
         "0 (demo: nothing billed)" if r["demo"] else f"{float(r['usd'] or 0):.3f}"
         + (f" + {r['unpriced']} run{_s(int(r['unpriced']))} of unknown price" if r["unpriced"] else ""))
        for r in rows])
    demo = f"; {demo_runs} demo run{_s(demo_runs)} cost nothing" if demo_runs else ""
    unknown = f"; {unpriced} run{_s(unpriced)} of a model without a known price" if unpriced else ""
    term.print(f"total: ${spent:.3f}{demo}{unknown}", "bold")
    return EXIT_OK
