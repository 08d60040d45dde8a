"""The on-disk store of every run: images plus a JSON sidecar, and a journal of in-flight ids.

Layout::

    {output_dir}/
      2026-11-24/<prediction id>/1.jpg, 2.jpg, ..., prediction.json
      .journal/<prediction id>.json      # in flight: removed once the run is stored or ends

Every write is atomic (a temporary file, then ``os.replace``), each in-flight
prediction has its own journal file, and images are downloaded into a hidden
``.partial-<id>`` folder that is renamed into place only when all of them are
verified: concurrent writers never mix, and a crash leaves nothing half-written
where `history` looks.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .images import describe_uri

__all__ = ["Gallery", "RunRecord"]

SIDECAR = "prediction.json"


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def redact_input(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The input as stored: data URIs replaced by their type, size and hash (they can be megabytes)."""
    clean = dict(payload)
    if isinstance(clean.get("image_input"), list):
        clean["image_input"] = [describe_uri(u) if isinstance(u, str) else u for u in clean["image_input"]]
    return clean


@dataclass(frozen=True)
class RunRecord:
    """One stored run, read back from its sidecar."""

    id: str
    folder: Path
    sidecar: Mapping[str, Any]

    @property
    def paths(self) -> list[Path]:
        return [self.folder / image["file"] for image in self.sidecar.get("images", [])]

    @property
    def prompt(self) -> str:
        return str(self.sidecar.get("input", {}).get("prompt", ""))

    @property
    def created_at(self) -> str:
        return str(self.sidecar.get("created_at") or self.sidecar.get("saved_at") or "")

    @property
    def complete(self) -> bool:
        return bool(self.paths) and all(p.is_file() for p in self.paths)


class Gallery:
    """Where runs are kept.

    >>> gallery = Gallery("seedream-outputs")   # doctest: +SKIP
    >>> [run.prompt for run in gallery.history(5)]  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- the journal of in-flight predictions -------------------------------

    @property
    def journal_dir(self) -> Path:
        return self.root / ".journal"

    def journal(self, prediction_id: str, entry: Mapping[str, Any]) -> None:
        """Remember an in-flight prediction (id, input, model, base URL) so a restart can resume it."""
        write_json_atomic(self.journal_dir / f"{prediction_id}.json", dict(entry))

    def unjournal(self, prediction_id: str) -> None:
        (self.journal_dir / f"{prediction_id}.json").unlink(missing_ok=True)

    def in_flight(self) -> list[dict[str, Any]]:
        """Journal entries of predictions that were started and not yet stored, oldest first."""
        entries: list[tuple[float, dict[str, Any]]] = []
        for path in self.journal_dir.glob("*.json"):
            try:  # a run that ends meanwhile unjournals itself: its file may be gone by now
                entries.append((path.stat().st_mtime, json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                continue
        return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]

    def journal_entry(self, prediction_id: str) -> dict[str, Any] | None:
        path = self.journal_dir / f"{prediction_id}.json"
        try:
            entry: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return entry
        except (OSError, ValueError):
            return None

    # -- stored runs ------------------------------------------------------------

    def folder_for(self, prediction_id: str, created_at: datetime | None) -> Path:
        day = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%d")
        return self.root / day / prediction_id

    def staging_for(self, prediction_id: str) -> Path:
        """The hidden folder a run's images are downloaded into before they are stored."""
        return self.root / f".partial-{prediction_id}"

    def store(self, prediction_id: str, created_at: datetime | None, staging: Path,
              sidecar: Mapping[str, Any]) -> Path:
        """Move the verified images into place and write the sidecar; returns the run folder."""
        folder = self.folder_for(prediction_id, created_at)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists():  # a re-download (resume) replaces the previous copy whole
            shutil.rmtree(folder)
        write_json_atomic(staging / SIDECAR, {**sidecar, "saved_at": _now()})
        os.replace(staging, folder)
        self.unjournal(prediction_id)
        return folder

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def find(self, prediction_id: str) -> RunRecord | None:
        for sidecar in self.root.glob(f"*/{prediction_id}/{SIDECAR}"):
            record = _read(sidecar)
            if record:
                return record
        return None

    def history(self, limit: int | None = None) -> list[RunRecord]:
        """Stored runs, newest first."""
        records = [r for r in (_read(p) for p in self.root.glob(f"*/*/{SIDECAR}")) if r]
        records.sort(key=lambda r: str(r.sidecar.get("saved_at", "")), reverse=True)
        return records[:limit] if limit else records


def _read(sidecar: Path) -> RunRecord | None:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RunRecord(id=str(data.get("id", sidecar.parent.name)), folder=sidecar.parent, sidecar=data)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
