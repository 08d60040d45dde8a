"""The fault plan of a demo backend: which request gets which fault, and the faulty bodies.

A fault comes from one of three places, checked in this order for every
non-admin request:

1. the request's own ``X-Seedream-Demo-Fault: kind[;param=value...]`` header;
2. the queue filled by ``inject(kind, route=..., times=...)`` (first matching entry wins);
3. the random plan of ``set_fault_rate(rate, kinds, seed)`` (a seeded RNG, so a run repeats).

At most one fault applies to a request. Each kind applies to some routes only
(`APPLIES_TO`): a queued ``bomb`` with ``route="any"`` waits for the next file
download rather than being spent on a create.

Kinds and their params:

=============== ================================= ==============================================
kind            params                            effect
=============== ================================= ==============================================
latency         seconds (0.5)                     sleep, then answer normally
429             retry_after (1)                   429 problem JSON with ``Retry-After``, nothing done
500 502 503 504                                   that problem JSON, nothing done
drop                                              close the connection unanswered, nothing done
drop_after                                        do the work (a create creates!), then close unanswered
malformed                                         do the work, answer the right status, truncated body
401 402 404                                       a hard failure: that status and Replicate's problem JSON
422             invalid_fields (a list)           422 problem JSON naming several invalid input fields
fail            message                           the created prediction fails with that error
html                                              the created prediction fails; error and logs hold HTML
expire                                            the prediction's outputs (or this file) answer 404
output_scheme                                     the prediction's output URLs become file:/javascript:
oversize        bytes (64 MiB)                    the file streams that many junk bytes as image/jpeg
not_image                                         the file is an HTML page sent as image/png
bomb                                              the file is a tiny PNG declaring 30000x30000 pixels
=============== ================================= ==============================================
"""

from __future__ import annotations

import math
import random
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ROUTES = ("create", "get", "cancel", "list", "file", "model")
"""Route names, as used by ``inject(route=...)`` and `DemoStats.requests` (plus "any")."""

TRANSIENT_KINDS = ("latency", "429", "500", "502", "503", "drop", "drop_after", "malformed")
"""What the random plan chooses from by default: faults a client should survive by retrying."""

STATUS_KINDS = ("429", "500", "502", "503", "504", "401", "402", "404", "422")
"""Kinds answered with their own status and problem JSON, before any work is done."""

HARD_KINDS = ("401", "402", "404", "422")
"""Status kinds no retry can fix (a client must raise at once); never in the random plan by default."""

_ALL = frozenset(ROUTES)
APPLIES_TO: dict[str, frozenset[str]] = {
    **{kind: _ALL for kind in (*TRANSIENT_KINDS, "504")},
    "fail": frozenset({"create"}),
    "html": frozenset({"create"}),
    "expire": frozenset({"create", "get", "file"}),
    "output_scheme": frozenset({"create", "get"}),
    "oversize": frozenset({"file"}),
    "not_image": frozenset({"file"}),
    "bomb": frozenset({"file"}),
    "401": _ALL - {"file"},  # output files need no token, as on replicate.delivery
    "402": frozenset({"create"}),
    "404": frozenset({"create", "get", "cancel", "model"}),
    "422": frozenset({"create"}),
}
"""Every fault kind and the routes it can apply to."""
KINDS = tuple(APPLIES_TO)

HEADER = "X-Seedream-Demo-Fault"
"""The per-request fault header: ``kind[;param=value...]``."""

HTML_PAYLOAD = '<script>alert("x")</script><b>bold</b>'
"""What the ``html`` fault puts into a prediction's error and logs (clients must escape it)."""

HOSTILE_URLS = ("file:///etc/passwd", "javascript:alert(1)")
"""What the ``output_scheme`` fault puts into a prediction's output, in turn."""

_TITLES = {
    "429": "Request was throttled.",
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
    "504": "Gateway Timeout",
    "401": "Unauthenticated",
    "402": "Insufficient credit",
    "404": "Not found",
    "422": "Input validation failed",
}
_DETAILS = {
    "401": "You did not pass a valid authentication token",
    "402": "You have insufficient credit to run this model. Go to https://replicate.com/account/billing to "
           "purchase credit. Once you purchase credit, please wait a few minutes before trying again.",
    "404": "The requested resource could not be found.",
}
INVALID_FIELDS = (
    {"type": "enum", "field": "input.size",
     "description": 'size must be one of the following: "1K", "2K", "4K", "custom"'},
    {"type": "less_than_equal", "field": "input.max_images", "description": "Must be less than or equal to 15"},
    {"type": "additional_property_not_allowed", "field": "input",
     "description": "Additional property enhance_prompt is not allowed"},
)
"""The ``422`` fault's default ``invalid_fields``: what a proxy serving an older model version may say."""


