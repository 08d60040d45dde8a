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
import sqlite3
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import NotFoundError
from .images import describe_uri
from .index import INDEX_DIR, GalleryIndex, canonical_json

__all__ = ["Gallery", "PendingRun", "RunRecord", "descriptive_name"]

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
        fd = os.open(self._pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        try:
            _write_all(fd, line)
        except BaseException:  # a full disk: leave nothing half-written, so a later try starts clean
            os.close(fd)
            self._pending.unlink(missing_ok=True)
            raise
        self._fd = fd
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


class RunRecord:
    """One stored run: what the index knows of it, and its sidecar (read on first use).

    >>> record = Seedream().history(1)[0]      # doctest: +SKIP
    >>> record.prompt, record.paths            # doctest: +SKIP
    """

    __slots__ = ("_row", "_sidecar", "folder", "id")

    def __init__(self, id: str, folder: Path, sidecar: Mapping[str, Any] | None = None,
                 row: Mapping[str, Any] | None = None) -> None:
        self.id = id
        self.folder = folder
        self._sidecar = dict(sidecar) if sidecar is not None else None
        self._row = dict(row) if row is not None else None

    def __repr__(self) -> str:
        return f"RunRecord({self.id!r}, {str(self.folder)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunRecord) and (self.id, self.folder) == (other.id, other.folder)

    def __hash__(self) -> int:
        return hash((self.id, self.folder))

    @property
    def sidecar(self) -> dict[str, Any]:
        """The run's ``prediction.json`` (the truth), read once; {} when it is gone or unreadable."""
        if self._sidecar is None:
            try:
                data = json.loads((self.folder / SIDECAR).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._sidecar = data if isinstance(data, dict) else {}
        return self._sidecar

    def _value(self, key: str, default: Any = "") -> Any:
        if self._row is not None and key in self._row:
            return self._row[key]
        return default

    @property
    def files(self) -> list[str]:
        if self._row is not None:
            return list(json.loads(self._row["files"] or "[]"))
        return [str(image.get("file") or "") for image in self.sidecar.get("images", [])]

    @property
    def paths(self) -> list[Path]:
        return [self.folder / name for name in self.files]

    @property
    def prompt(self) -> str:
        if self._row is not None:
            return str(self._row["prompt"])
        return str(self.input.get("prompt", ""))

    @property
    def created_at(self) -> str:
        if self._row is not None:
            return str(self._row["created_at"] or self._row["saved_at"])
        return str(self.sidecar.get("created_at") or self.sidecar.get("saved_at") or "")

    @property
    def saved_at(self) -> str:
        if self._row is not None:
            return str(self._row["saved_at"])
        return str(self.sidecar.get("saved_at") or self.created_at)

    @property
    def complete(self) -> bool:
        return bool(self.paths) and all(p.is_file() for p in self.paths)

    @property
    def model(self) -> str:
        return str(self._row["model"]) if self._row is not None else str(self.sidecar.get("model") or "")

    @property
    def demo(self) -> bool:
        return bool(self._row["demo"]) if self._row is not None else bool(self.sidecar.get("demo"))

    @property
    def starred(self) -> bool:
        return bool(self._row["starred"]) if self._row is not None else bool(self.sidecar.get("starred"))

    @property
    def cost(self) -> float | None:
        if self._row is not None:
            return None if self._row["cost"] is None else float(self._row["cost"])
        cost = self.sidecar.get("cost")
        return float(cost["usd"]) if isinstance(cost, Mapping) and "usd" in cost else None

    @property
    def input(self) -> dict[str, Any]:
        value = json.loads(self._row["input"] or "{}") if self._row is not None else self.sidecar.get("input")
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(width, height) of each image, as stored."""
        return [(int(i.get("width") or 0), int(i.get("height") or 0)) for i in self.sidecar.get("images", [])]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the first image, from the index when it has it."""
        if self._row is not None:
            return int(self._row["width"]), int(self._row["height"])
        sizes = self.sizes
        return sizes[0] if sizes else (0, 0)

    @property
    def group(self) -> str:
        """The id of the comparison this run is a cell of ("" for none)."""
        if self._row is not None:
            return str(self._row["group_id"] or "")
        group = self.sidecar.get("group")
        return str(group.get("id") or "") if isinstance(group, Mapping) else ""

    def file_name(self, index: int = 0) -> str:
        """A readable, portable name for image ``index`` (0-based): ``2026-12-01_red-fox-in-the-snow_1.jpg``."""
        return descriptive_name(self.saved_at or self.created_at, self.prompt, index + 1, len(self.files),
                                Path(self.files[index]).suffix if self.files else ".jpg")


class Gallery:
    """Where runs are kept.

    >>> gallery = Gallery("seedream-outputs")   # doctest: +SKIP
    >>> [run.prompt for run in gallery.history(5)]  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._index: GalleryIndex | None = None

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
        data = {**sidecar, "saved_at": _now()}
        _write_file(staging / SIDECAR, _sidecar_text(data))
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
        try:  # the index is a cache: a run it misses is found by its next sync, never lost
            index = self._index if self._index is not None else GalleryIndex(self.root)
            index.add(folder, data)
            self._index = self._index or index
        except (sqlite3.Error, OSError) as exc:
            log.warning("could not index run %s (%s); it is stored and will be indexed later", prediction_id, exc)
        return folder

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    # -- the index: listing, searching, matching ------------------------------------------

    @property
    def index(self) -> GalleryIndex:
        """The SQLite index of this folder (`seedream_widgets.index`), made or brought up to date on first use."""
        if self._index is None:
            index = GalleryIndex(self.root)
            index.ensure()
            self._index = index
        else:
            self._index.sync()
        return self._index

    def _indexed(self) -> GalleryIndex | None:
        """The index, or None when it cannot be used here (a read-only folder, a broken SQLite): then sidecars."""
        if not self.root.is_dir():
            return None
        try:
            return self.index
        except (sqlite3.Error, OSError) as exc:
            log.warning("the gallery index of %s cannot be used (%s); reading the sidecars instead", self.root, exc)
            return None

    def _record(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(str(row["id"]), self.root / str(row["folder"]), row=_row_dict(row))

    def history(self, limit: int | None = None, offset: int = 0) -> list[RunRecord]:
        """Stored runs, newest first (``limit`` None: all)."""
        return self.search(limit=limit, offset=offset)

    def search(self, text: str | None = None, *, model: str | None = None, since: str | None = None,
               until: str | None = None, starred: bool | None = None, demo: bool | None = None,
               group: str | None = None, limit: int | None = 20, offset: int = 0) -> list[RunRecord]:
        """Stored runs matching every filter given, newest first.

        >>> gallery.search("red fox", model="bytedance/seedream-4", starred=True, limit=10)   # doctest: +SKIP

        ``text`` matches words of the prompt (substrings, any order); ``since``/``until`` are ISO
        dates or times (``"2026-11-01"``) compared with when the run was saved.
        """
        index = self._indexed()
        if index is not None:
            rows = index.query(text=text, model=model, since=since, until=until, starred=starred, demo=demo,
                               group=group, limit=limit, offset=offset)
            return [self._record(row) for row in rows]
        records = [r for r in (_read(p) for p in self.root.glob(f"*/*/{SIDECAR}")) if r]
        records = [r for r in records if _matches(r, text, model, since, until, starred, demo, group)]
        records.sort(key=lambda r: r.saved_at, reverse=True)
        return records[offset:] if limit is None else records[offset:offset + limit]

    def count(self, text: str | None = None, **filters: Any) -> int:
        """How many stored runs match (the same filters as `search`)."""
        index = self._indexed()
        if index is not None:
            return index.count(text=text, **filters)
        return len(self.search(text, limit=None, **filters))

    def find(self, prediction_id: str) -> RunRecord | None:
        """The stored run of a prediction id, or None."""
        if not prediction_id or "/" in prediction_id or prediction_id.startswith("."):
            return None
        index = self._indexed()
        if index is not None:
            row = index.get(prediction_id)
            if row is not None and (self.root / str(row["folder"]) / SIDECAR).is_file():
                return self._record(row)
        for sidecar in self.root.glob(f"*/{glob_escape(prediction_id)}/{SIDECAR}"):
            record = _read(sidecar)
            if record:
                return record
        return None

    def find_prefix(self, prefix: str) -> list[RunRecord]:
        """The stored runs whose prediction id starts with ``prefix`` (newest first)."""
        if not prefix or "/" in prefix or prefix.startswith("."):
            return []
        index = self._indexed()
        if index is not None:
            return [self._record(row) for row in index.prefix(prefix)]
        records = [r for r in (_read(p) for p in self.root.glob(f"*/{glob_escape(prefix)}*/{SIDECAR}")) if r]
        return sorted(records, key=lambda r: r.saved_at, reverse=True)

    @staticmethod
    def input_key(payload: Mapping[str, Any]) -> str:
        """What makes two inputs "the same" for matching stored runs: the canonical JSON of the input as stored."""
        return canonical_json(redact_input(payload))

    def stored_by_input(self, model: str, *, demo: bool) -> dict[str, list[RunRecord]]:
        """Complete stored runs of ``model`` in this mode (demo or real), by `input_key`, oldest first."""
        found: dict[str, list[RunRecord]] = {}
        index = self._indexed()
        candidates = ([self._record(row) for row in index.by_input_key(model, demo)] if index is not None
                      else list(reversed(self.history(None))))
        for record in candidates:
            if record.demo == demo and record.model in ("", model) and record.input and record.complete:
                found.setdefault(self.input_key(record.input), []).append(record)
        return found

    def durations(self, model: str, size: str, images: int, *, limit: int = 20) -> list[float]:
        """Seconds from create to end of the latest stored runs of ``model`` at ``size`` with ``images`` outputs."""
        index = self._indexed()
        return index.durations(model, size, images, limit) if index is not None else []

    def costs(self) -> list[dict[str, Any]]:
        """What was spent, by day and model: ``{day, model, demo, runs, images, usd, unpriced}``, newest day first."""
        index = self._indexed()
        return [_row_dict(row) for row in index.costs()] if index is not None else []

    def journaled_by_input(self, model: str) -> dict[str, list[str]]:
        """Ids of in-flight predictions of ``model`` (started, never stored), by `input_key`, oldest first."""
        found: dict[str, list[str]] = {}
        for entry in self.in_flight():
            if entry.get("model") == model and isinstance(entry.get("input"), Mapping) and entry.get("id"):
                found.setdefault(self.input_key(entry["input"]), []).append(str(entry["id"]))
        return found

    # -- groups: comparisons kept as one grid ----------------------------------------------------

    def save_group(self, manifest: Mapping[str, Any]) -> str:
        """Keep what makes a comparison a grid (prompt, axes, each cell's settings); returns its id.

        Its cells are ordinary runs whose sidecars name the group and their cell; the manifest is
        ``{output_dir}/.groups/<id>.json``.
        """
        group = f"cmp-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        folder = self.root / ".groups"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _replace_file(folder / f"{group}.json", _sidecar_text({"id": group, "created_at": _now(), **manifest}))
        except OSError as exc:  # the grid still runs; only reopening it later needs the manifest
            log.warning("could not keep comparison %s (%s)", group, exc)
        return group

    def load_group(self, group: str) -> dict[str, Any]:
        """A comparison's manifest (`save_group`); `NotFoundError` when there is none."""
        data = _read_json(self.root / ".groups" / f"{Path(group).name}.json")
        if not data or not isinstance(data.get("combos"), list) or not isinstance(data.get("axes"), Mapping):
            raise NotFoundError("Not found", f"no comparison {group} in {self.root}")
        return data

    def groups(self, limit: int = 20) -> list[dict[str, Any]]:
        """The comparisons kept in this folder, newest first (their manifests)."""
        found = [_read_json(p) for p in (self.root / ".groups").glob("cmp-*.json")]
        return sorted((g for g in found if g), key=lambda g: str(g.get("created_at")), reverse=True)[:limit]

    def close(self) -> None:
        """Close the index's database connections (it reopens them when used again)."""
        if self._index is not None:
            self._index.close()

    def reindex(self) -> int:
        """Build the index again from every sidecar (``seedream reindex``); returns the number of runs."""
        self.close()
        self._index = GalleryIndex(self.root)
        return self._index.rebuild()

    # -- keeping: star, delete to the trash, restore ------------------------------------------

    def star(self, prediction_id: str, starred: bool = True) -> RunRecord:
        """Star a run (or unstar it): written to its sidecar, so a rebuilt index keeps it."""
        record = self.find(prediction_id)
        if record is None:
            raise NotFoundError("Not found", f"no stored run {prediction_id} in {self.root}",
                                hint="`seedream history` lists the stored runs")
        data = {**record.sidecar, "starred": starred}
        _replace_file(record.folder / SIDECAR, _sidecar_text(data))
        index = self._indexed()
        if index is not None:
            index.set_starred(prediction_id, starred)
        return self.find(prediction_id) or record

    def unstar(self, prediction_id: str) -> RunRecord:
        return self.star(prediction_id, False)

    @property
    def trash_dir(self) -> Path:
        return self.root / ".trash"

    def delete(self, prediction_id: str) -> Path:
        """Move a run's folder to the trash (``{output_dir}/.trash/<day>/<id>``); `restore` brings it back."""
        record = self.find(prediction_id)
        if record is None:
            raise NotFoundError("Not found", f"no stored run {prediction_id} in {self.root}",
                                hint="`seedream history` lists the stored runs")
        target = self.trash_dir / record.folder.parent.name / record.folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(record.folder, target)
        index = self._indexed()
        if index is not None:
            index.remove(prediction_id)
        return target

    def trash(self) -> list[RunRecord]:
        """The runs in the trash, newest first."""
        records = [r for r in (_read(p) for p in self.trash_dir.glob(f"*/*/{SIDECAR}")) if r]
        return sorted(records, key=lambda r: r.saved_at, reverse=True)

    def restore(self, prediction_id: str) -> RunRecord:
        """Bring a run back from the trash."""
        for folder in self.trash_dir.glob(f"*/{glob_escape(prediction_id)}"):
            target = self.root / folder.parent.name / folder.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, target)
            index = self._indexed()
            if index is not None:
                index.add(target, _read_json(target / SIDECAR))
            record = self.find(prediction_id)
            assert record is not None
            return record
        raise NotFoundError("Not found", f"no run {prediction_id} in the trash of {self.root}")

    def empty_trash(self) -> int:
        """Delete the trash for good; returns how many runs it held."""
        count = len(list(self.trash_dir.glob(f"*/*/{SIDECAR}")))
        shutil.rmtree(self.trash_dir, ignore_errors=True)
        return count

    # -- for the gallery widget (issue 17): cached thumbnails, the models present, an edit's input images --------

    def thumbnail(self, record: RunRecord, index: int = 0, max_px: int = 256) -> bytes:
        """A JPEG thumbnail (at most ``max_px`` a side) of image ``index`` of a stored run, made once.

        >>> jpeg = gallery.thumbnail(gallery.history(1)[0], 0, 256)     # doctest: +SKIP

        Cached under ``{output_dir}/.index/thumbs/`` (a cache like the index: deleting it loses
        nothing); a cached copy older than its image is made again. `OSError` when the image is gone.
        """
        from .images import thumbnail

        source = record.paths[index]
        made = source.stat().st_mtime
        cache = self.root / INDEX_DIR / "thumbs" / record.id[:2] / f"{record.id}_{index + 1}_{max_px}.jpg"
        try:
            if cache.stat().st_mtime >= made:
                return cache.read_bytes()
        except OSError:
            pass
        data, _ = thumbnail(source, max_px=max_px)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            _replace_file(cache, data)
        except OSError as exc:  # a read-only folder still gets its thumbnails, made each time
            log.debug("could not cache a thumbnail of %s: %r", source, exc)
        return data

    def models(self) -> list[str]:
        """The models of the stored runs, sorted (what a model filter offers)."""
        index = self._indexed()
        return index.models() if index is not None else sorted({r.model for r in self.history(None) if r.model})

    def input_images(self, record: RunRecord, lookback: int = 200) -> list[Path | str | None]:
        """Where each input image of a stored run can be seen now, in order: its http(s) URL as sent, the stored
        output it was (a data: URI is kept as type, size and hash: matched against the images of the ``lookback``
        runs saved before it, the "use as input" loop), or None."""
        found: list[Path | str | None] = []
        candidates: list[RunRecord] | None = None
        for item in record.input.get("image_input") or []:
            text = str(item)
            if text.startswith(("http://", "https://")):
                found.append(text)
                continue
            parts = dict(p.partition("=")[::2] for p in text.split(";")[1:] if "=" in p)
            digest, size = parts.get("sha256", ""), parts.get("bytes", "")
            if not text.startswith("data:") or not digest or not size.isdigit():
                found.append(None)
                continue
            if candidates is None:
                candidates = self.search(until=record.saved_at, limit=lookback)
            found.append(self._by_digest(candidates, digest, int(size)))
        return found

    @staticmethod
    def _by_digest(records: list[RunRecord], digest: str, size: int) -> Path | None:
        """The stored image that `describe_uri` would describe with ``digest`` (hashed only when its size fits)."""
        import base64
        import hashlib

        for record in records:
            for path in record.paths:
                try:
                    if abs(path.stat().st_size - size) > 3:  # describe_uri counts 3 bytes per 4 base64 characters
                        continue
                    text = base64.b64encode(path.read_bytes())
                except OSError:
                    continue
                if hashlib.sha256(text).hexdigest()[: len(digest)] == digest:
                    return path
        return None

    # -- for the command line: `seedream verify` and `seedream export` ------------------------------

    def run_folders(self) -> list[Path]:
        """Every run folder on disk (``{day}/{id}``), oldest day first, whether its sidecar is readable or not:
        what ``seedream verify`` checks (the index lists only runs whose sidecar it could read)."""
        days = sorted(p for p in self.root.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]") if p.is_dir())
        return [run for day in days for run in sorted(day.iterdir()) if run.is_dir() and not run.name.startswith(".")]

    def export(self, prediction_id: str, directory: str | os.PathLike[str]) -> list[Path]:
        """Copy a stored run's images into ``directory`` under their descriptive names (`RunRecord.file_name`).

        A name already taken by another file gets the run's id appended; the same image exported
        again is not copied twice. Returns the copies' paths.
        """
        import filecmp

        record = self.find(prediction_id)
        if record is None or not record.complete:
            raise NotFoundError("Not found", f"no complete stored run {prediction_id} in {self.root}",
                                hint="`seedream history` lists the stored runs; `seedream show ID` downloads "
                                     "missing images again")
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        copies = []
        for index, path in enumerate(record.paths):
            name = Path(record.file_name(index))
            taken = target / name
            if taken.exists() and not filecmp.cmp(path, taken, shallow=False):
                taken = target / f"{name.stem}_{record.id}{name.suffix}"  # ours alone: replaced if it differs
            if not (taken.exists() and filecmp.cmp(path, taken, shallow=False)):
                shutil.copy2(path, taken)
            copies.append(taken)
        return copies


def descriptive_name(when: str, prompt: str, number: int, count: int, suffix: str) -> str:
    """``2026-12-01_red-fox-in-the-snow_2.jpg``: readable and safe on every OS (ASCII letters, digits, dashes).

    >>> descriptive_name("2026-12-01T10:00:00Z", "A red fox, in the snow!", 1, 1, ".jpg")
    '2026-12-01_a-red-fox-in-the-snow.jpg'
    """
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode("ascii").lower()
    words = "".join(c if c.isalnum() else " " for c in ascii_text).split()
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 48:
            break
        slug = f"{slug}-{word}" if slug else word
    day = when[:10] if len(when) >= 10 and when[4] == "-" else "image"
    number_part = f"_{number}" if count > 1 else ""
    return f"{day}_{slug or 'image'}{number_part}{suffix}"


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _matches(record: RunRecord, text: str | None, model: str | None, since: str | None, until: str | None,
             starred: bool | None, demo: bool | None, group: str | None) -> bool:
    """The filters of `Gallery.search`, for the fallback without an index."""
    prompt = record.prompt.lower()
    return ((not text or all(word.lower() in prompt for word in text.split()))
            and (not model or record.model == model) and (not since or record.saved_at >= since)
            and (not until or record.saved_at < until) and (starred is None or record.starred == starred)
            and (demo is None or record.demo == demo) and (not group or record.group == group))


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a plain dict (a `sqlite3.Row` iterates over its values, not its keys)."""
    return dict(zip(row.keys(), tuple(row), strict=True))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sidecar_text(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a sibling file, then a rename)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        _write_file(partial, data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _read(sidecar: Path) -> RunRecord | None:
    data = _read_json(sidecar)
    if not data:
        return None
    return RunRecord(id=str(data.get("id", sidecar.parent.name)), folder=sidecar.parent, sidecar=data)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
