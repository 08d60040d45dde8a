"""The run-time settings of a demo backend: timings, token, image format, page size.

One mutable object shared by the request handlers; `DemoSettings.update` checks
every change before applying any, so a bad ``configure(...)`` call leaves the
server as it was. Timings are copied into each prediction when it is created
(its schedule never shifts under it); ``output_ttl`` and ``token`` apply at once.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, fields
from typing import Any

IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "jpeg": ("jpg", "image/jpeg"),
    "png": ("png", "image/png"),
    "webp": ("webp", "image/webp"),
}
"""Output format name -> (file extension, media type)."""


@dataclass
class DemoSettings:
    """What a `DemoServer` can be told at run time (``configure``, ``POST /_demo/config``)."""

    token: str | None = None
    """When set, only ``Authorization: Bearer <token>`` passes; when None any non-empty token does."""
    start_seconds: float = 0.05
    """How long a new prediction stays "starting"."""
    base_seconds: float = 0.4
    """Processing time before the first image (on top of ``per_image_seconds``)."""
    per_image_seconds: float = 0.2
    """Time each image takes; image k appears at start + base + k * per_image."""
    output_ttl: float = 3600.0
    """Seconds after completion until output files answer 404 and ``data_removed`` is true."""
    image_format: str = "jpeg"
    """jpeg, png or webp (fixed per prediction at creation)."""
    page_size: int = 50
    """Predictions per page of ``GET /v1/predictions``."""
    inline_outputs: bool = False
    """Answer a ``Prefer: wait`` create that finished in time with ``data:`` URIs as outputs, as
    Replicate's sync API did for small files in late 2024 (the official client then returns
    ``FileOutput`` objects, which it does for https: and data: URLs only, never for http:)."""
    stream: bool = True
    """Offer ``urls.stream`` (server-sent events) on predictions; False serves a base that only polls."""
    minimal_create: bool = False
    """Answer a create at once with only ``{"id", "status"}`` (the seed page's example), never holding it
    for ``Prefer: wait``, as some Replicate-compatible proxies do."""
    models_route: bool = True
    """Serve ``GET /v1/models/...``; False answers 404 there, like a proxy that forwards predictions only."""
    files_route: bool = True
    """Serve the Files API (``POST /v1/files``); False answers 404, like a proxy without it."""
    hold_creates: bool = True
    """Honour ``Prefer: wait`` (hold a create until the prediction ends or the wait passes); False answers at
    once, as a base that does not implement it."""
    cancel_after: bool = True
    """Honour a create's ``Cancel-After`` header; False serves a proxy that drops it."""
    create_rate: float = 0.0
    """Creates accepted per second (0: no limit); above it a create answers 429 with ``Retry-After``, and
    every create answer carries ``RateLimit-Limit``/``RateLimit-Remaining``/``RateLimit-Reset``."""
    create_burst: int = 1
    """How many creates may arrive at once within ``create_rate``."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **changes: Any) -> None:
        """Check every change, then apply them all (ValueError/TypeError names the bad one)."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise TypeError(f"unknown demo setting {name!r}; known: {', '.join(sorted(known))}")
            checked[name] = _check(name, value)
        with self._lock:
            for name, value in checked.items():
                setattr(self, name, value)

    def public(self) -> dict[str, Any]:
        """The settings as JSON for ``/_demo/config``; the token itself is never shown."""
        with self._lock:
            return {
                "token_required": self.token is not None,
                "start_seconds": self.start_seconds,
                "base_seconds": self.base_seconds,
                "per_image_seconds": self.per_image_seconds,
                "output_ttl": self.output_ttl,
                "image_format": self.image_format,
                "page_size": self.page_size,
                "inline_outputs": self.inline_outputs,
                "stream": self.stream,
                "minimal_create": self.minimal_create,
                "models_route": self.models_route,
                "files_route": self.files_route,
                "hold_creates": self.hold_creates,
                "cancel_after": self.cancel_after,
                "create_rate": self.create_rate,
                "create_burst": self.create_burst,
            }


def _check(name: str, value: Any) -> Any:
    if name == "token":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError("token must be None (accept any bearer token) or a non-empty string")
        return value
    if name == "image_format":
        if value not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {value!r}")
        return value
    if name == "page_size":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise ValueError(f"page_size must be a whole number from 1 to 1000, got {value!r}")
        return value
    if name in ("inline_outputs", "stream", "minimal_create", "models_route", "files_route", "cancel_after",
                "hold_creates"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if name == "create_burst":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise ValueError(f"create_burst must be a whole number from 1 to 1000, got {value!r}")
        return value
    # The remaining settings are durations in seconds (create_rate: creates per second).
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)
