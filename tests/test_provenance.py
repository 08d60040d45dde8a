"""Provenance in the files: records written into PNG, JPEG and WebP bytes without touching the pixels, and read back.

Every image is made with Pillow at test time; ``exiftool`` (Debian's ``libimage-exiftool-perl``)
checks that an outside reader sees the AI label and the prompt.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import secrets
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from seedream_widgets.errors import SeedreamWarning, ValidationError
from seedream_widgets.provenance import (
    DIGITAL_SOURCE_TYPE,
    RECORD_SCHEMA,
    SEGMENT_LIMIT,
    SOFTWARE,
    Embedded,
    ForeignRecord,
    GenerationRecord,
    embed,
    file_sha256,
    read_generation,
    seed_from_logs,
    sha256_hex,
)
from seedream_widgets.schema import SeedreamInput, data_uri, input_from_record, restore_input

PROMPT = "a red fox in the snow, watercolour: soft light"
LONG_PROMPT = ("山水之间，一只红狐狸在雪夜里回望，灯笼映照着古老的石桥。" * 200)[:4000]


# -- images made at test time ------------------------------------------------------------------


def _picture(mode: str, size: tuple[int, int] = (48, 32)) -> Image.Image:
    """A small image with varied pixels (a flat colour would hide a decoding difference)."""
    width, height = size
    image = Image.new(mode, size)
    bands = len(mode)
    image.putdata([tuple((x * 37 + y * 11 + band * 71) % 256 for band in range(bands)) if bands > 1
                   else (x * 37 + y * 11) % 256 for y in range(height) for x in range(width)])
    return image


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Test Camera Co."  # Make
    exif[0x0110] = "Model T"
    return exif


MAKERS: dict[str, Callable[[], bytes]] = {
    "png-rgb": lambda: _encode(_picture("RGB"), "PNG"),
    "png-rgba": lambda: _encode(_picture("RGBA"), "PNG"),
    "jpeg": lambda: _encode(_picture("RGB"), "JPEG", quality=90),
    "jpeg-exif": lambda: _encode(_picture("RGB"), "JPEG", quality=90, exif=_camera_exif()),
    "jpeg-progressive": lambda: _encode(_picture("RGB"), "JPEG", quality=85, progressive=True),
    "webp-lossy": lambda: _encode(_picture("RGB"), "WEBP", quality=80),
    "webp-lossless-alpha": lambda: _encode(_picture("RGBA"), "WEBP", lossless=True),
    "webp-extended": lambda: _encode(_picture("RGBA"), "WEBP", quality=80),
    "webp-exif": lambda: _encode(_picture("RGB"), "WEBP", quality=80, exif=_camera_exif()),
}
FORMAT = {"png": "png", "jpe": "jpeg", "web": "webp"}


def _format(case: str) -> str:
    return FORMAT[case[:3]]


def _record(prompt: str = PROMPT, **changes: Any) -> GenerationRecord:
    fields: dict[str, Any] = {"model": "bytedance/seedream-4:e6cff243", "prediction_id": "jgphg58vscwhgj1j3nw69jk2t9",
                              "input": {"prompt": prompt, "size": "2K", "aspect_ratio": "3:2"},
                              "created_at": "2026-11-24T10:15:00Z", "logs": "Using seed 123456\nGenerating...",
                              "index": 1, "count": 2, "base_url": "https://api.replicate.com/v1"}
    fields.update(changes)
    return GenerationRecord.create(**fields)


def _pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def _verifies(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {case: make() for case, make in MAKERS.items()}


@pytest.fixture(scope="module")
def embedded(originals: dict[str, bytes]) -> dict[str, Embedded]:
    return {case: embed(data, _record()) for case, data in originals.items()}


# -- the container walkers the tests use to look inside ---------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """(type, body, stored CRC) of each chunk."""
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunk_type = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        chunks.append((chunk_type, body, struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]))
        pos += 12 + length
    return chunks


def _jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each segment before the first scan."""
    out, pos = [], 2
    while data[pos + 1] != 0xDA:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        out.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
    return out


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 12
    while pos < len(data):
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((data[pos:pos + 4], data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    assert pos == len(data), "chunks must end exactly where the RIFF does"
    return chunks


# -- embedding: pixels, Pillow, the record -----------------------------------------------------


@pytest.mark.parametrize("case", list(MAKERS))
def test_embed_keeps_pixels_and_the_record_reads_back(case: str, originals: dict[str, bytes],
                                                      embedded: dict[str, Embedded]) -> None:
    original, out = originals[case], embedded[case]
    assert out.changed and not out.skipped, out.skipped
    assert out.format == _format(case)
    assert out.data != original
    assert _pixels(out.data) == _pixels(original)
    _verifies(out.data)
    assert out.received_sha256 == sha256_hex(original)
    assert out.sha256 == sha256_hex(out.data)
    assert (out.record.width, out.record.height) == (48, 32)  # read from the image's header

    record = read_generation(out.data)
    assert record == out.record
    assert isinstance(record, GenerationRecord)
    assert record.prompt == PROMPT
    assert record.seed == 123456
    assert (record.index, record.count) == (1, 2)
    assert record.model == "bytedance/seedream-4" and record.version == "e6cff243"
    assert record.schema == RECORD_SCHEMA and record.software == SOFTWARE
    with Image.open(io.BytesIO(out.data)) as image:
        assert read_generation(image) == out.record  # from what Pillow decoded into image.info


@pytest.mark.parametrize("case", list(MAKERS))
def test_embed_reads_back_from_a_path_and_hashes_the_file(case: str, embedded: dict[str, Embedded],
                                                         tmp_path: Path) -> None:
    path = tmp_path / f"1.{_format(case)}"
    path.write_bytes(embedded[case].data)
    assert read_generation(path) == embedded[case].record
    assert read_generation(str(path)) == embedded[case].record
    assert file_sha256(path) == embedded[case].sha256


def test_png_chunks_follow_ihdr_with_right_crcs(embedded: dict[str, Embedded]) -> None:
    chunks = _png_chunks(embedded["png-rgb"].data)
    for chunk_type, body, crc in chunks:
        assert zlib.crc32(chunk_type + body) == crc, chunk_type
    types = [t for t, _, _ in chunks]
    assert types[:4] == [b"IHDR", b"iTXt", b"tEXt", b"iTXt"]
    assert types.index(b"IDAT") > 3 and types[-1] == b"IEND"
    keywords = [body.partition(b"\x00")[0] for t, body, _ in chunks if t in (b"tEXt", b"iTXt")]
    assert keywords == [b"seedream", b"parameters", b"XML:com.adobe.xmp"]
    assert embedded["png-rgb"].written == ("iTXt seedream", "tEXt parameters", "iTXt XML:com.adobe.xmp")
    with Image.open(io.BytesIO(embedded["png-rgb"].data)) as image:
        assert json.loads(image.info["seedream"])["prompt"] == PROMPT
        assert image.info["parameters"].startswith(PROMPT + "\n")


def test_jpeg_segments_sit_after_app0_and_fit(embedded: dict[str, Embedded]) -> None:
    markers = _jpeg_markers(embedded["jpeg"].data)
    assert [m for m, _ in markers[:3]] == [0xE0, 0xE1, 0xE1]
    assert markers[0][1].startswith(b"JFIF\x00")
    assert markers[1][1].startswith(b"Exif\x00\x00") and markers[2][1].startswith(b"http://ns.adobe.com/xap/1.0/\x00")
    assert all(len(payload) <= SEGMENT_LIMIT for _, payload in markers)
    assert embedded["jpeg"].written == ("APP1 EXIF UserComment", "APP1 XMP")
    with Image.open(io.BytesIO(embedded["jpeg"].data)) as image:
        comment = image.getexif().get_ifd(0x8769)[0x9286]
    assert comment[:8] == b"ASCII\x00\x00\x00" and comment[8:].decode("ascii").startswith(PROMPT + "\nModel: ")


@pytest.mark.parametrize("case", ["jpeg-exif", "webp-exif"])
def test_an_existing_exif_is_kept_and_only_xmp_is_added(case: str, originals: dict[str, bytes],
                                                        embedded: dict[str, Embedded]) -> None:
    out = embedded[case]
    assert any("already had EXIF" in note for note in out.notes)
    assert "EXIF" not in " ".join(out.written)
    with Image.open(io.BytesIO(out.data)) as image:
        assert image.getexif()[0x010F] == "Test Camera Co."
    with Image.open(io.BytesIO(originals[case])) as before:
        original_exif = before.info["exif"]
    with Image.open(io.BytesIO(out.data)) as after:
        assert after.info["exif"] == original_exif  # byte for byte


@pytest.mark.parametrize(("case", "order", "flags"), [
    ("webp-lossy", [b"VP8X", b"VP8 ", b"EXIF", b"XMP "], 0x08 | 0x04),
    ("webp-lossless-alpha", [b"VP8X", b"VP8L", b"EXIF", b"XMP "], 0x10 | 0x08 | 0x04),
    ("webp-extended", [b"VP8X", b"ALPH", b"VP8 ", b"EXIF", b"XMP "], 0x10 | 0x08 | 0x04),
    ("webp-exif", [b"VP8X", b"VP8 ", b"EXIF", b"XMP "], 0x08 | 0x04),
])
def test_webp_becomes_extended_with_a_correct_vp8x(case: str, order: list[bytes], flags: int,
                                                   originals: dict[str, bytes], embedded: dict[str, Embedded]) -> None:
    data = embedded[case].data
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks = _webp_chunks(data)
    assert [fourcc for fourcc, _ in chunks] == order
    vp8x = chunks[0][1]
    assert len(vp8x) == 10 and vp8x[0] == flags
    assert (int.from_bytes(vp8x[4:7], "little") + 1, int.from_bytes(vp8x[7:10], "little") + 1) == (48, 32)
    # The bitstream chunks are the ones received, byte for byte.
    bitstreams = {fourcc: body for fourcc, body in _webp_chunks(originals[case])
                  if fourcc in (b"VP8 ", b"VP8L", b"ALPH")}
    assert {fourcc: body for fourcc, body in chunks if fourcc in bitstreams} == bitstreams


@pytest.mark.parametrize("case", ["png-rgb", "jpeg", "webp-lossy"])
def test_embedding_again_replaces_our_own_metadata(case: str, originals: dict[str, bytes],
                                                   embedded: dict[str, Embedded]) -> None:
    again = embed(embedded[case].data, _record(prompt="another prompt"))
    assert again.notes == ()
    assert PROMPT.encode() not in again.data and again.data.count(b"another prompt") >= 2
    assert read_generation(again.data).prompt == "another prompt"  # type: ignore[union-attr]
    assert again.data == embed(originals[case], _record(prompt="another prompt")).data  # as if embedded once
    label = embed(again.data, _record(prompt="another prompt"), mode="label")
    assert b"another prompt" not in label.data and isinstance(read_generation(label.data), ForeignRecord)
    assert _pixels(label.data) == _pixels(originals[case])
    if case == "png-rgb":
        keywords = [body.partition(b"\x00")[0] for t, body, _ in _png_chunks(again.data) if t in (b"tEXt", b"iTXt")]
        assert keywords == [b"seedream", b"parameters", b"XML:com.adobe.xmp"]
    elif case == "jpeg":
        assert [p[:6] for m, p in _jpeg_markers(again.data) if m == 0xE1] == [b"Exif\x00\x00", b"http:/"]
        assert [p[:6] for m, p in _jpeg_markers(label.data) if m == 0xE1] == [b"http:/"]
    else:
        assert [f for f, _ in _webp_chunks(again.data)] == [b"VP8X", b"VP8 ", b"EXIF", b"XMP "]
        assert [f for f, _ in _webp_chunks(label.data)] == [b"VP8X", b"VP8 ", b"XMP "]
        assert _webp_chunks(label.data)[0][1][0] == 0x04  # the EXIF flag cleared with its chunk


def test_an_existing_foreign_xmp_packet_gets_ours_added() -> None:
    theirs = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
              b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Studio X"/></rdf:RDF>'
              b'</x:xmpmeta><?xpacket end="w"?>')
    original = _encode(_picture("RGB"), "WEBP", quality=80, xmp=theirs)
    out = embed(original, _record())
    assert any("already had an XMP packet" in note for note in out.notes)
    packet = dict(_webp_chunks(out.data))[b"XMP "]
    assert b'photoshop:Credit="Studio X"' in packet and b"trainedAlgorithmicMedia" in packet
    assert read_generation(out.data) == out.record
    assert _pixels(out.data) == _pixels(original)
    again = embed(out.data, _record(prompt="another prompt"), mode="label")  # ours replaced, theirs kept
    packet = dict(_webp_chunks(again.data))[b"XMP "]
    assert b'photoshop:Credit="Studio X"' in packet and packet.count(b"<rdf:Description") == 2
    assert packet.count(b"DigitalSourceType") == 1 and PROMPT.encode() not in packet


def test_a_foreign_packet_keeps_its_own_label_and_tool() -> None:
    theirs = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
              'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Upstream Generator 2">'
              f'<Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>'
              '</rdf:Description></rdf:RDF></x:xmpmeta>')
    original = _encode(_picture("RGB"), "JPEG", xmp=theirs.encode())
    out = embed(original, _record())
    assert any("its own CreatorTool, DigitalSourceType kept" in note for note in out.notes)
    packet = next(p for m, p in _jpeg_markers(out.data) if p.startswith(b"http://ns.adobe.com/xap/1.0/\x00"))
    assert packet.count(b"DigitalSourceType") == 2 and packet.count(b"CreatorTool") == 1  # an element: open + close
    assert b"AISystemUsed" in packet and read_generation(out.data) == out.record


