"""The magics' command lines: ``%%seedream``'s options (the model's fields) and ``%seedream``'s commands.

The fields' options are `seedream_widgets.options`' (the command line's words); the engine's schema validates.
"""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Callable
from typing import Any, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from .config import DEFAULT_BASE_URL, DEFAULT_MODEL
from .options import add_field_options

__all__ = ["CELL_PARSER", "LINE_PARSER", "check_identifier", "parse", "typed"]

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
"""


def typed(decorator: Any) -> Callable[[F], F]:
    """``@typed(cell_magic("x"))``: IPython's magic decorators type as Never; this keeps each magic's signature."""
    return cast("Callable[[F], F]", decorator)


def cell_parser() -> MagicArgumentParser:
    """``%%seedream [options]``: every model field (schema order), then the run options."""
    parser: MagicArgumentParser = cast(Any, MagicArgumentParser)(prog="%seedream", description=CELL_DOC)
    add_field_options(parser, image_help=IMAGE_HELP)
    run = parser.add_argument_group("run options")
    run.add_argument("-o", "--out", metavar="VAR",
                     help="Store the Result (or Comparison) in VAR too; the last one is always in _seedream.")
    run.add_argument("--no-wait", action="store_true",
                     help="Return at once; the output fills in place when done (and -o VAR / _seedream are set then).")
    run.add_argument("--dry-run", action="store_true",
                     help="Show the request (payload JSON, curl and Python) with the token masked; send nothing.")
    run.add_argument("--compare", nargs="+", metavar="FIELD=A,B",
                     help="A grid across settings, e.g. --compare size=1K,2K aspect_ratio=1:1,16:9 (every "
                          "combination).")
    run.add_argument("--format", action="store_true",
                     help="Fill {name} placeholders in the prompt from the notebook's variables (without it braces "
                          "are literal).")
    run.add_argument("--model", metavar="OWNER/NAME",
                     help=f"Model (or owner/name:version); default {DEFAULT_MODEL} or SEEDREAM_MODEL.")
    run.add_argument("--base-url", metavar="URL", help=f"API root, e.g. {DEFAULT_BASE_URL}; default SEEDREAM_BASE_URL, "
                                                       "or the local demo backend when no token is set.")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="Deadline for the run (default 600).")
    run.add_argument("--debug", action="store_true", help="Show full tracebacks instead of short messages.")
    return parser


def line_parser() -> MagicArgumentParser:
    """The ``%seedream`` line magic's commands (errors raise `UsageError`, like every magic parser)."""
    parser: MagicArgumentParser = cast(Any, MagicArgumentParser)(
        prog="seedream",
        description=(
            "%seedream COMMAND: look at the configuration and the stored runs.\n\n"
            "For a generation use the cell magic: %%seedream [options] with the prompt as the\n"
            "cell's body (see %%seedream?)."),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=MagicArgumentParser)
    config = commands.add_parser("config", help="the effective configuration (token masked; demo or real)")
    config.add_argument("--base-url", help="as the cell magic's --base-url")
    config.add_argument("--model", help="as the cell magic's --model")
    history = commands.add_parser("history", help="recent stored runs, newest first")
    history.add_argument("count", nargs="?", type=int, default=10, metavar="N", help="how many (default 10)")
    open_ = commands.add_parser("open", help="show a stored run again (finishes it first if it was interrupted)")
    open_.add_argument("id", metavar="ID", help="the prediction id, or its start (see %%seedream history)")
    open_.add_argument("-o", "--out", metavar="VAR", help="also store the Result in VAR")
    open_.add_argument("--timeout", type=float, metavar="SECONDS", help="deadline if it must still finish")
    open_.add_argument("--debug", action="store_true", help="show the traceback of an error")
    wait = commands.add_parser("wait", help="wait for the --no-wait runs of this session to finish")
    wait.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long")
    # The help lists each command's own usage line, so `%seedream?` is the whole reference.
    usages = [" ".join(sub.format_usage().split()).removeprefix(":: ") for sub in commands.choices.values()]
    parser.epilog = "commands in full:\n" + "\n".join(f"  {usage}" for usage in usages)
    return parser


CELL_PARSER = cell_parser()
LINE_PARSER = line_parser()


def parse(parser: MagicArgumentParser, line: str, name: str) -> Any:
    """The parsed options; a malformed line is one `UsageError` naming the magic (and the closest real option)."""
    try:
        return cast(Any, parser).parse_argstring(line)
    except UsageError as exc:
        text = str(exc)
        if "unrecognized arguments" in text and parser is CELL_PARSER:
            text += _did_you_mean(text, parser) + " (options only on the %%seedream line; the prompt is the cell's "\
                                                  "body)"
        raise UsageError(f"{name}: {text}; see {name}?") from None
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"{name}: {exc}") from None


def check_identifier(name: str | None, option: str) -> str | None:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} {name!r}: not a valid Python variable name")
    return name


def _did_you_mean(text: str, parser: MagicArgumentParser) -> str:
    """The closest real option for each unknown long one in argparse's message, else the known ones."""
    known = sorted({s for action in parser._actions for s in action.option_strings if s.startswith("--")})
    unknown = [word.split("=", 1)[0] for word in text.partition(":")[2].split() if word.startswith("--")]
    hints = []
    for flag in unknown:
        close = difflib.get_close_matches(flag.replace("_", "-"), known, n=1, cutoff=0.6)
        hints.append(f"{flag}: did you mean {close[0]}?" if close else f"{flag}: known options are {', '.join(known)}")
    return f"; {'; '.join(hints)}" if hints else ""
