"""One input field of a model: its type, default, allowed values, help, and when it takes effect.

A `FieldSpec` is read from a model's OpenAPI schema (`seedream_widgets.models.openapi`) and
completed by its family's rules (`seedream_widgets.models.family`); every front door builds its
controls, options and messages from these rows, and `check_value` is the one place a single
value is judged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidField

__all__ = ["Condition", "FieldKind", "FieldSpec", "check_text", "check_value"]

FieldKind = Literal["str", "int", "number", "bool", "enum", "uris", "json"]
"""``json`` is a type the package does not know (an object, a union): accepted as any JSON value."""


@dataclass(frozen=True)
class Condition:
    """When a field takes effect: ``field`` has one of ``values`` (or, with ``negate``, none of them)."""

    field: str
    values: tuple[Any, ...]
    negate: bool = False

    def holds(self, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
        current = values.get(self.field, defaults.get(self.field))
        return (current in self.values) != self.negate

    def describe(self) -> str:
        """``only when size is custom`` / ``ignored when size is custom``."""
        shown = " or ".join(str(v) for v in self.values)
        return f"ignored when {self.field} is {shown}" if self.negate else f"only when {self.field} is {shown}"


@dataclass(frozen=True)
class FieldSpec:
    """One row of a model's field table.

    >>> from seedream_widgets.models import builtin_schema
    >>> builtin_schema("bytedance/seedream-4").field("max_images").allowed
    'a whole number from 1 to 15'
    """

    name: str
    kind: FieldKind
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    max_items: int | None = None
    """For ``uris``: the most items the list may hold."""
    max_length: int | None = None
    """For ``str``: the most characters (a model's prompt limit)."""
    required: bool = False
    order: int = 0
    title: str = ""
    active_when: tuple[Condition, ...] = ()
    """The field takes effect only while every condition holds (width/height only with a custom size)."""

    @property
    def label(self) -> str:
        """A short human label (``Max images``) for controls."""
        return self.title or self.name.replace("_", " ").capitalize()

    @property
    def allowed(self) -> str:
        """What is accepted, in words: used in every error message."""
        if self.choices:
            return ", ".join(self.choices)
        if self.kind == "int":
            return f"a whole number from {_number(self.low)} to {_number(self.high)}" if self.low is not None \
                and self.high is not None else "a whole number"
        if self.kind == "number":
            return f"a number from {_number(self.low)} to {_number(self.high)}" if self.low is not None \
                and self.high is not None else "a number"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "uris":
            most = f"up to {self.max_items} " if self.max_items is not None else ""
            return f"{most}http(s) URLs or data: URIs of images"
        if self.kind == "str":
            return f"a non-empty text of at most {self.max_length} characters" if self.max_length \
                else "a non-empty text"
        return "a JSON value"

    def is_active(self, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
        """Whether this field takes effect with these values (the rest at ``defaults``)."""
        return all(condition.holds(values, defaults) for condition in self.active_when)

    @property
    def inactive_note(self) -> str:
        """Why the field may be ignored, in words (``only when size is custom``); empty when always active."""
        return "; ".join(condition.describe() for condition in self.active_when)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+(;[a-z0-9=.+-]+)*;base64,", re.IGNORECASE)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(spec: FieldSpec, value: Any, description: str, type_: str) -> InvalidField:
    return InvalidField(spec.name, description, type_, value, spec.allowed)


def check_text(text: str) -> str:
    """What stops ``text`` from travelling as JSON in UTF-8 (an unpaired surrogate), with where; "" when fine.

    >>> check_text("a fox \\ud83e")
    'has an unpaired surrogate (U+D83E) at character 7: text that cannot be sent as UTF-8 (a broken copy-paste?)'
    """
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            return (f"has an unpaired surrogate (U+{ord(char):04X}) at character {index + 1}: text that cannot be "
                    "sent as UTF-8 (a broken copy-paste?)")
    return ""


def check_value(spec: FieldSpec, value: Any) -> InvalidField | None:
    """The first broken rule of one field's value, or None."""
    if spec.kind == "str":
        if not isinstance(value, str):
            return _bad(spec, value, f"must be text, got {type(value).__name__}", "type")
        if spec.required and not value.strip():
            return _bad(spec, value, "must not be empty or only whitespace", "required")
        problem = check_text(value)
        if problem:
            return _bad(spec, _show(value), problem, "encoding")
        if spec.max_length is not None and len(value) > spec.max_length:
            return _bad(spec, len(value), f"has {len(value)} characters; at most {spec.max_length} are allowed",
                        "max_length")
    elif spec.kind == "enum":
        if not isinstance(value, str) or value not in spec.choices:
            return _bad(spec, value, f"got {_show(value)}; allowed: {spec.allowed}", "enum")
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            return _bad(spec, value, f"must be true or false, got {_show(value)}", "type")
    elif spec.kind in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            kind = "a whole number" if spec.kind == "int" else "a number"
            return _bad(spec, value, f"must be {kind}, got {_show(value)}", "type")
        if spec.kind == "int" and not float(value).is_integer():
            return _bad(spec, value, f"must be a whole number, got {_show(value)}", "type")
        if spec.low is not None and value < spec.low:
            return _bad(spec, value, f"got {_number(value)}; must be at least {_number(spec.low)}",
                        "greater_than_equal")
        if spec.high is not None and value > spec.high:
            return _bad(spec, value, f"got {_number(value)}; must be at most {_number(spec.high)}", "less_than_equal")
    elif spec.kind == "uris":
        if value is None:  # null is the service's default: no input images
            return None
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return _bad(spec, value, f"must be a list of image URIs, got {type(value).__name__}", "type")
        if spec.max_items is not None and len(value) > spec.max_items:
            return _bad(spec, len(value), f"has {len(value)} images; at most {spec.max_items} are allowed",
                        "max_items")
        for i, item in enumerate(value):
            problem = _check_uri(item)
            if problem:
                return _bad(spec, item, f"item {i}: {problem}", "format")
    return None


def _check_uri(item: Any) -> str:
    if not isinstance(item, str):
        return (f"must be a URL or data URI, got {type(item).__name__} (the client turns paths, bytes and "
                "PIL images into data URIs for you)")
    lowered = item[:16].lower()
    if lowered.startswith(("http://", "https://")):
        return ""
    if lowered.startswith("data:"):
        if not _DATA_URI.match(item[:200]):
            return "a data URI must look like data:image/png;base64,..."
        return ""
    scheme = item.split(":", 1)[0] if ":" in item[:20] else ""
    if scheme:
        return f"scheme {scheme + ':'!r} is not allowed; use http(s) URLs or data: URIs"
    return "is not a URL; use http(s) URLs or data: URIs (or pass a path to the client)"


def normalise(spec: FieldSpec, value: Any) -> Any:
    """A checked value in its canonical Python form (2048.0 -> 2048, lists -> tuples)."""
    if spec.kind == "uris":
        return tuple(value or ())
    if spec.kind == "int":
        return int(value)
    return value
