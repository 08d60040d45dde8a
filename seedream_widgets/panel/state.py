"""The panel's form as plain data: values and input images, what takes effect, the validated input or why not.

No widgets here: the panel reads its controls into a `Form` and draws what it derives; tests drive
a `Form` directly. Which fields take effect when, and why, and every check, are the schema's.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..display import thumbnail_bytes_uri
from ..errors import InvalidField, ValidationError
from ..models import MAX_TOTAL_IMAGES, ModelSchema, check_value
from ..schema import SeedreamInput

__all__ = ["INPUT_PX", "SHAPE_FIELDS", "UPLOAD_LIMIT", "Form", "InputImage", "load_image", "refusal", "source_label"]

INPUT_PX = 192
"""Largest side of an input image's thumbnail: widget state holds that, never the original."""
UPLOAD_LIMIT = 10 * 2**20
"""Browser uploads above about 10 MB fail over the notebook's websocket (its default message size)."""
SHAPE_FIELDS = frozenset({"size", "aspect_ratio", "width", "height"})
"""The fields the output size follows: while one of them is invalid there is no size to show."""


@dataclass(frozen=True)
class InputImage:
    """One input image: ``uri`` is sent (a URL or data URI, never put into widget state), ``preview`` shown (a
    small JPEG data URI, or the URL); ``origin`` is its path or URL ("" for uploads), ``aspect`` width / height,
    ``uploaded`` True for a file the browser sent."""

    uri: str
    label: str
    preview: str
    aspect: float | None = None
    origin: str = ""
    uploaded: bool = False


def load_image(source: Any, label: str, image_uri: Callable[[Any], str]) -> InputImage:
    """An input image from a path, URL, data URI, bytes, PIL image or `Result`; raises `ValidationError`.

    ``image_uri`` (the client's) checks and encodes it once; the thumbnail comes from the bytes in hand.
    """
    if hasattr(source, "save") and hasattr(source, "mode"):  # a PIL image: its PNG bytes, made once
        buffer = io.BytesIO()
        (source if source.mode in ("RGB", "RGBA", "L") else source.convert("RGBA")).save(buffer, format="PNG")
        source = buffer.getvalue()
    uri = image_uri(source)
    if not uri.startswith("data:"):
        return InputImage(uri, label, uri, origin=uri)
    path = getattr(source, "path", source)  # a Result stands for its first image's file
    local = isinstance(path, Path) or (isinstance(path, str) and not path.startswith("data:"))
    if isinstance(path, (bytes, bytearray, memoryview)):
        data = bytes(path)
    else:  # a file (read again: cached by the system), or a data URI given as it is (decoded for its thumbnail)
        data = Path(path).read_bytes() if local else base64.b64decode(uri.partition(",")[2])
    try:
        preview, aspect = thumbnail_bytes_uri(data, INPUT_PX)
    except Exception as exc:  # sniffed as an image, yet Pillow cannot read it
        raise ValidationError([InvalidField("image_input", f"could not read the image ({exc})", "format")]) from None
    return InputImage(uri, label, preview, aspect, str(path) if local else "")


def refusal(label: str, error: ValidationError) -> str:
    """Why an image was refused, in plain words: ``notes.txt is not an image: PNG, JPEG or WebP expected``."""
    reasons = "; ".join(p.description for p in error.invalid_fields)
    if "is not an image" in reasons:
        return f"{label} is not an image: PNG, JPEG or WebP expected."
    if "could not read the image" in reasons:
        return f"{label} looks like an image but cannot be read (a damaged or unfinished file?)."
    reasons = reasons.replace(repr(label), "it").replace(f"for {label!r}", "")
    return f"{label} cannot be used: {reasons}."


def source_label(source: Any) -> str:
    """How an input image is named under its thumbnail: a file name, the URL, or what it is."""
    path = getattr(source, "path", source)
    if isinstance(path, (str, Path)) and not str(path).startswith(("http://", "https://", "data:")):
        return str(path).replace("\\", "/").rsplit("/", 1)[-1] or str(path)
    return ("data URI" if source.startswith("data:") else source) if isinstance(source, str) else type(source).__name__


