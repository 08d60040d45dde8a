"""Command-line spellings of the model's fields, generated from the one field table (`schema.FIELDS`).

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_field_options(parser)
>>> field_values(parser.parse_args(["--size", "1K", "-n", "3", "--no-enhance"]))
{'size': '1K', 'max_images': 3, 'enhance_prompt': False}

The ``seedream`` command uses these for ``generate`` and ``batch``; the
``%%seedream`` magic can build the same options from `option_arguments`
(IPython's ``magic_arguments`` takes the same ``*names, **kwargs`` as argparse).
Nothing here validates: a value that does not parse is passed on as text, and
the schema rejects it with the field's name and its allowed values, the same
message every front door shows.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from .schema import FIELDS, FieldSpec

__all__ = [
    "FIELD_GROUP_TITLE",
    "add_field_options",
    "field_for",
    "field_values",
    "imply_sequential",
    "option_arguments",
    "option_label",
    "parse_field_text",
]

FIELD_GROUP_TITLE = "model fields (the bytedance/seedream-4 schema; unset fields keep the service's defaults)"

_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
IMAGE_SEPARATOR = "|"
"""Separates several images in one text value (a CSV cell): ``a.png|https://x/b.jpg``."""


def parse_field_text(spec: FieldSpec, text: str) -> Any:
    """A field's value from text (an option, a CSV cell), in the field's type when it reads as one.

    >>> from seedream_widgets.schema import FIELD
    >>> parse_field_text(FIELD["max_images"], "4"), parse_field_text(FIELD["enhance_prompt"], "no")
    (4, False)
    >>> parse_field_text(FIELD["image_input"], "a.png | https://x/b.jpg")
    ['a.png', 'https://x/b.jpg']

    Text that does not read as the field's type comes back unchanged, so the
    schema reports it (``max_images: must be a whole number, got 'four'``).
    """
    if spec.kind == "int":
        stripped = text.strip()
        try:
            return int(stripped)
        except ValueError:
            try:
                number = float(stripped)
            except ValueError:
                return text
            return int(number) if number.is_integer() else text
    if spec.kind == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return text
    if spec.kind == "uris":
        return [part.strip() for part in text.replace("\n", IMAGE_SEPARATOR).split(IMAGE_SEPARATOR) if part.strip()]
    if spec.kind == "enum":
        return text.strip()
    return text


def _lenient(spec: FieldSpec) -> Any:
    def convert(text: str) -> Any:
        return parse_field_text(spec, text)

    convert.__name__ = spec.kind  # argparse names the type in its own messages
    return convert


def option_arguments(spec: FieldSpec, *, image_help: str = "",
                     image_metavar: str = "IMAGE") -> tuple[list[str], dict[str, Any]]:
    """The ``(names, kwargs)`` of ``add_argument`` for one field: flags, help and metavar from the schema.

    Unset options stay None (``default=None``), so only what the user typed
    reaches the payload. A bool field's flag flips the service's default
    (``--no-enhance`` stores False). ``image_help`` is appended to the help of
    the images option (what a front door accepts besides URLs), ``image_metavar`` names its value.
    """
    names = [*([spec.short] if spec.short else []), spec.flag]
    kwargs: dict[str, Any] = {"dest": spec.name, "default": None}
    help_text = spec.help
    if spec.kind == "bool":
        kwargs.update(action="store_const", const=not spec.default)
        flipped, default = str(not spec.default).lower(), str(spec.default).lower()
        help_text = f"Set {spec.name} to {flipped} (default {default}): {help_text}"
    elif spec.kind == "uris":
        kwargs.update(action="append", metavar=image_metavar)
        help_text += " Repeat the option for several images." + (f" {image_help}" if image_help else "")
    elif spec.kind == "int":
        kwargs.update(type=_lenient(spec), metavar="N")
        help_text += f" {spec.allowed[0].upper()}{spec.allowed[1:]}; default {spec.default}."
    elif spec.kind == "enum":
        kwargs.update(type=_lenient(spec), metavar=spec.flag.lstrip("-").replace("-", "_").upper())
        help_text += f" One of: {', '.join(spec.choices)}; default {spec.default}."
    kwargs["help"] = help_text.replace("%", "%%")  # argparse %-formats help strings
    return names, kwargs


def add_field_options(parser: argparse.ArgumentParser, *, title: str = FIELD_GROUP_TITLE,
                      image_help: str = "", image_metavar: str = "IMAGE") -> None:
    """Add every model field that has a flag to ``parser``, in schema order, in one help group."""
    group = parser.add_argument_group(title)
    for spec in FIELDS:
        if spec.flag:
            names, kwargs = option_arguments(spec, image_help=image_help, image_metavar=image_metavar)
            group.add_argument(*names, **kwargs)


def field_values(namespace: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """The model fields the user set, by schema name (options left out stay the service's defaults)."""
    values = vars(namespace) if isinstance(namespace, argparse.Namespace) else namespace
    return {spec.name: values[spec.name] for spec in FIELDS
            if spec.flag and values.get(spec.name) is not None}


def field_for(name: str) -> FieldSpec | None:
    """A field by its schema name or its option spelling: ``aspect_ratio``, ``aspect-ratio``, ``--aspect-ratio``.

    A bool's flag is not an alias (``--no-enhance`` means the opposite of
    ``enhance_prompt``); ``--image`` names ``image_input``.
    """
    wanted = name.strip().lstrip("-").replace("-", "_")
    for spec in FIELDS:
        aliases = {spec.name}
        if spec.flag and spec.kind != "bool":
            aliases.add(spec.flag.lstrip("-").replace("-", "_"))
        if wanted in aliases:
            return spec
    return None


def option_label(name: str) -> str:
    """``size (--size)``: how a message names a field for someone typing options."""
    spec = field_for(name)
    if spec is None or not spec.flag:
        return name
    return f"{spec.name} ({spec.flag})"


def imply_sequential(fields: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``max_images`` above 1 without a sequential mode means a set: add ``sequential_image_generation="auto"``.

    >>> imply_sequential({"max_images": 3})[0]
    {'max_images': 3, 'sequential_image_generation': 'auto'}

    Returns the fields and a note for the user when something was implied (the
    schema alone would make one image and warn).
    """
    result = dict(fields)
    most = result.get("max_images")
    if isinstance(most, int) and not isinstance(most, bool) and most > 1 \
            and "sequential_image_generation" not in result:
        result["sequential_image_generation"] = "auto"
        return result, [f"max_images {most} implies --sequential auto (a set of up to {most} images); "
                        "add --sequential disabled for one image"]
    return result, []
