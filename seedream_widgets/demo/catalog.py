"""The models a demo backend serves: the Seedream family's snapshots, plus any OpenAPI document it is given.

Each model has one version (a stable 64-hex id derived from its name and document), served at
``GET /v1/models/{owner}/{name}`` (``latest_version.openapi_schema``) and ``.../versions/{id}``,
and validates creates with the same `ModelSchema` rules the client uses (as the real service
does with its own copy of each model's schema).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import KNOWN_MODELS, ModelSchema, snapshot_document

__all__ = ["DemoModel", "demo_models", "version_id"]

VERSION_CREATED_AT = "2025-09-09T00:00:00.000000Z"


def version_id(model: str, document: Mapping[str, Any] | None = None) -> str:
    """The demo's version id of a model: 64 hex digits, like a real one, stable across runs."""
    if model == KNOWN_MODELS[0] and document is None:
        # seedream-4 keeps the id earlier versions of the demo gave out (tests and notebooks pin it).
        return hashlib.sha256(b"seedream-widgets demo backend: bytedance/seedream-4").hexdigest()
    text = json.dumps(document, sort_keys=True) if document is not None else ""
    return hashlib.sha256(f"seedream-widgets demo backend: {model}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class DemoModel:
    """One model of a demo backend: its name, version, OpenAPI document and the schema read from it."""

    name: str
    version: str
    document: dict[str, Any]
    schema: ModelSchema
    description: str = ""

    @property
    def owner(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split("/", 1)[1]


def demo_models(extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, DemoModel]:
    """The Seedream family, then ``extra`` models (``owner/name`` -> OpenAPI document) by name."""
    models: dict[str, DemoModel] = {}
    for name in KNOWN_MODELS:
        snapshot = snapshot_document(name)
        assert snapshot is not None
        models[name] = DemoModel(name, version_id(name), snapshot,
                                 ModelSchema.from_openapi(name, snapshot, source="service"),
                                 f"{name.split('/')[1]} (local demo backend: placeholder images, nothing is billed)")
    for name, document in (extra or {}).items():
        if name.count("/") != 1:
            raise ValueError(f"a demo model needs an owner/name, got {name!r}")
        models[name] = DemoModel(name, version_id(name, document), dict(document),
                                 ModelSchema.from_openapi(name, document, source="service"),
                                 f"{name} (a model served by the demo backend)")
    return models