def test_a_cameras_user_comment_is_not_a_generation() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00Processed by the camera: HDR on"
    assert read_generation(_encode(_picture("RGB"), "JPEG", exif=exif)) is None


# -- what an outside reader sees ----------------------------------------------------------------


def _exiftool(paths: list[Path]) -> dict[str, dict[str, Any]]:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)")
    # `-j -G` with every tag (-all:all), plus exiftool's own structure checks (-validate).
    done = subprocess.run([exiftool, "-j", "-G", "-a", "-all:all", "-validate", *map(str, paths)],
                          capture_output=True, text=True, timeout=60, check=False)
    return {Path(entry["SourceFile"]).name: entry for entry in json.loads(done.stdout)}


def test_exiftool_sees_the_ai_label_and_the_prompt(embedded: dict[str, Embedded], tmp_path: Path) -> None:
    paths = []
    for case, out in embedded.items():
        paths.append(tmp_path / f"{case}.{_format(case)}")
        paths[-1].write_bytes(out.data)
    seen = _exiftool(paths)
    for case in embedded:
        tags = seen[f"{case}.{_format(case)}"]
        assert tags["XMP:DigitalSourceType"] == DIGITAL_SOURCE_TYPE, case
        assert tags["XMP:AISystemUsed"] == "bytedance/seedream-4", case
        assert tags["XMP:AISystemVersionUsed"] == "e6cff243", case
        assert tags["XMP:AIPromptInformation"] == PROMPT, case
        assert tags["XMP:Description"] == PROMPT, case
        assert tags["XMP:Identifier"] == "jgphg58vscwhgj1j3nw69jk2t9", case
        assert tags["XMP:CreatorTool"] == SOFTWARE, case
        assert json.loads(tags["XMP:Record"])["prompt"] == PROMPT, case
        if case.endswith("-exif"):
            assert tags["EXIF:Make"] == "Test Camera Co.", case  # the file's own EXIF, kept
        else:
            assert tags["EXIF:UserComment" if not case.startswith("png") else "PNG:Parameters"].startswith(PROMPT)
            assert tags["ExifTool:Validate"] == "OK", (case, tags.get("ExifTool:Warning"))


