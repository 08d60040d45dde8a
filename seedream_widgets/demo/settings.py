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
    if name == "inline_outputs":
        if not isinstance(value, bool):
            raise ValueError(f"inline_outputs must be true or false, got {value!r}")
        return value
    # The remaining settings are durations in seconds.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)
