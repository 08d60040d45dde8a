"""`seedream_widgets.images`: input images to data URIs, checked output downloads, thumbnails."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from seedream_widgets.errors import OutputError, OutputExpired, ValidationError
from seedream_widgets.images import (
    SavedImage,
    TransientOutputError,
    describe_uri,
    download_image,
    sniff_mime,
    thumbnail,
    to_image_uri,
)


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(size: tuple[int, int] = (64, 48)) -> Image.Image:
    # Random pixels: a JPEG of them is long enough that cutting it short loses real image data.
    return Image.frombytes("RGB", size, bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3)))


PNG = encoded(Image.new("RGB", (30, 20), "teal"), "PNG")
JPEG = encoded(noise(), "JPEG", quality=90)
GIF = encoded(Image.new("P", (5, 5)), "GIF")
WEBP = encoded(Image.new("RGB", (8, 8), "red"), "WEBP")
HTML = b"<!doctype html><html><body>Access denied</body></html>"


def decoded(uri: str) -> tuple[str, bytes]:
    head, _, data = uri.partition(",")
    assert head.endswith(";base64")
    return head.removeprefix("data:").removesuffix(";base64"), base64.b64decode(data)


# -- sniffing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("head", "mime"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (b"GIF87a" + b"\x00" * 10, "image/gif"),
    (WEBP, "image/webp"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFX\x00\x00\x00\x00WEBPVP8 ", None),  # WEBP at offset 8 without RIFF is not WebP
    (b"\x00\x00\x00\x00\x00\x00\x00\x00WEBP", None),
    (HTML, None), (b"", None), (b"\x89PN", None), (b"\xff\xd8", None),
])
def test_sniff_mime_reads_the_first_bytes(head: bytes, mime: str | None) -> None:
    assert sniff_mime(head[:16]) == mime


# -- input images ------------------------------------------------------------------------------------


def test_a_path_becomes_a_data_uri_of_its_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "photo.bin"  # the name does not decide the type, the bytes do
    path.write_bytes(JPEG)
    for source in (path, str(path)):
        assert decoded(to_image_uri(source)) == ("image/jpeg", JPEG)


def test_a_relative_path_with_a_colon_is_a_file_not_a_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("shot:1.png").write_bytes(PNG)
    assert decoded(to_image_uri("shot:1.png")) == ("image/png", PNG)
    assert "scheme 'shot:' is not allowed" in refused("shot:2.png"), "missing: read as a scheme, and refused"


def test_bytes_and_bytearray_and_memoryview_become_data_uris() -> None:
    for source in (PNG, bytearray(PNG), memoryview(PNG)):
        assert decoded(to_image_uri(source)) == ("image/png", PNG)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK"])
def test_a_pil_image_becomes_a_png_data_uri(mode: str) -> None:
    image = Image.new(mode, (12, 7))
    mime, data = decoded(to_image_uri(image))
    assert mime == "image/png"
    with Image.open(io.BytesIO(data)) as back:
        assert back.size == (12, 7) and back.format == "PNG"


@pytest.mark.parametrize("uri", [
    "https://example.com/cat.png", "http://example.com/cat", "HTTPS://EXAMPLE.COM/CAT.PNG",
    "data:image/png;base64,iVBORw0KGgo=",
])
def test_urls_and_data_uris_pass_unchanged(uri: str) -> None:
    assert to_image_uri(uri) == uri


def test_a_previous_result_is_read_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "1.png"
    path.write_bytes(PNG)

    class Earlier:
        def __init__(self, path: Path) -> None:
            self.path = path

    assert decoded(to_image_uri(Earlier(path))) == ("image/png", PNG)


def refused(source: Any, **options: Any) -> str:
    with pytest.raises(ValidationError) as info:
        to_image_uri(source, **options)
    assert info.value.fields == ("image_input",)
    return str(info.value)


@pytest.mark.parametrize(("source", "scheme"), [
    ("file:///etc/passwd", "file:"), ("javascript:alert(1)", "javascript:"), ("ftp://host/x.png", "ftp:"),
])
def test_other_schemes_are_refused(source: str, scheme: str) -> None:
    assert f"scheme '{scheme}' is not allowed" in refused(source)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    message = refused(tmp_path / "nope.png")
    assert "nope.png" in message and "cannot read" in message


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert "is not a file" in refused(tmp_path)


def test_a_file_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    path.write_bytes(HTML)
    assert "is not an image" in refused(path)
    assert "is not an image" in refused(HTML)


def test_oversize_inputs_are_refused_before_they_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(JPEG)
    limit = len(JPEG) - 1
    assert "MB" in refused(path, max_bytes=limit) and "at most" in refused(path, max_bytes=limit)
    assert "at most" in refused(JPEG, max_bytes=limit)
    uri = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert "at most" in refused(uri, max_bytes=limit)
    assert to_image_uri(path, max_bytes=len(JPEG)).startswith("data:image/jpeg;base64,"), "the limit is inclusive"


def test_other_objects_are_refused() -> None:
    assert "cannot use a int" in refused(42)


def test_describe_uri_is_short_and_identifies_the_bytes() -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    described = describe_uri(uri)
    digest = hashlib.sha256(uri.partition(",")[2].encode()).hexdigest()[:16]
    assert described.startswith(f"data:image/png;sha256={digest};bytes=")
    assert abs(int(described.rsplit("=", 1)[1]) - len(PNG)) <= 2
    assert describe_uri(described) == described and describe_uri("https://x/y.png") == "https://x/y.png"


# -- output downloads ----------------------------------------------------------------------------------


URL = "https://files.example.test/p1/0"


def download(tmp_path: Path, answer: Callable[[httpx.Request], httpx.Response], url: str = URL,
             **options: Any) -> tuple[SavedImage, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    async def main() -> SavedImage:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await download_image(http, url, tmp_path / "1", prediction_id="p1", **options)

    return asyncio.run(main()), seen


def failed(tmp_path: Path, answer: Callable[[httpx.Request], httpx.Response], error: type[OutputError],
           url: str = URL, **options: Any) -> OutputError:
    with pytest.raises(error) as info:
        download(tmp_path, answer, url, **options)
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert list(tmp_path.iterdir()) == [], "nothing is left at dest (no partial file either)"
    assert info.value.prediction_id == "p1"
    return info.value


@pytest.mark.parametrize(("data", "mime", "suffix", "size"), [
    (PNG, "image/png", ".png", (30, 20)), (JPEG, "image/jpeg", ".jpg", (64, 48)), (WEBP, "image/webp", ".webp", (8, 8)),
])
def test_a_good_image_is_saved_with_the_extension_of_its_bytes(tmp_path: Path, data: bytes, mime: str, suffix: str,
                                                               size: tuple[int, int]) -> None:
    # The Content-Type lies: the bytes decide.
    saved, seen = download(tmp_path, lambda r: httpx.Response(200, content=data,
                                                              headers={"Content-Type": "application/octet-stream"}))
    assert saved.path == tmp_path / f"1{suffix}" and saved.path.read_bytes() == data
    assert (saved.mime, (saved.width, saved.height), saved.bytes) == (mime, size, len(data))
    assert saved.sha256 == hashlib.sha256(data).hexdigest() and saved.url == URL
    assert [p.name for p in tmp_path.iterdir()] == [saved.path.name]
    assert "Authorization" not in seen[0].headers


def test_a_jpeg_with_bytes_after_its_end_marker_is_kept(tmp_path: Path) -> None:
    saved, _ = download(tmp_path, lambda r: httpx.Response(200, content=JPEG + b"\x00trailer"))
    assert saved.mime == "image/jpeg" and saved.bytes == len(JPEG) + 8


def test_a_truncated_jpeg_is_a_transient_error(tmp_path: Path) -> None:
    error = failed(tmp_path, lambda r: httpx.Response(200, content=JPEG[: len(JPEG) * 2 // 3]), TransientOutputError)
    assert "truncated" in str(error) and "p1" in str(error)


def test_html_bytes_are_not_an_image(tmp_path: Path) -> None:
    error = failed(tmp_path, lambda r: httpx.Response(200, content=HTML, headers={"Content-Type": "image/png"}),
                   OutputError)
    assert "not an image" in str(error) and error.url == URL


def test_a_corrupt_png_is_refused(tmp_path: Path) -> None:
    corrupt = PNG[:16] + b"\x00" * (len(PNG) - 16)
    assert "not a valid image/png" in str(failed(tmp_path, lambda r: httpx.Response(200, content=corrupt),
                                                 OutputError))


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_output_has_expired(tmp_path: Path, status: int) -> None:
    error = failed(tmp_path, lambda r: httpx.Response(status, text="gone"), OutputExpired)
    assert "hour" in str(error) and str(status) in str(error)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_retryable_status_is_a_transient_error_with_retry_after(tmp_path: Path, status: int) -> None:
    error = failed(tmp_path, lambda r: httpx.Response(status, headers={"Retry-After": "7"}), TransientOutputError)
    assert isinstance(error, TransientOutputError) and error.retry_after == 7.0


def test_a_forbidden_output_is_an_output_error(tmp_path: Path) -> None:
    assert "403" in str(failed(tmp_path, lambda r: httpx.Response(403), OutputError))


def test_a_connection_failure_is_a_transient_error(tmp_path: Path) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    assert "ReadError" in str(failed(tmp_path, drop, TransientOutputError))


def test_an_oversize_content_length_is_refused_before_reading(tmp_path: Path) -> None:
    error = failed(tmp_path, lambda r: httpx.Response(200, content=JPEG), OutputError, max_bytes=len(JPEG) - 1)
    assert "limit" in str(error)


def test_an_oversize_body_without_content_length_is_cut_off(tmp_path: Path) -> None:
    chunks: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        yield JPEG[:1000]
        for _ in range(100):  # 6.4 MB in all, read 256 KB at a time
            chunks.append(1)
            yield b"\x00" * 65536

    error = failed(tmp_path, lambda r: httpx.Response(200, content=endless()), OutputError, max_bytes=5000)
    assert "larger than" in str(error)
    assert len(chunks) <= 8, "stopped reading within one 256 KB read past the limit"


def test_a_data_uri_output_is_decoded_and_verified_without_a_request(tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    saved, seen = download(tmp_path, lambda r: httpx.Response(500), url=uri)
    assert seen == []
    assert saved.path == tmp_path / "1.png" and saved.path.read_bytes() == PNG
    assert (saved.width, saved.height) == (30, 20)
    assert saved.url == describe_uri(uri), "the sidecar names an inline image, it does not carry it"


@pytest.mark.parametrize(("uri", "match"), [
    ("data:image/png," + "%89PNG", "not a base64"),
    ("data:image/png;base64,@@@not-base64@@@", "not valid base64"),
    ("data:image/png;base64," + base64.b64encode(HTML).decode(), "not an image"),
    ("data:image/jpeg;base64," + base64.b64encode(JPEG[: len(JPEG) // 2]).decode(), "truncated"),
])
def test_a_bad_data_uri_output_is_refused(tmp_path: Path, uri: str, match: str) -> None:
    # A truncated inline image stays truncated: a plain OutputError, not worth retrying.
    assert match in str(failed(tmp_path, lambda r: httpx.Response(500), OutputError, url=uri))


def test_an_oversize_data_uri_output_is_refused(tmp_path: Path) -> None:
    uri = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert "limit" in str(failed(tmp_path, lambda r: httpx.Response(500), OutputError, url=uri,
                                 max_bytes=len(JPEG) // 2))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://x/y.png"])
def test_other_output_schemes_are_refused_without_a_request(tmp_path: Path, url: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG)

    assert "only http(s)" in str(failed(tmp_path, answer, OutputError, url=url))
    assert seen == []


# -- thumbnails ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "max_px", "expected"), [
    ((1000, 500), 100, (100, 50)), ((300, 900), 90, (30, 90)), ((40, 30), 512, (40, 30)),
])
def test_thumbnail_fits_the_long_side_and_is_a_jpeg(tmp_path: Path, size: tuple[int, int], max_px: int,
                                                    expected: tuple[int, int]) -> None:
    path = tmp_path / "in.png"
    Image.new("RGBA", size, (10, 20, 30, 128)).save(path)
    for source in (path, io.BytesIO(path.read_bytes())):
        data, mime = thumbnail(source, max_px=max_px)
        assert mime == "image/jpeg"
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.format == "JPEG" and thumb.size == expected and thumb.mode == "RGB"
