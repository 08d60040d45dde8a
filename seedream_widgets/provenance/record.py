"""What a generation record holds (ours, `GenerationRecord`; another tool's, `ForeignRecord`), as JSON and as text."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from .._version import __version__
from .parameters import format_parameters, param_key, param_name, param_value, parse_value
from .redact import clean_base_url, redact, scrub

RECORD_SCHEMA = "seedream-widgets/generation@1"
"""The ``schema`` of a record: changes when a field changes meaning."""
SOFTWARE_NAME = "seedream-widgets"
"""How our ``Software`` values, XMP toolkit and ``CreatorTool`` start (what tells our records from others')."""
SOFTWARE = f"{SOFTWARE_NAME} {__version__}"

_META_KEYS = {"Model", "Size", "Aspect ratio", "Seed", "Prediction", "Version", "Software", "Image", "Created",
              "Demo"}
"""The keys `GenerationRecord.parameters_text` writes besides the input's fields."""


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
        object.__setattr__(self, "input", MappingProxyType(redact(dict(self.input))))
        object.__setattr__(self, "base_url", clean_base_url(self.base_url))
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
        payload = scrub(redact(dict(input)), hidden)
        width, height = size if size else (None, None)
        return cls(model=scrub(name, hidden), prompt=scrub(str(input.get("prompt", "")), hidden), input=payload,
                   version=scrub(version or pinned, hidden), prediction_id=scrub(prediction_id, hidden),
                   created_at=when, seed=seed if seed is not None else seed_from_logs(logs), width=width,
                   height=height, index=index, count=count, demo=demo,
                   base_url=scrub(clean_base_url(base_url), hidden))

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
                items.append((param_key(name), param_value(value)))
        return format_parameters(self.prompt, items)


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


_SEED = re.compile(r"\busing seed\b[\s:=]*(-?\d+)", re.IGNORECASE)


def seed_from_logs(logs: str) -> int | None:
    """The seed a prediction's logs name (``Using seed 1234``), else None."""
    found = _SEED.search(logs or "")
    return int(found.group(1)) if found else None


def written_by_us(settings: Mapping[str, str]) -> bool:
    """Whether a ``parameters`` text's settings name seedream-widgets as their ``Software``."""
    return settings.get("Software", "").startswith(SOFTWARE_NAME)


def record_from_parameters(prompt: str, settings: Mapping[str, str]) -> GenerationRecord | None:
    """Our own record rebuilt from the ``parameters`` text (a file whose XMP was stripped).

    None unless seedream-widgets wrote the text and it names a model (else it is another tool's).
    """
    if not written_by_us(settings) or not settings.get("Model"):
        return None
    payload: dict[str, Any] = {"prompt": prompt}
    for key, value in settings.items():
        if key not in _META_KEYS or key == "Aspect ratio":
            payload[param_name(key)] = parse_value(value)
    size = re.fullmatch(r"(\d+)x(\d+)", settings.get("Size", ""))
    image = re.fullmatch(r"(\d+) of (\d+)", settings.get("Image", ""))
    return GenerationRecord(model=settings["Model"], prompt=prompt, input=payload, version=settings.get("Version", ""),
                            prediction_id=settings.get("Prediction", ""), created_at=settings.get("Created", ""),
                            seed=_int_or_none(settings.get("Seed")), width=int(size.group(1)) if size else None,
                            height=int(size.group(2)) if size else None, index=int(image.group(1)) if image else 1,
                            count=int(image.group(2)) if image else 1, software=settings["Software"],
                            demo=settings.get("Demo") == "true")


def with_size(record: GenerationRecord, size: tuple[int, int] | None) -> GenerationRecord:
    """``record`` with the image's width and height, unless it already has both."""
    if size and not (record.width and record.height):
        return replace(record, width=size[0], height=size[1])
    return record


def _int_or_none(value: Any) -> int | None:
    """``value`` as an int, or None (for None, booleans and anything that is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
