"""Text to fields, once for the magic and the command line: options, values, axes, and messages in option words.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_field_options(parser)
>>> field_values(parser.parse_args(["--size", "1K", "-n", "3", "--no-enhance"]))
{'size': '1K', 'max_images': 3, 'enhance_prompt': False}

Every field of a model's schema becomes an option: its long name from the field's name
(``aspect_ratio`` -> ``--aspect-ratio``), a few short ones and aliases people already type
(``-s``, ``-a``, ``-n``, ``-i/--image``, ``--sequential``), a bool's flag flipping its default
(``--no-enhance``, ``--disable-safety-checker``). The same words parse the same way everywhere:
``y``/``true``/``on`` for a bool, ``2048.0`` for a whole number, ``a.png|b.png`` for several images,
in options, ``--compare`` axes and CSV cells alike. Nothing here validates: a value that does not
parse is passed on as text, and the model's schema names it (and `problem_lines` says it in
option words). `OptionError` is a malformed option line; each door shows it its own way.
"""

from __future__ import annotations

import argparse
import difflib
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import SeedreamWarning, ValidationError
from .models import FieldSpec, ModelSchema
from .schema import schema_for

__all__ = [
    "IMAGE_SEPARATOR",
    "OptionError",
    "add_field_options",
    "caveat_notes",
    "field_for",
    "field_values",
    "imply_sequential",
    "option_arguments",
    "option_label",
    "option_names",
    "parse_axes",
    "parse_field_text",
    "problem_lines",
    "speak_options",
]

T = TypeVar("T")

_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
IMAGE_SEPARATOR = "|"
"""Separates several images in one text value (a CSV cell): ``a.png|https://x/b.jpg``."""

_SHORT = {"size": "-s", "aspect_ratio": "-a", "max_images": "-n", "image_input": "-i"}
_LONG = {"image_input": "--image", "sequential_image_generation": "--sequential", "enhance_prompt": "--no-enhance"}
"""Spellings people already type; every other field's option is its name with dashes."""


class OptionError(ValueError):
    """A malformed option line (``--compare size``): the message says what was expected."""


def _schema(schema: ModelSchema | None) -> ModelSchema:
    return schema if schema is not None else schema_for()


def option_names(spec: FieldSpec) -> tuple[str, ...]:
    """The option strings of a field (``("-n", "--max-images")``); empty for the prompt (the body/argument)."""
    if spec.name == "prompt":
        return ()
    long = _LONG.get(spec.name)
    if long is None:
        dashed = spec.name.replace("_", "-")
        long = f"--no-{dashed}" if spec.kind == "bool" and spec.default is True else f"--{dashed}"
    short = _SHORT.get(spec.name)
    return (short, long) if short else (long,)


def option_label(name: str, schema: ModelSchema | None = None) -> str:
    """``-n/--max-images``: how a message names a field for someone typing options (the name itself if none)."""
    spec = _schema(schema).get(name)
    if spec is None:
        return name
    return "/".join(option_names(spec)) or name


def parse_field_text(spec: FieldSpec, text: str) -> Any:
    """A field's value from text (an option, an axis value, a CSV cell), in the field's type when it reads as one.

    >>> from seedream_widgets.schema import FIELD
    >>> parse_field_text(FIELD["max_images"], "4"), parse_field_text(FIELD["enhance_prompt"], "no")
    (4, False)
    >>> parse_field_text(FIELD["width"], "2048.0"), parse_field_text(FIELD["enhance_prompt"], "y")
    (2048, True)
    >>> parse_field_text(FIELD["image_input"], "a.png | https://x/b.jpg")
    ['a.png', 'https://x/b.jpg']

    Text that does not read as the field's type comes back unchanged, so the
    schema reports it (``max_images: must be a whole number, got 'four'``).
    """
    stripped = text.strip()
    if spec.kind in ("int", "number"):
        try:
            return int(stripped)
        except ValueError:
            try:
                number = float(stripped)
            except ValueError:
                return text
            if spec.kind == "number":
                return number
            return int(number) if number.is_integer() else text
    if spec.kind == "bool":
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return text
    if spec.kind == "uris":
        return [part.strip() for part in text.replace("\n", IMAGE_SEPARATOR).split(IMAGE_SEPARATOR) if part.strip()]
    if spec.kind == "enum":
        return stripped
    return text


def _lenient(spec: FieldSpec) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        return parse_field_text(spec, text)

    convert.__name__ = spec.kind  # argparse names the type in its own messages
    return convert