def test_exiftool_reads_a_long_non_latin_prompt(tmp_path: Path) -> None:
    paths = []
    for fmt, data in (("png", MAKERS["png-rgb"]()), ("jpeg", MAKERS["jpeg"]()), ("webp", MAKERS["webp-lossy"]())):
        paths.append(tmp_path / f"long.{fmt}")
        paths[-1].write_bytes(embed(data, _record(prompt=LONG_PROMPT)).data)
    for name, tags in _exiftool(paths).items():
        assert tags["XMP:AIPromptInformation"] == LONG_PROMPT, name
        if name.endswith(".jpeg"):
            assert tags["EXIF:UserComment"].startswith(LONG_PROMPT), name


# -- label only ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["png-rgb", "jpeg", "webp-lossy", "webp-lossless-alpha"])
def test_label_mode_writes_the_ai_label_and_no_prompt(case: str, originals: dict[str, bytes]) -> None:
    prompt = "a secret plan for a lighthouse " + secrets.token_hex(8)
    out = embed(originals[case], _record(prompt=prompt), mode="label")
    assert out.mode == "label" and out.changed
    assert prompt.encode() not in out.data and prompt.encode("utf-16-be") not in out.data
    assert b"jgphg58vscwhgj1j3nw69jk2t9" not in out.data  # nor the prediction id
    assert DIGITAL_SOURCE_TYPE.encode() in out.data and b"bytedance/seedream-4" in out.data
    assert b"parameters" not in out.data and b"seedream:record" not in out.data and b"Exif\x00\x00" not in out.data
    assert len(out.written) == (2 if case.startswith("webp") else 1)  # VP8X (for WebP) and the XMP
    assert _pixels(out.data) == _pixels(originals[case])
    _verifies(out.data)
    label = read_generation(out.data)
    assert isinstance(label, ForeignRecord)
    assert label.prompt == "" and label.model == "bytedance/seedream-4"
    assert label.settings["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    with pytest.raises(ValidationError):
        input_from_record(label)


# -- files left alone -----------------------------------------------------------------------------

_JUMBF = (struct.pack(">I", 8 + 8 + 16 + 1 + 5) + b"jumb" + struct.pack(">I", 8 + 16 + 1 + 5) + b"jumd"
          + bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03" + b"c2pa\x00")
"""A JUMBF superbox whose description box labels it ``c2pa`` (what a C2PA manifest store starts with)."""


def _c2pa_jpeg() -> bytes:
    data = MAKERS["jpeg"]()
    app11 = b"JP" + struct.pack(">HI", 1, 1) + _JUMBF
    segment = b"\xff\xeb" + struct.pack(">H", len(app11) + 2) + app11
    return data[:2] + segment + data[2:]


def _c2pa_png() -> bytes:
    data = MAKERS["png-rgb"]()
    ihdr_end = 8 + 12 + 13
    chunk = struct.pack(">I", len(_JUMBF)) + b"caBX" + _JUMBF + struct.pack(">I", zlib.crc32(b"caBX" + _JUMBF))
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def _c2pa_webp() -> bytes:
    data = MAKERS["webp-extended"]()
    chunk = b"C2PA" + struct.pack("<I", len(_JUMBF)) + _JUMBF + b"\x00" * (len(_JUMBF) & 1)
    body = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(("make", "where"), [(_c2pa_jpeg, "APP11 JUMBF"), (_c2pa_png, "caBX"),
                                              (_c2pa_webp, "C2PA chunk")])
def test_a_file_with_c2pa_credentials_is_returned_unchanged(make: Callable[[], bytes], where: str) -> None:
    data = make()
    _verifies(data)  # the marked file is itself a valid image
    for mode in ("full", "label"):
        out = embed(data, _record(), mode=mode)
        assert out.data == data
        assert not out.changed and out.written == ()
        assert "C2PA" in out.skipped and where in out.skipped and "signature" in out.skipped
        assert out.sha256 == out.received_sha256 == sha256_hex(data)


@pytest.mark.parametrize(("make", "named"), [
    (lambda: _encode(_picture("RGB"), "GIF"), "GIF"),
    (lambda: _encode(_picture("RGB"), "BMP"), "BMP"),
    (lambda: b"not an image at all", "not a PNG, JPEG or WebP"),
    (lambda: MAKERS["png-rgb"]()[:60], "PNG structure could not be read"),
    (lambda: MAKERS["jpeg"]()[:30], "JPEG structure could not be read"),
])
def test_other_or_broken_files_are_returned_unchanged(make: Callable[[], bytes], named: str) -> None:
    data = make()
    out = embed(data, _record())
    assert out.data == data and not out.changed
    assert named in out.skipped and "unchanged" in out.skipped


def test_an_image_without_metadata_reads_as_none(originals: dict[str, bytes]) -> None:
    for case in ("png-rgb", "jpeg", "webp-lossy"):
        assert read_generation(originals[case]) is None
    assert read_generation(b"GIF89a") is None
    with pytest.raises(TypeError):
        read_generation(12)


# -- privacy ------------------------------------------------------------------------------------------


def test_no_token_or_data_uri_bytes_reach_the_files(originals: dict[str, bytes]) -> None:
    sentinel = "r8_" + secrets.token_urlsafe(24)
    inline = data_uri(originals["png-rgb"] + sentinel.encode(), "image/png")
    record = GenerationRecord.create(
        model="bytedance/seedream-4", prediction_id="p1", secrets=[sentinel],
        input={"prompt": PROMPT, "image_input": [inline, f"https://files.example/a.png?sig={sentinel}&w=1"],
               "note": f"Authorization: Bearer {sentinel}"},
        base_url=f"https://user:{sentinel}@proxy.example/v1?token={sentinel}#{sentinel}")
    text = record.to_json() + record.parameters_text() + repr(record)
    assert text.count(sentinel) == 0
    assert inline.partition(",")[2] not in text
    assert record.base_url == "https://proxy.example/v1"
    assert record.input["image_input"][0].startswith("data:image/png;sha256=")
    assert record.input["image_input"][1] == "https://files.example/a.png?w=1"
    encoded_sentinel = base64.b64encode(sentinel.encode())
    for case in ("png-rgb", "jpeg", "webp-lossy"):
        out = embed(originals[case], record).data
        for form in (sentinel.encode(), sentinel.encode("utf-16-be"), sentinel.encode("utf-16-le"), encoded_sentinel,
                     inline.partition(",")[2].encode()):
            assert out.count(form) == 0, case


def test_a_record_built_directly_is_redacted_too() -> None:
    sentinel = secrets.token_hex(16)
    inline = "data:image/png;base64," + base64.b64encode(sentinel.encode() * 4).decode()
    record = GenerationRecord(model="m/x", prompt="p", input={"prompt": "p", "image_input": [inline]},
                              base_url=f"http://a:{sentinel}@localhost:8000/v1")
    assert sentinel not in record.to_json() and inline not in record.to_json()
    assert record.base_url == "http://localhost:8000/v1"


# -- long and non-Latin prompts ------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["png-rgb", "jpeg", "webp-lossy"])
def test_a_long_non_latin_prompt_round_trips(case: str, originals: dict[str, bytes]) -> None:
    out = embed(originals[case], _record(prompt=LONG_PROMPT))
    assert out.notes == () and out.record.truncated == ()
    record = read_generation(out.data)
    assert isinstance(record, GenerationRecord) and record.prompt == LONG_PROMPT and record == out.record
    assert _pixels(out.data) == _pixels(originals[case])
    _verifies(out.data)
    if case == "png-rgb":
        with Image.open(io.BytesIO(out.data)) as image:
            assert image.info["parameters"].startswith(LONG_PROMPT)  # an iTXt chunk: not Latin-1
        assert b"iTXt parameters" in " ".join(out.written).encode()
    if case == "jpeg":  # UTF-16 in the TIFF's byte order (big-endian: "MM"), as the Exif spec reads it
        with Image.open(io.BytesIO(out.data)) as image:
            assert image.getexif().endian == ">"
            comment = image.getexif().get_ifd(0x8769)[0x9286]
        assert comment[:8] == b"UNICODE\x00" and comment[8:].decode("utf-16-be").startswith(LONG_PROMPT + "\n")


def test_a_prompt_too_long_for_a_jpeg_segment_is_shortened_and_said(originals: dict[str, bytes]) -> None:
    huge = LONG_PROMPT * 8  # 32,000 characters, 96 KB in UTF-8
    out = embed(originals["jpeg"], _record(prompt=huge))
    assert out.changed and out.record.truncated == ("prompt",)
    assert any("shortened to fit a JPEG segment" in note for note in out.notes)
    assert all(len(payload) <= SEGMENT_LIMIT for _, payload in _jpeg_markers(out.data))
    record = read_generation(out.data)
    assert isinstance(record, GenerationRecord) and record.truncated == ("prompt",)
    assert huge.startswith(record.prompt.rstrip("…")) and 5000 < len(record.prompt) < len(huge)
    _verifies(out.data)
    whole = embed(originals["png-rgb"], _record(prompt=huge))  # PNG chunks have no such limit
    assert whole.record.truncated == () and read_generation(whole.data).prompt == huge  # type: ignore[union-attr]
    with pytest.warns(SeedreamWarning, match="shortened"):
        input_from_record(record)


# -- the record itself --------------------------------------------------------------------------------


def test_record_json_round_trip_and_shape() -> None:
    record = _record(demo=True, size=(2496, 1664))
    data = json.loads(record.to_json())
    assert data["schema"] == "seedream-widgets/generation@1"
    assert data["seed"] == 123456 and data["width"] == 2496 and data["index"] == 1 and data["count"] == 2
    assert data["input"] == {"prompt": PROMPT, "size": "2K", "aspect_ratio": "3:2"}
    assert GenerationRecord.from_json(record.to_json()) == record
    assert GenerationRecord.from_json(data) == record
    data = record.to_dict()
    assert pickle.loads(pickle.dumps(record)) == record
    data["input"]["size"] = "4K"  # to_dict gives a copy: the record stays as it was
    assert record.input["size"] == "2K"
    with pytest.raises(ValueError, match="not a seedream-widgets"):
        GenerationRecord.from_json('{"schema": "something/else@1"}')
    with pytest.raises(ValueError, match="newer"):
        GenerationRecord.from_json({**data, "schema": "seedream-widgets/generation@2"})


def test_parameters_text_has_automatic1111s_shape() -> None:
    record = _record(size=(2496, 1664))
    prompt, line = record.parameters_text().rsplit("\n", 1)
    assert prompt == PROMPT
    assert line == ('Model: bytedance/seedream-4, Size: 2496x1664, Aspect ratio: "3:2", Seed: 123456, '
                    'Prediction: jgphg58vscwhgj1j3nw69jk2t9, Version: e6cff243, Software: ' + SOFTWARE
                    + ', Image: 1 of 2, Created: "2026-11-24T10:15:00Z", Size preset: 2K')
    # AUTOMATIC1111's own splitter (modules/infotext_utils.py) finds every pair.
    a1111 = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
    assert [key for key, _ in a1111.findall(line)][:4] == ["Model", "Size", "Aspect ratio", "Seed"]


def test_a_record_without_its_xmp_is_rebuilt_from_the_user_comment(embedded: dict[str, Embedded]) -> None:
    # A tool that drops XMP but keeps EXIF: the parameters text still names our software.
    stripped = b"".join(b"\xff" + bytes((m,)) + struct.pack(">H", len(p) + 2) + p
                        for m, p in _jpeg_markers(embedded["jpeg"].data) if not p.startswith(b"http://ns.adobe"))
    data = embedded["jpeg"].data
    scan = data.index(b"\xff\xda")
    record = read_generation(b"\xff\xd8" + stripped + data[scan:])
    assert isinstance(record, GenerationRecord)
    assert (record.prompt, record.model, record.version, record.seed) == (PROMPT, "bytedance/seedream-4", "e6cff243",
                                                                          123456)
    assert record.prediction_id == "jgphg58vscwhgj1j3nw69jk2t9" and (record.width, record.height) == (48, 32)
    assert record.input["size"] == "2K" and record.input["aspect_ratio"] == "3:2"


@pytest.mark.parametrize(("logs", "seed"), [
    ("Using seed 42\nGenerating", 42), ("INFO using seed: 7", 7), ("Using seed=-3", -3), ("no seed here", None),
    ("", None),
])
def test_seed_from_logs(logs: str, seed: int | None) -> None:
    assert seed_from_logs(logs) == seed


# -- other tools' files -----------------------------------------------------------------------------

A1111_TEXT = ("a castle on a hill, golden hour, (masterpiece:1.2)\nNegative prompt: blurry, lowres\n"
              "Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 1536x1024, Model hash: 31e35c80fc, "
              'Model: sd_xl_base_1.0, Lora hashes: "detail: abc, light: def", Version: v1.10.1')


def test_an_automatic1111_png_is_read() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    record = read_generation(_encode(_picture("RGB"), "PNG", pnginfo=info))
    assert isinstance(record, ForeignRecord) and record.tool == "AUTOMATIC1111"
    assert record.prompt == "a castle on a hill, golden hour, (masterpiece:1.2)"
    assert record.fields == {"prompt": record.prompt, "size": "custom", "width": 1536, "height": 1024}
    assert record.settings["Seed"] == "1234" and record.settings["Steps"] == "20"
    assert record.settings["Negative prompt"] == "blurry, lowres"
    assert record.settings["Lora hashes"] == "detail: abc, light: def"
    assert record.model == "sd_xl_base_1.0" and record.text == A1111_TEXT
    with pytest.warns(SeedreamWarning) as caught:
        restored = input_from_record(record)
    assert [str(w.message).split(";")[0] for w in caught] == [
        "Seedream has no negative prompt",
        "no Seedream equivalent for Steps, Sampler, CFG scale, Seed, Model hash, Model, Lora hashes, Version"]
    assert restored.to_payload() == {"prompt": record.prompt, "size": "custom", "width": 1536, "height": 1024}


def test_a_small_automatic1111_size_maps_to_the_closest_aspect_ratio() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse\nSteps: 30, Seed: 5, Size: 512x768")
    record = read_generation(_encode(_picture("RGB"), "PNG", pnginfo=info))
    assert isinstance(record, ForeignRecord)
    assert record.fields == {"prompt": "a lighthouse", "aspect_ratio": "2:3"}


def test_an_automatic1111_jpeg_user_comment_is_read() -> None:
    # Pillow writes a little-endian TIFF; A1111 (piexif) writes UTF-16 big-endian whatever the order.
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + "雪山 at dawn\nSteps: 20, Seed: 9, Size: 1024x1024".encode(
        "utf-16-be")
    record = read_generation(_encode(_picture("RGB"), "JPEG", exif=exif))
    assert isinstance(record, ForeignRecord) and record.tool == "AUTOMATIC1111"
    assert record.prompt == "雪山 at dawn" and record.settings["Seed"] == "9"
    assert record.fields["width"] == record.fields["height"] == 1024


COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 156680208700286, "steps": 20, "cfg": 8,
                                               "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
                                               "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                                               "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "beautiful scenery nature glass bottle landscape",
                                                     "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}


def test_a_comfyui_png_is_read() -> None:
    workflow = {"nodes": [{"id": 6, "type": "CLIPTextEncode", "widgets_values": ["beautiful scenery"]}], "links": []}
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(COMFY_PROMPT))
    info.add_text("workflow", json.dumps(workflow))
    record = read_generation(_encode(_picture("RGB"), "PNG", pnginfo=info))
    assert isinstance(record, ForeignRecord) and record.tool == "ComfyUI"
    assert record.prompt == "beautiful scenery nature glass bottle landscape"
    assert record.fields["aspect_ratio"] == "1:1"
    assert record.settings["Negative prompt"] == "text, watermark" and record.settings["seed"] == "156680208700286"
    assert record.model == "v1-5-pruned-emaonly.safetensors"
    assert json.loads(record.text) == COMFY_PROMPT and set(record.raw) == {"prompt", "workflow"}


def test_a_comfyui_workflow_only_png_with_one_text_is_read() -> None:
    workflow = {"nodes": [{"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a quiet harbour"]},
                          {"id": 3, "type": "KSampler", "widgets_values": [1, "fixed", 20]}]}
    info = PngImagePlugin.PngInfo()
    info.add_text("workflow", json.dumps(workflow))
    record = read_generation(_encode(_picture("RGB"), "PNG", pnginfo=info))
    assert isinstance(record, ForeignRecord) and record.prompt == "a quiet harbour"


