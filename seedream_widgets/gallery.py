"""The on-disk store of every run: images plus a JSON sidecar, and a journal of in-flight ids.

Layout::

    {output_dir}/
      2026-11-24/<prediction id>/1.jpg, 2.jpg, ..., prediction.json
      .journal/<prediction id>.json      # in flight: removed once the run is stored or ends
      .journal/<key>.pending             # a create the service has not answered yet
      .partial-<key>/                    # images being downloaded, before the run is stored

Every file appears whole under its final name (written under another name or in a
hidden folder, then ``os.replace``), each in-flight prediction has its own journal file, and images
are downloaded into a hidden ``.partial-<key>`` folder that is renamed into place
only when all of them are verified: concurrent writers never mix, and a crash
leaves nothing half-written where `history` or `in_flight` look.

A journal file holds JSON lines, merged in order: the run's input, then its id.
The first line is written while the create request is still held open by the
service (`PendingRun`), so the disk work is done by the time the answer comes
and only a short append and a rename remain between the answer and the download.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .images import describe_uri

__all__ = ["Gallery", "PendingRun", "RunRecord"]

SIDECAR = "prediction.json"
log = logging.getLogger("seedream_widgets")


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # a regular file takes it in one write, unless the disk fills up or a signal lands
        view = view[os.write(fd, view):]


def read_journal(path: Path) -> dict[str, Any] | None:
    """A journal file's entry (its JSON lines merged in order), or None if unreadable or without an id."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    entry: dict[str, Any] = {}
    try:
        for line in text.splitlines():
            if line.strip():
                part = json.loads(line)
                if isinstance(part, dict):
                    entry.update(part)
    except ValueError:  # one JSON document over several lines (an earlier version's entry, or a hand-edited one)
        try:
            whole = json.loads(text)
        except ValueError:
            return None
        entry = whole if isinstance(whole, dict) else {}
    return entry if entry.get("id") else None


