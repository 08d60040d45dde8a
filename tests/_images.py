"""Test images with a known weight: random pixels do not compress, so the PNG's size follows its pixels."""

from __future__ import annotations

import io
import random

from PIL import Image


def noise_png(side: int = 1024, *, seed: int = 18) -> bytes:
    """A ``side`` x ``side`` PNG of noise: 1024 px weighs about 3.1 MB, what a photo from a phone weighs."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
