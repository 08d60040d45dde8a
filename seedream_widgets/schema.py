"""The Seedream 4 input schema: fields, rules, defaults, the wire payload and the output size.

`SeedreamInput` is the single source of truth for the model's fields. Its
dataclass fields carry their metadata (default, help, front-door flag), and
the `Literal` annotations carry the allowed values; `FIELDS` is derived from
both and drives validation here, the demo backend's 422 answers, the magic's
options, the panel's controls and the CLI's flags. Adding a model field is a
change to this file only.

The payload holds ``prompt`` and the fields the user set explicitly, and leaves
everything else to the service's defaults: model versions differ (e6cff243 has
no ``enhance_prompt``, 3ee3b70d adds it) and a proxy may serve either.
"""

from __future__ import annotations

import base64
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from .errors import InvalidField, SeedreamWarning, ValidationError

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
    "output_pixels",
]

Size = Literal["1K", "2K", "4K", "custom"]
AspectRatio = Literal["match_input_image", "1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9"]
SequentialMode = Literal["disabled", "auto"]

MAX_INPUT_IMAGES = 10
"""At most this many ``image_input`` entries."""
MAX_TOTAL_IMAGES = 15
"""``len(image_input) + max_images`` may not exceed this (the model's rule)."""
MIN_SIDE, MAX_SIDE = 1024, 4096
"""Custom ``width``/``height`` bounds, in pixels."""

_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<unset>"})()


def _meta(default: Any, help: str, *, flag: str = "", short: str = "", low: int | None = None,
          high: int | None = None) -> Any:
    """A dataclass field whose metadata is the schema row; the value itself starts unset."""
    return field(
        default=_UNSET,
        metadata={"default": default, "help": help, "flag": flag, "short": short, "low": low, "high": high},
    )


@dataclass(frozen=True)
class FieldSpec:
    """One row of the model's field table, derived from `SeedreamInput`."""

    name: str
    kind: Literal["str", "int", "bool", "enum", "uris"]
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    flag: str = ""
    """The long option of the magic and the CLI (``--aspect-ratio``); for a bool it flips the default
    (``--no-enhance`` sets enhance_prompt to False)."""
    short: str = ""
    """The short option, if any (``-n``)."""

    @property
    def allowed(self) -> str:
        """What is accepted, in words: used in every error message."""
        if self.choices:
            return ", ".join(self.choices)
        if self.kind == "int":
            return f"a whole number from {self.low} to {self.high}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "uris":
            return f"up to {MAX_INPUT_IMAGES} http(s) URLs or data: URIs of images"
        return "a non-empty text"


