"""Images in and out: input images to data URIs, output downloads checked and streamed to disk, thumbnails.

Replicate's guidance for inputs: a data URI is fine for files up to a few MB
(the service caps request bodies; above about 10 MB host the file and pass a
URL). Seedream accepts JPEG and PNG inputs with sides over 14 px and aspect
ratios from 1:3 to 3:1.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import httpx

from .errors import InvalidField as _Invalid
from .errors import OutputError, OutputExpired, ValidationError
from .protocol import RETRYABLE_STATUSES, retry_after_seconds

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["MAX_INPUT_BYTES", "MAX_OUTPUT_BYTES", "ImageSource", "SavedImage", "download_image", "sniff_mime",
           "thumbnail", "to_image_uri"]

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""Largest local input image sent inline as a data URI (the service's request cap is about this)."""
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
"""Largest output image the client will download (a 4K PNG is about 25 MB)."""
THUMBNAIL_PX = 512

ImageSource = Any
"""A path, `pathlib.Path`, bytes, PIL image, http(s) URL or data URI (or a `Result`'s image)."""

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


def sniff_mime(head: bytes) -> str | None:
    """The image type from the first bytes (never from a file name or a Content-Type).

    >>> sniff_mime(b"\\x89PNG\\r\\n\\x1a\\n....")
    'image/png'
    """
    for magic, offset, mime in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic and (mime != "image/webp" or head[:4] == b"RIFF"):
            return mime
    return None


def _invalid(description: str, value: Any) -> ValidationError:
    return ValidationError([_Invalid("image_input", description, "format", value,
                                     "image files, bytes, PIL images, http(s) URLs or data: URIs")])


