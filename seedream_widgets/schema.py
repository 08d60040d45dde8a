"""`SeedreamInput`: an input validated against its model's schema, its wire payload, output size and cost.

>>> inp = SeedreamInput("a red fox in the snow", size="1K", aspect_ratio="16:9")
>>> inp.to_payload()
{'prompt': 'a red fox in the snow', 'size': '1K', 'aspect_ratio': '16:9'}
>>> inp.pixels
(1280, 720)

The fields, their rules and defaults come from a `ModelSchema` (`seedream_widgets.models`): the
built-in snapshot of the model named, or a schema a client read from the service. The payload
holds ``prompt`` and the fields the user set explicitly, and leaves everything else to the
service's defaults: model versions differ (seedream-4's e6cff243 has no ``enhance_prompt``,
3ee3b70d adds it) and a proxy may serve either.
"""

from __future__ import annotations

import base64
import sys
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from .errors import InvalidField, SeedreamWarning, ValidationError
from .models import (
    DEFAULT_MODEL,
    MAX_TOTAL_IMAGES,
    Estimate,
    FieldSpec,
    ModelSchema,
    builtin_schema,
    normalise,
    output_pixels,
)
from .provenance import ForeignRecord, GenerationRecord, closest_ratio

__all__ = [
    "FIELD",
    "FIELDS",
    "MAX_INPUT_IMAGES",
    "MAX_TOTAL_IMAGES",
    "AspectRatio",
    "FieldSpec",
    "SeedreamInput",
    "SequentialMode",
    "Size",
    "check_payload",
    "data_uri",
    "input_from_record",
    "output_pixels",
    "restore_input",
    "schema_for",
]

Size = Literal["1K", "2K", "4K", "custom"]
"""seedream-4's sizes (other models have their own: `ModelSchema.field("size").choices`)."""
AspectRatio = Literal["match_input_image", "1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9"]
SequentialMode = Literal["disabled", "auto"]

_DEFAULT_SCHEMA = builtin_schema(DEFAULT_MODEL)
assert _DEFAULT_SCHEMA is not None
FIELDS: tuple[FieldSpec, ...] = _DEFAULT_SCHEMA.fields
"""bytedance/seedream-4's fields in schema order (other models: ``schema_for(model).fields``)."""
FIELD: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
MAX_INPUT_IMAGES = FIELD["image_input"].max_items or 10
"""At most this many ``image_input`` entries for seedream-4 (14 for 4.5 and 5-lite)."""


def schema_for(model: str | None = None, schema: ModelSchema | None = None) -> ModelSchema:
    """The schema to validate against: ``schema`` itself, else the built-in one of ``model``.

    Raises `ValidationError` (on ``model``) for a model the package does not know: its schema
    comes from the service, through a client (``Seedream(model=...).schema``).
    """
    if schema is not None:
        return schema
    name = model or DEFAULT_MODEL
    found = builtin_schema(name)
    if found is None:
        raise ValidationError([InvalidField(
            "model", f"{name!r} has no built-in schema; a client reads it from the service "
                     f"(Seedream(model={name!r}).build_input(...))", "unknown_model", name,
            "bytedance/seedream-4, bytedance/seedream-4.5, bytedance/seedream-5-lite, or any model a client "
            "has read")])
    return found