@dataclass(frozen=True)
class SeedreamInput:
    """A validated input for bytedance/seedream-4.

    >>> inp = SeedreamInput("a red fox in the snow", size="1K", aspect_ratio="16:9")
    >>> inp.to_payload()
    {'prompt': 'a red fox in the snow', 'size': '1K', 'aspect_ratio': '16:9'}
    >>> inp.pixels
    (1280, 720)

    Fields you do not set keep the service's defaults (shown by attribute access)
    and are left out of the payload. Construction raises `ValidationError` naming
    every invalid field at once, and warns (`SeedreamWarning`) about inputs that
    are valid but ignored, such as ``width`` with ``size="2K"``.
    """

    prompt: str = field(metadata={"default": None, "help": "What to draw, or how to edit the input images.",
                                  "flag": "", "short": "", "low": None, "high": None})
    image_input: Sequence[str] = _meta(
        (), "Input images for editing or reference (1 to 10), as http(s) URLs or data URIs.",
        flag="--image", short="-i")
    size: Size = _meta("2K", "Resolution: 1K (1024 px), 2K (2048 px), 4K (4096 px), or custom (width x height).",
                       flag="--size", short="-s")
    aspect_ratio: AspectRatio = _meta(
        "match_input_image", "Aspect ratio; match_input_image follows the first input image (1:1 without one). "
        "Ignored when size is custom.", flag="--aspect-ratio", short="-a")
    width: int = _meta(2048, "Width in pixels, used only when size is custom.", flag="--width", low=MIN_SIDE,
                       high=MAX_SIDE)
    height: int = _meta(2048, "Height in pixels, used only when size is custom.", flag="--height", low=MIN_SIDE,
                        high=MAX_SIDE)
    sequential_image_generation: SequentialMode = _meta(
        "disabled", "disabled makes one image; auto lets the model make a related set of up to max_images.",
        flag="--sequential")
    max_images: int = _meta(1, "Most images to make when sequential generation is auto "
                               "(inputs + outputs at most 15).", flag="--max-images", short="-n", low=1,
                            high=MAX_TOTAL_IMAGES)
    enhance_prompt: bool = _meta(True, "Let the model rewrite the prompt first: slower, usually better.",
                                 flag="--no-enhance")

    explicit: frozenset[str] = field(default=frozenset(), init=False, repr=False)
    """The names of the fields given explicitly; exactly these (and the prompt) go into the payload."""

    def __post_init__(self) -> None:
        given = {f.name: getattr(self, f.name) for f in _model_fields() if getattr(self, f.name) is not _UNSET}
        given.setdefault("image_input", ())
        problems = _check(given)
        if problems:
            raise ValidationError(problems)
        explicit = {name for name in given if name != "image_input" or getattr(self, name) is not _UNSET}
        for spec in FIELDS:
            value = given.get(spec.name, _UNSET)
            object.__setattr__(self, spec.name, spec.default if value is _UNSET else _normalise(spec, value))
        object.__setattr__(self, "explicit", frozenset(explicit))
        for caveat in _caveats(self):
            warnings.warn(caveat, SeedreamWarning, stacklevel=_caller_stacklevel())

    # -- payload ---------------------------------------------------------------

    def to_payload(self) -> dict[str, Any]:
        """The exact JSON ``input`` object sent to the service: prompt plus the explicit fields."""
        payload: dict[str, Any] = {}
        for spec in FIELDS:
            if spec.name == "prompt" or spec.name in self.explicit:
                value = getattr(self, spec.name)
                payload[spec.name] = list(value) if spec.kind == "uris" else value
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SeedreamInput:
        """Read a payload back (``from_payload(x.to_payload()) == x``); unknown keys are an error."""
        problems = check_payload(payload, ignore_unknown=False)
        if problems:
            raise ValidationError(problems)
        return cls(**payload)

    def replace(self, **changes: Any) -> SeedreamInput:
        """A copy with some fields changed (they become explicit); validates again."""
        current = {name: getattr(self, name) for name in self.explicit}
        return SeedreamInput.from_payload({"prompt": self.prompt, **current, **changes})

    # -- derived values --------------------------------------------------------

    @property
    def pixels(self) -> tuple[int, int]:
        """The output size in pixels (width, height); see `output_pixels`."""
        return output_pixels(self.size, self.aspect_ratio, self.width, self.height)

    @property
    def expected_images(self) -> int:
        """How many images to expect at most: max_images with auto, else one."""
        return self.max_images if self.sequential_image_generation == "auto" else 1


# -- the field table, derived from the dataclass ------------------------------------


def _model_fields() -> list[Any]:
    return [f for f in fields(SeedreamInput) if f.init]


def _build_field_table() -> tuple[FieldSpec, ...]:
    hints = get_type_hints(SeedreamInput)
    table = []
    for f in _model_fields():
        hint = hints[f.name]
        choices: tuple[str, ...] = ()
        kind: Literal["str", "int", "bool", "enum", "uris"]
        if get_origin(hint) is Literal:
            kind, choices = "enum", tuple(get_args(hint))
        elif hint is bool:
            kind = "bool"
        elif hint is int:
            kind = "int"
        elif hint is str:
            kind = "str"
        else:
            kind = "uris"
        m = f.metadata
        table.append(FieldSpec(f.name, kind, m["default"], m["help"], choices, m["low"], m["high"], m["flag"],
                               m["short"]))
    return tuple(table)


