"""Provenance in the image files: a generation record written into PNG, JPEG and WebP bytes, and read back.

>>> record = GenerationRecord.create(model="bytedance/seedream-4", prediction_id="p1", logs="Using seed 42",
...                                  input={"prompt": "a red fox", "size": "1K"}, created_at="2026-11-24T10:00:00Z")
>>> print(record.parameters_text())            # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
a red fox
Model: bytedance/seedream-4, Seed: 42, Prediction: p1, Software: seedream-widgets ...,
    Created: "2026-11-24T10:00:00Z", Size preset: 1K
>>> stored = embed(image_bytes, record)                  # doctest: +SKIP
>>> read_generation(stored.data) == stored.record          # doctest: +SKIP
True

Conventions (``../shared/DESIGN.md``, "Provenance in the files"), written by inserting chunks or
segments into the bytes as received, never by re-encoding pixels:

- PNG: an ``iTXt`` chunk ``seedream`` (the record as JSON), a ``parameters`` text chunk in
  AUTOMATIC1111's shape (``tEXt``, or ``iTXt`` when not Latin-1), and an ``iTXt``
  ``XML:com.adobe.xmp`` packet, all right after ``IHDR``.
- JPEG: an APP1 EXIF segment whose Exif IFD holds ``UserComment`` (the ``parameters`` text, as
  A1111 writes it) and an APP1 XMP segment, after SOI and APP0; each under 65,533 bytes.
- WebP: ``EXIF`` and ``XMP `` chunks, a simple file (``VP8 ``/``VP8L``) turned into the extended
  format with a ``VP8X`` chunk.
- The XMP carries the IPTC AI label (``Iptc4xmpExt:DigitalSourceType`` = trainedAlgorithmicMedia,
  ``AISystemUsed``, ``AISystemVersionUsed``), ``AIPromptInformation`` and ``dc:description`` (the
  prompt), ``xmp:CreateDate``, ``xmp:CreatorTool``, ``dc:identifier`` (the prediction id) and
  ``seedream:record`` (the record's JSON). Mode ``"label"`` writes the AI label only.

A file carrying C2PA content credentials (JPEG APP11 JUMBF, PNG ``caBX``, WebP ``C2PA``) is
returned unchanged: any insertion would break its signature. A record never holds the API token
nor the bytes of a data: URI (their type, size and hash instead, as in the sidecar).
`read_generation` also reads AUTOMATIC1111's ``parameters`` and ComfyUI's ``prompt``/``workflow``
as a `ForeignRecord`. Nothing here does network I/O or imports Pillow.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ._version import __version__
from .models import DEFAULT_MODEL, ModelSchema, builtin_schema

__all__ = [
    "DIGITAL_SOURCE_TYPE",
    "RECORD_SCHEMA",
    "SOFTWARE",
    "EmbedMode",
    "Embedded",
    "ForeignRecord",
    "GenerationRecord",
    "closest_ratio",
    "embed",
    "file_sha256",
    "read_generation",
    "seed_from_logs",
    "sha256_hex",
]

RECORD_SCHEMA = "seedream-widgets/generation@1"
"""The ``schema`` of a record: changes when a field changes meaning."""
SOFTWARE = f"seedream-widgets {__version__}"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""IPTC's term for media made by a generative model (the machine-readable AI label)."""

EmbedMode = Literal["full", "label"]
"""``full``: the record, the ``parameters`` text and the XMP; ``label``: the XMP AI label only."""
ImageFormat = Literal["png", "jpeg", "webp"]

SEGMENT_LIMIT = 65533
"""The most bytes a JPEG segment's payload can hold (its length field counts itself and is 16 bits)."""
MAX_TEXT_BYTES = 32 * 1024 * 1024
"""The most a compressed PNG text chunk may inflate to when read (a malicious file could claim more)."""

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_XMP = "http://ns.adobe.com/xap/1.0/"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
_NS_SEEDREAM = "urn:seedream-widgets:xmp:1/"
_XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_EXIF_HEADER = b"Exif\x00\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP_KEYWORD = "XML:com.adobe.xmp"


class _Malformed(ValueError):
    """The bytes do not follow their container's structure (reported, never raised to the caller of embed)."""


