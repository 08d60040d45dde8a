"""JPEG: an APP1 EXIF segment (UserComment) and an APP1 XMP segment after SOI and APP0, each within 64 KB."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .container import EmbedMode, Malformed, Metadata, Signed, Written
from .exif import EXIF_HEADER, EXIF_KEPT, is_our_exif, record_exif
from .fit import fit
from .record import GenerationRecord, with_size
from .xmp import xmp_packet

SEGMENT_LIMIT = 65533
"""The most bytes a JPEG segment's payload can hold (its length field counts itself and is 16 bits)."""
_XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_APP0, _APP1, _APP11 = 0xE0, 0xE1, 0xEB
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


@dataclass(frozen=True)
class _Segment:
    marker: int
    payload: bytes
    raw: bytes
    """The segment as found, fill bytes included."""

    @property
    def is_exif(self) -> bool:
        return self.marker == _APP1 and self.payload.startswith(EXIF_HEADER)

    @property
    def is_xmp(self) -> bool:
        return self.marker == _APP1 and self.payload.startswith(_XMP_JPEG_HEADER)

    @property
    def xmp(self) -> str:
        """The packet of an XMP segment."""
        return self.payload[len(_XMP_JPEG_HEADER):].decode("utf-8", "replace")


def embed_jpeg(data: bytes, record: GenerationRecord, mode: EmbedMode) -> Written:
    """``data`` with our EXIF and XMP segments (a file's own EXIF kept; its XMP merged), the record shortened to fit."""
    segments, scan_at = _jpeg_segments(data)
    if any(_is_jumbf(s) for s in segments):
        raise Signed("APP11 JUMBF segments")
    segments = [s for s in segments if not (s.marker == _APP1 and is_our_exif(s.payload))]  # written again
    frame = next((s.payload for s in segments if s.marker in _SOF_MARKERS and len(s.payload) >= 5), None)
    record = with_size(record, (struct.unpack(">H", frame[3:5])[0], struct.unpack(">H", frame[1:3])[0])
                       if frame else None)
    has_exif = any(s.is_exif for s in segments)
    xmp_at = next((i for i, s in enumerate(segments) if s.is_xmp), None)
    existing = segments[xmp_at].xmp if xmp_at is not None else None
    notes: list[str] = []

    def xmp_fits(candidate: GenerationRecord) -> bool:
        packet, _ = xmp_packet(candidate, mode, existing)
        return _fits_a_segment(_XMP_JPEG_HEADER, packet.encode("utf-8"))

    fitted = fit(record, xmp_fits)
    xmp_mode = mode
    if fitted is None:
        fitted, xmp_mode = record, "label"
        notes.append("the record does not fit a JPEG segment (64 KB): the XMP holds the AI label only; the "
                     "record is in the run's prediction.json")
    elif fitted.truncated != record.truncated:
        notes.append(f"shortened to fit a JPEG segment (64 KB): {', '.join(fitted.truncated)}; the full values "
                     "are in the run's prediction.json")
    packet, merged = xmp_packet(fitted, xmp_mode, existing)
    if merged:
        notes.append(merged)
    xmp = _jpeg_segment(_APP1, _XMP_JPEG_HEADER + packet.encode("utf-8"))
    written = []
    new: list[bytes] = []
    if mode == "full" and not has_exif:
        for_exif = fit(fitted, lambda candidate: _fits_a_segment(EXIF_HEADER, record_exif(candidate)))
        if for_exif is not None:
            new.append(_jpeg_segment(_APP1, EXIF_HEADER + record_exif(for_exif)))
            written.append("APP1 EXIF UserComment")
    elif mode == "full":
        notes.append(EXIF_KEPT)
    raws = [s.raw for s in segments]
    if xmp_at is not None:
        raws[xmp_at] = xmp
    else:
        new.append(xmp)
    written.append("APP1 XMP")
    # After SOI, the JFIF APP0 segments and an EXIF APP1 that follows them (EXIF wants to come first).
    at = 0
    while at < len(segments) and segments[at].marker == _APP0:
        at += 1
    if at < len(segments) and segments[at].is_exif:
        at += 1
    raws[at:at] = new
    return b"\xff\xd8" + b"".join(raws) + data[scan_at:], written, notes, fitted


def read_jpeg(data: bytes, found: Metadata) -> None:
    """The JPEG's first EXIF and XMP segments, into ``found``."""
    segments, _ = _jpeg_segments(data)
    for segment in segments:
        if segment.is_exif:
            found.exif = found.exif or segment.payload
        elif segment.is_xmp:
            found.xmp = found.xmp or segment.xmp


def _fits_a_segment(header: bytes, body: bytes) -> bool:
    return len(header) + len(body) <= SEGMENT_LIMIT


def _jpeg_segments(data: bytes) -> tuple[list[_Segment], int]:
    """The segments between SOI and the first SOS, and where that SOS starts."""
    if data[:2] != b"\xff\xd8":
        raise Malformed("no SOI marker")
    segments: list[_Segment] = []
    pos = 2
    while True:
        start = pos
        if pos >= len(data) or data[pos] != 0xFF:
            raise Malformed(f"expected a marker at byte {pos}")
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            raise Malformed("the file ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker in (0xDA, 0xD9):
            return segments, start
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            segments.append(_Segment(marker, b"", data[start:pos]))
            continue
        if pos + 2 > len(data):
            raise Malformed("the file ends inside a segment header")
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        if length < 2 or pos + length > len(data):
            raise Malformed(f"segment 0xFF{marker:02X} at byte {start} runs past the end of the file")
        segments.append(_Segment(marker, data[pos + 2:pos + length], data[start:pos + length]))
        pos += length


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _is_jumbf(segment: _Segment) -> bool:
    # APP11 carries JUMBF boxes for C2PA: common identifier "JP", then the box instance and
    # sequence numbers, then a box header whose type is "jumb".
    return segment.marker == _APP11 and segment.payload[:2] == b"JP" and b"jumb" in segment.payload[:32]