def option_arguments(spec: FieldSpec, *, image_help: str = "",
                     image_metavar: str = "IMAGE") -> tuple[list[str], dict[str, Any]]:
    """The ``(names, kwargs)`` of ``add_argument`` for one field: flags, help, choices and metavar from the schema.

    Unset options stay None (``default=None``), so only what the user typed reaches the
    payload. A bool field's flag flips the service's default (``--no-enhance`` stores False).
    ``image_help`` is appended to the help of the images option (what a door accepts besides
    URLs), ``image_metavar`` names its value.
    """
    names = list(option_names(spec))
    kwargs: dict[str, Any] = {"dest": spec.name, "default": None}
    help_text = spec.help
    if spec.inactive_note:
        help_text += f" ({spec.inactive_note})"
    if spec.kind == "bool":
        kwargs.update(action="store_const", const=not spec.default)
        flipped, default = str(not spec.default).lower(), str(spec.default).lower()
        help_text = f"Set {spec.name} to {flipped} (default {default}): {help_text}"
    elif spec.kind == "uris":
        kwargs.update(action="append", metavar=image_metavar)
        most = f" At most {spec.max_items}." if spec.max_items else ""
        help_text += f"{most} Repeat the option for several images." + (f" {image_help}" if image_help else "")
    elif spec.kind in ("int", "number"):
        kwargs.update(type=_lenient(spec), metavar="N")
        help_text += f" {spec.allowed[0].upper()}{spec.allowed[1:]}; default {spec.default}."
    elif spec.kind == "enum":
        # The choices in the metavar, so the usage line shows them ({1K,2K,4K,custom}); the schema checks.
        kwargs.update(type=_lenient(spec), metavar="{" + ",".join(spec.choices) + "}")
        help_text += f" Default {spec.default}."
    else:
        kwargs.update(metavar="VALUE")
    kwargs["help"] = help_text.replace("%", "%%")  # argparse %-formats help strings
    return names, kwargs


def add_field_options(parser: argparse.ArgumentParser | Any, schema: ModelSchema | None = None, *,
                      title: str = "", image_help: str = "", image_metavar: str = "IMAGE") -> None:
    """Add every field of ``schema`` (default seedream-4) as an option, in schema order, in one help group."""
    table = _schema(schema)
    group = parser.add_argument_group(
        title or f"model fields (the {table.model} schema; unset fields keep the service's defaults)")
    for spec in table.fields:
        if option_names(spec):
            names, kwargs = option_arguments(spec, image_help=image_help, image_metavar=image_metavar)
            group.add_argument(*names, **kwargs)


def field_values(namespace: argparse.Namespace | Mapping[str, Any],
                 schema: ModelSchema | None = None) -> dict[str, Any]:
    """The model fields the user set, by schema name (options left out stay the service's defaults)."""
    values = vars(namespace) if isinstance(namespace, argparse.Namespace) else namespace
    return {spec.name: values[spec.name] for spec in _schema(schema).fields
            if option_names(spec) and values.get(spec.name) is not None}


def field_for(name: str, schema: ModelSchema | None = None) -> FieldSpec | None:
    """A field by its schema name or option spelling: ``aspect_ratio``, ``aspect-ratio``, ``--aspect-ratio``, ``-a``.

    A bool's flag is not an alias (``--no-enhance`` means the opposite of ``enhance_prompt``);
    ``--image`` names ``image_input``.
    """
    wanted = name.strip()
    plain = wanted.lstrip("-").replace("-", "_")
    for spec in _schema(schema).fields:
        if plain == spec.name:
            return spec
        for option in option_names(spec):
            if spec.kind == "bool":
                continue
            if wanted == option or (option.startswith("--") and plain == option[2:].replace("-", "_")):
                return spec
    return None


def imply_sequential(fields: Mapping[str, Any], axes: Mapping[str, Sequence[Any]] | None = None,
                     schema: ModelSchema | None = None) -> tuple[dict[str, Any], list[str]]:
    """``max_images`` above 1 (set, or in a ``--compare`` axis) without a sequential mode means a set.

    >>> imply_sequential({"max_images": 3})[0]
    {'max_images': 3, 'sequential_image_generation': 'auto'}

    Returns the fields and a note in option words when something was implied (the schema
    alone would make one image and warn). Values that are not whole numbers are left for the
    schema to name.
    """
    result = dict(fields)
    table = _schema(schema)
    if "sequential_image_generation" not in table or "max_images" not in table:
        return result, []
    counts = [result.get("max_images", 1), *((axes or {}).get("max_images", []))]
    most = max([1, *(v for v in counts if isinstance(v, int) and not isinstance(v, bool))])
    if most > 1 and "sequential_image_generation" not in result and "sequential_image_generation" not in (axes or {}):
        result["sequential_image_generation"] = "auto"
        return result, [f"{option_label('max_images', table)} {most} implies --sequential auto (a set of up to "
                        f"{most} images); add --sequential disabled for one image"]
    return result, []