class SeedreamInput:
    """A validated input for one model of the Seedream family (or any model whose schema is known).

    >>> SeedreamInput("a red fox", model="bytedance/seedream-5-lite", size="3K").pixels
    (3072, 3072)

    Fields you do not set keep the service's defaults (shown by attribute access)
    and are left out of the payload. Construction raises `ValidationError` naming
    every invalid field at once, and warns (`SeedreamWarning`) about inputs that
    are valid but ignored, such as ``width`` with ``size="2K"``.
    """

    __slots__ = ("_explicit", "_schema", "_values")
    _explicit: frozenset[str]
    _schema: ModelSchema
    _values: dict[str, Any]

    def __init__(self, prompt: str, *, model: str | None = None, schema: ModelSchema | None = None,
                 **fields: Any) -> None:
        table = schema_for(model, schema)
        given = {"prompt": prompt, **fields}
        problems = table.check(given, ignore_unknown=False)
        if problems:
            raise ValidationError(problems)
        values = {spec.name: normalise(spec, given[spec.name]) if spec.name in given else spec.default
                  for spec in table.fields}
        values.setdefault("image_input", ())
        object.__setattr__(self, "_schema", table)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_explicit", frozenset({"prompt", *fields}))
        for caveat in table.caveats(values, self._explicit):
            warnings.warn(caveat, SeedreamWarning, stacklevel=_caller_stacklevel())

    # -- the values -----------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        schema = object.__getattribute__(self, "_schema")
        raise AttributeError(f"{name!r} is not a field of {schema.model} (its fields: {', '.join(schema.names)})")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SeedreamInput is immutable; use .replace(**changes)")

    @property
    def prompt(self) -> str:
        return str(self._values["prompt"])

    @property
    def image_input(self) -> tuple[str, ...]:
        return tuple(self._values.get("image_input") or ())

    @property
    def schema(self) -> ModelSchema:
        """The model schema this input was validated against."""
        return self._schema

    @property
    def model(self) -> str:
        """``owner/name`` of the model."""
        return self._schema.model

    @property
    def explicit(self) -> frozenset[str]:
        """The names of the fields given explicitly (the prompt always): exactly these go into the payload."""
        return self._explicit

    @property
    def values(self) -> dict[str, Any]:
        """Every field's value, defaults included (a copy)."""
        return dict(self._values)

    # -- payload ---------------------------------------------------------------------------

    def to_payload(self) -> dict[str, Any]:
        """The exact JSON ``input`` object sent to the service: prompt plus the explicit fields."""
        payload: dict[str, Any] = {}
        for spec in self._schema.fields:
            if spec.name == "prompt" or spec.name in self._explicit:
                value = self._values[spec.name]
                payload[spec.name] = list(value) if spec.kind == "uris" else value
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, model: str | None = None,
                     schema: ModelSchema | None = None) -> SeedreamInput:
        """Read a payload back (``from_payload(x.to_payload()) == x``); unknown keys are an error."""
        table = schema_for(model, schema)
        if "prompt" not in payload:
            problems = table.check(payload, ignore_unknown=False)
            raise ValidationError(problems)
        rest = {k: v for k, v in payload.items() if k != "prompt"}
        return cls(payload["prompt"], schema=table, **rest)

    @classmethod
    def from_image(cls, source: Any, *, model: str | None = None,
                   schema: ModelSchema | None = None) -> SeedreamInput:
        """The input that made an image, read from the record embedded in it (a path, bytes or a PIL image).

        >>> SeedreamInput.from_image("seedream-outputs/2026-12-01/abc/1.png")      # doctest: +SKIP
        SeedreamInput('a red fox in the snow', size='1K', aspect_ratio='16:9')

        For the model recorded, or ``model`` (keeping what that model has). Also reads AUTOMATIC1111
        ``parameters`` and ComfyUI prompts as far as they map. What is left out or changed warns
        (`SeedreamWarning`); `ValidationError` when the image carries no record or no prompt.
        """
        from .provenance import read_generation

        record = read_generation(source)
        if record is None:
            raise ValidationError([InvalidField("image", "carries no generation record (no seedream record, "
                                                "AUTOMATIC1111 parameters or ComfyUI prompt)", "missing", None,
                                                "an image made by seedream-widgets, AUTOMATIC1111 or ComfyUI")])
        return input_from_record(record, model, schema)

    def replace(self, **changes: Any) -> SeedreamInput:
        """A copy with some fields changed (they become explicit); validates again."""
        current = {name: self._values[name] for name in self._explicit}
        return SeedreamInput.from_payload({**current, **changes}, schema=self._schema)

    def for_model(self, schema: ModelSchema) -> tuple[SeedreamInput, tuple[str, ...]]:
        """This input for another model: the explicit fields it lacks are left out (and named)."""
        kept = {name: self._values[name] for name in self._explicit if name in schema}
        dropped = tuple(sorted(name for name in self._explicit if name not in schema))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeedreamWarning)
            return SeedreamInput.from_payload(kept, schema=schema), dropped

    # -- derived values ----------------------------------------------------------------------

    @property
    def pixels(self) -> tuple[int, int] | None:
        """The output size in pixels (width, height), when the model's family knows it."""
        return self._schema.pixels(self._values)

    @property
    def expected_images(self) -> int:
        """How many images to expect at most: max_images with auto, else one."""
        return self._schema.expected_images(self._values)

    def estimate(self, *, demo: bool = False) -> Estimate:
        """Images and price at most of this input (`Estimate`); nothing is billed in demo mode."""
        return self._schema.estimate(self._values, demo=demo)

    # -- identity ----------------------------------------------------------------------------

    def _key(self) -> tuple[Any, ...]:
        payload = self.to_payload()
        return (self._schema.model, self._schema.version,
                tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in payload.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeedreamInput):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_payload().items() if k != "prompt")
        model = "" if self.model == DEFAULT_MODEL else f", model={self.model!r}"
        return f"SeedreamInput({self.prompt!r}{', ' + shown if shown else ''}{model})"

    def __reduce__(self) -> Any:
        return (_rebuild, (self.to_payload(), self._schema))


def _rebuild(payload: dict[str, Any], schema: ModelSchema) -> SeedreamInput:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeedreamWarning)
        return SeedreamInput.from_payload(payload, schema=schema)


