"""EXIF: the minimal TIFF that holds the ``parameters`` text as UserComment, and the UserComment read back."""

from __future__ import annotations

import struct

from .parameters import parse_parameters
from .record import GenerationRecord, written_by_us

EXIF_HEADER = b"Exif\x00\x00"
"""What starts an EXIF block in a JPEG APP1 segment (WebP and PNG hold the bare TIFF)."""
_TIFF_HEADERS = (b"MM\x00\x2a", b"II\x2a\x00")
EXIF_KEPT = "the image already had EXIF: it was kept as is, and the record went into the XMP only"
"""The note when a file's own EXIF is kept (a file holds one EXIF block: ours would have replaced it)."""


def record_exif(record: GenerationRecord) -> bytes:
    """The EXIF block (a TIFF, without the ``Exif\\0\\0`` header) for ``record``: its ``parameters`` text."""
    size = (record.width, record.height) if record.width and record.height else None
    return _exif_tiff(record.parameters_text(), record.software, size)


def user_comment(exif: bytes | None) -> str:
    """The UserComment of an EXIF block (TIFF, with or without the ``Exif\\0\\0`` header), or ""."""
    if not exif:
        return ""
    tiff = exif[len(EXIF_HEADER):] if exif.startswith(EXIF_HEADER) else exif
    if tiff[:4] not in _TIFF_HEADERS:
        return ""
    order = ">" if tiff[:2] == b"MM" else "<"
    try:
        exif_ifd = _ifd_entry(tiff, order, struct.unpack(order + "I", tiff[4:8])[0], 0x8769)
        if exif_ifd is None:
            return ""
        entry = _ifd_entry(tiff, order, exif_ifd[3], 0x9286)
        if entry is None:
            return ""
        _, _, count, value_at = entry
        raw = tiff[value_at:value_at + count]
    except (struct.error, IndexError):
        return ""
    return _decode_comment(raw, order)


def is_our_exif(exif: bytes) -> bool:
    """Whether an EXIF block is one this package wrote (embedding again replaces it rather than keeping both)."""
    if not (exif.startswith(EXIF_HEADER) or exif[:4] in _TIFF_HEADERS):
        return False
    comment = user_comment(exif)
    return bool(comment) and written_by_us(parse_parameters(comment)[2])


def _exif_tiff(comment: str, software: str, size: tuple[int, int] | None = None) -> bytes:
    """A small big-endian TIFF holding ``comment`` as the Exif UserComment.

    IFD0 has the Software and the Exif IFD pointer, the Exif IFD has UserComment; both carry the
    tags the Exif spec requires of a JPEG (resolution, YCbCr positioning, Exif and FlashPix
    versions, components, colour space, pixel size), so ``exiftool -validate`` finds nothing.
    """
    try:
        encoded = b"ASCII\x00\x00\x00" + comment.encode("ascii")
    except UnicodeEncodeError:
        # UTF-16 in the TIFF's byte order (big-endian here), as exiftool and A1111's reader expect.
        encoded = b"UNICODE\x00" + comment.encode("utf-16-be", "surrogatepass")
    soft = software.encode("ascii", "replace") + b"\x00"
    exif_entries = [(0x9000, 7, 4, b"0232"), (0x9101, 7, 4, b"\x01\x02\x03\x00"),
                    (0x9286, 7, len(encoded), encoded), (0xA000, 7, 4, b"0100"), (0xA001, 3, 1, b"\x00\x01")]
    if size:
        exif_entries += [(0xA002, 4, 1, struct.pack(">I", size[0])), (0xA003, 4, 1, struct.pack(">I", size[1]))]

    def ifd0(exif_at: int) -> bytes:
        return _tiff_ifd([(0x011A, 5, 1, struct.pack(">II", 72, 1)), (0x011B, 5, 1, struct.pack(">II", 72, 1)),
                          (0x0128, 3, 1, b"\x00\x02"), (0x0131, 2, len(soft), soft), (0x0213, 3, 1, b"\x00\x01"),
                          (0x8769, 4, 1, struct.pack(">I", exif_at))], 8)

    first = ifd0(0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0(8 + len(first)) + _tiff_ifd(exif_entries, 8 + len(first))


def _tiff_ifd(entries: list[tuple[int, int, int, bytes]], at: int) -> bytes:
    """One big-endian IFD placed at offset ``at``, followed by the values that do not fit in an entry."""
    data_at = at + 2 + 12 * len(entries) + 4
    head, data = struct.pack(">H", len(entries)), b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            head += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            head += struct.pack(">HHII", tag, kind, count, data_at + len(data))
            data += value + b"\x00" * (len(value) & 1)  # values start on a word boundary
    return head + struct.pack(">I", 0) + data


def _ifd_entry(tiff: bytes, order: str, offset: int, tag: int) -> tuple[int, int, int, int] | None:
    """(tag, type, count, value or offset) of ``tag`` in the IFD at ``offset``."""
    (count,) = struct.unpack(order + "H", tiff[offset:offset + 2])
    for i in range(count):
        at = offset + 2 + 12 * i
        entry_tag, kind, n = struct.unpack(order + "HHI", tiff[at:at + 8])
        if entry_tag == tag:
            inline = kind == 7 and n <= 4
            value = at + 8 if inline else struct.unpack(order + "I", tiff[at + 8:at + 12])[0]
            return entry_tag, kind, n, value
    return None


def _decode_comment(raw: bytes, order: str) -> str:
    prefix, body = raw[:8], raw[8:]
    if prefix == b"UNICODE\x00":
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return body.decode("utf-16", "replace")
        first = body.decode("utf-16-be" if order == ">" else "utf-16-le", "replace")
        second = body.decode("utf-16-le" if order == ">" else "utf-16-be", "replace")
        # Some writers use big-endian whatever the TIFF's order: keep the reading that looks like text.
        return first if _plausible(first) >= _plausible(second) else second
    if prefix.startswith(b"ASCII"):
        return body.rstrip(b"\x00").decode("utf-8", "replace")
    return raw.rstrip(b"\x00").decode("utf-8", "replace") if prefix == b"\x00" * 8 else ""


def _plausible(text: str) -> int:
    return sum(1 for c in text if c.isprintable() or c in "\n\t") - 4 * text.count("\ufffd")