def test_a_comfyui_graph_with_no_clear_prompt_keeps_the_text() -> None:
    graph = {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "one"}},
             "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "two"}}}
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(graph))
    record = read_generation(_encode(_picture("RGB"), "PNG", pnginfo=info))
    assert isinstance(record, ForeignRecord) and record.prompt == ""
    assert "no clear positive" in record.notes[0] and '"two"' in record.text


# -- settings restored from an image ----------------------------------------------------------------


def test_the_input_is_rebuilt_for_the_recorded_model(originals: dict[str, bytes]) -> None:
    inline = data_uri(originals["png-rgb"], "image/png")
    record = read_generation(embed(originals["png-rgb"], GenerationRecord.create(
        model="bytedance/seedream-4", input={"prompt": PROMPT, "size": "custom", "width": 1536, "height": 1024,
                                             "image_input": [inline, "https://files.example/in.png"],
                                             "enhance_prompt": False})).data)
    assert isinstance(record, GenerationRecord)
    with pytest.warns(SeedreamWarning, match="sent inline"):
        restored = input_from_record(record)
    assert isinstance(restored, SeedreamInput) and restored.model == "bytedance/seedream-4"
    assert restored.to_payload() == {"prompt": PROMPT, "image_input": ["https://files.example/in.png"],
                                     "size": "custom", "width": 1536, "height": 1024, "enhance_prompt": False}

    five, notes = restore_input(record, model="bytedance/seedream-5-lite")
    assert five.model == "bytedance/seedream-5-lite"
    assert five.to_payload() == {"prompt": PROMPT, "image_input": ["https://files.example/in.png"],
                                 "aspect_ratio": "3:2"}
    assert any("no custom size" in note for note in notes)
    assert any("enhance_prompt is not a field" in note for note in notes)


def test_a_plain_record_restores_without_notes(embedded: dict[str, Embedded]) -> None:
    record = read_generation(embedded["webp-lossy"].data)
    assert isinstance(record, GenerationRecord)
    restored, notes = restore_input(record)
    assert notes == ()
    assert restored == SeedreamInput(PROMPT, size="2K", aspect_ratio="3:2")
    unsupported, notes = restore_input(record, model="bytedance/seedream-4.5")
    assert unsupported.to_payload() == {"prompt": PROMPT, "size": "2K", "aspect_ratio": "3:2"} and notes == ()
    three = GenerationRecord.create(model="bytedance/seedream-5-lite", input={"prompt": "x", "size": "3K"})
    back, notes = restore_input(three, model="bytedance/seedream-4")
    assert back.to_payload() == {"prompt": "x"} and "size='3K' left out" in notes[0]


def test_an_unknown_model_needs_its_schema() -> None:
    record = GenerationRecord.create(model="someone/other-model", input={"prompt": "x"})
    with pytest.raises(ValidationError, match="no built-in schema"):
        input_from_record(record)
    assert input_from_record(record, model="bytedance/seedream-4").prompt == "x"
