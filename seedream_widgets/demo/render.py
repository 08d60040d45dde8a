"""The demo backend's image renderer: deterministic placeholder images drawn with Pillow.

The same input always gives the same bytes (the palette and shapes come from a
hash of the canonical input JSON), at the exact pixel size the real model
would produce. Each image shows the prompt, "k of n" and a large "DEMO" mark;
input images (data URIs) are laid out as a tinted collage behind the text, so
an edit visibly depends on its inputs. The background is drawn small and
scaled up and only the text is drawn at full size, so 4096x4096 stays well
under a second; `RenderCache` keeps the encoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import io
import json
import random
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

_DRAFT_SIDE = 384
"""Longest side of the background sketch that is scaled up to the output size."""
_MAX_COLLAGE = 4
"""At most this many input images appear in the collage."""


def input_digest(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of an input: the identity of a render."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def decode_data_uri(uri: object) -> bytes | None:
    """The bytes of a base64 ``data:`` URI, or None (http URLs are never fetched here)."""
    if not isinstance(uri, str) or uri[:5].lower() != "data:":
        return None
    head, sep, data = uri.partition(",")
    if not sep or ";base64" not in head.lower():
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def _open_image(uri: object) -> Image.Image | None:
    raw = decode_data_uri(uri)
    if raw is None:
        return None
    try:
        # Pillow's decompression-bomb guard stays on: a hostile input just does not show.
        image = Image.open(io.BytesIO(raw))
        image.load()
    except Exception:
        return None
    return image


def input_aspect(image_input: object) -> float | None:
    """width / height of the first input image, when it is a decodable data URI."""
    if not isinstance(image_input, Sequence) or isinstance(image_input, str) or not image_input:
        return None
    raw = decode_data_uri(image_input[0])
    if raw is None:
        return None
    try:
        with Image.open(io.BytesIO(raw)) as image:  # reads the header only
            width, height = image.size
    except Exception:
        return None
    return width / height if width and height else None


def _palette(rng: random.Random, index: int) -> list[tuple[int, int, int]]:
    # One hue family per input; each image of a set turns it a little, so a set looks related.
    hue = (rng.random() + index * 0.08) % 1.0
    colours = []
    for shift, sat, val in ((0.0, 0.65, 0.95), (0.12, 0.75, 0.55), (0.5, 0.45, 0.85)):
        r, g, b = colorsys.hsv_to_rgb((hue + shift) % 1.0, sat, val)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _background(size: tuple[int, int], rng: random.Random, index: int, inputs: list[Image.Image]) -> Image.Image:
    first, second, third = _palette(rng, index)
    mask = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR)
    mask = ImageOps.fit(mask.crop((40, 40, 216, 216)), size)
    canvas = Image.composite(Image.new("RGB", size, first), Image.new("RGB", size, second), mask)
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    w, h = size
    for _ in range(7):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.08, 0.3) * max(w, h)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*third, rng.randint(50, 110)))
    canvas = Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
    if inputs:
        canvas = Image.blend(_collage(size, inputs, index), canvas, 0.35)
    # A dark band at the bottom keeps the prompt readable on any background.
    band = Image.new("RGB", (w, max(1, h * 2 // 5)), (0, 0, 0))
    lower = canvas.crop((0, h - band.height, w, h))
    canvas.paste(Image.blend(lower, band, 0.55), (0, h - band.height))
    return canvas


def _collage(size: tuple[int, int], inputs: list[Image.Image], index: int) -> Image.Image:
    """The input images tiled over the canvas (rotated per output index, so a set varies)."""
    w, h = size
    count = len(inputs)
    cols = 1 if count == 1 else 2
    rows = (count + cols - 1) // cols
    tile_w, tile_h = max(1, w // cols), max(1, h // rows)
    collage = Image.new("RGB", size, (0, 0, 0))
    for slot in range(cols * rows):
        source = inputs[(slot + index) % count]
        tile = ImageOps.fit(source.convert("RGB"), (tile_w, tile_h))
        collage.paste(tile, ((slot % cols) * tile_w, (slot // cols) * tile_h))
    return collage


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (AttributeError, OSError, TypeError):  # no FreeType: Pillow's small bitmap font
        return ImageFont.load_default()


def render_image(payload: Mapping[str, Any], index: int, count: int, width: int, height: int,
                 image_format: str) -> bytes:
    """Encoded bytes of output ``index`` (0-based) of ``count``, ``width`` x ``height`` pixels.

    >>> data = render_image({"prompt": "a fox"}, 0, 1, 1024, 1024, "png")
    >>> Image.open(io.BytesIO(data)).size
    (1024, 1024)
    """
    # The look follows what the picture is of (prompt and inputs), not its size or shape, so a
    # comparison across sizes and aspect ratios shows the same scene at each setting.
    rng = random.Random(input_digest({k: payload.get(k) for k in ("prompt", "image_input")}))
    scale = min(1.0, _DRAFT_SIDE / max(width, height))
    draft = (max(1, round(width * scale)), max(1, round(height * scale)))
    uris = payload.get("image_input") or []
    inputs = [img for img in (_open_image(u) for u in list(uris)[:_MAX_COLLAGE]) if img is not None]
    image = _background(draft, rng, index, inputs).resize((width, height), Image.Resampling.BILINEAR)

    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    margin = unit // 24
    stroke = max(1, unit // 400)
    demo_font = _font(max(12, unit // 7))
    draw.text((margin, margin), "DEMO", font=demo_font, fill=(255, 255, 255), stroke_width=stroke * 3,
              stroke_fill=(0, 0, 0))
    count_font = _font(max(10, unit // 12))
    draw.text((width - margin, margin), f"{index + 1} of {count}", font=count_font, fill=(255, 255, 255),
              anchor="ra", stroke_width=stroke * 2, stroke_fill=(0, 0, 0))

    # The prompt fills the dark band (the bottom two fifths), large enough to read in a 256 px thumbnail.
    band_top = height - height * 2 // 5
    prompt_size = max(10, unit // 13)
    per_line = max(10, int((width - 2 * margin) / (prompt_size * 0.52)))
    lines = textwrap.wrap(str(payload.get("prompt", "")), per_line)
    while len(lines) * prompt_size * 1.3 > (height - band_top) - 2 * margin and prompt_size > 10:
        prompt_size = int(prompt_size * 0.85)
        per_line = max(10, int((width - 2 * margin) / (prompt_size * 0.52)))
        lines = textwrap.wrap(str(payload.get("prompt", "")), per_line)
    lines = lines[:8] or [""]
    draw.multiline_text((margin, band_top + margin), "\n".join(lines), font=_font(prompt_size),
                        fill=(255, 255, 255), anchor="la", spacing=prompt_size // 4, stroke_width=stroke,
                        stroke_fill=(0, 0, 0))

    out = io.BytesIO()
    if image_format == "jpeg":
        image.save(out, "JPEG", quality=85)
    elif image_format == "png":
        image.save(out, "PNG", compress_level=1)  # speed over size: this is a demo
    else:
        image.save(out, "WEBP", quality=80, method=0)
    return out.getvalue()


class RenderCache:
    """Encoded images by key, least recently used dropped first (renders are deterministic,
    so a dropped entry is simply drawn again, to the same bytes)."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = make()  # outside the lock: other files keep flowing while this one renders
        with self._lock:
            self._items[key] = data
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return data
