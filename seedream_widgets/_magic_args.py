"""The magics' command lines: ``%%seedream`` options from the field table, ``--compare`` axes, ``%seedream`` commands.

Every model field with a ``flag`` in `seedream_widgets.schema.FIELDS` becomes an option
(its short flag, help, allowed values and default come from the same row; a bool's flag
flips the service's default: ``--no-enhance``). Values are not checked here beyond their
syntax: the engine's `SeedreamInput` validates them and names every bad field at once.
"""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from IPython.core import magic as _magic
from IPython.core import magic_arguments as _magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from .options import option_arguments
from .schema import FIELDS, FieldSpec

__all__ = ["LINE_PARSER", "argument", "argument_group", "axis_value", "cell_magic", "check_identifier",
           "field_for_axis", "field_option", "field_options", "line_magic", "magic_arguments", "parse_axes"]

F = TypeVar("F", bound=Callable[..., Any])

# IPython's magic_arguments and magic decorators are untyped; these typed doors keep each magic's signature.


def argument(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    return cast("Callable[[F], F]", cast(Any, _magic_arguments).argument(*args, **kwargs))


def argument_group(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    return cast("Callable[[F], F]", cast(Any, _magic_arguments).argument_group(*args, **kwargs))


def magic_arguments(name: str | None = None) -> Callable[[F], F]:
    return cast("Callable[[F], F]", cast(Any, _magic_arguments).magic_arguments(name))


def cell_magic(name: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", cast(Any, _magic).cell_magic(name))


def line_magic(name: str) -> Callable[[F], F]:
    return cast("Callable[[F], F]", cast(Any, _magic).line_magic(name))


# -- %%seedream ------------------------------------------------------------------------------


def field_option(spec: FieldSpec) -> Callable[[F], F]:
    """The ``argument(...)`` decorator of one model field: the same flags, choices and help as the CLI's."""
    names, kwargs = option_arguments(
        spec, image_help="A file path, an http(s) URL, a data: URI, or the name of a variable holding a PIL "
                         "image, bytes, a path, a previous Result (its first image) or a list of those.")
    return argument(*names, **kwargs)


def field_options(func: F) -> F:
    """Add every model field with a flag to a magic, in schema order, in their own help group."""
    specs = [spec for spec in FIELDS if spec.flag]
    for spec in reversed(specs):  # decorators applied later show earlier in the help
        func = field_option(spec)(func)
    return argument_group("model fields (the bytedance/seedream-4 schema; unset fields keep the service's defaults)")(
        func)


def field_for_axis(name: str) -> FieldSpec | None:
    """A field by its schema name or its option spelling (``aspect_ratio``, ``aspect-ratio``, ``--max-images``)."""
    wanted = name.strip().lstrip("-").replace("-", "_")
    for spec in FIELDS:
        aliases = {spec.name, spec.flag.lstrip("-").replace("-", "_") if spec.kind != "bool" else spec.name}
        if wanted in aliases:
            return spec
    return None


def axis_value(spec: FieldSpec, text: str) -> Any:
    """A ``--compare`` value in the field's type when it reads as one; anything else is left for the schema to judge."""
    text = text.strip()
    if spec.kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    if spec.kind == "bool":
        return {"true": True, "yes": True, "1": True, "on": True,
                "false": False, "no": False, "0": False, "off": False}.get(text.lower(), text)
    return text


def parse_axes(items: Sequence[str], fixed: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``["size=1K,2K", "aspect_ratio=1:1,16:9"]`` -> ``{"size": ["1K", "2K"], ...}``; UsageError when malformed."""
    axes: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values.strip(","):
            raise UsageError(f"--compare {item!r}: expected FIELD=VALUE,VALUE (e.g. --compare size=1K,2K)")
        spec = field_for_axis(name)
        varying = [s.name for s in FIELDS if s.kind not in ("uris", "str")]
        if spec is None:
            close = difflib.get_close_matches(name.replace("-", "_"), varying, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"--compare: {name!r} is not a model field{hint} (fields: {', '.join(varying)})")
        if spec.name not in varying:
            raise UsageError(f"--compare cannot vary {spec.name}; vary one of: {', '.join(varying)}")
        if spec.name in axes:
            raise UsageError(f"--compare names {spec.name} twice; give all its values once: {spec.name}=A,B,C")
        if spec.name in fixed:
            raise UsageError(f"{spec.name} is both an option and a --compare axis; drop one of them")
        axes[spec.name] = [axis_value(spec, v) for v in values.split(",") if v.strip()]
    return axes


def check_identifier(name: str | None, option: str) -> str | None:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} {name!r}: not a valid Python variable name")
    return name


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
    open_.add_argument("id", metavar="ID", help="the prediction id (see %%seedream history)")
    open_.add_argument("-o", "--out", metavar="VAR", help="also store the Result in VAR")
    open_.add_argument("--timeout", type=float, metavar="SECONDS", help="deadline if it must still finish")
    open_.add_argument("--debug", action="store_true", help="show the traceback of an error")
    wait = commands.add_parser("wait", help="wait for the --no-wait runs of this session to finish")
    wait.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long")
    # The help lists each command's own usage line, so `%seedream?` is the whole reference.
    usages = [" ".join(sub.format_usage().split()).removeprefix(":: ") for sub in commands.choices.values()]
    parser.epilog = "commands in full:\n" + "\n".join(f"  {usage}" for usage in usages)
    return parser


LINE_PARSER = line_parser()