@dataclass(frozen=True)
class Form:
    """What the panel's controls hold, and all that follows from it (a snapshot: a change makes a new one).

    >>> from seedream_widgets.models import builtin_schema
    >>> form = Form.of(builtin_schema("bytedance/seedream-4"), prompt="a fox", size="custom", width=1536)
    >>> form.active["aspect_ratio"], form.notes["aspect_ratio"], form.fields
    (False, 'ignored when size is custom', {'size': 'custom', 'width': 1536})
    """

    schema: ModelSchema
    values: Mapping[str, Any]
    """Every field's value (defaults included) but the input images, which are `inputs`."""
    inputs: tuple[InputImage, ...] = ()

    @classmethod
    def of(cls, schema: ModelSchema, inputs: Sequence[InputImage] = (), **presets: Any) -> Form:
        """A form with presets by schema name, checked by the schema as they are: `ValidationError` names every
        invalid one. A missing or empty prompt is no error (the form is incomplete)."""
        given = {name: value for name, value in presets.items() if name != "prompt" or value}
        if inputs:
            given["image_input"] = [image.uri for image in inputs]
        problems = [p for p in schema.check(given, ignore_unknown=False) if p.field != "prompt" or "prompt" in given]
        if problems:
            raise ValidationError(problems)
        defaults = {spec.name: spec.default for spec in schema.fields if spec.kind != "uris"}
        return cls(schema, {**defaults, "prompt": "", **presets}, tuple(inputs))

    def for_schema(self, schema: ModelSchema) -> tuple[Form, tuple[str, ...]]:
        """This form for another model: the settings in effect that it has and accepts (others at its defaults),
        and as many input images as it takes; the second item names what was dropped, and why."""
        chosen = {name: value for name, value in self.values.items()
                  if name == "prompt" or value != self.schema.field(name).default}
        idle = frozenset(name for name, on in self.active.items() if not on)
        return Form.adopt(schema, chosen, self.inputs, quiet=idle)

    @classmethod
    def adopt(cls, schema: ModelSchema, values: Mapping[str, Any], inputs: Sequence[InputImage] = (), *,
              quiet: frozenset[str] = frozenset()) -> tuple[Form, tuple[str, ...]]:
        """A form for ``schema`` holding each of ``values`` that it has and accepts (the rest at its defaults);
        the second item names what was left out, and why (a restore, a change of model), but for the
        ``quiet`` fields (settings that had no effect anyway)."""
        kept = {spec.name: spec.default for spec in schema.fields if spec.kind != "uris"}
        kept["prompt"] = str(values.get("prompt") or "")  # never dropped: a problem with it shows at the field
        dropped = []
        for name, value in values.items():
            spec = schema.get(name)
            if name in ("prompt", "image_input"):
                continue
            if name in quiet and (spec is None or spec.kind == "uris" or check_value(spec, value) is not None):
                continue
            if spec is None:
                dropped.append(f"{name}={_shown(value)} ({schema.model} has no {name})")
            elif spec.kind == "uris" or check_value(spec, value) is not None:
                dropped.append(f"{name}={_shown(value)} ({schema.model} takes {spec.allowed})")
            else:
                kept[name] = value
        spec = schema.get("image_input")
        most = 0 if spec is None else spec.max_items or MAX_TOTAL_IMAGES
        if len(inputs) > most:
            lost = len(inputs) - most
            dropped.append(f"the last {lost} input image{'s' * (lost > 1)} ({schema.model} takes {most})")
        return cls(schema, kept, tuple(inputs[:most])), tuple(dropped)

    @cached_property
    def active(self) -> dict[str, bool]:
        """Which fields take effect (an inactive control is disabled and left out of the payload)."""
        return self.schema.active(self.values)

    @cached_property
    def notes(self) -> dict[str, str]:
        """The remark beside a field: why it is ignored, or (beside what shapes the output) its size in pixels."""
        notes = {name: self.schema.field(name).inactive_note for name, on in self.active.items() if not on}
        aspect, custom = self.inputs[0].aspect if self.inputs else None, self.values.get("size") == "custom"
        if SHAPE_FIELDS & set(self.field_problems):
            return notes  # no size to show while what shapes it is invalid
        if not custom and self.values.get("aspect_ratio") == "match_input_image" and self.inputs and aspect is None:
            notes["aspect_ratio"] = "→ shape of the first input image"
        elif (pixels := self.schema.pixels(self.values, aspect)) is not None:
            notes["height" if custom else "aspect_ratio"] = f"→ {pixels[0]}×{pixels[1]} px"
        return notes

    @cached_property
    def fields(self) -> dict[str, Any]:
        """What is sent beside the prompt: the settings that take effect and differ from their default, and the
        input images. So the payload is a pure function of what the controls show."""
        chosen = {name: value for name, value in self.values.items()
                  if name != "prompt" and self.active.get(name, True) and value != self.schema.field(name).default}
        if self.inputs:
            chosen["image_input"] = [image.uri for image in self.inputs]
        return chosen

    @cached_property
    def problems(self) -> tuple[InvalidField, ...]:
        """What stops the input, by the schema's checks (empty when it is valid)."""
        return tuple(self.schema.check({"prompt": str(self.values.get("prompt") or ""), **self.fields}))

    @cached_property
    def input(self) -> SeedreamInput | None:
        """The validated input, or None while `problems` stop it."""
        prompt = str(self.values.get("prompt") or "")
        return None if self.problems else SeedreamInput(prompt, schema=self.schema, **self.fields)

    @cached_property
    def field_problems(self) -> dict[str, str]:
        """The first problem of each field, in words, for the message beside its control."""
        found: dict[str, str] = {}
        for problem in self.problems:
            found.setdefault(problem.field, problem.description)
        return found

    @property
    def incomplete(self) -> bool:
        """Only the prompt is missing: nothing to point at, the user has not typed it yet."""
        return [p.field for p in self.problems] == ["prompt"] and not str(self.values.get("prompt") or "").strip()

    @property
    def max_inputs(self) -> int:
        spec = self.schema.get("image_input")
        return 0 if spec is None else spec.max_items or MAX_TOTAL_IMAGES

    @property
    def room(self) -> int:
        """How many more input images fit."""
        return max(0, self.max_inputs - len(self.inputs))

    @property
    def output_room(self) -> int:
        """The most ``max_images`` may be beside these inputs (inputs plus outputs are at most 15)."""
        return MAX_TOTAL_IMAGES - len(self.inputs)

    def position(self, uri: str) -> int | None:
        """Where an input image with this ``uri`` is (0-based), or None: the same image is not added twice."""
        return next((i for i, image in enumerate(self.inputs) if image.uri == uri), None)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