def parse_axes(items: Sequence[str], fixed: Mapping[str, Any], schema: ModelSchema | None = None, *,
               extra: Sequence[str] = ()) -> dict[str, list[Any]]:
    """``["size=1K,2K", "-a=1:1,16:9"]`` -> ``{"size": ["1K", "2K"], "aspect_ratio": ["1:1", "16:9"]}``.

    Values are parsed like options (`parse_field_text`). ``extra`` names axes that are not
    fields (``model``, prompt placeholders), kept as text. Raises `OptionError` when malformed.
    """
    table = _schema(schema)
    axes: dict[str, list[Any]] = {}
    varying = [s.name for s in table.fields if s.kind not in ("uris", "str")]
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name or not values.strip(","):
            raise OptionError(f"--compare {item!r}: expected NAME=VALUE,VALUE (e.g. --compare size=1K,2K)")
        key = name.strip()
        spec = field_for(key, table)
        parse: Callable[[str], Any]
        if spec is None and key in extra:
            axes_key, parse = key, _text_value
        elif spec is None:
            known = [*varying, *extra]
            close = difflib.get_close_matches(key.replace("-", "_"), known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise OptionError(f"--compare: {key!r} is not a field of {table.model}{hint} (axes: {', '.join(known)})")
        elif spec.name not in varying:
            raise OptionError(f"--compare cannot vary {spec.name}; vary one of: {', '.join(varying)}")
        else:
            axes_key, parse = spec.name, _lenient(spec)
        if axes_key in axes:
            raise OptionError(f"--compare names {axes_key} twice; give all its values once: {axes_key}=A,B,C")
        if axes_key in fixed:
            raise OptionError(f"{option_label(axes_key, table)} is both an option and a --compare axis; drop one")
        axes[axes_key] = [parse(v) for v in values.split(",") if v.strip()]
    return axes


def _text_value(text: str) -> Any:
    return text.strip()


@contextmanager
def caveat_notes(schema: ModelSchema | None = None, *, options: bool = True) -> Iterator[list[str]]:
    """Collect the `SeedreamWarning`s raised inside (each once), in option words unless ``options=False``.

    >>> with caveat_notes() as notes:
    ...     _ = SeedreamInput("a fox", max_images=4)       # doctest: +SKIP
    >>> notes                                              # doctest: +SKIP
    ["-n/--max-images 4 has no effect while --sequential is 'disabled' ..."]
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SeedreamWarning)
        try:
            yield notes
        finally:
            for warning in caught:
                if issubclass(warning.category, SeedreamWarning):
                    text = speak_options(str(warning.message), schema) if options else str(warning.message)
                    if text not in notes:
                        notes.append(text)
    for warning in caught:
        if not issubclass(warning.category, SeedreamWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


_ASSIGNMENT = re.compile(r"\b([a-z_]+)=(?:'([^']*)'|([0-9.]+))")


def speak_options(text: str, schema: ModelSchema | None = None) -> str:
    """A message written for Python (``set size='custom'``) in option words (``set --size custom``)."""
    table = _schema(schema)
    names = set(table.names)

    def assignment(match: re.Match[str]) -> str:
        name, quoted, number = match.group(1), match.group(2), match.group(3)
        if name not in names:
            return match.group(0)
        return f"{option_label(name, table)} {quoted if quoted is not None else number}"

    text = _ASSIGNMENT.sub(assignment, text)
    for name in sorted(names, key=len, reverse=True):
        if name == "prompt":
            continue
        spec = table.field(name)
        options = option_names(spec)
        if options and spec.kind != "bool":
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w=])", options[-1], text)
    return text


def problem_lines(error: ValidationError, schema: ModelSchema | None = None) -> list[str]:
    """One line per invalid field, named as the options that set it (``-n/--max-images: got 0; ...``)."""
    table = _schema(schema)
    lines = []
    for problem in error.invalid_fields:
        rest = str(problem)[len(problem.field) + 2:]
        lines.append(f"{option_label(problem.field, table)}: {speak_options(rest, table)}")
    return lines

