"""The Seedream family as shipped: OpenAPI snapshots of each model's latest version, and prices.

The snapshots serve offline, on a base that does not forward ``/models`` (a proxy), and before the
first fetch; a schema read from the service replaces them (`seedream_widgets.catalog`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .model import ModelSchema, Price

__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "PRICES", "builtin_schema", "snapshot_document"]

DEFAULT_MODEL = "bytedance/seedream-4"

KNOWN_MODELS: tuple[str, ...] = ("bytedance/seedream-4", "bytedance/seedream-4.5", "bytedance/seedream-5-lite")
"""The models the package ships a schema for, oldest first."""

PRICES: dict[str, Price] = {
    "bytedance/seedream-4": Price(0.03, "replicate.com/bytedance/seedream-4 (model page: $0.03 per output image)",
                                  "2025-09"),
    "bytedance/seedream-4.5": Price(0.04, "replicate.com/bytedance/seedream-4.5 (about $0.04 per output image; "
                                          "not confirmed against an invoice)", "2025-12", verified=False),
    "bytedance/seedream-5-lite": Price(0.035, "replicate.com/bytedance/seedream-5-lite (model page: $0.035 per "
                                              "output image)", "2026-10"),
}
"""USD per output image, with where and when each figure was read (see ``../shared/DESIGN.md``)."""


def snapshot_document(model: str) -> dict[str, Any] | None:
    """The shipped OpenAPI document of a known model (None for others)."""
    name = model.split(":", 1)[0]
    if name not in KNOWN_MODELS:
        return None
    folder = resources.files(__package__).joinpath("snapshots")
    document: dict[str, Any] = json.loads(folder.joinpath(name.replace("/", "__") + ".json").read_text("utf-8"))
    return document


@cache
def builtin_schema(model: str) -> ModelSchema | None:
    """The built-in schema of a known model (``owner/name``; a ``:version`` suffix is ignored), else None.

    >>> builtin_schema("bytedance/seedream-4.5").field("image_input").max_items
    14
    """
    name = model.split(":", 1)[0]
    document = snapshot_document(name)
    if document is None:
        return None
    return ModelSchema.from_openapi(name, document, source="built-in", price=PRICES.get(name))
