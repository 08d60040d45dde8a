"""Which container some bytes are, and each container's recogniser, writer and reader in one table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .container import Reader, Writer
from .jpeg import embed_jpeg, is_jpeg, read_jpeg
from .png import embed_png, is_png, read_png
from .webp import embed_webp, is_webp, read_webp

ImageFormat = Literal["png", "jpeg", "webp"]


@dataclass(frozen=True)
class Container:
    """One format's functions: whether bytes are of it, how our record goes in, what its metadata is."""

    matches: Callable[[bytes], bool]
    write: Writer
    read: Reader


CONTAINERS: Mapping[ImageFormat, Container] = MappingProxyType({
    "png": Container(is_png, embed_png, read_png),
    "jpeg": Container(is_jpeg, embed_jpeg, read_jpeg),
    "webp": Container(is_webp, embed_webp, read_webp),
})


def sniff(data: bytes) -> ImageFormat | None:
    """The container ``data`` is in, by its first bytes; None for any other."""
    return next((name for name, container in CONTAINERS.items() if container.matches(data)), None)


def other_format(data: bytes) -> str:
    """The name of a format we do not write into (``GIF``, ``AVIF/HEIF``...), or "" when unknown."""
    for magic, name in ((b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
                        (b"\x00\x00\x01\x00", "ICO")):
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return "AVIF/HEIF" if data[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1") else "ISO media"
    return ""