# -- the records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationRecord:
    """How one image was made: the record embedded in the file and read back by `read_generation`.

    >>> r = GenerationRecord.create(model="bytedance/seedream-4:abc", input={"prompt": "a fox"},
    ...                             base_url="https://me:secret@proxy.example/v1?token=x")
    >>> r.model, r.version, r.base_url
    ('bytedance/seedream-4', 'abc', 'https://proxy.example/v1')

    Build one with `create` (which parses the seed from the logs and scrubs secrets); whatever
    way it is built, ``input`` never holds a data: URI's bytes (they become type, size and hash,
    as in the sidecar) and ``base_url`` never holds credentials.
    """

    model: str
    """``owner/name``."""
    prompt: str
    input: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The payload as stored: data: URIs replaced by their type, size and hash."""
    version: str = ""
    prediction_id: str = ""
    created_at: str = ""
    """ISO 8601, UTC."""
    seed: int | None = None
    """The seed the service used, when its logs said (``Using seed N``)."""
    width: int | None = None
    height: int | None = None
    index: int = 1
    """This image's place in the run's outputs, from 1 (file ``1.jpg`` is index 1)."""
    count: int = 1
    """How many images the run made."""
    software: str = SOFTWARE
    demo: bool = False
    """Made by the local demo backend (not by the model)."""
    base_url: str = ""
    """The service's base URL, without credentials, query or fragment."""
    truncated: tuple[str, ...] = ()
    """Fields shortened to fit a JPEG segment (the full values are in the run's ``prediction.json``)."""
    schema: str = RECORD_SCHEMA

    def __post_init__(self) -> None:
        # Whatever built the record, it must not carry secrets or inline image bytes.
        object.__setattr__(self, "input", MappingProxyType(_redact(dict(self.input))))
        object.__setattr__(self, "base_url", _clean_base_url(self.base_url))
        object.__setattr__(self, "truncated", tuple(self.truncated))

    @classmethod
    def create(cls, *, model: str, input: Mapping[str, Any], version: str = "", prediction_id: str = "",
               created_at: datetime | str | None = None, logs: str = "", seed: int | None = None,
               size: tuple[int, int] | None = None, index: int = 1, count: int = 1, demo: bool = False,
               base_url: str = "", secrets: Iterable[str] = ()) -> GenerationRecord:
        """A record from a run's pieces (what the store knows when it publishes an image).

        >>> GenerationRecord.create(model="bytedance/seedream-4", input={"prompt": "a fox"},
        ...                         logs="Using seed 7\\ngenerating", size=(2048, 2048)).seed
        7

        ``model`` may carry ``:version``; ``input`` is the payload as sent or as stored; ``seed``
        defaults to the one in ``logs``; ``created_at`` to now; every text is scrubbed of each of
        ``secrets`` (pass the API token).
        """
        name, _, pinned = model.partition(":")
        when = created_at or datetime.now(timezone.utc)
        if isinstance(when, datetime):
            when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
            when = when.isoformat(timespec="seconds").replace("+00:00", "Z")
        hidden = [s for s in secrets if s and len(s) >= 4]
        payload = _scrub(_redact(dict(input)), hidden)
        width, height = size if size else (None, None)
        return cls(model=_scrub(name, hidden), prompt=_scrub(str(input.get("prompt", "")), hidden), input=payload,
                   version=_scrub(version or pinned, hidden), prediction_id=_scrub(prediction_id, hidden),
                   created_at=when, seed=seed if seed is not None else seed_from_logs(logs), width=width,
                   height=height, index=index, count=count, demo=demo,
                   base_url=_scrub(_clean_base_url(base_url), hidden))

    def __reduce__(self) -> tuple[Any, ...]:
        return (GenerationRecord.from_json, (self.to_json(),))  # a mappingproxy does not pickle; the JSON does

    @property
    def size(self) -> str:
        """``2048x2048``, or "" when unknown."""
        return f"{self.width}x{self.height}" if self.width and self.height else ""

    # -- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (the shape `to_json` writes)."""
        return {"schema": self.schema, "model": self.model, "version": self.version,
                "prediction_id": self.prediction_id, "created_at": self.created_at, "prompt": self.prompt,
                "input": copy.deepcopy(dict(self.input)), "seed": self.seed, "width": self.width, "height": self.height,
                "index": self.index, "count": self.count, "software": self.software, "demo": self.demo,
                "base_url": self.base_url, "truncated": list(self.truncated)}

    def to_json(self) -> str:
        """Compact JSON, non-ASCII kept as is (``GenerationRecord.from_json(r.to_json()) == r``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any]) -> GenerationRecord:
        """Read a record back; raises ValueError for anything that is not a record of this schema."""
        data = json.loads(text) if isinstance(text, (str, bytes)) else text
        if not isinstance(data, Mapping) or not str(data.get("schema", "")).startswith("seedream-widgets/generation@"):
            raise ValueError("not a seedream-widgets generation record")
        if data["schema"] != RECORD_SCHEMA:
            raise ValueError(f"record schema {data['schema']!r} is newer than this package ({RECORD_SCHEMA}); "
                             "upgrade seedream-widgets to read it")
        given = data.get("input")
        return cls(model=str(data.get("model", "")), prompt=str(data.get("prompt", "")),
                   input=given if isinstance(given, Mapping) else {}, version=str(data.get("version") or ""),
                   prediction_id=str(data.get("prediction_id") or ""), created_at=str(data.get("created_at") or ""),
                   seed=_int_or_none(data.get("seed")), width=_int_or_none(data.get("width")),
                   height=_int_or_none(data.get("height")), index=_int_or_none(data.get("index")) or 1,
                   count=_int_or_none(data.get("count")) or 1, software=str(data.get("software") or ""),
                   demo=bool(data.get("demo")), base_url=str(data.get("base_url") or ""),
                   truncated=tuple(str(t) for t in data.get("truncated") or ()))

    # -- AUTOMATIC1111's text ----------------------------------------------------------------

    def parameters_text(self) -> str:
        """The record in AUTOMATIC1111's ``parameters`` shape: the prompt, then one ``Key: value, ...`` line.

        Values holding a comma, colon, quote or newline are JSON-quoted, as A1111 does, so its
        PNG Info tab (and `read_generation`) split the line back correctly.
        """
        items: list[tuple[str, str]] = [("Model", self.model)]
        if self.size:
            items.append(("Size", self.size))
        ratio = self.input.get("aspect_ratio")
        if not ratio and self.width and self.height:
            divisor = math.gcd(self.width, self.height)
            ratio = f"{self.width // divisor}:{self.height // divisor}"
        if ratio:
            items.append(("Aspect ratio", str(ratio)))
        if self.seed is not None:
            items.append(("Seed", str(self.seed)))
        if self.prediction_id:
            items.append(("Prediction", self.prediction_id))
        if self.version:
            items.append(("Version", self.version))
        items.append(("Software", self.software))
        if self.count > 1:
            items.append(("Image", f"{self.index} of {self.count}"))
        if self.created_at:
            items.append(("Created", self.created_at))
        if self.demo:
            items.append(("Demo", "true"))
        for name, value in self.input.items():
            if name not in ("prompt", "aspect_ratio"):
                items.append((_param_key(name), _param_value(value)))
        return f"{self.prompt}\n" + ", ".join(f"{key}: {_quote(value)}" for key, value in items)


@dataclass(frozen=True)
class ForeignRecord:
    """Generation settings another tool wrote (AUTOMATIC1111, ComfyUI, an XMP AI label).

    >>> r = read_generation("a1111.png")                        # doctest: +SKIP
    >>> r.tool, r.fields                                         # doctest: +SKIP
    ('AUTOMATIC1111', {'prompt': 'a castle', 'aspect_ratio': '3:2'})

    ``fields`` holds what maps to Seedream fields (prompt; a size as ``custom`` width and height
    when both sides are within 1024..4096, else the closest aspect ratio); ``settings`` the tool's
    own keys and values; ``text`` the raw text as found; ``notes`` what did not map.
    """

    tool: str
    fields: Mapping[str, Any]
    text: str
    settings: Mapping[str, str] = field(default_factory=dict, hash=False)
    model: str = ""
    """The tool's model (an A1111 checkpoint name, a ComfyUI ckpt_name, an XMP AISystemUsed)."""
    notes: tuple[str, ...] = ()
    raw: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    """Every chunk or field read, by name (``parameters``; ``prompt`` and ``workflow``; ``xmp``)."""

    @property
    def prompt(self) -> str:
        return str(self.fields.get("prompt", ""))


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


