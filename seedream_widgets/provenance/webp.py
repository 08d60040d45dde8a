"""WebP: ``EXIF`` and ``XMP `` chunks in the extended format (a simple file gets a ``VP8X`` chunk first)."""

from __future__ import annotations

import struct

from .container import EmbedMode, Malformed, Metadata, Signed, Written
from .exif import EXIF_KEPT, is_our_exif, record_exif
from .record import GenerationRecord, with_size
from .xmp import xmp_packet

_VP8X_ICC, _VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP, _VP8X_ANIMATION = 0x20, 0x10, 0x08, 0x04, 0x02
_WEBP_IMAGE_CHUNKS = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"}


def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def embed_webp(data: bytes, record: GenerationRecord, mode: EmbedMode) -> Written:
    """``data`` in the extended format with our EXIF (unless it has one) and XMP chunks (its own XMP merged)."""
    chunks, trailing = _webp_chunks(data)
    if any(fourcc == b"C2PA" for fourcc, _ in chunks):
        raise Signed("a C2PA chunk")
    written, notes = [], []
    if chunks[0][0] == b"VP8X":
        header = chunks[0][1]
        if len(header) < 10:
            raise Malformed("the VP8X chunk is cut short")
        width = int.from_bytes(header[4:7], "little") + 1
        height = int.from_bytes(header[7:10], "little") + 1
        flags = header[0]
    else:
        width, height, alpha = _webp_canvas(*chunks[0])
        alpha = alpha or any(fourcc == b"ALPH" for fourcc, _ in chunks)
        flags = _VP8X_ALPHA if alpha else 0
        header = bytes(10)
        chunks.insert(0, (b"VP8X", header))
        written.append("VP8X (now the extended format)")
    record = with_size(record, (width, height))
    xmp_at = next((i for i, (fourcc, _) in enumerate(chunks) if fourcc == b"XMP "), None)
    existing = chunks.pop(xmp_at)[1].decode("utf-8", "replace") if xmp_at is not None else None
    packet, merged = xmp_packet(record, mode, existing)
    if merged:
        notes.append(merged)
    # Container order: VP8X, ICCP, ANIM/ANMF or ALPH and the bitstream, then EXIF, then XMP, then unknown chunks.
    chunks = [(fourcc, body) for fourcc, body in chunks if not (fourcc == b"EXIF" and is_our_exif(body))]
    at = max(i for i, (fourcc, _) in enumerate(chunks) if fourcc in _WEBP_IMAGE_CHUNKS) + 1
    exif_at = next((i for i, (fourcc, _) in enumerate(chunks) if fourcc == b"EXIF"), None)
    if exif_at is not None:
        if mode == "full":
            notes.append(EXIF_KEPT)
        at = max(at, exif_at + 1)
    elif mode == "full":
        chunks.insert(at, (b"EXIF", record_exif(record)))
        written.append("EXIF UserComment")
        at += 1
    chunks.insert(at, (b"XMP ", packet.encode("utf-8")))
    written.append("XMP")
    present = {fourcc for fourcc, _ in chunks}
    flags = (flags & ~_VP8X_EXIF) | (_VP8X_EXIF if b"EXIF" in present else 0) | _VP8X_XMP
    chunks[0] = (b"VP8X", bytes((flags,)) + header[1:4] + (width - 1).to_bytes(3, "little")
                 + (height - 1).to_bytes(3, "little") + header[10:])
    body = b"WEBP" + b"".join(_webp_chunk(fourcc, content) for fourcc, content in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body + trailing, written, notes, record


def read_webp(data: bytes, found: Metadata) -> None:
    """The WebP's first ``EXIF`` and ``XMP `` chunks, into ``found``."""
    chunks, _ = _webp_chunks(data)
    for fourcc, body in chunks:
        if fourcc == b"EXIF":
            found.exif = found.exif or body
        elif fourcc == b"XMP ":
            found.xmp = found.xmp or body.decode("utf-8", "replace")


def _webp_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The RIFF chunks of a WebP file, and any bytes after the RIFF (kept as found)."""
    if not is_webp(data):
        raise Malformed("no RIFF WEBP header")
    end = 8 + struct.unpack("<I", data[4:8])[0]
    if end > len(data):
        raise Malformed("the RIFF size runs past the end of the file")
    chunks, pos = [], 12
    while pos + 8 <= end:
        fourcc, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if pos + 8 + size > end:
            raise Malformed(f"chunk {fourcc!r} runs past the end of the RIFF")
        chunks.append((fourcc, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise Malformed("no chunks")
    return chunks, data[end:]


def _webp_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _webp_canvas(fourcc: bytes, body: bytes) -> tuple[int, int, bool]:
    """(width, height, alpha) from a simple file's bitstream header."""
    if fourcc == b"VP8 ":
        if len(body) < 10 or body[3:6] != b"\x9d\x01\x2a":
            raise Malformed("the VP8 bitstream has no key frame header")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if fourcc == b"VP8L":
        if len(body) < 5 or body[0] != 0x2F:
            raise Malformed("the VP8L bitstream has no signature")
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise Malformed(f"a simple WebP starts with {fourcc!r}, not VP8 or VP8L")
