"""The magics' command lines: ``%%seedream``'s options (a model's fields) and ``%seedream``'s commands.

The fields' options are `seedream_widgets.options`' (the command line's words), built from the
schema of the model the line names; the engine's schema validates.
"""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..config import DEFAULT_BASE_URL, DEFAULT_MODEL, full_model_name
from ..models import ModelSchema, builtin_schema
from ..options import (
    OptionError,
    add_field_options,
    field_for,
    option_label,
    option_names,
    parse_axes,
    parse_field_text,
    speak_options,
)

__all__ = ["CELL_PARSER", "LINE_PARSER", "cell_parser", "check_identifier", "compare_items", "merged_schema",
           "model_name", "parse", "split_line", "typed"]

F = TypeVar("F", bound=Callable[..., Any])

IMAGE_HELP = ("A file path, an http(s) URL, a data: URI, or the name of a variable holding a PIL image, bytes, "
              "a path, a previous Result (its first image) or a list of those.")
CELL_DOC = """Generate (or edit) images with Seedream: the cell's body is the prompt, the options are the fields.

    %%seedream --size 2K --aspect-ratio 4:3 -n 2 -o fox
    a red fox in the snow, watercolour

One status line shows status, seconds, images so far, the prediction id and the last log line;
then the thumbnails and a caption (size, id, time, folder) replace it. Interrupting the kernel
cancels the prediction on the service. -n above 1 implies --sequential auto (say --sequential
disabled to keep one image).

Other models take their own options: %%seedream --model bytedance/seedream-5-lite --size 3K
--output-format png (seedream-4.5 and seedream-5-lite may be named without bytedance/).
%seedream help --model NAME shows a model's options, %seedream models lists the models.

Comparisons: --compare NAME=A,B,C ... runs every combination (a grid; a third axis makes one
grid per value). NAME is a field (size, aspect_ratio, ...), model (each cell checked against its
own model; a setting a model lacks is left out of its cells, with a note), or a {placeholder} of
the cell's text, which is then a template:

    %%seedream -s 1K --compare animal=fox,owl weather=snow,rain -o grid
    a {animal} in the {weather}

Values are separated by commas; a value holding commas goes in double quotes:
--compare style="oil, thick paint",ink. Quote the whole item when values hold spaces:
--compare "animal=red fox,snowy owl". Double the braces ({{ }}) for literal ones. -o VAR keeps
the Comparison (VAR.save("grid.png") writes a contact sheet); %seedream open cmp-... shows a kept
grid again, after a restart too.

--dry-run shows the request and the estimate (images and price at most) and sends nothing;
--max-cost USD (or SEEDREAM_MAX_COST) refuses a run, set or grid that could cost more.
"""


def typed(decorator: Any) -> Callable[[F], F]:
    """``@typed(cell_magic("x"))``: IPython's magic decorators type as Never; this keeps each magic's signature."""
    return cast("Callable[[F], F]", decorator)


def model_name(text: str | None) -> str | None:
    """``seedream-4.5`` -> ``bytedance/seedream-4.5`` (see `config.full_model_name`); else as typed."""
    return full_model_name(text) if text else text


def merged_schema(schemas: Sequence[ModelSchema]) -> ModelSchema:
    """One table with the first schema's fields, then the fields only later ones have (a ``model`` axis's options)."""
    first, *others = schemas
    fields = list(first.fields)
    for schema in others:
        fields += [spec for spec in schema.fields if spec.name not in {f.name for f in fields}]
    return replace(first, fields=tuple(fields)) if others else first