@dataclass(frozen=True)
class Fault:
    """One fault to apply to one request."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def number(self, name: str, default: float) -> float:
        """A numeric param (header params arrive as text); the default when absent or bad."""
        try:
            value = float(self.params.get(name, default))
        except (TypeError, ValueError):
            return default
        return value if math.isfinite(value) and value >= 0 else default

    def text(self, name: str, default: str) -> str:
        value = self.params.get(name)
        return str(value) if value not in (None, "") else default

    def problem(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Status, problem JSON and extra headers for a status kind (429, 5xx)."""
        status = int(self.kind)
        headers: list[tuple[str, str]] = []
        if status == 429:
            retry_after = self.number("retry_after", 1.0)
            # An integer is the form every client parses (replicate's only accepts digits).
            seconds = max(0, math.ceil(retry_after))
            headers.append(("Retry-After", str(seconds)))
            detail = f"Request was throttled. Expected available in {seconds} second{'s' if seconds != 1 else ''}."
        elif self.kind == "422":
            fields = self.params.get("invalid_fields")
            invalid = [dict(f) for f in fields] if isinstance(fields, list) else [dict(f) for f in INVALID_FIELDS]
            detail = "".join(f"- {f.get('field', 'input')}: {f.get('description', '')}\n" for f in invalid)
            return status, {"title": _TITLES[self.kind], "detail": detail, "status": status,
                            "invalid_fields": invalid}, headers
        else:
            detail = _DETAILS.get(self.kind, "The demo backend was told to fail this request (fault injection).")
        return status, {"title": _TITLES[self.kind], "detail": detail, "status": status}, headers


def parse_header(value: str) -> Fault:
    """``"429;retry_after=2"`` -> ``Fault("429", {"retry_after": "2"})``; ValueError if unknown."""
    kind, *pairs = [part.strip() for part in value.split(";")]
    if kind not in APPLIES_TO:
        raise ValueError(f"unknown demo fault {kind!r}; known: {', '.join(KINDS)}")
    params: dict[str, str] = {}
    for pair in pairs:
        if pair:
            name, _, val = pair.partition("=")
            params[name.strip()] = val.strip()
    return Fault(kind, params)


@dataclass
class _Queued:
    fault: Fault
    route: str
    remaining: int


class FaultPlan:
    """Decides the fault (if any) for each request; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._rate = 0.0
        self._kinds: tuple[str, ...] = TRANSIENT_KINDS
        self._rng = random.Random(0)

    def inject(self, kind: str, *, route: str = "any", times: int = 1, params: Mapping[str, Any] | None = None) -> None:
        """Queue ``kind`` for the next ``times`` requests on ``route`` that it can apply to."""
        if kind not in APPLIES_TO:
            raise ValueError(f"unknown demo fault {kind!r}; known: {', '.join(KINDS)}")
        if route != "any" and route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: any, {', '.join(ROUTES)}")
        if route != "any" and route not in APPLIES_TO[kind]:
            raise ValueError(f"fault {kind!r} cannot apply to route {route!r}; "
                             f"it applies to {', '.join(sorted(APPLIES_TO[kind]))}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a whole number >= 1, got {times!r}")
        with self._lock:
            self._queue.append(_Queued(Fault(kind, dict(params or {})), route, times))

    def set_rate(self, rate: float, kinds: tuple[str, ...] | None = None, seed: int = 0) -> None:
        """Apply a random fault from ``kinds`` to about ``rate`` of all requests (seeded)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be from 0 to 1, got {rate!r}")
        chosen = tuple(kinds) if kinds is not None else TRANSIENT_KINDS
        unknown = [k for k in chosen if k not in APPLIES_TO]
        if unknown or not chosen:
            raise ValueError(f"unknown demo fault kinds {unknown!r}; known: {', '.join(KINDS)}")
        with self._lock:
            self._rate, self._kinds, self._rng = float(rate), chosen, random.Random(seed)

    def clear(self) -> None:
        """No queued faults and no random faults."""
        with self._lock:
            self._queue.clear()
            self._rate = 0.0

    def pick(self, route: str, header: str | None) -> Fault | None:
        """The fault for one request on ``route``; ValueError for a bad fault header."""
        if header:
            fault = parse_header(header)
            return fault if route in APPLIES_TO[fault.kind] else None
        with self._lock:
            for entry in self._queue:
                if entry.route in (route, "any") and route in APPLIES_TO[entry.fault.kind]:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._queue.remove(entry)
                    return entry.fault
            if self._rate > 0.0 and self._rng.random() < self._rate:
                kind = self._rng.choice(self._kinds)
                if route in APPLIES_TO[kind]:
                    return Fault(kind)
        return None


# -- faulty bodies ------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid ~100-byte PNG header declaring ``width`` x ``height`` pixels.

    Pillow refuses to open it (``DecompressionBombError``: more than twice
    ``Image.MAX_IMAGE_PIXELS``) as long as its guard is on, which is the point.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


NOT_IMAGE_HTML = (
    b"<!doctype html><html><head><title>Not an image</title></head><body>"
    b"<h1>This is an HTML page served as image/png</h1>" + HTML_PAYLOAD.encode() + b"</body></html>"
)
"""The ``not_image`` file body: sniff the bytes, never trust the Content-Type."""


def junk(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of JPEG-looking junk in chunks: never held in memory at once."""
    block = (b"\xff\xd8\xff\xe0" + bytes(range(256)) * (chunk // 256 + 1))[:chunk]
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece
