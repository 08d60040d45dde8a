"""The gallery's index: one SQLite file that makes years of stored runs fast to list, search and match.

>>> index = GalleryIndex(Path("seedream-outputs"))          # doctest: +SKIP
>>> [row["id"] for row in index.query(limit=5)]             # doctest: +SKIP

The sidecars (``prediction.json``) stay the truth: every row is derived from one, a star is
written to its sidecar too, and `rebuild` makes the whole index again from them, so deleting
``.index/`` loses nothing. The file lives at ``{output_dir}/.index/gallery.sqlite3`` in WAL mode
(readers never wait for a writer), writes take ``BEGIN IMMEDIATE`` with a busy timeout, so
several kernels and processes can store runs at once; each process adds the runs it stores as
it stores them, and `sync` notices runs stored by anything else: every day folder's mtime is
recorded, and only a day folder that changed is listed again. Prompt search uses FTS5 (the
trigram tokenizer: substrings, any script) where this SQLite has it, else ``LIKE``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["INDEX_DIR", "GalleryIndex", "canonical_json", "row_from_sidecar"]

log = logging.getLogger("seedream_widgets")

INDEX_DIR = ".index"
SCHEMA_VERSION = 1
SIDECAR = "prediction.json"
SYNC_INTERVAL = 1.0
"""Seconds between two checks of the day folders by one process (a history call in between trusts the index)."""

_COLUMNS = ("id", "day", "folder", "saved_at", "created_at", "completed_at", "model", "demo", "prompt", "images",
            "files", "width", "height", "size", "cost", "starred", "group_id", "input_key", "input", "duration")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """One spelling of a JSON object (sorted keys, no spaces): equal inputs, equal text."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _day(name: str) -> bool:
    return len(name) == 10 and name[4] == "-" and name[7] == "-" and name.replace("-", "").isdigit()