class PendingRun:
    """One generation's files before the service has named it: its journal entry and staging folder.

    ``prepare`` writes ``.journal/<key>.pending`` (the input, no id yet) and makes the staging
    folder; the client calls it once the create request is sent, while the service holds the
    request open, so that work costs no time. ``confirm`` appends the id and renames the entry
    to ``.journal/<id>.json``, where `Gallery.in_flight` finds it; ``abandon`` removes both when
    no prediction came of the create. A crash before ``confirm`` leaves only a ``.pending`` file,
    which nothing reads (there is no id to resume).
    """

    def __init__(self, gallery: Gallery, entry: Mapping[str, Any]) -> None:
        self.key = secrets.token_hex(8)
        self.staging = gallery.root / f".partial-{self.key}"
        self._journal_dir = gallery.journal_dir
        self._pending = gallery.journal_dir / f"{self.key}.pending"
        self._entry = {**entry, "staging": self.staging.name}  # so that resume() after a crash uses it up
        self._fd: int | None = None
        self._prepared = False

    def prepare(self) -> None:
        """Write the entry without its id and make the staging folder (once; later calls do nothing)."""
        if self._prepared:
            return
        self._journal_dir.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        line = json.dumps(self._entry, ensure_ascii=False, default=str).encode("utf-8") + b"\n"
        fd = os.open(self._pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._fd = fd
        _write_all(fd, line)
        self._prepared = True

    def prepare_quietly(self) -> None:
        """`prepare`, for a moment when an error must not surface (``confirm`` retries and raises it)."""
        try:
            self.prepare()
        except OSError as exc:
            log.debug("could not prepare the journal entry yet: %r", exc)

    def confirm(self, prediction_id: str) -> None:
        """The service named the prediction: record its id, under ``.journal/<id>.json``."""
        self.prepare()
        assert self._fd is not None
        _write_all(self._fd, json.dumps({"id": prediction_id}).encode("utf-8") + b"\n")
        self._close()
        os.replace(self._pending, self._journal_dir / f"{prediction_id}.json")

    def abandon(self) -> None:
        """No prediction to follow: remove the pending entry and the staging folder."""
        self._close()
        self._pending.unlink(missing_ok=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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

    @property
    def model(self) -> str:
        return str(self.sidecar.get("model") or "")

    @property
    def demo(self) -> bool:
        return bool(self.sidecar.get("demo"))

    @property
    def saved_at(self) -> str:
        return str(self.sidecar.get("saved_at") or self.created_at)

    @property
    def input(self) -> dict[str, Any]:
        value = self.sidecar.get("input")
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(width, height) of each image, as stored."""
        return [(int(i.get("width") or 0), int(i.get("height") or 0)) for i in self.sidecar.get("images", [])]


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

    def pending(self, entry: Mapping[str, Any]) -> PendingRun:
        """The journal entry and staging folder of a generation about to be created (nothing written yet)."""
        return PendingRun(self, entry)

    def unjournal(self, prediction_id: str) -> None:
        (self.journal_dir / f"{prediction_id}.json").unlink(missing_ok=True)

    def in_flight(self) -> list[dict[str, Any]]:
        """Journal entries of predictions that were started and not yet stored, oldest first."""
        entries: list[tuple[float, dict[str, Any]]] = []
        for path in self.journal_dir.glob("*.json"):
            try:  # a run that ends meanwhile unjournals itself: its file may be gone by now
                mtime = path.stat().st_mtime
            except OSError:
                continue
            entry = read_journal(path)
            if entry is not None:
                entries.append((mtime, entry))
        return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]

    def journal_entry(self, prediction_id: str) -> dict[str, Any] | None:
        return read_journal(self.journal_dir / f"{prediction_id}.json")

    # -- stored runs ------------------------------------------------------------

    def folder_for(self, prediction_id: str, created_at: datetime | None) -> Path:
        day = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%d")
        return self.root / day / prediction_id

    def staging_for(self, prediction_id: str) -> Path:
        """The hidden folder a run's images are downloaded into before they are stored: the one its
        journal entry names (a crash may have left images in it), else ``.partial-<id>``."""
        entry = self.journal_entry(prediction_id)
        name = entry.get("staging") if entry else None
        if isinstance(name, str) and name.startswith(".partial-") and Path(name).name == name:
            return self.root / name
        return self.root / f".partial-{prediction_id}"

    def store(self, prediction_id: str, created_at: datetime | None, staging: Path,
              sidecar: Mapping[str, Any]) -> Path:
        """Move the verified images into place and write the sidecar; returns the run folder."""
        folder = self.folder_for(prediction_id, created_at)
        # Written straight into the hidden staging folder: the rename of the whole folder is what makes
        # the run appear at once, sidecar included.
        text = json.dumps({**sidecar, "saved_at": _now()}, indent=2, ensure_ascii=False, default=str) + "\n"
        _write_file(staging / SIDECAR, text.encode("utf-8"))
        try:
            os.replace(staging, folder)
        except FileNotFoundError:  # the first run of the day: no day folder yet
            folder.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging, folder)
        except OSError:
            if not folder.is_dir():
                raise
            shutil.rmtree(folder)  # a re-download (resume) replaces the previous copy whole
            os.replace(staging, folder)
        self.unjournal(prediction_id)
        return folder

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def find(self, prediction_id: str) -> RunRecord | None:
        """The stored run of a prediction id, or None."""
        if not prediction_id or "/" in prediction_id or prediction_id.startswith("."):
            return None
        for sidecar in self.root.glob(f"*/{glob_escape(prediction_id)}/{SIDECAR}"):
            record = _read(sidecar)
            if record:
                return record
        return None

    def find_prefix(self, prefix: str) -> list[RunRecord]:
        """The stored runs whose prediction id starts with ``prefix`` (newest first)."""
        if not prefix or "/" in prefix or prefix.startswith("."):
            return []
        records = [r for r in (_read(p) for p in self.root.glob(f"*/{glob_escape(prefix)}*/{SIDECAR}")) if r]
        return sorted(records, key=lambda r: r.saved_at, reverse=True)

    @staticmethod
    def input_key(payload: Mapping[str, Any]) -> str:
        """What makes two inputs "the same" for matching stored runs: the canonical JSON of the input as stored."""
        return json.dumps(redact_input(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str)

    def stored_by_input(self, model: str, *, demo: bool) -> dict[str, list[RunRecord]]:
        """Complete stored runs of ``model`` in this mode (demo or real), by `input_key`, oldest first."""
        found: dict[str, list[RunRecord]] = {}
        for record in reversed(self.history(None)):
            if record.demo == demo and record.model in ("", model) and record.input and record.complete:
                found.setdefault(self.input_key(record.input), []).append(record)
        return found

    def durations(self, model: str, size: str, images: int, *, limit: int = 20) -> list[float]:
        """Seconds from create to end of the latest stored runs of ``model`` at ``size`` with ``images`` outputs."""
        found: list[float] = []
        for record in self.history(200):
            data = record.sidecar
            if record.model not in (model, "") or str(record.input.get("size") or "") != size \
                    or len(record.paths) != images:
                continue
            try:
                start = datetime.fromisoformat(str(data["created_at"]).replace("Z", "+00:00"))
                end = datetime.fromisoformat(str(data["completed_at"]).replace("Z", "+00:00"))
            except (KeyError, TypeError, ValueError):
                continue
            found.append((end - start).total_seconds())
            if len(found) >= limit:
                break
        return found

    def journaled_by_input(self, model: str) -> dict[str, list[str]]:
        """Ids of in-flight predictions of ``model`` (started, never stored), by `input_key`, oldest first."""
        found: dict[str, list[str]] = {}
        for entry in self.in_flight():
            if entry.get("model") == model and isinstance(entry.get("input"), Mapping) and entry.get("id"):
                found.setdefault(self.input_key(entry["input"]), []).append(str(entry["id"]))
        return found

    def history(self, limit: int | None = None) -> list[RunRecord]:
        """Stored runs, newest first."""
        records = [r for r in (_read(p) for p in self.root.glob(f"*/*/{SIDECAR}")) if r]
        records.sort(key=lambda r: str(r.sidecar.get("saved_at", "")), reverse=True)
        return records[:limit] if limit else records


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _read(sidecar: Path) -> RunRecord | None:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RunRecord(id=str(data.get("id", sidecar.parent.name)), folder=sidecar.parent, sidecar=data)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
