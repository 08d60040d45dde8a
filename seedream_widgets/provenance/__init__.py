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

One module per idea, each importing only the ones above it in this list (checked by
``lint-imports``, see ``pyproject.toml``), and otherwise only ``_version`` and ``models``:

- ``digest``: sha256 of bytes and files; ``parameters``: AUTOMATIC1111's text, written and parsed.
- ``redact``: what a record never holds; ``record``: `GenerationRecord` and `ForeignRecord`;
  ``fit``: a record shortened to fit a JPEG segment.
- ``container``: the embed modes, what a file carries, and the two refusals (malformed, C2PA).
- ``xmp`` and ``exif``: the two packets; ``png``, ``jpeg``, ``webp``: the containers, each with its
  writer and its reader; ``formats``: the table of the three, and sniffing.
- ``foreign``: other tools' records; ``embedding``: `embed`; ``reading``: `read_generation`.
"""

from __future__ import annotations

from .container import EmbedMode
from .digest import file_sha256, sha256_hex
from .embedding import Embedded, embed
from .foreign import closest_ratio
from .formats import ImageFormat as ImageFormat  # not in __all__, but importable from here as before the split
from .jpeg import SEGMENT_LIMIT as SEGMENT_LIMIT  # (the tests read SEGMENT_LIMIT)
from .png import MAX_TEXT_BYTES as MAX_TEXT_BYTES
from .reading import read_generation
from .record import RECORD_SCHEMA, SOFTWARE, ForeignRecord, GenerationRecord, seed_from_logs
from .xmp import DIGITAL_SOURCE_TYPE

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