def row_from_sidecar(root: Path, folder: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The index row of one stored run, from its sidecar (``folder`` is the run's folder under ``root``)."""
    images = [i for i in data.get("images") or [] if isinstance(i, Mapping)]
    raw_input = data.get("input")
    payload = dict(raw_input) if isinstance(raw_input, Mapping) else {}
    cost = data.get("cost")
    duration = None
    try:
        start, end = str(data["created_at"]), str(data["completed_at"])
        duration = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                    - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    except (KeyError, TypeError, ValueError):
        pass
    return {
        "id": str(data.get("id") or folder.name),
        "day": folder.parent.name,
        "folder": folder.relative_to(root).as_posix(),
        "saved_at": str(data.get("saved_at") or data.get("created_at") or ""),
        "created_at": str(data.get("created_at") or ""),
        "completed_at": str(data.get("completed_at") or ""),
        "model": str(data.get("model") or ""),
        "demo": 1 if data.get("demo") else 0,
        "prompt": str(payload.get("prompt") or ""),
        "images": len(images),
        "files": json.dumps([str(i.get("file") or "") for i in images]),
        "width": int(images[0].get("width") or 0) if images else 0,
        "height": int(images[0].get("height") or 0) if images else 0,
        "size": str(payload.get("size") or ""),
        "cost": float(cost["usd"]) if isinstance(cost, Mapping) and isinstance(cost.get("usd"), (int, float))
        else None,
        "starred": 1 if data.get("starred") else 0,
        "group_id": str((data.get("group") or {}).get("id") or "") if isinstance(data.get("group"), Mapping) else "",
        "input_key": canonical_json(payload) if payload else "",  # stored inputs are redacted already
        "input": json.dumps(payload, ensure_ascii=False, default=str),
        "duration": duration,
    }


class GalleryIndex:
    """The SQLite index of one output folder (thread-safe; one connection per thread)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / INDEX_DIR / "gallery.sqlite3"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        """Every connection opened (one per thread that used the index), so `close` can close them all."""
        self._last_sync = 0.0
        self._sync_lock = threading.Lock()
        self.fts = ""
        """The FTS5 tokenizer in use ("trigram" or "unicode61"), or "" when this SQLite has no FTS5."""

    # -- the connection ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout = 10000")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        self._create(connection)
        self._local.connection = connection
        with self._sync_lock:
            self._connections.append(connection)
        return connection

    def _create(self, db: sqlite3.Connection) -> None:
        with _write(db):
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version is not None and int(version[0]) != SCHEMA_VERSION:
                for table in ("runs", "days", "runs_fts"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("""CREATE TABLE IF NOT EXISTS runs (
                id TEXT PRIMARY KEY, day TEXT, folder TEXT, saved_at TEXT, created_at TEXT, completed_at TEXT,
                model TEXT, demo INTEGER, prompt TEXT, images INTEGER, files TEXT, width INTEGER, height INTEGER,
                size TEXT, cost REAL, starred INTEGER DEFAULT 0, group_id TEXT, input_key TEXT, input TEXT,
                duration REAL)""")
            db.execute("CREATE INDEX IF NOT EXISTS runs_saved ON runs (saved_at DESC)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_day ON runs (day)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_key ON runs (input_key)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_group ON runs (group_id)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_model ON runs (model)")
            db.execute("CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, mtime REAL)")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            self.fts = self._create_fts(db)

    @staticmethod
    def _create_fts(db: sqlite3.Connection) -> str:
        existing = db.execute("SELECT sql FROM sqlite_master WHERE name = 'runs_fts'").fetchone()
        if existing is not None:
            return "trigram" if "trigram" in str(existing[0]) else "unicode61"
        for tokenizer in ("trigram", "unicode61"):
            try:
                db.execute(f"CREATE VIRTUAL TABLE runs_fts USING fts5(prompt, content='runs', content_rowid='rowid', "
                           f"tokenize='{tokenizer}')")
            except sqlite3.OperationalError:
                continue
            db.execute("CREATE TRIGGER IF NOT EXISTS runs_ai AFTER INSERT ON runs BEGIN "
                       "INSERT INTO runs_fts(rowid, prompt) VALUES (new.rowid, new.prompt); END")
            db.execute("CREATE TRIGGER IF NOT EXISTS runs_ad AFTER DELETE ON runs BEGIN "
                       "INSERT INTO runs_fts(runs_fts, rowid, prompt) VALUES ('delete', old.rowid, old.prompt); END")
            db.execute("CREATE TRIGGER IF NOT EXISTS runs_au AFTER UPDATE OF prompt ON runs BEGIN "
                       "INSERT INTO runs_fts(runs_fts, rowid, prompt) VALUES ('delete', old.rowid, old.prompt); "
                       "INSERT INTO runs_fts(rowid, prompt) VALUES (new.rowid, new.prompt); END")
            return tokenizer
        return ""

    def close(self) -> None:
        """Close every thread's connection (the index opens new ones when it is used again)."""
        with self._sync_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    # -- writing -------------------------------------------------------------------------------

    def add(self, folder: Path, sidecar: Mapping[str, Any]) -> None:
        """Index one stored run (its folder was just renamed into place)."""
        row = row_from_sidecar(self.root, folder, sidecar)
        db = self._connect()
        with _write(db):
            _upsert(db, [row])

    def remove(self, prediction_id: str) -> None:
        db = self._connect()
        with _write(db):
            db.execute("DELETE FROM runs WHERE id = ?", (prediction_id,))

    def set_starred(self, prediction_id: str, starred: bool) -> None:
        db = self._connect()
        with _write(db):
            db.execute("UPDATE runs SET starred = ? WHERE id = ?", (1 if starred else 0, prediction_id))

    def rebuild(self) -> int:
        """Make the index again from every sidecar in the output folder; returns the number of runs."""
        rows = list(self._scan_all())
        db = self._connect()
        with _write(db):
            db.execute("DELETE FROM runs")
            db.execute("DELETE FROM days")
            if self.fts:
                db.execute("INSERT INTO runs_fts(runs_fts) VALUES ('delete-all')")
            _upsert(db, rows)
            db.executemany("INSERT OR REPLACE INTO days VALUES (?, ?)", self._day_mtimes().items())
        self._last_sync = time.monotonic()
        return len(rows)

    def _scan_all(self) -> Iterator[dict[str, Any]]:
        for day in self._day_mtimes():
            yield from self._scan_day(day)

    def _scan_day(self, day: str) -> Iterator[dict[str, Any]]:
        folder = self.root / day
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            sidecar = Path(entry.path) / SIDECAR
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                yield row_from_sidecar(self.root, Path(entry.path), data)

    def _day_mtimes(self) -> dict[str, float]:
        try:
            return {entry.name: entry.stat().st_mtime for entry in os.scandir(self.root)
                    if _day(entry.name) and entry.is_dir()}
        except OSError:
            return {}

    def sync(self, *, force: bool = False) -> None:
        """Take in runs stored or removed by anything else: day folders whose mtime changed are listed again.

        Cheap (one ``stat`` per day folder); done at most once a second unless ``force``.
        """
        with self._sync_lock:
            if not force and time.monotonic() - self._last_sync < SYNC_INTERVAL:
                return
            self._last_sync = time.monotonic()
        db = self._connect()
        known = {row[0]: row[1] for row in db.execute("SELECT day, mtime FROM days")}
        current = self._day_mtimes()
        changed = [day for day, mtime in current.items() if known.get(day) != mtime]
        gone = [day for day in known if day not in current]
        if not changed and not gone:
            return
        with _write(db):
            for day in gone:
                db.execute("DELETE FROM runs WHERE day = ?", (day,))
                db.execute("DELETE FROM days WHERE day = ?", (day,))
            for day in changed:
                rows = list(self._scan_day(day))
                ids = {row["id"] for row in rows}
                indexed = {r[0] for r in db.execute("SELECT id FROM runs WHERE day = ?", (day,))}
                for stale in indexed - ids:
                    db.execute("DELETE FROM runs WHERE id = ?", (stale,))
                _upsert(db, [row for row in rows if row["id"] not in indexed or row["id"] in ids])
                db.execute("INSERT OR REPLACE INTO days VALUES (?, ?)", (day, current[day]))

    def ensure(self) -> None:
        """Rebuild when the index is missing or empty while runs are on disk, else `sync`."""
        fresh = not self.path.exists()
        db = self._connect()
        empty = db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None
        unseen = fresh or (empty and db.execute("SELECT 1 FROM days LIMIT 1").fetchone() is None)
        if unseen and self._day_mtimes():
            log.info("indexing the runs in %s", self.root)
            self.rebuild()
            return
        self.sync()

    # -- reading ----------------------------------------------------------------------------------

    def query(self, *, text: str | None = None, model: str | None = None, since: str | None = None,
              until: str | None = None, starred: bool | None = None, demo: bool | None = None,
              group: str | None = None, limit: int | None = 20, offset: int = 0) -> list[sqlite3.Row]:
        """Runs matching every given filter, newest first (``since``/``until`` compare ``saved_at`` ISO text)."""
        where, args = self._filters(text, model, since, until, starred, demo, group)
        sql = f"SELECT * FROM runs{where} ORDER BY saved_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return list(self._connect().execute(sql, args))

    def count(self, **filters: Any) -> int:
        where, args = self._filters(filters.get("text"), filters.get("model"), filters.get("since"),
                                    filters.get("until"), filters.get("starred"), filters.get("demo"),
                                    filters.get("group"))
        return int(self._connect().execute(f"SELECT COUNT(*) FROM runs{where}", args).fetchone()[0])

    def _filters(self, text: str | None, model: str | None, since: str | None, until: str | None,
                 starred: bool | None, demo: bool | None, group: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if text and text.strip():
            words = text.split()
            searchable = [w for w in words if len(w) >= 3] if self.fts == "trigram" else words
            if self.fts and searchable:
                clauses.append("rowid IN (SELECT rowid FROM runs_fts WHERE runs_fts MATCH ?)")
                args.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in searchable))
            for word in words if not self.fts else [w for w in words if w not in searchable]:
                clauses.append("prompt LIKE ? ESCAPE '\\'")
                args.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        for column, value in (("model", model), ("group_id", group)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since:
            clauses.append("saved_at >= ?")
            args.append(since)
        if until:
            clauses.append("saved_at < ?")
            args.append(until)
        for column, flag in (("starred", starred), ("demo", demo)):
            if flag is not None:
                clauses.append(f"{column} = ?")
                args.append(1 if flag else 0)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def get(self, prediction_id: str) -> sqlite3.Row | None:
        return self._connect().execute("SELECT * FROM runs WHERE id = ?", (prediction_id,)).fetchone()  # type: ignore[no-any-return]

    def prefix(self, prefix: str, limit: int | None = None) -> list[sqlite3.Row]:
        """Runs whose id starts with ``prefix`` (case matters, as in ``find``), newest first."""
        sql = "SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY saved_at DESC"
        args: list[Any] = [prefix, prefix + "\U0010ffff"]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return list(self._connect().execute(sql, args))

    def by_input_key(self, model: str, demo: bool) -> list[sqlite3.Row]:
        return list(self._connect().execute(
            "SELECT * FROM runs WHERE (model = ? OR model = '') AND demo = ? AND input_key != '' "
            "ORDER BY saved_at ASC", (model, 1 if demo else 0)))

    def durations(self, model: str, size: str, images: int, limit: int = 20) -> list[float]:
        return [float(r[0]) for r in self._connect().execute(
            "SELECT duration FROM runs WHERE model = ? AND size = ? AND images = ? AND duration IS NOT NULL "
            "ORDER BY saved_at DESC LIMIT ?", (model, size, images, limit))]

    def models(self) -> list[str]:
        """The distinct models of the stored runs, sorted (an index walk, not a scan)."""
        return [str(r[0]) for r in self._connect().execute(
            "SELECT DISTINCT model FROM runs WHERE model != '' ORDER BY model")]

    def costs(self) -> list[sqlite3.Row]:
        """Spending by day and model: runs, images and US dollars (demo runs cost nothing)."""
        return list(self._connect().execute(
            "SELECT day, model, demo, COUNT(*) AS runs, SUM(images) AS images, SUM(COALESCE(cost, 0)) AS usd, "
            "SUM(CASE WHEN cost IS NULL AND demo = 0 THEN 1 ELSE 0 END) AS unpriced "
            "FROM runs GROUP BY day, model, demo ORDER BY day DESC, model"))


@contextlib.contextmanager
def _write(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (BEGIN IMMEDIATE) so concurrent writers queue on the busy timeout."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _upsert(db: sqlite3.Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    # DELETE then INSERT (not INSERT OR REPLACE): the FTS triggers see the old row leave and the new one arrive.
    batch: Sequence[Mapping[str, Any]] = list(rows)
    db.executemany("DELETE FROM runs WHERE id = ?", [(row["id"],) for row in batch])
    placeholders = ", ".join("?" for _ in _COLUMNS)
    db.executemany(f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                   [tuple(row[c] for c in _COLUMNS) for row in batch])
