"""The rules a model family keeps that its JSON schema cannot say.

For the Seedream family (``bytedance/seedream-*``): input images plus ``max_images`` are at most
15; ``width``/``height`` count only with ``size="custom"``, ``aspect_ratio`` only without it, and
``max_images`` only with ``sequential_image_generation="auto"``; the output size follows
BytePlus's table per aspect ratio. A model of no known family gets `Family` itself: no extra rules,
no pixel size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from ..errors import InvalidField
from .fields import Condition, FieldSpec

__all__ = ["SEEDREAM", "Family", "SeedreamFamily", "family_for", "output_pixels"]

MAX_TOTAL_IMAGES = 15
"""Seedream: ``len(image_input) + max_images`` may not exceed this."""

PIXELS_2K: dict[str, tuple[int, int]] = {
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
aspect ratio 4:3 at 2K resolution"). Other sizes scale each side by their name: 1K halves, 3K is
1.5 times, 4K doubles (Seedream 4.0's size names are 1024, 2048 and 4096 px; 4.5 and 5-lite
keep the same table, and their 3K and 4K figures are estimates from it)."""

SCALE = {"1K": 0.5, "2K": 1.0, "3K": 1.5, "4K": 2.0}


def output_pixels(size: str, aspect_ratio: str, width: int = 2048, height: int = 2048,
                  input_aspect: float | None = None) -> tuple[int, int]:
    """The (width, height) a Seedream model produces for a size and an aspect ratio.

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
    scale = SCALE[size]
    if aspect_ratio == "match_input_image":
        if not input_aspect:
            aspect_ratio = "1:1"
        else:
            area = (2048 * scale) ** 2
            ratio = min(max(input_aspect, 1 / 3), 3.0)  # the model accepts inputs from 1:3 to 3:1
            w = round(math.sqrt(area * ratio) / 16) * 16
            h = round(math.sqrt(area / ratio) / 16) * 16
            return int(w), int(h)
    w2, h2 = PIXELS_2K[aspect_ratio]
    return int(w2 * scale), int(h2 * scale)


class Family:
    """No rules beyond the schema: the base for models of no known family."""

    name = ""

    def complete(self, fields: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
        """The fields with what the family knows added (conditions, short titles)."""
        return tuple(fields)

    def check(self, values: Mapping[str, Any], fields: Mapping[str, FieldSpec],
              broken: set[str]) -> list[InvalidField]:
        """Cross-field problems; ``broken`` names fields already reported (not reported again)."""
        return []

    def pixels(self, values: Mapping[str, Any], input_aspect: float | None = None) -> tuple[int, int] | None:
        return None

    def expected_images(self, values: Mapping[str, Any]) -> int:
        return 1

    def caveats(self, values: Mapping[str, Any], explicit: Iterable[str], fields: Mapping[str, FieldSpec],
                *, has_inputs: bool) -> list[str]:
        """Valid settings that will be ignored, in words (Python spellings)."""
        return []


class SeedreamFamily(Family):
    name = "seedream"

    _TITLES: ClassVar[dict[str, str]] = {"sequential_image_generation": "Sequential", "image_input": "Input images",
               "max_images": "Max images", "aspect_ratio": "Aspect ratio", "enhance_prompt": "Enhance prompt",
               "disable_safety_checker": "No safety check", "output_format": "Format"}

    def complete(self, fields: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
        names = {f.name for f in fields}
        size = next((f for f in fields if f.name == "size"), None)
        custom = size is not None and "custom" in size.choices
        done = []
        for spec in fields:
            conditions: list[Condition] = []
            if spec.name in ("width", "height") and custom:
                conditions.append(Condition("size", ("custom",)))
            elif spec.name == "aspect_ratio" and custom:
                conditions.append(Condition("size", ("custom",), negate=True))
            elif spec.name == "max_images" and "sequential_image_generation" in names:
                conditions.append(Condition("sequential_image_generation", ("auto",)))
            title = spec.title or self._TITLES.get(spec.name, "")
            done.append(replace(spec, active_when=tuple(conditions), title=title))
        return tuple(done)

    def check(self, values: Mapping[str, Any], fields: Mapping[str, FieldSpec],
              broken: set[str]) -> list[InvalidField]:
        if "max_images" not in fields or broken & {"image_input", "max_images"}:
            return []
        n_inputs = len(values.get("image_input") or ())
        n_out = int(values.get("max_images", fields["max_images"].default))
        if n_inputs + n_out <= MAX_TOTAL_IMAGES:
            return []
        return [InvalidField(
            "max_images", f"{n_inputs} input images + max_images {n_out} = {n_inputs + n_out}; "
            f"inputs plus outputs may be at most {MAX_TOTAL_IMAGES}", "constraint", n_out,
            f"at most {MAX_TOTAL_IMAGES - n_inputs} with {n_inputs} input images")]

    def pixels(self, values: Mapping[str, Any], input_aspect: float | None = None) -> tuple[int, int] | None:
        size = str(values.get("size", "2K"))
        if size != "custom" and size not in SCALE:
            return None
        return output_pixels(size, str(values.get("aspect_ratio", "match_input_image")),
                             int(values.get("width", 2048)), int(values.get("height", 2048)), input_aspect)

    def expected_images(self, values: Mapping[str, Any]) -> int:
        if values.get("sequential_image_generation") == "auto":
            return int(values.get("max_images", 1))
        return 1

    def caveats(self, values: Mapping[str, Any], explicit: Iterable[str], fields: Mapping[str, FieldSpec],
                *, has_inputs: bool) -> list[str]:
        given = set(explicit)
        size = values.get("size")
        notes = []
        if "width" in fields and size != "custom" and {"width", "height"} & given:
            # With an input image to match, the shape comes from that image, which is unknown here.
            pixels = self.pixels(values)
            shape = ("" if (values.get("aspect_ratio") == "match_input_image" and has_inputs) or pixels is None
                     else f" (output will be {pixels[0]}x{pixels[1]})")
            notes.append(f"width/height are ignored because size is {size!r}; set size='custom' to use them{shape}")
        most = values.get("max_images", 1)
        if "max_images" in given and most > 1 and values.get("sequential_image_generation") != "auto":
            notes.append(f"max_images={most} has no effect while sequential_image_generation is 'disabled' "
                         "(one image); set sequential_image_generation='auto' for a set")
        if "aspect_ratio" in given and size == "custom":
            notes.append("aspect_ratio is ignored because size is 'custom'; width and height decide the shape")
        if (values.get("aspect_ratio") == "match_input_image" and "aspect_ratio" in given and not has_inputs
                and size != "custom"):
            notes.append("aspect_ratio 'match_input_image' has no input image to match; the output will be 1:1")
        return notes


SEEDREAM = SeedreamFamily()
_GENERIC = Family()


def family_for(model: str) -> Family:
    """The family of ``owner/name`` (a version suffix is ignored)."""
    return SEEDREAM if model.split(":", 1)[0].startswith("bytedance/seedream") else _GENERIC