@lru_cache(maxsize=16)
def cell_parser(schemas: tuple[ModelSchema, ...] = ()) -> MagicArgumentParser:
    """``%%seedream [options]``: every field of the models named (schema order), then the run options."""
    table = merged_schema(schemas or (cast(ModelSchema, builtin_schema(DEFAULT_MODEL)),))
    names = " and ".join(dict.fromkeys(s.label for s in schemas)) or table.label
    parser: MagicArgumentParser = cast(Any, MagicArgumentParser)(prog="%seedream", description=CELL_DOC)
    add_field_options(parser, table, image_help=IMAGE_HELP,
                      title=f"model fields ({names}; unset fields keep the service's defaults)")
    for action in parser._actions:  # the schema's help speaks of fields (size='custom'): say --size custom
        action.help = speak_options(action.help, table) if action.help and action.dest in table else action.help
    run = parser.add_argument_group("run options")
    run.add_argument("-o", "--out", metavar="VAR",
                     help="Store the Result (or Comparison) in VAR too; the last one is always in _seedream.")
    run.add_argument("--no-wait", action="store_true",
                     help="Return at once; the output fills in place when done (and -o VAR / _seedream are set then).")
    run.add_argument("--dry-run", action="store_true",
                     help="Show the request (payload JSON, curl and Python) with the token masked, and the estimate "
                          "(images and price at most); send nothing.")
    run.add_argument("--compare", nargs="+", metavar="NAME=A,B",
                     help="A grid: every combination of the values, e.g. --compare size=1K,2K aspect_ratio=1:1,16:9. "
                          "NAME is a field, model, or a {placeholder} of the cell's text (see above).")
    run.add_argument("--format", action="store_true",
                     help="Fill {name} placeholders in the prompt from the notebook's variables (without it braces "
                          "are literal, or --compare placeholders).")
    run.add_argument("--model", metavar="OWNER/NAME",
                     help=f"Model (or owner/name:version); default {DEFAULT_MODEL} or SEEDREAM_MODEL. Its options "
                          "are %%seedream help --model NAME.")
    run.add_argument("--base-url", metavar="URL", help=f"API root, e.g. {DEFAULT_BASE_URL}; default SEEDREAM_BASE_URL, "
                                                       "or the local demo backend when no token is set.")
    run.add_argument("--max-cost", type=_usd, metavar="USD",
                     help="Refuse (nothing sent) a run, set or grid whose price at most is over USD; default "
                          "SEEDREAM_MAX_COST. Demo runs cost nothing.")
    run.add_argument("--metadata", choices=("full", "label", "off"), metavar="{full,label,off}",
                     help="What the stored images carry: the generation record (full, the default), only the AI "
                          "label, or nothing; default SEEDREAM_EMBED_METADATA.")
    run.add_argument("--no-metadata", dest="metadata", action="store_const", const="off",
                     help="Same as --metadata off: store the images exactly as received.")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="Deadline for the run (default 600).")
    run.add_argument("--debug", action="store_true", help="Show full tracebacks instead of short messages.")
    return parser


def _usd(text: str) -> float:
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        value = float("nan")
    if not value >= 0:  # NaN too
        raise ValueError(text)
    return value


_usd.__name__ = "amount in US dollars (0 or more)"  # argparse names the type in its message


def line_parser() -> MagicArgumentParser:
    """The ``%seedream`` line magic's commands (errors raise `UsageError`, like every magic parser)."""
    parser: MagicArgumentParser = cast(Any, MagicArgumentParser)(
        prog="seedream",
        description=(
            "%seedream COMMAND: the configuration, the models, the stored runs and what they cost.\n\n"
            "For a generation use the cell magic: %%seedream [options] with the prompt as the\n"
            "cell's body (see %%seedream?)."),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=MagicArgumentParser)
    config = commands.add_parser("config", help="the effective configuration (token masked; demo or real)")
    config.add_argument("--base-url", help="as the cell magic's --base-url")
    config.add_argument("--model", help="as the cell magic's --model")
    history = commands.add_parser("history", help="stored runs, newest first (searched through the index)")
    history.add_argument("count", nargs="?", type=int, default=10, metavar="N", help="how many (default 10)")
    history.add_argument("--search", metavar="TEXT", help="only runs whose prompt has these words")
    history.add_argument("--starred", action="store_true", help="only starred runs")
    history.add_argument("--model", metavar="OWNER/NAME", help="only runs of this model")
    history.add_argument("--compares", action="store_true", help="the kept comparisons instead (%%seedream open "
                                                                 "cmp-... shows one again)")
    open_ = commands.add_parser("open", help="show a stored run again (finishing it first if it was interrupted), "
                                             "or a kept comparison (cmp-...)")
    open_.add_argument("id", metavar="ID", help="the prediction id or its start (see %%seedream history), or cmp-...")
    open_.add_argument("-o", "--out", metavar="VAR", help="also store the Result (or Comparison) in VAR")
    open_.add_argument("--timeout", type=float, metavar="SECONDS", help="deadline if it must still finish")
    open_.add_argument("--debug", action="store_true", help="show the traceback of an error")
    wait = commands.add_parser("wait", help="wait for the --no-wait runs of this session to finish")
    wait.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long")
    models = commands.add_parser("models", help="the known models: options, sizes and prices")
    models.add_argument("names", nargs="*", metavar="MODEL", help="only these (default: the Seedream family and the "
                                                                  "configured model)")
    models.add_argument("--refresh", action="store_true", help="read each schema from the service again")
    models.add_argument("--base-url", help="as the cell magic's --base-url")
    help_ = commands.add_parser("help", help="the %%seedream options of a model")
    help_.add_argument("--model", metavar="OWNER/NAME", help="the model (default: the configured one)")
    help_.add_argument("--base-url", help="as the cell magic's --base-url")
    cost = commands.add_parser("cost", help="what the runs in the output folder cost, by day and model")
    cost.add_argument("--base-url", help="as the cell magic's --base-url")
    info = commands.add_parser("info", help="how an image was made: the record stored in the file")
    info.add_argument("path", metavar="PATH", help="an image file (or a variable holding a Result or a path)")
    # The help lists each command's own usage line, so `%seedream?` is the whole reference.
    usages = [" ".join(sub.format_usage().split()).removeprefix(":: ") for sub in commands.choices.values()]
    parser.epilog = "commands in full:\n" + "\n".join(f"  {usage}" for usage in usages)
    return parser