def restore_input(record: GenerationRecord | ForeignRecord, model: str | None = None,
                  schema: ModelSchema | None = None) -> tuple[SeedreamInput, tuple[str, ...]]:
    """The input a record describes, for its model or another, and notes on what could not be kept.

    >>> inp, notes = restore_input(read_generation("1.png"), model="bytedance/seedream-5-lite")  # doctest: +SKIP

    See `input_from_record`, which warns with the notes instead of returning them.
    """
    notes: list[str] = []
    if isinstance(record, GenerationRecord):
        payload = {k: v for k, v in record.input.items()}
        payload["prompt"] = record.prompt
        recorded = record.model or None
        if record.truncated:
            notes.append(f"{', '.join(record.truncated)} were shortened to fit the file; the full values are in "
                         "the run's prediction.json")
    else:
        payload = dict(record.fields)
        recorded = None
        notes.extend(record.notes)
    target = schema_for(model or recorded, schema)
    images = payload.get("image_input")
    if isinstance(images, (list, tuple)):
        kept = [u for u in images if isinstance(u, str) and not u.lower().startswith("data:")]
        if len(kept) < len(images):
            lost = len(images) - len(kept)
            notes.append(f"{lost} input image{'s' if lost > 1 else ''} sent inline (data: URI) cannot be restored: "
                         "the record keeps only type, size and hash; add the image again to use it")
        payload["image_input"] = kept
        if not kept:
            del payload["image_input"]
    if payload.get("size") == "custom" and "size" in target and "custom" not in target.field("size").choices:
        width, height = payload.pop("width", None), payload.pop("height", None)
        del payload["size"]
        if isinstance(width, int) and isinstance(height, int) and "aspect_ratio" in target:
            payload["aspect_ratio"] = closest_ratio(width, height, target)
            notes.append(f"{target.model} has no custom size: {width}x{height} became aspect ratio "
                         f"{payload['aspect_ratio']}")
    for name in sorted(set(payload) - set(target.names)):
        notes.append(f"{name} is not a field of {target.model}; left out")
        del payload[name]
    for problem in target.check(payload):
        if problem.field != "prompt" and problem.field in payload:
            notes.append(f"{problem.field}={payload.pop(problem.field)!r} left out: {problem.description} "
                         f"(allowed: {problem.allowed})")
    if not str(payload.get("prompt") or "").strip():
        raise ValidationError([InvalidField("prompt", "the image's metadata names no prompt", "missing",
                                            None, target.field("prompt").allowed if "prompt" in target else "")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeedreamWarning)  # caveats of the recorded settings are not news
        restored = SeedreamInput.from_payload(payload, schema=target)
    return restored, tuple(notes)


def input_from_record(record: GenerationRecord | ForeignRecord, model: str | None = None,
                      schema: ModelSchema | None = None) -> SeedreamInput:
    """The `SeedreamInput` that made an image, rebuilt from its record (what ``SeedreamInput.from_image`` uses).

    >>> record = read_generation("seedream-outputs/2026-11-24/abc/1.png")   # doctest: +SKIP
    >>> input_from_record(record)                                            # doctest: +SKIP
    SeedreamInput('a red fox in the snow', size='1K', aspect_ratio='16:9')

    - The recorded payload for the recorded model; with ``model`` (or ``schema``) for that
      model instead, keeping only the fields it has and the values it accepts.
    - A model the package has no built-in schema for needs ``schema`` (a client's
      ``Seedream(model=...).schema``); else `ValidationError` names the model.
    - Input images sent inline (data: URIs) are not recoverable: the record holds only their
      type, size and hash. http(s) inputs are kept (they may have expired since).
    - A `ForeignRecord` gives its mapped fields (prompt, size or aspect ratio) for ``model``
      or the default model.

    Each thing left out or changed is reported as a `SeedreamWarning`; `restore_input` returns
    them as notes instead. Raises `ValidationError` when the record names no prompt.
    """
    restored, notes = restore_input(record, model, schema)
    for note in notes:
        warnings.warn(note, SeedreamWarning, stacklevel=2)
    return restored



def check_payload(payload: Mapping[str, Any], *, ignore_unknown: bool = True, model: str | None = None,
                  schema: ModelSchema | None = None) -> list[InvalidField]:
    """Every violation in a wire payload; what the demo backend answers 422 with.

    Unknown keys are ignored by default, as the service does (older model
    versions simply lack newer fields).
    """
    return schema_for(model, schema).check(payload, ignore_unknown=ignore_unknown)


def _caller_stacklevel() -> int:
    """The stack level of the first frame outside this package, so a warning points at the user's line."""
    frame, level = sys._getframe(1), 1
    package_dir = __file__.rsplit("/", 1)[0]
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for some bytes (the wire form of a local input image)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

