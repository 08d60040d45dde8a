"""What the PNG, JPEG and WebP modules share: the embed modes, what a file carries, and how a writer refuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .record import GenerationRecord

EmbedMode = Literal["full", "label"]
"""``full``: the record, the ``parameters`` text and the XMP; ``label``: the XMP AI label only."""

Written = tuple[bytes, list[str], list[str], GenerationRecord]
"""What a writer returns: the new bytes, each chunk or segment written, the notes, the record as written."""
Writer = Callable[[bytes, GenerationRecord, EmbedMode], Written]


@dataclass
class Metadata:
    """What a file carries, as a reader found it (the first of each; a text chunk by its keyword)."""

    texts: dict[str, str] = field(default_factory=dict)
    xmp: str | None = None
    exif: bytes | None = None


Reader = Callable[[bytes, Metadata], None]
"""Fills a `Metadata` as it goes, so what came before a `Malformed` part is kept."""


class Malformed(ValueError):
    """The bytes do not follow their container's structure (reported, never raised to the caller of embed)."""


class Signed(Exception):
    """The file carries C2PA content credentials: the message says where, and nothing is written."""

    def __init__(self, where: str) -> None:
        super().__init__(f"the image carries C2PA content credentials ({where}); inserting metadata would break "
                         "their signature, so it is stored unchanged")
