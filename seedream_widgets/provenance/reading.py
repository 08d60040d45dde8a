"""`read_generation`: how an image was made, from a path, bytes or a PIL image (ours first, then other tools')."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .container import Malformed, Metadata
from .exif import user_comment
from .foreign import a1111_record, comfy_record, xmp_label_record
from .formats import CONTAINERS, sniff
from .parameters import parse_parameters
from .png import PARAMETERS_KEYWORD, RECORD_KEYWORD, XMP_KEYWORD
from .record import ForeignRecord, GenerationRecord, record_from_parameters
from .xmp import xmp_values


def read_generation(source: str | os.PathLike[str] | bytes | Any) -> GenerationRecord | ForeignRecord | None:
    """How an image was made, from its own metadata: a path, bytes, or a PIL image.

    >>> read_generation("seedream-outputs/2026-11-24/abc/1.png").prompt  # doctest: +SKIP
    'a red fox in the snow'

    Our own record first (PNG ``seedream`` chunk, XMP ``seedream:record``, an EXIF UserComment
    written by seedream-widgets); else AUTOMATIC1111's ``parameters`` (PNG text, EXIF
    UserComment); else ComfyUI's ``prompt``/``workflow`` PNG chunks; else an XMP AI label (a
    `ForeignRecord` without a prompt when the file has only the label). None when the file
    says nothing of how it was made, or is not an image this package reads.
    """
    meta = _metadata_of(source)
    if meta is None:
        return None
    own = _own_record(meta)
    if own is not None:
        return own
    parameters = meta.texts.get(PARAMETERS_KEYWORD, "")
    comment = user_comment(meta.exif)
    if not parameters.strip() and comment and parse_parameters(comment)[2]:
        parameters = comment  # in JPEG and WebP, A1111 writes its text as the EXIF UserComment
    if parameters.strip():
        return a1111_record(parameters)
    if "prompt" in meta.texts or "workflow" in meta.texts:
        comfy = comfy_record(meta.texts.get("prompt", ""), meta.texts.get("workflow", ""))
        if comfy is not None:
            return comfy
    if meta.xmp:
        return xmp_label_record(meta.xmp)
    return None


def _metadata_of(source: Any) -> Metadata | None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _metadata(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return _metadata(Path(source).read_bytes())
    info = getattr(source, "info", None)
    if isinstance(info, Mapping):
        return _metadata_from_pil(info)
    raise TypeError(f"read_generation takes a path, bytes or a PIL image, not {type(source).__name__}")


def _metadata_from_pil(info: Mapping[str, Any]) -> Metadata:
    """What Pillow decoded into ``image.info`` (PNG text chunks; ``exif`` and ``xmp`` of JPEG and WebP)."""
    meta = Metadata(texts={str(k): str(v) for k, v in info.items() if isinstance(v, str)})
    xmp = info.get("xmp", meta.texts.get(XMP_KEYWORD))
    if isinstance(xmp, (bytes, bytearray)):
        xmp = bytes(xmp).decode("utf-8", "replace")
    meta.xmp = xmp if isinstance(xmp, str) else None
    exif = info.get("exif")
    meta.exif = bytes(exif) if isinstance(exif, (bytes, bytearray)) else None
    return meta


def _metadata(data: bytes) -> Metadata | None:
    kind = sniff(data)
    if kind is None:
        return None
    meta = Metadata()
    with contextlib.suppress(Malformed):  # a reader fills meta as it goes: what came before the damage is kept
        CONTAINERS[kind].read(data, meta)
    return meta


def _own_record(meta: Metadata) -> GenerationRecord | None:
    candidates = [meta.texts.get(RECORD_KEYWORD)]
    if meta.xmp:
        candidates.append(xmp_values(meta.xmp).get("record"))
    for text in candidates:
        if text:
            try:
                return GenerationRecord.from_json(text)
            except (ValueError, TypeError, KeyError):
                continue
    comment = user_comment(meta.exif)
    if comment:
        prompt, _, settings = parse_parameters(comment)
        return record_from_parameters(prompt, settings)
    return None