# -- the functions --------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """The sha256 of some bytes, in hex (what sidecars record)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SEED = re.compile(r"\busing seed\b[\s:=]*(-?\d+)", re.IGNORECASE)


def seed_from_logs(logs: str) -> int | None:
    """The seed a prediction's logs name (``Using seed 1234``), else None."""
    found = _SEED.search(logs or "")
    return int(found.group(1)) if found else None


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
    kind = _sniff(data)
    if kind is None:
        named = _other_format(data)
        reason = (f"{named} files carry no provenance here (PNG, JPEG and WebP do); stored unchanged" if named
                  else "not a PNG, JPEG or WebP image; stored unchanged")
        return Embedded(data, record, mode, None, skipped=reason, received_sha256=received, sha256=received)
    writer = {"png": _embed_png, "jpeg": _embed_jpeg, "webp": _embed_webp}[kind]
    try:
        out, written, notes, final = writer(data, record, mode)
    except _Malformed as exc:
        return Embedded(data, record, mode, kind, skipped=f"the {kind.upper()} structure could not be read "
                        f"({exc}); stored unchanged", received_sha256=received, sha256=received)
    except _Signed as signed:
        return Embedded(data, record, mode, kind, skipped=str(signed), received_sha256=received, sha256=received)
    return Embedded(out, final, mode, kind, tuple(written), "", tuple(notes), received, sha256_hex(out))


def read_generation(source: str | os.PathLike[str] | bytes | Any) -> GenerationRecord | ForeignRecord | None:
    """How an image was made, from its own metadata: a path, bytes, or a PIL image.

    >>> read_generation("seedream-outputs/2026-11-24/abc/1.png").prompt  # doctest: +SKIP
    'a red fox in the snow'

    Our own record first (PNG ``seedream`` chunk, XMP ``seedream:record``, an EXIF UserComment
    written by seedream-widgets); else AUTOMATIC1111's ``parameters`` (PNG text, EXIF
    UserComment); else ComfyUI's ``prompt``/``workflow`` PNG chunks; else an XMP AI label (a
    `ForeignRecord` without a prompt when the file has only the label). None when the file
    says nothing of how it was made, or is not an image this module reads.
    """
    meta = _metadata_of(source)
    if meta is None:
        return None
    own = _own_record(meta)
    if own is not None:
        return own
    parameters = meta.texts.get("parameters", "")
    comment = _user_comment(meta.exif)
    if not parameters.strip() and comment and _parse_parameters(comment)[2]:
        parameters = comment  # in JPEG and WebP, A1111 writes its text as the EXIF UserComment
    if parameters.strip():
        return _a1111_record(parameters)
    if "prompt" in meta.texts or "workflow" in meta.texts:
        comfy = _comfy_record(meta.texts.get("prompt", ""), meta.texts.get("workflow", ""))
        if comfy is not None:
            return comfy
    if meta.xmp:
        return _xmp_label_record(meta.xmp)
    return None


# -- redaction ------------------------------------------------------------------------------

_CREDENTIAL_PARAM = re.compile(r"token|key|sig|secret|password|passwd|auth|credential|session", re.IGNORECASE)


def _describe_data_uri(uri: str) -> str:
    """A data: URI's stand-in: type, hash and size (the same text as ``images.describe_uri``, so the
    record's input equals the sidecar's; duplicated because this module sits below ``images``)."""
    head, _, b64 = uri.partition(",")
    digest = hashlib.sha256(b64.encode("ascii", "replace")).hexdigest()[:16]
    return f"{head.removesuffix(';base64')};sha256={digest};bytes={len(b64) * 3 // 4}"


