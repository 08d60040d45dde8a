"""Which schema each model has: read from the service, cached on disk, or the built-in snapshot.

>>> catalog = SchemaCatalog(Path("seedream-outputs/.cache/models"))          # doctest: +SKIP
>>> catalog.get("bytedance/seedream-4.5").source                               # doctest: +SKIP
'built-in'

Lookups never wait for the network: this process's schemas, then the disk cache (one file per
model and version, ``{cache}/{owner}__{name}/{version}.json``), then the package's snapshot.
The client fetches (``GET {base}/models/{owner}/{name}``, or ``.../versions/{id}`` for a pinned
version) only when a model has no schema at all (before its first input is checked, bounded by
a few seconds), when a prediction reports a version the schema does not describe or the cached
copy is a day old (in the background, after the create), and when asked (`refresh`). A base
that has no ``/models`` route (a proxy) keeps the snapshot, with one note saying so. Nothing
here sends the token anywhere but the API, and the cache holds only the public schema.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import NotFoundError, SeedreamError
from .models import PRICES, ModelSchema, SchemaFormatError, builtin_schema

__all__ = ["MAX_AGE_SECONDS", "SchemaCatalog", "split_model"]

log = logging.getLogger("seedream_widgets")

MAX_AGE_SECONDS = 24 * 3600.0
"""A cached schema older than this is refreshed in the background after the next create."""
FETCH_TIMEOUT = 5.0
"""How long a fetch may hold up the first input of a model the package does not know."""

Fetch = Callable[[str], Awaitable[Any]]
"""``fetch(path)``: one GET under the API's base URL, returning the decoded JSON (the client's request)."""


def split_model(model: str) -> tuple[str, str]:
    """``("owner/name", "version")`` of ``owner/name[:version]`` (version "" when not pinned)."""
    name, _, version = model.partition(":")
    return name, version


class SchemaCatalog:
    """The schemas of the models one client uses (thread-safe: the sync facade and the engine loop share it)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self._schemas: dict[str, ModelSchema] = {}
        self._fetched: set[str] = set()
        self._checked_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self.notes: list[str] = []
        """Remarks worth showing once (a base without ``/models``, a fetch that failed)."""

    # -- lookups (no network) -------------------------------------------------------------

    def get(self, model: str) -> ModelSchema | None:
        """The best schema known now for ``owner/name[:version]``, or None for a model never seen."""
        with self._lock:
            found = self._schemas.get(model)
        if found is not None:
            return found
        name, version = split_model(model)
        found = self._from_disk(name, version)
        if found is None:
            snapshot = builtin_schema(name)
            if snapshot is not None and version:
                snapshot = replace(snapshot, version=version, pinned=True)
            found = snapshot
        if found is not None:
            with self._lock:
                self._schemas.setdefault(model, found)
        return found

    def needs_refresh(self, model: str, reported_version: str = "") -> bool:
        """Whether to fetch again after a create: a new version reported, or a copy a day old (once a process)."""
        schema = self.get(model)
        with self._lock:
            if model in self._fetched:
                return bool(reported_version) and reported_version not in ("hidden", schema.version if schema else "")
        if schema is None or schema.source == "built-in":
            return bool(reported_version) and reported_version != "hidden"
        if reported_version and reported_version != "hidden" and reported_version != schema.version:
            return True
        return time.time() - self._checked_at.get(model, 0.0) > MAX_AGE_SECONDS

    # -- fetching ---------------------------------------------------------------------------

    async def fetch(self, model: str, fetch: Fetch) -> ModelSchema | None:
        """Read ``model``'s schema from the service, cache it, and return it (None: the service has none for it).

        A base without a ``/models`` route, an unreadable document or a network failure keeps
        what is known, with a note; `NotFoundError` for the model itself propagates (the model
        does not exist there).
        """
        name, version = split_model(model)
        owner, short = name.split("/", 1)
        path = f"models/{owner}/{short}" + (f"/versions/{version}" if version else "")
        try:
            data = await fetch(path)
        except NotFoundError as exc:
            if _route_missing(exc):
                self.note(f"the service has no /models route (a proxy?): {name} is checked with the package's "
                           "built-in schema" if builtin_schema(name) else
                           f"the service has no /models route, so {name}'s fields cannot be read from it")
                self._mark_fetched(model)
                return None
            raise
        except SeedreamError as exc:
            self.note(f"could not read {name}'s schema from the service ({exc}); using what is known")
            return None
        try:
            schema = self._parse(name, version, data)
        except (SchemaFormatError, KeyError, TypeError, ValueError) as exc:
            self.note(f"the service's schema of {name} is not readable ({exc}); using what is known")
            self._mark_fetched(model)
            return None
        with self._lock:
            self._schemas[model] = schema
        self._mark_fetched(model)
        self._to_disk(schema, data)
        return schema

    def _mark_fetched(self, model: str) -> None:
        with self._lock:
            self._fetched.add(model)
            self._checked_at[model] = time.time()

    @staticmethod
    def _parse(name: str, version: str, data: Mapping[str, Any]) -> ModelSchema:
        if version:
            document, version_id = data["openapi_schema"], str(data.get("id") or version)
        else:
            latest = data["latest_version"]
            document, version_id = latest["openapi_schema"], str(latest.get("id") or "")
        return ModelSchema.from_openapi(name, document, version=version_id, source="service",
                                        price=PRICES.get(name), pinned=bool(version))

    def note(self, text: str) -> None:
        """Add a remark about what the service lacks or failed to give (once; logged; read by every door)."""
        log.info("%s", text)
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    # -- the disk cache -----------------------------------------------------------------------

    def _folder(self, name: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / name.replace("/", "__")

    def _to_disk(self, schema: ModelSchema, data: Mapping[str, Any]) -> None:
        folder = self._folder(schema.model)
        if folder is None or not schema.version:
            return
        document = data["openapi_schema"] if schema.pinned else data["latest_version"]["openapi_schema"]
        record = {"model": schema.model, "version": schema.version, "fetched_at": time.time(), "document": document}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{schema.version}.{os.getpid()}.partial"
            partial.write_text(json.dumps(record), encoding="utf-8")
            os.replace(partial, folder / f"{schema.version}.json")
        except OSError as exc:  # a read-only output folder: the cache is an optimisation only
            log.debug("could not cache %s's schema: %r", schema.model, exc)

    def _from_disk(self, name: str, version: str) -> ModelSchema | None:
        folder = self._folder(name)
        if folder is None or not folder.is_dir():
            return None
        try:
            files = [folder / f"{version}.json"] if version else sorted(
                folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for path in files:
                if not path.is_file():
                    continue
                record = json.loads(path.read_text(encoding="utf-8"))
                schema = ModelSchema.from_openapi(name, record["document"], version=str(record["version"]),
                                                  source="cache", price=PRICES.get(name), pinned=bool(version))
                with self._lock:
                    self._checked_at.setdefault(name if not version else f"{name}:{version}",
                                                float(record.get("fetched_at") or 0))
                return schema
        except (OSError, ValueError, KeyError, TypeError, SchemaFormatError) as exc:
            log.debug("ignoring an unreadable cached schema of %s: %r", name, exc)
        return None


def _route_missing(exc: NotFoundError) -> bool:
    """A 404 that says the route does not exist (a proxy), not that this model does not."""
    text = f"{exc.title} {exc.detail}".lower()
    return "model" not in text or "route" in text