FIELDS: tuple[FieldSpec, ...] = _build_field_table()
"""Every model field in schema order; the one table the front doors are generated from."""
FIELD: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
_FIELD_NAMES = frozenset(FIELD)


# -- rules ----------------------------------------------------------------------

_DATA_URI = re.compile(r"^data:image/[a-z0-9.+-]+(;[a-z0-9=.+-]+)*;base64,", re.IGNORECASE)


def _unknown_field(name: str) -> InvalidField:
    import difflib

    close = difflib.get_close_matches(name, sorted(_FIELD_NAMES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return InvalidField(name, f"is not a field of bytedance/seedream-4{hint}", "unknown_field", None,
                        ", ".join(spec.name for spec in FIELDS))


def _bad(spec: FieldSpec, value: Any, description: str, type_: str) -> InvalidField:
    return InvalidField(spec.name, description, type_, value, spec.allowed)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_value(spec: FieldSpec, value: Any) -> InvalidField | None:
    """The first broken rule of one field's value, or None."""
    if spec.kind == "str":
        if not isinstance(value, str):
            return _bad(spec, value, f"must be text, got {type(value).__name__}", "type")
        if not value.strip():
            return _bad(spec, value, "must not be empty or only whitespace", "required")
    elif spec.kind == "enum":
        if not isinstance(value, str) or value not in spec.choices:
            return _bad(spec, value, f"got {_show(value)}; allowed: {spec.allowed}", "enum")
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            return _bad(spec, value, f"must be true or false, got {_show(value)}", "type")
    elif spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                value = int(value)  # 2048.0 from JSON is fine; 2048.5 and NaN are not
            else:
                return _bad(spec, value, f"must be a whole number, got {_show(value)}", "type")
        assert spec.low is not None and spec.high is not None
        if value < spec.low:
            return _bad(spec, value, f"got {value}; must be at least {spec.low}", "greater_than_equal")
        if value > spec.high:
            return _bad(spec, value, f"got {value}; must be at most {spec.high}", "less_than_equal")
    elif spec.kind == "uris":
        if value is None:  # null is the service's default: no input images
            return None
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return _bad(spec, value, f"must be a list of image URIs, got {type(value).__name__}", "type")
        if len(value) > MAX_INPUT_IMAGES:
            return _bad(spec, len(value), f"has {len(value)} images; at most {MAX_INPUT_IMAGES} are allowed",
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


def _check(values: Mapping[str, Any]) -> list[InvalidField]:
    """Every violation in a mapping of field values (missing optional fields are fine)."""
    problems: list[InvalidField] = []
    if "prompt" not in values:
        problems.append(InvalidField("prompt", "is required", "required", None, FIELD["prompt"].allowed))
    for spec in FIELDS:
        if spec.name in values:
            problem = _check_value(spec, values[spec.name])
            if problem:
                problems.append(problem)
    broken = {p.field for p in problems}
    if not broken & {"image_input", "max_images"}:
        n_inputs = len(values.get("image_input") or ())
        n_out = values.get("max_images", FIELD["max_images"].default)
        if n_inputs + int(n_out) > MAX_TOTAL_IMAGES:
            problems.append(InvalidField(
                "max_images", f"{n_inputs} input images + max_images {int(n_out)} = {n_inputs + int(n_out)}; "
                f"inputs plus outputs may be at most {MAX_TOTAL_IMAGES}", "constraint", n_out,
                f"at most {MAX_TOTAL_IMAGES - n_inputs} with {n_inputs} input images"))
    return problems


def check_payload(payload: Mapping[str, Any], *, ignore_unknown: bool = True) -> list[InvalidField]:
    """Every violation in a wire payload; what the demo backend answers 422 with.

    Unknown keys are ignored by default, as the service does (older model
    versions simply lack newer fields).
    """
    problems = [] if ignore_unknown else [_unknown_field(k) for k in payload if k not in _FIELD_NAMES]
    return problems + _check({k: v for k, v in payload.items() if k in _FIELD_NAMES})


def _normalise(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "uris":
        return tuple(value or ())
    if spec.kind == "int":
        return int(value)
    return value


def _caveats(inp: SeedreamInput) -> Iterable[str]:
    if inp.size != "custom" and {"width", "height"} & inp.explicit:
        # With an input image to match, the shape comes from that image, which is unknown here.
        shape = ("" if inp.aspect_ratio == "match_input_image" and inp.image_input
                 else f" (output will be {inp.pixels[0]}x{inp.pixels[1]})")
        yield f"width/height are ignored because size is {inp.size!r}; set size='custom' to use them{shape}"
    if "max_images" in inp.explicit and inp.max_images > 1 and inp.sequential_image_generation != "auto":
        yield (f"max_images={inp.max_images} has no effect while sequential_image_generation is 'disabled' "
               "(one image); set sequential_image_generation='auto' for a set")
    if "aspect_ratio" in inp.explicit and inp.size == "custom":
        yield "aspect_ratio is ignored because size is 'custom'; width and height decide the shape"
    if (inp.aspect_ratio == "match_input_image" and "aspect_ratio" in inp.explicit and not inp.image_input
            and inp.size != "custom"):
        yield "aspect_ratio 'match_input_image' has no input image to match; the output will be 1:1"


def _caller_stacklevel() -> int:
    """The stack level of the first frame outside this package, so a warning points at the user's line."""
    import sys

    frame, level = sys._getframe(1), 1
    package_dir = __file__.rsplit("/", 1)[0]
    while frame is not None and (frame.f_code.co_filename.startswith(package_dir)
                                 or (frame.f_code.co_filename == "<string>" and frame.f_code.co_name == "__init__")):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


# -- output size ------------------------------------------------------------------

_PIXELS_2K: dict[str, tuple[int, int]] = {
    "1:1": (2048, 2048),
    "4:3": (2304, 1728),
    "3:4": (1728, 2304),
    "16:9": (2560, 1440),
    "9:16": (1440, 2560),
    "3:2": (2496, 1664),
    "2:3": (1664, 2496),
    "21:9": (3024, 1296),
}
"""2K sizes per aspect ratio: BytePlus's published Seedream 4.0 table (the "recommended width
and height" for 2K), confirmed by a real Replicate run's log ("Generating 2304x1728 image with
aspect ratio 4:3 at 2K resolution"). 1K halves and 4K doubles each side: Seedream 4.0's total
pixel range is 1024x1024 to 4096x4096, and the size names are 1024, 2048 and 4096 px."""

_SCALE = {"1K": 0.5, "2K": 1.0, "4K": 2.0}


def output_pixels(size: str, aspect_ratio: str, width: int = 2048, height: int = 2048,
                  input_aspect: float | None = None) -> tuple[int, int]:
    """The (width, height) Seedream 4 produces for a size and an aspect ratio.

    >>> output_pixels("2K", "4:3")
    (2304, 1728)
    >>> output_pixels("1K", "16:9")
    (1280, 720)
    >>> output_pixels("custom", "1:1", 1536, 1024)
    (1536, 1024)

    ``match_input_image`` keeps the area of the 1:1 size and takes the shape of
    ``input_aspect`` (width / height of the first input image), on a 16 px grid;
    with no input it is 1:1.
    """
    if size == "custom":
        return width, height
    scale = _SCALE[size]
    if aspect_ratio == "match_input_image":
        if not input_aspect:
            aspect_ratio = "1:1"
        else:
            area = (2048 * scale) ** 2
            ratio = min(max(input_aspect, 1 / 3), 3.0)  # the model accepts inputs from 1:3 to 3:1
            w = round(math.sqrt(area * ratio) / 16) * 16
            h = round(math.sqrt(area / ratio) / 16) * 16
            return int(w), int(h)
    w2, h2 = _PIXELS_2K[aspect_ratio]
    return int(w2 * scale), int(h2 * scale)


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` for some bytes (the wire form of a local input image)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
