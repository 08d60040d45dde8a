"""``seedream compare``: prompts, prompt templates and settings across a grid, priced first and kept as a group.

Axes are ``--vary NAME=A,B`` (any field, ``model``, or a ``{placeholder}`` of the prompt, parsed by
`options.parse_axes`); several prompts are an axis of their own. The client checks every cell before
anything is sent (`Seedream.start_compare`) and keeps the grid as a group, which ``seedream show
GROUP`` draws again (`Seedream.comparison`).
"""

from __future__ import annotations

import argparse
import itertools
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .. import options
from ..errors import ValidationError
from ..result import Comparison, Result
from .parsing import (
    EXIT_FAILED,
    EXIT_OK,
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
from .runs import TICK_SECONDS, client, terminal
from .terminal import PHASE_STYLES, BatchView

if TYPE_CHECKING:
    from ..client import Seedream
    from ..models import ModelSchema


def add_compare(subparsers: Subparsers, schema: ModelSchema) -> None:
    parser = command(
        subparsers, "compare", run_compare, "one prompt (or several, or a template) across a grid of settings",
        "Run every combination of the values given with --vary (a field, model, or a {placeholder} of\n"
        "the prompt), priced before anything is sent; several prompts are an axis of their own. Every\n"
        "cell is checked first (all problems at once). The grid is kept in the output folder as a\n"
        "group: `seedream show GROUP` draws it again, `seedream history --group GROUP` lists its runs.", """\
examples:
  seedream compare "a lighthouse at dawn" --vary size=1K,2K --vary aspect-ratio=1:1,16:9
  seedream compare "a red fox" "a red fox, watercolour" "a red fox, 35 mm photo" --vary size=1K,2K
  seedream compare "a {animal} in the {weather}" --vary animal=fox,owl --vary weather=snow,rain -s 2K
  seedream compare "a fox" --vary model=bytedance/seedream-4,bytedance/seedream-5-lite --dry-run
  seedream compare "a {animal}" --vary animal=fox,owl --vary size=1K,2K --save grid.png --cells""")
    parser.add_argument("prompts", nargs="+", metavar="PROMPT",
                        help="the prompt, with {placeholders} to vary; several prompts are compared with each other")
    parser.add_argument("--vary", action="append", default=[], metavar="NAME=A,B",
                        help="an axis: a field (size, -a, ...), model, or a placeholder, and its values; repeat it")
    group = parser.add_argument_group("running")
    group.add_argument("-c", "--concurrency", type=count, default=4, metavar="N",
                       help="predictions in flight at once (default 4)")
    group.add_argument("--timeout", type=seconds, metavar="S", help="give up on a cell after S seconds (default 600)")
    group.add_argument("--dry-run", action="store_true", help="check every cell and show the grid and its price; "
                                                              "send nothing")
    group.add_argument("--save", metavar="FILE", help="also write the grid as one labelled contact sheet (.png or "
                                                      ".jpg, its provenance record embedded)")
    group.add_argument("--cells", action="store_true", help="with --save: also copy every cell's images beside it")
    add_spending(parser)
    add_common(parser, "the grid (its group, axes and every cell)")
    add_fields(parser, schema, title=f"settings of every cell (the {schema.label} fields)")


def _request(args: argparse.Namespace) -> tuple[str | list[str], dict[str, Any], list[str]]:
    """The prompt (a list for several), the fields and axes for `start_compare`, and notes in option words."""
    from ..grid import template_placeholders

    schema: ModelSchema = args.schema
    prompt: str | list[str] = args.prompts[0] if len(args.prompts) == 1 else list(args.prompts)
    placeholders = template_placeholders(prompt) if isinstance(prompt, str) else []
    fields = options.field_values(args, schema)
    try:
        axes = options.parse_axes(args.vary, fields, schema, extra=[*placeholders, "model"])
    except options.OptionError as exc:
        raise UsageProblem(str(exc).replace("--compare", "--vary")) from None
    if not axes and isinstance(prompt, str) and not placeholders:
        raise UsageProblem("nothing to compare: give an axis (--vary size=1K,2K) or several prompts")
    fields, notes = options.imply_sequential(fields, axes, schema)
    return prompt, {**fields, **axes}, notes


def run_compare(args: argparse.Namespace) -> int:
    term = terminal(args)
    prompt, request, notes = _request(args)
    with client(args) as made:
        with options.caveat_notes(args.schema) as caveats:
            estimate = made.estimate(prompt, **request)  # checks every cell: all problems at once
        for note in [*notes, *caveats]:
            term.note(f"note: {note}", "yellow")
        term.note(f"price: {estimate.describe()}")
        made.core.check_cost(estimate)
        if args.dry_run:
            return _dry_run(args, made, prompt, request)
        batch = made.start_compare(prompt, concurrency=args.concurrency, timeout=args.timeout, **request)
        view = BatchView(term)
        try:
            comparison = batch.wait(on_state=view.draw, every=TICK_SECONDS)
        except KeyboardInterrupt:  # Batch.wait canceled the cells and waited; this covers one just outside it
            batch.cancel()
            raise Stopped("interrupted: the running cells were canceled on the service") from None
        finally:
            view.close()
        print_comparison(args, comparison, made.settings.token)
        if args.save:
            written = comparison.save(args.save, cells=args.cells)
            term.note(f"contact sheet: {written[0]}" + (f" (and {len(written) - 1} cell images)" if len(written) > 1
                                                         else ""))
    return EXIT_OK if not comparison.errors else EXIT_FAILED


def _dry_run(args: argparse.Namespace, made: Seedream, prompt: str | list[str], request: dict[str, Any]) -> int:
    axes = {k: v for k, v in request.items() if isinstance(v, list) and k != "image_input"}
    if isinstance(prompt, list):
        axes = {"prompt": prompt, **axes}
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    if args.json:
        terminal(args).json({"sent": False, "axes": axes, "cells": combos}, made.settings.token)
    else:
        terminal(args).table(("CELL", "SETTINGS"), [(str(n), _label(c)) for n, c in enumerate(combos, 1)],
                             flex="SETTINGS", fold=True)
    return EXIT_OK


def _label(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def print_comparison(args: argparse.Namespace, comparison: Comparison, token: str) -> None:
    """A comparison's cells (their settings, status, id, and paths or error), then how to see it again."""
    term = terminal(args)
    rows: list[dict[str, Any]] = []
    for (settings, outcome), note in zip(comparison.cells, comparison.notes or [""] * len(comparison), strict=True):
        if isinstance(outcome, Result):
            rows.append({"settings": settings, "status": "done", "id": outcome.id, "note": note,
                         "paths": [str(p) for p in outcome.paths], "error": ""})
        else:
            prediction = getattr(outcome, "prediction", None)
            status = "invalid" if isinstance(outcome, ValidationError) else "failed"
            rows.append({"settings": settings, "status": status, "id": getattr(prediction, "id", "") or "",
                         "note": note, "paths": [], "error": str(outcome).splitlines()[0] if str(outcome) else ""})
    if comparison.group:
        term.note(f"kept as {comparison.group}: `seedream show {comparison.group}` shows this grid again", "dim")
    if args.json:
        return term.json({"group": comparison.group, "prompt": comparison.prompt, "axes": dict(comparison.axes),
                          "cost": comparison.cost, "cells": rows}, token)
    term.table(("CELL", "STATUS", "ID", "PATHS OR ERROR"), [
        (_label(row["settings"]), Text(row["status"], style=PHASE_STYLES["succeeded" if row["status"] == "done"
                                                                          else "failed"]),
         row["id"] or "-", ", ".join(row["paths"]) or row["error"] or "-") for row in rows],
        flex="PATHS OR ERROR", fold=True)
    for row in rows:
        if row["note"]:
            term.note(f"note: {_label(row['settings'])}: {row['note']}", "yellow")
