"""`embed`: a record written into image bytes by the container's writer, or the bytes unchanged and why."""

from __future__ import annotations

from dataclasses import dataclass

from .container import EmbedMode, Malformed, Signed
from .digest import sha256_hex
from .formats import CONTAINERS, ImageFormat, other_format, sniff
from .record import GenerationRecord


@dataclass(frozen=True)
class Embedded:
    """What `embed` did: the bytes to store, and what was written or why nothing was.

    >>> out = embed(b"GIF89a...", record)                                # doctest: +SKIP
    >>> out.changed, out.skipped                                         # doctest: +SKIP
    (False, 'GIF files carry no provenance here (PNG, JPEG and WebP do); stored unchanged')
    """

    data: bytes
    """The bytes to store (the input itself when nothing was written)."""
    record: GenerationRecord
    """The record as written (its size read from the image; long fields possibly shortened)."""
    mode: EmbedMode
    format: ImageFormat | None
    written: tuple[str, ...] = ()
    """Each chunk or segment written, e.g. ``iTXt seedream`` or ``APP1 XMP``."""
    skipped: str = ""
    """Why nothing was written ("" when something was)."""
    notes: tuple[str, ...] = ()
    """What else to know (an existing EXIF kept, a field shortened, an XMP packet merged)."""
    received_sha256: str = ""
    """The sha256 of the bytes as received."""
    sha256: str = ""
    """The sha256 of ``data`` (the bytes stored)."""

    @property
    def changed(self) -> bool:
        return not self.skipped


def embed(data: bytes, record: GenerationRecord, mode: EmbedMode = "full") -> Embedded:
    """The image bytes with ``record`` inserted (PNG, JPEG, WebP); pixels are never re-encoded.

    >>> stored = embed(Path("1.png").read_bytes(), record)              # doctest: +SKIP
    >>> stored.written                                                   # doctest: +SKIP
    ('iTXt seedream', 'tEXt parameters', 'iTXt XML:com.adobe.xmp')

    The record's width and height are read from the image when missing. Nothing is written,
    and ``skipped`` says why, for a file with C2PA content credentials (an insertion would break
    their signature), for other formats, and for bytes that do not follow their format. Never
    raises for the bytes' sake: storing an image must not fail because of its metadata.
    """
    if mode not in ("full", "label"):
        raise ValueError(f"mode must be 'full' or 'label', not {mode!r}")
    data = bytes(data)
    received = sha256_hex(data)
    kind = sniff(data)
    if kind is None:
        named = other_format(data)
        reason = (f"{named} files carry no provenance here (PNG, JPEG and WebP do); stored unchanged" if named
                  else "not a PNG, JPEG or WebP image; stored unchanged")
        return Embedded(data, record, mode, None, skipped=reason, received_sha256=received, sha256=received)
    try:
        out, written, notes, final = CONTAINERS[kind].write(data, record, mode)
    except Malformed as exc:
        return Embedded(data, record, mode, kind, skipped=f"the {kind.upper()} structure could not be read "
                        f"({exc}); stored unchanged", received_sha256=received, sha256=received)
    except Signed as signed:
        return Embedded(data, record, mode, kind, skipped=str(signed), received_sha256=received, sha256=received)
    return Embedded(out, final, mode, kind, tuple(written), "", tuple(notes), received, sha256_hex(out))
