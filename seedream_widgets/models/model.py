"""`ModelSchema`: one model's fields, its family's rules and its price, and the checks built on them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidField
from .family import Family, family_for
from .fields import FieldSpec, check_value
from .openapi import parse_input_fields

__all__ = ["Estimate", "ModelSchema", "Price"]

Source = Literal["built-in", "service", "cache"]


@dataclass(frozen=True)
class Price:
    """What a model costs per output image, and where that figure comes from."""

    usd_per_image: float
    source: str
    as_of: str
    verified: bool = True

    def __str__(self) -> str:
        mark = "" if self.verified else " (unverified)"
        return f"${self.usd_per_image:.3f}/image{mark}"


@dataclass(frozen=True)
class Estimate:
    """The most a run (or a grid, a batch) can make and cost, before anything is sent.

    >>> Estimate(images=4, usd=0.12, runs=1)
    Estimate(images=4, usd=0.12, runs=1, demo=False, unpriced=())
    """

    images: int
    """Output images at most (a sequential set may stop earlier)."""
    usd: float
    """Price at most, in US dollars (0 in demo mode and for unpriced models)."""
    runs: int = 1
    demo: bool = False
    unpriced: tuple[str, ...] = ()
    """Models without a known price (counted as 0)."""

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.images + other.images, round(self.usd + other.usd, 6), self.runs + other.runs,
                        self.demo and other.demo, tuple(dict.fromkeys(self.unpriced + other.unpriced)))

    def describe(self) -> str:
        """``at most 4 images, at most $0.120`` (``demo: nothing is billed`` in demo mode)."""
        runs = f"{self.runs} runs, " if self.runs != 1 else ""
        images = f"{runs}at most {self.images} image{'s' if self.images != 1 else ''}"
        if self.demo:
            return f"{images}; demo backend: nothing is billed ($0)"
        unknown = f" (no price known for {', '.join(self.unpriced)})" if self.unpriced else ""
        return f"{images}, at most ${self.usd:.3f}{unknown}"


@dataclass(frozen=True)
class ModelSchema:
    """The input schema of one model (version): what every front door builds its controls from.

    >>> from seedream_widgets.models import builtin_schema
    >>> schema = builtin_schema("bytedance/seedream-5-lite")
    >>> schema.field("size").choices
    ('2K', '3K')
    >>> [p.field for p in schema.check({"prompt": "a fox", "size": "custom"})]
    ['size']
    """

    model: str
    """``owner/name``."""
    fields: tuple[FieldSpec, ...]
    version: str = ""
    """The version id this schema describes ("" for a built-in snapshot of the latest one)."""
    source: Source = "built-in"
    price: Price | None = None
    pinned: bool = False
    """True when runs must use exactly ``version`` (``owner/name:version``); else the model's latest."""
    family: Family = field(default_factory=Family, compare=False, repr=False)

    @classmethod
    def from_openapi(cls, model: str, document: Mapping[str, Any], *, version: str = "",
                     source: Source = "service", price: Price | None = None, pinned: bool = False) -> ModelSchema:
        """Read a model version's OpenAPI document; raises `SchemaFormatError` without an Input schema."""
        family = family_for(model)
        return cls(model=model.split(":", 1)[0], fields=family.complete(parse_input_fields(document)),
                   version=version, source=source, price=price, family=family, pinned=pinned)

    # -- the table ---------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def get(self, name: str) -> FieldSpec | None:
        return self.by_name.get(name)

    def field(self, name: str) -> FieldSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(f"{name!r} is not a field of {self.model}; its fields: {', '.join(self.names)}")
        return spec

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.by_name

    @property
    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.fields}

    @property
    def label(self) -> str:
        """What a create names: ``bytedance/seedream-4``, or ``owner/name:abc123`` when a version is pinned."""
        return f"{self.model}:{self.version}" if self.pinned and self.version else self.model

    # -- checks ------------------------------------------------------------------------

    def unknown_field(self, name: str) -> InvalidField:
        close = difflib.get_close_matches(name, sorted(self.names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return InvalidField(name, f"is not a field of {self.model}{hint}", "unknown_field", None,
                            ", ".join(self.names))

    def check(self, values: Mapping[str, Any], *, ignore_unknown: bool = True) -> list[InvalidField]:
        """Every violation in a mapping of field values (missing optional fields are fine).

        Unknown keys are ignored by default, as the service does (older model versions simply lack
        newer fields); ``ignore_unknown=False`` reports each with the closest real name.
        """
        table = self.by_name
        problems = [] if ignore_unknown else [self.unknown_field(k) for k in values if k not in table]
        for spec in self.fields:
            if spec.name in values:
                problem = check_value(spec, values[spec.name])
                if problem:
                    problems.append(problem)
            elif spec.required:
                problems.append(InvalidField(spec.name, "is required", "required", None, spec.allowed))
        broken = {p.field for p in problems}
        problems += self.family.check({k: v for k, v in values.items() if k in table}, table, broken)
        return problems

    def caveats(self, values: Mapping[str, Any], explicit: Iterable[str]) -> list[str]:
        """Valid settings that will be ignored, in words (as Python spells the fields)."""
        merged = {**self.defaults, **values}
        return self.family.caveats(merged, explicit, self.by_name, has_inputs=bool(values.get("image_input")))

    def active(self, values: Mapping[str, Any]) -> dict[str, bool]:
        """Which fields take effect with these values (the rest at their defaults)."""
        defaults = self.defaults
        return {f.name: f.is_active(values, defaults) for f in self.fields}

    def pixels(self, values: Mapping[str, Any], input_aspect: float | None = None) -> tuple[int, int] | None:
        """The output size in pixels, when the family knows it."""
        return self.family.pixels({**self.defaults, **values}, input_aspect)

    def expected_images(self, values: Mapping[str, Any]) -> int:
        """How many images a run makes at most."""
        return self.family.expected_images({**self.defaults, **values})

    def estimate(self, values: Mapping[str, Any], *, demo: bool = False) -> Estimate:
        """Images and price at most of one run with these values."""
        images = self.expected_images(values)
        if demo:
            return Estimate(images, 0.0, demo=True)
        if self.price is None:
            return Estimate(images, 0.0, unpriced=(self.model,))
        return Estimate(images, round(images * self.price.usd_per_image, 6))

    def describe(self) -> str:
        """A few lines: the model, its price, then one line per field (what ``seedream models`` prints)."""
        price = str(self.price) if self.price else "price unknown"
        source = {"built-in": "built-in snapshot", "service": "from the service", "cache": "cached"}[self.source]
        lines = [f"{self.label}  ({price}; {source})"]
        for spec in self.fields:
            default = "" if spec.default in (None, ()) else f" [default {_plain(spec.default)}]"
            note = f" ({spec.inactive_note})" if spec.inactive_note else ""
            lines.append(f"  {spec.name}: {spec.allowed}{default}{note}")
        return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
