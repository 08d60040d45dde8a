"""PNG: the record, the ``parameters`` text and the XMP as text chunks right after IHDR, and text chunks read back."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .container import EmbedMode, Malformed, Metadata, Signed, Written
from .record import GenerationRecord, with_size
from .xmp import xmp_packet

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = "XML:com.adobe.xmp"
RECORD_KEYWORD = "seedream"
"""The text chunk holding our record as JSON."""
PARAMETERS_KEYWORD = "parameters"
"""The text chunk AUTOMATIC1111 writes (and we write in its shape)."""
MAX_TEXT_BYTES = 32 * 1024 * 1024
"""The most a compressed PNG text chunk may inflate to when read (a malicious file could claim more)."""
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)


@dataclass(frozen=True)
class _PngChunk:
    type: bytes
    start: int
    """Where the chunk starts (its length field)."""
    end: int
    """Where it ends (after its CRC)."""

    def body(self, data: bytes) -> bytes:
        return data[self.start + 8:self.end - 4]


def embed_png(data: bytes, record: GenerationRecord, mode: EmbedMode) -> Written:
    """``data`` with our text chunks right after IHDR (earlier ones of ours, and the XMP, replaced)."""
    chunks = _png_chunks(data)
    if any(chunk.type == b"caBX" for chunk in chunks):
        raise Signed("a caBX chunk")
    record = with_size(record, _png_size(data, chunks))
    existing_xmp = None
    ours = {RECORD_KEYWORD, PARAMETERS_KEYWORD}
    kept = []
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS:
            body = chunk.body(data)
            keyword = _split_keyword(body)[0]
            if keyword == XMP_KEYWORD:
                existing_xmp = existing_xmp or _png_text(chunk.type, body)[1]
                continue
            if keyword in ours:
                continue  # written again below (embedding twice keeps one copy)
        kept.append(chunk)
    packet, merged = xmp_packet(record, mode, existing_xmp)
    inserted, written = [], []
    if mode == "full":
        record_chunk, _ = _png_text_chunk(RECORD_KEYWORD, record.to_json(), international=True)
        parameters, kind = _png_text_chunk(PARAMETERS_KEYWORD, record.parameters_text())
        inserted += [record_chunk, parameters]
        written += [f"iTXt {RECORD_KEYWORD}", f"{kind} {PARAMETERS_KEYWORD}"]
    inserted.append(_png_text_chunk(XMP_KEYWORD, packet, international=True)[0])
    written.append(f"iTXt {XMP_KEYWORD}")
    # The chunks kept are copied as received, CRCs included; ours go right after IHDR.
    out = [PNG_SIGNATURE, data[kept[0].start:kept[0].end], *inserted]
    out += [data[chunk.start:chunk.end] for chunk in kept[1:]]
    return b"".join(out) + data[chunks[-1].end:], written, [merged] if merged else [], record


def read_png(data: bytes, found: Metadata) -> None:
    """The PNG's text chunks by keyword, its XMP and its ``eXIf`` chunk, into ``found``."""
    for chunk in _png_chunks(data):
        if chunk.type in _TEXT_CHUNKS:
            keyword, text = _png_text(chunk.type, chunk.body(data))
            if keyword == XMP_KEYWORD:
                found.xmp = found.xmp or text
            else:
                found.texts.setdefault(keyword, text)
        elif chunk.type == b"eXIf":
            found.exif = found.exif or chunk.body(data)


def _png_chunks(data: bytes) -> list[_PngChunk]:
    """Where each chunk lies, up to IEND (the bodies are read only where needed: IDAT can be megabytes)."""
    if not is_png(data):
        raise Malformed("no PNG signature")
    chunks: list[_PngChunk] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise Malformed(f"a chunk is cut short at byte {pos}")
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunk_type = data[pos + 4:pos + 8]
        if pos + 12 + length > len(data):
            raise Malformed(f"chunk {chunk_type!r} runs past the end of the file")
        chunks.append(_PngChunk(chunk_type, pos, pos + 12 + length))
        pos += 12 + length
        if chunk_type == b"IEND":
            break
    if not chunks or chunks[0].type != b"IHDR":
        raise Malformed("the first chunk is not IHDR")
    return chunks


def _png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", zlib.crc32(chunk_type + body))


def _png_text_chunk(keyword: str, text: str, *, international: bool = False) -> tuple[bytes, str]:
    """A ``tEXt`` chunk when the text is Latin-1 (and ``international`` is off), else an uncompressed ``iTXt``."""
    if not international:
        try:
            return _png_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1")), "tEXt"
        except UnicodeEncodeError:
            pass
    body = keyword.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8", "replace")
    return _png_chunk(b"iTXt", body), "iTXt"


def _split_keyword(body: bytes) -> tuple[str, bytes]:
    """A text chunk's keyword, and what follows its NUL."""
    keyword, _, rest = body.partition(b"\x00")
    return keyword.decode("latin-1"), rest


def _png_text(chunk_type: bytes, body: bytes) -> tuple[str, str]:
    name, rest = _split_keyword(body)
    if chunk_type == b"tEXt":
        return name, rest.decode("latin-1")
    if chunk_type == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        raise Malformed(f"iTXt chunk {name!r} is cut short")
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return name, (_inflate(text) if compressed else text).decode("utf-8", "replace")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise Malformed(f"a compressed text chunk does not inflate ({exc})") from None
    if inflater.unconsumed_tail:
        raise Malformed(f"a compressed text chunk inflates past {MAX_TEXT_BYTES} bytes")
    return out


def _png_size(data: bytes, chunks: list[_PngChunk]) -> tuple[int, int] | None:
    header = chunks[0].body(data)
    if len(header) < 8:
        return None
    width, height = struct.unpack(">II", header[:8])
    return int(width), int(height)