def to_image_uri(source: ImageSource, *, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """An input image as the service wants it: URLs and data URIs as they are, anything local inline.

    >>> to_image_uri("https://example.com/cat.png")
    'https://example.com/cat.png'
    """
    # A previous run's image: use its file on disk (the service's URL may have expired).
    path_attr = getattr(source, "path", None)
    if isinstance(path_attr, Path):
        source = path_attr
    if isinstance(source, str):
        lowered = source[:12].lower()
        if lowered.startswith("data:") and decoded_size(source) > max_bytes:
            raise _invalid(f"a data: URI of about {len(source) * 3 / 4 / 1e6:.1f} MB; inline images may be at most "
                           f"{max_bytes / 1e6:.0f} MB (resize it, or host it and pass the URL)", source[:40] + "...")
        if lowered.startswith(("http://", "https://", "data:")):
            return source
        if ":" in source[:12] and not os.path.exists(source) and not (len(source) > 1 and source[1] == ":"):
            scheme = source.split(":", 1)[0]
            raise _invalid(f"scheme '{scheme}:' is not allowed for {source[:40]!r}; use a file path, "
                           "an http(s) URL or a data: URI", source[:80])
        source = Path(source)
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise _invalid(f"cannot read {str(source)!r}: {exc.strerror or exc}", str(source)) from None
        if not source.is_file():
            raise _invalid(f"{str(source)!r} is not a file", str(source))
        if size > max_bytes:
            raise _invalid(f"{str(source)!r} is {size / 1e6:.1f} MB; inline images may be at most "
                           f"{max_bytes / 1e6:.0f} MB (resize it, or host it and pass the URL)", str(source))
        try:
            data = source.read_bytes()
        except OSError as exc:  # no permission, an I/O error: a message, not a traceback
            raise _invalid(f"cannot read {str(source)!r}: {exc.strerror or exc}", str(source)) from None
        return _bytes_to_uri(data, str(source), max_bytes)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _bytes_to_uri(bytes(source), "bytes", max_bytes)
    if hasattr(source, "save") and hasattr(source, "size") and hasattr(source, "mode"):  # a PIL image
        buffer = io.BytesIO()
        image = source if source.mode in ("RGB", "RGBA", "L") else source.convert("RGBA")
        image.save(buffer, format="PNG")
        return _bytes_to_uri(buffer.getvalue(), "PIL image", max_bytes)
    raise _invalid(f"cannot use a {type(source).__name__} as an image; pass a path, bytes, a PIL image, "
                   "an http(s) URL or a data: URI", repr(source)[:80])


def _bytes_to_uri(data: bytes, label: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise _invalid(f"{label} is {len(data) / 1e6:.1f} MB; inline images may be at most "
                       f"{max_bytes / 1e6:.0f} MB", label)
    mime = sniff_mime(data[:16])
    if mime is None:
        raise _invalid(f"{label} is not an image (expected PNG, JPEG, GIF or WebP bytes)", label)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def describe_uri(uri: str) -> str:
    """A short stand-in for a data URI in sidecars and displays: its type, size and hash."""
    if not uri.startswith("data:") or "," not in uri:  # not a data URI, or already described
        return uri
    head, _, b64 = uri.partition(",")
    digest = hashlib.sha256(b64.encode("ascii", "replace")).hexdigest()[:16]
    return f"{head.removesuffix(';base64')};sha256={digest};bytes={decoded_size(b64)}"


def decoded_size(base64_text: str) -> int:
    """About how many bytes base64 text decodes to (4 characters carry 3 bytes)."""
    return len(base64_text) * 3 // 4


class TransientOutputError(OutputError):
    """A download failed in a way worth retrying (connection trouble, 429, 5xx)."""

    def __init__(self, message: str, *, url: str, prediction_id: str, retry_after: float | None = None) -> None:
        super().__init__(message, url=url, prediction_id=prediction_id)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SavedImage:
    """One output image on disk, checked."""

    path: Path
    url: str
    mime: str
    width: int
    height: int
    sha256: str
    bytes: int


async def download_image(http: httpx.AsyncClient, url: str, dest: Path, *, prediction_id: str = "",
                         max_bytes: int = MAX_OUTPUT_BYTES) -> SavedImage:
    """Stream one output to ``dest`` (its extension set from the sniffed type), verified as an image.

    ``dest``'s folder must exist. Outputs are http(s) URLs, or ``data:`` URIs (which Replicate's
    sync mode can answer for small files); at most ``max_bytes``; the bytes must be an image
    Pillow can verify, within Pillow's decompression-bomb limit. On any failure nothing is left
    at ``dest``. The request never carries the API token (output hosts are not the API).
    """
    where = f" (prediction {prediction_id})" if prediction_id else ""
    lowered = url[:8].lower()
    if lowered.startswith("data:"):
        return _save_data_uri(url, dest, prediction_id=prediction_id, max_bytes=max_bytes)
    if not lowered.startswith(("http://", "https://")):
        raise OutputError(f"refused output URL {url[:80]!r}{where}: only http(s) URLs and data: URIs are accepted",
                          url=url, prediction_id=prediction_id)
    partial = dest.with_name(f".{dest.name}.partial")
    digest = hashlib.sha256()
    size = 0
    head = tail = b""  # the first and last bytes, kept to check the type and the end without reading the file again
    try:
        async with http.stream("GET", url) as response:
            if response.status_code in (404, 410):
                raise OutputExpired(
                    f"output {url} is gone ({response.status_code}){where}: Replicate deletes outputs about an "
                    "hour after a run. Run it again, or use resume() soon after a restart.",
                    url=url, prediction_id=prediction_id)
            if response.status_code in RETRYABLE_STATUSES:
                raise TransientOutputError(f"output {url} answered {response.status_code}{where}", url=url,
                                           prediction_id=prediction_id,
                                           retry_after=retry_after_seconds(response.headers.get("Retry-After")))
            if response.status_code >= 400:
                raise OutputError(f"output {url} answered {response.status_code}{where}", url=url,
                                  prediction_id=prediction_id)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise OutputError(f"output {url} is {int(declared) / 1e6:.0f} MB{where}, over the "
                                  f"{max_bytes / 1e6:.0f} MB limit", url=url, prediction_id=prediction_id)
            if declared and declared.isdigit():
                _check_free_space(dest.parent, int(declared))
            with open(partial, "wb") as fh:
                async for chunk in response.aiter_bytes(256 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise OutputError(f"output {url} is larger than the {max_bytes / 1e6:.0f} MB limit"
                                          f"{where}", url=url, prediction_id=prediction_id)
                    if len(head) < _HEAD_BYTES:
                        head += chunk[:_HEAD_BYTES - len(head)]
                    tail = chunk[-2:] if len(chunk) >= 2 else (tail + chunk)[-2:]
                    digest.update(chunk)
                    fh.write(chunk)
        return _keep(partial, dest, url, prediction_id, head, tail, digest.hexdigest(), size)
    except httpx.TransportError as exc:
        partial.unlink(missing_ok=True)
        raise TransientOutputError(f"downloading {url} failed ({type(exc).__name__}){where}", url=url,
                                   prediction_id=prediction_id) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


_HEAD_BYTES = 16
FREE_SPACE_MARGIN = 64 * 1024
"""Bytes kept free beyond an output's declared size (room for the sidecar and the journal's last line)."""


def _check_free_space(folder: Path, needed: int) -> None:
    """Fail before writing when the disk cannot hold ``needed`` bytes: the same OSError a full disk gives later."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: the write itself will say
    if free < needed + FREE_SPACE_MARGIN:
        raise OSError(errno.ENOSPC, f"No space left on device: an output of {needed / 1e6:.2f} MB and a "
                                    f"{FREE_SPACE_MARGIN // 1024} KB margin do not fit in the {free / 1e6:.2f} MB free")


def _save_data_uri(uri: str, dest: Path, *, prediction_id: str, max_bytes: int) -> SavedImage:
    """An output sent inline: decoded, size-checked and verified like a download."""
    where = f" (prediction {prediction_id})" if prediction_id else ""
    described = describe_uri(uri)
    meta, comma, payload = uri.partition(",")
    if not comma or not meta.lower().endswith(";base64"):
        raise OutputError(f"output {described[:80]!r}{where} is not a base64 data: URI", url=described,
                          prediction_id=prediction_id)
    if decoded_size(payload) > max_bytes:
        raise OutputError(f"output {described}{where} is over the {max_bytes / 1e6:.0f} MB limit", url=described,
                          prediction_id=prediction_id)
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError:
        raise OutputError(f"output {described}{where} is not valid base64", url=described,
                          prediction_id=prediction_id) from None
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        partial.write_bytes(data)
        return _keep(partial, dest, described, prediction_id, data[:_HEAD_BYTES], data[-2:],
                     hashlib.sha256(data).hexdigest(), len(data))
    except TransientOutputError as exc:  # a truncated inline image stays truncated: not worth retrying
        partial.unlink(missing_ok=True)
        raise OutputError(str(exc), url=described, prediction_id=prediction_id) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _keep(partial: Path, dest: Path, url: str, prediction_id: str, head: bytes, tail: bytes, sha256: str,
          size: int) -> SavedImage:
    """Verify the downloaded ``partial`` and move it to ``dest`` with the extension of its type."""
    mime, width, height = _verify(partial, url, prediction_id, head=head, tail=tail)
    final = dest.with_suffix(_EXTENSIONS.get(mime, ".img"))
    os.replace(partial, final)
    return SavedImage(final, url, mime, width, height, sha256, size)


def _verify(path: Path, url: str, prediction_id: str, *, head: bytes, tail: bytes) -> tuple[str, int, int]:
    """(mime, width, height) if ``path`` holds a sane image, else OutputError.

    ``head`` and ``tail`` are the file's first bytes and last two, seen while it was written.
    """
    from PIL import Image

    where = f" (prediction {prediction_id})" if prediction_id else ""
    mime = sniff_mime(head)
    if mime is None:
        raise OutputError(f"output {url} is not an image (unknown bytes){where}", url=url,
                          prediction_id=prediction_id)
    try:
        # Pillow's decompression-bomb guard stays on; its warning (past MAX_IMAGE_PIXELS) is a refusal here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                image.verify()
            if mime == "image/jpeg" and tail != b"\xff\xd9":
                # verify() does not read JPEG data: a body cut short passes it. A whole JPEG ends with the EOI
                # marker, which never occurs inside entropy-coded data, so only a file that does not is decoded
                # at 1/8 scale (about 1 ms for 1K, 6 ms for 4K): that reads every byte and raises "image file
                # is truncated", while a whole file with trailing bytes after its EOI still passes.
                with Image.open(path) as image:
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                    image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise OutputError(f"output {url} declares a suspiciously huge image ({exc}){where}; refused",
                          url=url, prediction_id=prediction_id) from None
    except OSError as exc:
        if "truncated" in str(exc):  # the bytes stopped early: worth downloading again
            raise TransientOutputError(f"output {url} arrived truncated ({exc}){where}", url=url,
                                       prediction_id=prediction_id) from None
        raise OutputError(f"output {url} is not a valid {mime} image ({exc}){where}", url=url,
                          prediction_id=prediction_id) from None
    except Exception as exc:
        raise OutputError(f"output {url} is not a valid {mime} image ({exc}){where}", url=url,
                          prediction_id=prediction_id) from None
    return mime, width, height


def thumbnail(path: Path | BinaryIO, *, max_px: int = THUMBNAIL_PX) -> tuple[bytes, str]:
    """A JPEG thumbnail of at most ``max_px`` on the long side: what notebooks and widgets carry."""
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (max_px, max_px))  # JPEG decodes at reduced scale: fast for 4K outputs
        image.thumbnail((max_px, max_px))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue(), "image/jpeg"


def open_image(path: Path) -> PILImage.Image:
    """A loaded PIL image (the file is closed again at once)."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        loaded: PILImage.Image = image
        return loaded