CELL_PARSER = cell_parser()
LINE_PARSER = line_parser()


def split_line(line: str, name: str) -> list[str]:
    """The words of a magic's line: white space separates them except inside quotes.

    A word that is one quoted string loses its quotes (``--image "my file.png"``); quotes inside
    a word stay, so ``--compare style="oil, thick paint",ink`` keeps its value whole (`compare_items`).
    """
    words: list[str] = []
    word, quote = "", ""
    for char in line:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char.isspace():
            words += [word] if word else []
            word = ""
            continue
        word += char
    if quote:
        raise UsageError(f"{name}: no closing quotation ({quote}) in the line")
    words += [word] if word else []
    return [w[1:-1] if len(w) > 1 and w[0] == w[-1] and w[0] in "\"'" and w[0] not in w[1:-1] else w for w in words]


def parse(parser: MagicArgumentParser, argv: list[str], name: str, *, known: bool = False) -> Any:
    """The parsed options; a malformed line is one `UsageError` naming the magic (and the closest real option).

    ``known``: options of other models are left for the second reading (see ``%%seedream``).
    """
    try:
        return parser.parse_known_args(argv)[0] if known else parser.parse_args(argv)
    except UsageError as exc:
        text = str(exc)
        if "unrecognized arguments" in text and parser.prog == CELL_PARSER.prog:
            text += _did_you_mean(text, parser) + " (options only on the %%seedream line; the prompt is the cell's "\
                                                  "body)"
        raise UsageError(f"{name}: {text}; see {name}?") from None


def check_identifier(name: str | None, option: str) -> str | None:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} {name!r}: not a valid Python variable name")
    return name


def compare_items(items: Sequence[str], fixed: Mapping[str, Any], schema: ModelSchema,
                  extra: Sequence[str]) -> dict[str, list[Any]]:
    """``--compare`` items as axes, with values split here so that a double-quoted value keeps its commas
    (``style="oil, thick paint",ink``). Names are ``options.parse_axes``' (fields by any spelling, ``extra``:
    ``model`` and the cell's placeholders); an unknown name or a field that cannot vary is said here in
    option words, with both lists. Raises `OptionError`."""
    split = [(name, _values(rest) if sep else []) for name, sep, rest in (item.partition("=") for item in items)]
    varying = {spec.name: spec.name.replace("_", "-") if spec.kind == "bool" else option_names(spec)[-1][2:]
               for spec in schema.fields if spec.kind not in ("uris", "str")}  # what may follow --compare
    for name, _ in split:
        spec = field_for(name, schema)
        if name.strip() and spec is None and name.strip() not in extra:
            close = difflib.get_close_matches(name.strip().replace("_", "-"), [*varying.values(), *extra], n=1)
            raise OptionError(
                f"--compare: {name.strip()!r} is neither an option of {schema.model} nor a {{placeholder}} of the "
                f"cell's text{f'; did you mean {close[0]}?' if close else ''} (axes: {', '.join(varying.values())}, "
                f"model; placeholders: {', '.join(e for e in extra if e != 'model') or 'none'})")
        if spec is not None and spec.name not in varying:
            raise OptionError(f"--compare cannot vary {option_label(spec.name, schema)}; vary one of: "
                              f"{', '.join(varying.values())}")
    try:
        names = parse_axes([f"{name}=?" if values else item for item, (name, values) in zip(items, split, strict=True)],
                           fixed, schema, extra=extra)
    except OptionError as exc:
        raise OptionError(speak_options(str(exc), schema)) from None
    axes: dict[str, list[Any]] = {}
    for key, (_, values) in zip(names, split, strict=True):
        spec = field_for(key, schema)
        axes[key] = [parse_field_text(spec, v) if spec else model_name(v) if key == "model" else v for v in values]
    return axes


def _values(text: str) -> list[str]:
    """``"oil, thick paint",ink`` -> ``["oil, thick paint", "ink"]``: commas separate, double quotes group."""
    values, value, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            values.append(value)
            value = ""
        else:
            value += char
    if quoted:
        raise OptionError(f"--compare {text}: a double quote is not closed")
    return [v.strip() for v in [*values, value] if v.strip()]


def _did_you_mean(text: str, parser: MagicArgumentParser) -> str:
    """The closest real option for each unknown long one in argparse's message, else the known ones."""
    known = sorted({s for action in parser._actions for s in action.option_strings if s.startswith("--")})
    unknown = [word.split("=", 1)[0] for word in text.partition(":")[2].split() if word.startswith("--")]
    hints = []
    for flag in unknown:
        close = difflib.get_close_matches(flag.replace("_", "-"), known, n=1, cutoff=0.6)
        hints.append(f"{flag}: did you mean {close[0]}?" if close else f"{flag}: known options are {', '.join(known)}")
    return f"; {'; '.join(hints)}" if hints else ""