def _clean_url(url: str) -> str:
    """An http(s) URL without user info and without query parameters that look like credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _CREDENTIAL_PARAM.search(k)]
    if "@" not in parts.netloc and len(kept) == len(pairs):
        return url  # nothing to remove: keep the URL exactly as sent
    query = urlencode(kept) if len(kept) < len(pairs) else parts.query
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, parts.fragment))


def _clean_base_url(url: str) -> str:
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value[:8].lower()
        if lowered.startswith("data:") and "," in value:
            return _describe_data_uri(value)
        if lowered.startswith(("http://", "https://")):
            return _clean_url(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): _redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def _scrub(value: Any, secrets: list[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, Mapping):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- AUTOMATIC1111's parameters text -------------------------------------------------------

_PARAM_KEYS = {"size": "Size preset"}
"""Seedream fields whose plain label would collide with an A1111 key (A1111's ``Size`` is pixels)."""
_META_KEYS = {"Model", "Size", "Aspect ratio", "Seed", "Prediction", "Version", "Software", "Image", "Created",
              "Demo"}
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def _param_key(name: str) -> str:
    return _PARAM_KEYS.get(name) or name.replace("_", " ").capitalize()


def _param_name(key: str) -> str:
    for name, label in _PARAM_KEYS.items():
        if label.lower() == key.lower():
            return name
    return key.strip().lower().replace(" ", "_").replace("-", "_")


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _quote(text: str) -> str:
    if any(c in text for c in ',:"\n'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
            return value if isinstance(value, str) else text
        except ValueError:
            return text
    return text


def _parse_parameters(text: str) -> tuple[str, str, dict[str, str]]:
    """(prompt, negative prompt, settings) of an A1111 ``parameters`` text."""
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    found = _PARAM.findall(lines[-1])
    if len(found) >= 3:  # A1111's own rule for "the last line holds the settings"
        lines = lines[:-1]
        for key, value in found:
            settings[key.strip()] = _unquote(value)
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if line.strip().startswith("Negative prompt:"):
            in_negative = True
            line = line.strip()[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    return "\n".join(prompt).strip(), "\n".join(negative).strip(), settings


def _a1111_record(text: str) -> GenerationRecord | ForeignRecord:
    prompt, negative, settings = _parse_parameters(text)
    if settings.get("Software", "").startswith("seedream-widgets"):
        own = _record_from_parameters(prompt, settings)
        if own is not None:
            return own
    fields: dict[str, Any] = {"prompt": prompt} if prompt else {}
    notes: list[str] = []
    size = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", settings.get("Size", ""))
    if size:
        fields.update(_map_size(int(size.group(1)), int(size.group(2))))
    if negative:
        notes.append("Seedream has no negative prompt; it is kept in settings['Negative prompt']")
        settings = {"Negative prompt": negative, **settings}
    unmapped = [k for k in settings if k not in ("Size", "Negative prompt")]
    if unmapped:
        notes.append(f"no Seedream equivalent for {', '.join(unmapped)}")
    return ForeignRecord("AUTOMATIC1111", fields, text, settings, model=settings.get("Model", ""),
                         notes=tuple(notes), raw={"parameters": text})


def _record_from_parameters(prompt: str, settings: Mapping[str, str]) -> GenerationRecord | None:
    """Our own record rebuilt from the ``parameters`` text (a file whose XMP was stripped)."""
    if not settings.get("Model"):
        return None
    payload: dict[str, Any] = {"prompt": prompt}
    for key, value in settings.items():
        if key not in _META_KEYS or key == "Aspect ratio":
            payload[_param_name(key)] = _parse_value(value)
    size = re.fullmatch(r"(\d+)x(\d+)", settings.get("Size", ""))
    image = re.fullmatch(r"(\d+) of (\d+)", settings.get("Image", ""))
    return GenerationRecord(model=settings["Model"], prompt=prompt, input=payload, version=settings.get("Version", ""),
                            prediction_id=settings.get("Prediction", ""), created_at=settings.get("Created", ""),
                            seed=_int_or_none(settings.get("Seed")), width=int(size.group(1)) if size else None,
                            height=int(size.group(2)) if size else None, index=int(image.group(1)) if image else 1,
                            count=int(image.group(2)) if image else 1, software=settings["Software"],
                            demo=settings.get("Demo") == "true")


def _parse_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _aspect_choices(schema: ModelSchema | None = None) -> tuple[str, ...]:
    table = schema or builtin_schema(DEFAULT_MODEL)
    assert table is not None
    spec = table.get("aspect_ratio")
    ratios = tuple(c for c in (spec.choices if spec else ()) if re.fullmatch(r"\d+:\d+", c))
    return ratios or ("1:1",)


def closest_ratio(width: int, height: int, schema: ModelSchema | None = None) -> str:
    """The aspect ratio choice of ``schema`` (default seedream-4) nearest to ``width`` x ``height``."""
    return _closest_ratio(width, height, schema)


def _closest_ratio(width: int, height: int, schema: ModelSchema | None = None) -> str:
    def distance(ratio: str) -> float:
        a, b = (int(x) for x in ratio.split(":"))
        return abs(math.log(width / height) - math.log(a / b))
    return min(_aspect_choices(schema), key=distance)


def _map_size(width: int, height: int) -> dict[str, Any]:
    """A foreign size as Seedream fields: custom when both sides fit 1024..4096, else the nearest aspect ratio."""
    if width <= 0 or height <= 0:
        return {}
    if 1024 <= width <= 4096 and 1024 <= height <= 4096:
        return {"size": "custom", "width": width, "height": height}
    return {"aspect_ratio": _closest_ratio(width, height)}


# -- ComfyUI ----------------------------------------------------------------------------------


def _comfy_record(prompt_text: str, workflow_text: str) -> ForeignRecord | None:
    raw = {k: v for k, v in (("prompt", prompt_text), ("workflow", workflow_text)) if v}
    graph = _json_or_none(prompt_text)
    workflow = _json_or_none(workflow_text)
    if not isinstance(graph, dict) and not isinstance(workflow, dict):
        return None
    fields: dict[str, Any] = {}
    settings: dict[str, str] = {}
    notes: list[str] = []
    model = ""
    texts: list[str] = []
    if isinstance(graph, dict):
        nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and isinstance(v.get("class_type"), str)}

        def text_of(link: Any) -> str | None:
            # A sampler's input is a link [node id, output index]; follow it to a text encoder's text,
            # through one node that holds the string (a primitive or a string literal node).
            for _ in range(3):
                if not (isinstance(link, list) and link and str(link[0]) in nodes):
                    return link if isinstance(link, str) else None
                inputs = nodes[str(link[0])].get("inputs") or {}
                link = next((inputs[k] for k in ("text", "text_g", "string", "value", "prompt") if k in inputs), None)
            return link if isinstance(link, str) else None

        for node in nodes.values():
            kind, inputs = node["class_type"], node.get("inputs") or {}
            if "TextEncode" in kind:
                text = text_of(inputs.get("text", inputs.get("text_g")))
                if text is not None:
                    texts.append(text)
            if "Sampler" in kind and "positive" in inputs:
                positive, negative = text_of(inputs.get("positive")), text_of(inputs.get("negative"))
                if positive is not None and "prompt" not in fields:
                    fields["prompt"] = positive
                if negative:
                    settings["Negative prompt"] = negative
                for key in ("seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"):
                    if isinstance(inputs.get(key), (int, float, str)):
                        settings[key] = str(inputs[key])
            if "LatentImage" in kind and isinstance(inputs.get("width"), int) and isinstance(inputs.get("height"), int):
                settings["size"] = f"{inputs['width']}x{inputs['height']}"
                fields.update(_map_size(inputs["width"], inputs["height"]))
            for key in ("ckpt_name", "unet_name"):
                if isinstance(inputs.get(key), str) and not model:
                    model = inputs[key]
    if not texts and isinstance(workflow, dict):
        for node in workflow.get("nodes") or ():
            values = node.get("widgets_values") if isinstance(node, dict) else None
            if "TextEncode" in str(node.get("type", "")) and isinstance(values, list) and values \
                    and isinstance(values[0], str):
                texts.append(values[0])
    if "prompt" not in fields:
        distinct = list(dict.fromkeys(t for t in texts if t.strip()))
        if len(distinct) == 1:
            fields["prompt"] = distinct[0]
        elif distinct:
            notes.append(f"{len(distinct)} prompt texts and no clear positive one; see the text")
    if "Negative prompt" in settings:
        notes.append("Seedream has no negative prompt; it is kept in settings['Negative prompt']")
    return ForeignRecord("ComfyUI", fields, prompt_text or workflow_text, settings, model=model, notes=tuple(notes),
                         raw=raw)


def _json_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- XMP ----------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", text))


def _xml_attr(text: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", text), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


_XMP_MARK = "<!-- seedream-widgets: this description is replaced when the image is embedded again -->"
_OUR_DESCRIPTION = re.compile(r"[ \t]*" + re.escape(_XMP_MARK) + r".*?</rdf:Description>\n?", re.DOTALL)


def _xmp_description(record: GenerationRecord, mode: EmbedMode, taken: Iterable[str] = ()) -> str:
    """Our ``rdf:Description``; properties named in ``taken`` (local names) are left to the packet that has them."""
    attributes = [("Iptc4xmpExt:DigitalSourceType", DIGITAL_SOURCE_TYPE), ("Iptc4xmpExt:AISystemUsed", record.model)]
    if record.version:
        attributes.append(("Iptc4xmpExt:AISystemVersionUsed", record.version))
    attributes.append(("xmp:CreatorTool", record.software))
    elements = []
    if mode == "full":
        if record.created_at:
            attributes.append(("xmp:CreateDate", record.created_at))
        if record.prediction_id:
            attributes.append(("dc:identifier", record.prediction_id))
        elements = [
            ("AIPromptInformation", f"   <Iptc4xmpExt:AIPromptInformation>{_xml_text(record.prompt)}"
                                    "</Iptc4xmpExt:AIPromptInformation>"),
            ("description", "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">"
                            f"{_xml_text(record.prompt)}</rdf:li></rdf:Alt></dc:description>"),
            ("record", f"   <seedream:record>{_xml_text(record.to_json())}</seedream:record>"),
        ]
    skip = set(taken)
    attributes = [(name, value) for name, value in attributes if name.partition(":")[2] not in skip]
    elements = [(name, text) for name, text in elements if name not in skip]
    namespaces = [("Iptc4xmpExt", _NS_IPTC_EXT), ("xmp", _NS_XMP)]
    if mode == "full":
        namespaces += [("dc", _NS_DC), ("seedream", _NS_SEEDREAM)]
    head = "\n    ".join([f'xmlns:{p}="{uri}"' for p, uri in namespaces]
                         + [f'{name}="{_xml_attr(value)}"' for name, value in attributes])
    body = "".join(text + "\n" for _, text in elements)
    return f"  {_XMP_MARK}\n  <rdf:Description rdf:about=\"\"\n    {head}>\n{body}  </rdf:Description>\n"


def _xmp_packet(record: GenerationRecord, mode: EmbedMode, existing: str | None = None) -> tuple[str, str]:
    """The XMP packet to write, and a note when the image had one.

    A packet of ours (an image embedded before) is replaced. Another tool's packet is kept and
    our description added to it, without the properties it already has (an XMP property is
    written once: its own DigitalSourceType or CreatorTool stays).
    """
    if existing and f'x:xmptk="{SOFTWARE.split()[0]}' in existing:
        existing = None  # a packet we made: replaced whole
    elif existing:
        existing = _OUR_DESCRIPTION.sub("", existing)  # ours, added to another tool's packet before
    if existing and "</rdf:RDF>" in existing:
        theirs = _xmp_values(existing)
        at = existing.rindex("</rdf:RDF>")
        kept = sorted(set(theirs) - {"record"})
        note = "the image already had an XMP packet: ours was added to it" + (
            f" (its own {', '.join(kept)} kept)" if kept else "")
        return existing[:at] + _xmp_description(record, mode, theirs) + existing[at:], note
    ours = _xmp_description(record, mode)
    note = "the image's XMP packet could not be read: it was replaced" if existing else ""
    packet = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
              f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="{SOFTWARE}">\n'
              f' <rdf:RDF xmlns:rdf="{_NS_RDF}">\n{ours} </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="w"?>')
    return packet, note


def _xmp_values(packet: str) -> dict[str, str]:
    """The properties this module reads from an XMP packet (attributes or simple elements), by local name."""
    if "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return {}  # no DTDs in XMP; refusing them keeps entity expansion out of the parser
    body = packet[packet.find("<x:xmpmeta"):] if "<x:xmpmeta" in packet else packet
    body = body[:body.rfind(">") + 1] if "?xpacket end" not in body else body[:body.find("<?xpacket end")]
    try:
        root = ElementTree.fromstring(body.strip())
    except ElementTree.ParseError:
        return {}
    wanted = {f"{{{_NS_IPTC_EXT}}}DigitalSourceType": "DigitalSourceType",
              f"{{{_NS_IPTC_EXT}}}AISystemUsed": "AISystemUsed",
              f"{{{_NS_IPTC_EXT}}}AISystemVersionUsed": "AISystemVersionUsed",
              f"{{{_NS_IPTC_EXT}}}AIPromptInformation": "AIPromptInformation",
              f"{{{_NS_XMP}}}CreatorTool": "CreatorTool", f"{{{_NS_XMP}}}CreateDate": "CreateDate",
              f"{{{_NS_DC}}}identifier": "identifier", f"{{{_NS_DC}}}description": "description",
              f"{{{_NS_SEEDREAM}}}record": "record"}
    values: dict[str, str] = {}
    for description in root.iter(f"{{{_NS_RDF}}}Description"):
        for name, value in description.attrib.items():
            if name in wanted:
                values.setdefault(wanted[name], value)
        for child in description:
            if child.tag in wanted:
                leaf = next((li for li in child.iter(f"{{{_NS_RDF}}}li")), child)
                values.setdefault(wanted[child.tag], leaf.text or "")
    return values


def _xmp_label_record(packet: str) -> ForeignRecord | None:
    values = _xmp_values(packet)
    if not ({"DigitalSourceType", "AISystemUsed", "AIPromptInformation"} & set(values)):
        return None
    prompt = values.get("AIPromptInformation", "")
    source = values.get("DigitalSourceType", "")
    notes = () if prompt else ("the file carries an AI label but no prompt",)
    return ForeignRecord(values.get("CreatorTool") or values.get("AISystemUsed") or "XMP",
                         {"prompt": prompt} if prompt else {}, packet,
                         {k: v for k, v in values.items() if k != "record"}, model=values.get("AISystemUsed", ""),
                         notes=notes + ((f"DigitalSourceType: {source.rsplit('/', 1)[-1]}",) if source else ()),
                         raw={"xmp": packet})


# -- EXIF ---------------------------------------------------------------------------------------


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


def _record_exif(record: GenerationRecord) -> bytes:
    size = (record.width, record.height) if record.width and record.height else None
    return _exif_tiff(record.parameters_text(), record.software, size)


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


def _user_comment(exif: bytes | None) -> str:
    """The UserComment of an EXIF block (TIFF, with or without the ``Exif\\0\\0`` header), or ""."""
    if not exif:
        return ""
    tiff = exif[len(_EXIF_HEADER):] if exif.startswith(_EXIF_HEADER) else exif
    if tiff[:4] not in (b"MM\x00\x2a", b"II\x2a\x00"):
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


def _is_our_exif(exif: bytes) -> bool:
    """Whether an EXIF block is one this module wrote (embedding again replaces it rather than keeping both)."""
    if not (exif.startswith(_EXIF_HEADER) or exif[:4] in (b"MM\x00\x2a", b"II\x2a\x00")):
        return False
    comment = _user_comment(exif)
    return bool(comment) and _parse_parameters(comment)[2].get("Software", "").startswith("seedream-widgets")


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


# -- containers: what a file carries ----------------------------------------------------------


@dataclass
class _Meta:
    texts: dict[str, str] = field(default_factory=dict)
    xmp: str | None = None
    exif: bytes | None = None


def _sniff(data: bytes) -> ImageFormat | None:
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _other_format(data: bytes) -> str:
    for magic, name in ((b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
                        (b"\x00\x00\x01\x00", "ICO")):
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return "AVIF/HEIF" if data[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1") else "ISO media"
    return ""


def _metadata_of(source: Any) -> _Meta | None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _metadata(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return _metadata(Path(source).read_bytes())
    info = getattr(source, "info", None)
    if isinstance(info, Mapping):
        return _metadata_from_pil(info)
    raise TypeError(f"read_generation takes a path, bytes or a PIL image, not {type(source).__name__}")


def _metadata_from_pil(info: Mapping[str, Any]) -> _Meta:
    """What Pillow decoded into ``image.info`` (PNG text chunks; ``exif`` and ``xmp`` of JPEG and WebP)."""
    meta = _Meta(texts={str(k): str(v) for k, v in info.items() if isinstance(v, str)})
    xmp = info.get("xmp", meta.texts.get(_XMP_KEYWORD))
    if isinstance(xmp, (bytes, bytearray)):
        xmp = bytes(xmp).decode("utf-8", "replace")
    meta.xmp = xmp if isinstance(xmp, str) else None
    exif = info.get("exif")
    meta.exif = bytes(exif) if isinstance(exif, (bytes, bytearray)) else None
    return meta


def _metadata(data: bytes) -> _Meta | None:
    kind = _sniff(data)
    meta = _Meta()
    try:
        if kind == "png":
            for chunk in _png_chunks(data):
                if chunk.type in (b"tEXt", b"zTXt", b"iTXt"):
                    keyword, text = _png_text(chunk.type, chunk.body(data))
                    if keyword == _XMP_KEYWORD:
                        meta.xmp = meta.xmp or text
                    else:
                        meta.texts.setdefault(keyword, text)
                elif chunk.type == b"eXIf":
                    meta.exif = meta.exif or chunk.body(data)
        elif kind == "jpeg":
            segments, _ = _jpeg_segments(data)
            for segment in segments:
                if segment.marker == 0xE1 and segment.payload.startswith(_EXIF_HEADER):
                    meta.exif = meta.exif or segment.payload
                elif segment.marker == 0xE1 and segment.payload.startswith(_XMP_JPEG_HEADER):
                    meta.xmp = meta.xmp or segment.payload[len(_XMP_JPEG_HEADER):].decode("utf-8", "replace")
        elif kind == "webp":
            chunks, _ = _webp_chunks(data)
            for fourcc, body in chunks:
                if fourcc == b"EXIF":
                    meta.exif = meta.exif or body
                elif fourcc == b"XMP ":
                    meta.xmp = meta.xmp or body.decode("utf-8", "replace")
        else:
            return None
    except _Malformed:
        pass  # read what came before the damage
    return meta


def _own_record(meta: _Meta) -> GenerationRecord | None:
    candidates = [meta.texts.get("seedream")]
    if meta.xmp:
        candidates.append(_xmp_values(meta.xmp).get("record"))
    for text in candidates:
        if text:
            try:
                return GenerationRecord.from_json(text)
            except (ValueError, TypeError, KeyError):
                continue
    comment = _user_comment(meta.exif)
    if comment:
        prompt, _, settings = _parse_parameters(comment)
        if settings.get("Software", "").startswith("seedream-widgets"):
            return _record_from_parameters(prompt, settings)
    return None


class _Signed(Exception):
    """The file carries C2PA content credentials: the message says so, and nothing is written."""


_C2PA_REASON = ("the image carries C2PA content credentials ({where}); inserting metadata would break their "
                "signature, so it is stored unchanged")


def _fit(record: GenerationRecord, fits: Callable[[GenerationRecord], bool]) -> GenerationRecord | None:
    """``record`` with its longest texts shortened just enough to pass ``fits``; None when nothing does."""
    if fits(record):
        return record
    longest = max([len(record.prompt)] + [len(v) for v in _strings(record.input)])
    low, high, best = 0, longest, None
    while low <= high:
        middle = (low + high) // 2
        candidate = _shortened(record, middle)
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _shortened(record: GenerationRecord, limit: int) -> GenerationRecord:
    cut: list[str] = []

    def shorten(value: Any, name: str) -> Any:
        if isinstance(value, str) and len(value) > limit:
            if name not in cut:
                cut.append(name)
            return value[:limit] + "…"
        if isinstance(value, list):
            return [shorten(v, name) for v in value]
        if isinstance(value, Mapping):
            return {k: shorten(v, name) for k, v in value.items()}
        return value

    prompt = shorten(record.prompt, "prompt")
    payload = {k: shorten(v, "prompt" if k == "prompt" else f"input.{k}") for k, v in record.input.items()}
    return replace(record, prompt=prompt, input=payload, truncated=tuple(dict.fromkeys((*record.truncated, *cut))))


def _with_size(record: GenerationRecord, size: tuple[int, int] | None) -> GenerationRecord:
    if size and not (record.width and record.height):
        return replace(record, width=size[0], height=size[1])
    return record


# -- PNG ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PngChunk:
    type: bytes
    start: int
    """Where the chunk starts (its length field)."""
    end: int
    """Where it ends (after its CRC)."""

    def body(self, data: bytes) -> bytes:
        return data[self.start + 8:self.end - 4]


def _png_chunks(data: bytes) -> list[_PngChunk]:
    """Where each chunk lies, up to IEND (the bodies are read only where needed: IDAT can be megabytes)."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _Malformed("no PNG signature")
    chunks: list[_PngChunk] = []
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise _Malformed(f"a chunk is cut short at byte {pos}")
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunk_type = data[pos + 4:pos + 8]
        if pos + 12 + length > len(data):
            raise _Malformed(f"chunk {chunk_type!r} runs past the end of the file")
        chunks.append(_PngChunk(chunk_type, pos, pos + 12 + length))
        pos += 12 + length
        if chunk_type == b"IEND":
            break
    if not chunks or chunks[0].type != b"IHDR":
        raise _Malformed("the first chunk is not IHDR")
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


def _png_text(chunk_type: bytes, body: bytes) -> tuple[str, str]:
    keyword, _, rest = body.partition(b"\x00")
    name = keyword.decode("latin-1")
    if chunk_type == b"tEXt":
        return name, rest.decode("latin-1")
    if chunk_type == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        raise _Malformed(f"iTXt chunk {name!r} is cut short")
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    return name, (_inflate(text) if compressed else text).decode("utf-8", "replace")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise _Malformed(f"a compressed text chunk does not inflate ({exc})") from None
    if inflater.unconsumed_tail:
        raise _Malformed(f"a compressed text chunk inflates past {MAX_TEXT_BYTES} bytes")
    return out


def _png_size(data: bytes, chunks: list[_PngChunk]) -> tuple[int, int] | None:
    header = chunks[0].body(data)
    if len(header) < 8:
        return None
    width, height = struct.unpack(">II", header[:8])
    return int(width), int(height)


def _embed_png(data: bytes, record: GenerationRecord,
               mode: EmbedMode) -> tuple[bytes, list[str], list[str], GenerationRecord]:
    chunks = _png_chunks(data)
    if any(chunk.type == b"caBX" for chunk in chunks):
        raise _Signed(_C2PA_REASON.format(where="a caBX chunk"))
    record = _with_size(record, _png_size(data, chunks))
    existing_xmp = None
    ours = {"seedream", "parameters"}
    kept = []
    for chunk in chunks:
        if chunk.type in (b"tEXt", b"zTXt", b"iTXt"):
            body = chunk.body(data)
            keyword = body.partition(b"\x00")[0].decode("latin-1")
            if keyword == _XMP_KEYWORD:
                existing_xmp = existing_xmp or _png_text(chunk.type, body)[1]
                continue
            if keyword in ours:
                continue  # written again below (embedding twice keeps one copy)
        kept.append(chunk)
    packet, merged = _xmp_packet(record, mode, existing_xmp)
    inserted, written = [], []
    if mode == "full":
        record_chunk, _ = _png_text_chunk("seedream", record.to_json(), international=True)
        parameters, kind = _png_text_chunk("parameters", record.parameters_text())
        inserted += [record_chunk, parameters]
        written += ["iTXt seedream", f"{kind} parameters"]
    inserted.append(_png_text_chunk(_XMP_KEYWORD, packet, international=True)[0])
    written.append(f"iTXt {_XMP_KEYWORD}")
    # The chunks kept are copied as received, CRCs included; ours go right after IHDR.
    out = [_PNG_SIGNATURE, data[kept[0].start:kept[0].end], *inserted]
    out += [data[chunk.start:chunk.end] for chunk in kept[1:]]
    return b"".join(out) + data[chunks[-1].end:], written, [merged] if merged else [], record


# -- JPEG -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    marker: int
    payload: bytes
    raw: bytes
    """The segment as found, fill bytes included."""


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_segments(data: bytes) -> tuple[list[_Segment], int]:
    """The segments between SOI and the first SOS, and where that SOS starts."""
    if data[:2] != b"\xff\xd8":
        raise _Malformed("no SOI marker")
    segments: list[_Segment] = []
    pos = 2
    while True:
        start = pos
        if pos >= len(data) or data[pos] != 0xFF:
            raise _Malformed(f"expected a marker at byte {pos}")
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            raise _Malformed("the file ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker in (0xDA, 0xD9):
            return segments, start
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            segments.append(_Segment(marker, b"", data[start:pos]))
            continue
        if pos + 2 > len(data):
            raise _Malformed("the file ends inside a segment header")
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        if length < 2 or pos + length > len(data):
            raise _Malformed(f"segment 0xFF{marker:02X} at byte {start} runs past the end of the file")
        segments.append(_Segment(marker, data[pos + 2:pos + length], data[start:pos + length]))
        pos += length


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _is_jumbf(segment: _Segment) -> bool:
    # APP11 carries JUMBF boxes for C2PA: common identifier "JP", then the box instance and
    # sequence numbers, then a box header whose type is "jumb".
    return segment.marker == 0xEB and segment.payload[:2] == b"JP" and b"jumb" in segment.payload[:32]


def _embed_jpeg(data: bytes, record: GenerationRecord,
                mode: EmbedMode) -> tuple[bytes, list[str], list[str], GenerationRecord]:
    segments, scan_at = _jpeg_segments(data)
    if any(_is_jumbf(s) for s in segments):
        raise _Signed(_C2PA_REASON.format(where="APP11 JUMBF segments"))
    segments = [s for s in segments if not (s.marker == 0xE1 and _is_our_exif(s.payload))]  # written again
    frame = next((s.payload for s in segments if s.marker in _SOF_MARKERS and len(s.payload) >= 5), None)
    record = _with_size(record, (struct.unpack(">H", frame[3:5])[0], struct.unpack(">H", frame[1:3])[0])
                        if frame else None)
    has_exif = any(s.marker == 0xE1 and s.payload.startswith(_EXIF_HEADER) for s in segments)
    xmp_at = next((i for i, s in enumerate(segments)
                   if s.marker == 0xE1 and s.payload.startswith(_XMP_JPEG_HEADER)), None)
    existing = segments[xmp_at].payload[len(_XMP_JPEG_HEADER):].decode("utf-8", "replace") \
        if xmp_at is not None else None
    notes: list[str] = []

    def xmp_fits(candidate: GenerationRecord) -> bool:
        packet, _ = _xmp_packet(candidate, mode, existing)
        return len(_XMP_JPEG_HEADER) + len(packet.encode("utf-8")) <= SEGMENT_LIMIT

    fitted = _fit(record, xmp_fits)
    xmp_mode = mode
    if fitted is None:
        fitted, xmp_mode = record, "label"
        notes.append("the record does not fit a JPEG segment (64 KB): the XMP holds the AI label only; the "
                     "record is in the run's prediction.json")
    elif fitted.truncated != record.truncated:
        notes.append(f"shortened to fit a JPEG segment (64 KB): {', '.join(fitted.truncated)}; the full values "
                     "are in the run's prediction.json")
    packet, merged = _xmp_packet(fitted, xmp_mode, existing)
    if merged:
        notes.append(merged)
    xmp = _jpeg_segment(0xE1, _XMP_JPEG_HEADER + packet.encode("utf-8"))
    written = []
    new: list[bytes] = []
    if mode == "full" and not has_exif:
        def exif_fits(candidate: GenerationRecord) -> bool:
            tiff = _record_exif(candidate)
            return len(_EXIF_HEADER) + len(tiff) <= SEGMENT_LIMIT
        for_exif = _fit(fitted, exif_fits)
        if for_exif is not None:
            new.append(_jpeg_segment(0xE1, _EXIF_HEADER + _record_exif(for_exif)))
            written.append("APP1 EXIF UserComment")
    elif mode == "full":
        notes.append("the image already had EXIF: it was kept as is, and the record went into the XMP only")
    raws = [s.raw for s in segments]
    if xmp_at is not None:
        raws[xmp_at] = xmp
    else:
        new.append(xmp)
    written.append("APP1 XMP")
    # After SOI, the JFIF APP0 segments and an EXIF APP1 that follows them (EXIF wants to come first).
    at = 0
    while at < len(segments) and segments[at].marker == 0xE0:
        at += 1
    if at < len(segments) and segments[at].marker == 0xE1 and segments[at].payload.startswith(_EXIF_HEADER):
        at += 1
    raws[at:at] = new
    return b"\xff\xd8" + b"".join(raws) + data[scan_at:], written, notes, fitted


# -- WebP -------------------------------------------------------------------------------------------

_VP8X_ICC, _VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP, _VP8X_ANIMATION = 0x20, 0x10, 0x08, 0x04, 0x02
_WEBP_IMAGE_CHUNKS = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"}


def _webp_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The RIFF chunks of a WebP file, and any bytes after the RIFF (kept as found)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Malformed("no RIFF WEBP header")
    end = 8 + struct.unpack("<I", data[4:8])[0]
    if end > len(data):
        raise _Malformed("the RIFF size runs past the end of the file")
    chunks, pos = [], 12
    while pos + 8 <= end:
        fourcc, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if pos + 8 + size > end:
            raise _Malformed(f"chunk {fourcc!r} runs past the end of the RIFF")
        chunks.append((fourcc, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not chunks:
        raise _Malformed("no chunks")
    return chunks, data[end:]


def _webp_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _webp_canvas(fourcc: bytes, body: bytes) -> tuple[int, int, bool]:
    """(width, height, alpha) from a simple file's bitstream header."""
    if fourcc == b"VP8 ":
        if len(body) < 10 or body[3:6] != b"\x9d\x01\x2a":
            raise _Malformed("the VP8 bitstream has no key frame header")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if fourcc == b"VP8L":
        if len(body) < 5 or body[0] != 0x2F:
            raise _Malformed("the VP8L bitstream has no signature")
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise _Malformed(f"a simple WebP starts with {fourcc!r}, not VP8 or VP8L")


def _embed_webp(data: bytes, record: GenerationRecord,
                mode: EmbedMode) -> tuple[bytes, list[str], list[str], GenerationRecord]:
    chunks, trailing = _webp_chunks(data)
    if any(fourcc == b"C2PA" for fourcc, _ in chunks):
        raise _Signed(_C2PA_REASON.format(where="a C2PA chunk"))
    written, notes = [], []
    if chunks[0][0] == b"VP8X":
        header = chunks[0][1]
        if len(header) < 10:
            raise _Malformed("the VP8X chunk is cut short")
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
    record = _with_size(record, (width, height))
    xmp_at = next((i for i, (fourcc, _) in enumerate(chunks) if fourcc == b"XMP "), None)
    existing = chunks.pop(xmp_at)[1].decode("utf-8", "replace") if xmp_at is not None else None
    packet, merged = _xmp_packet(record, mode, existing)
    if merged:
        notes.append(merged)
    # Container order: VP8X, ICCP, ANIM/ANMF or ALPH and the bitstream, then EXIF, then XMP, then unknown chunks.
    chunks = [(fourcc, body) for fourcc, body in chunks if not (fourcc == b"EXIF" and _is_our_exif(body))]
    at = max(i for i, (fourcc, _) in enumerate(chunks) if fourcc in _WEBP_IMAGE_CHUNKS) + 1
    exif_at = next((i for i, (fourcc, _) in enumerate(chunks) if fourcc == b"EXIF"), None)
    if exif_at is not None:
        if mode == "full":
            notes.append("the image already had EXIF: it was kept as is, and the record went into the XMP only")
        at = max(at, exif_at + 1)
    elif mode == "full":
        chunks.insert(at, (b"EXIF", _record_exif(record)))
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
