"""`seedream_widgets.gallery`: the journal of in-flight runs, the atomic store, and the queries doors use."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from seedream_widgets.gallery import SIDECAR, Gallery, RunRecord, glob_escape, read_journal, redact_input
from seedream_widgets.images import describe_uri

MODEL = "bytedance/seedream-4"
PNG_URI = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode()


def files(root: Path) -> list[str]:
    """Every file under ``root`` but the index (a cache of the sidecars, `seedream_widgets.index`)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".index" not in p.parts)


def stored(gallery: Gallery, pid: str, *, saved_at: str = "2026-01-01T00:00:00.000Z", day: str = "2026-01-01",
           input: dict[str, Any] | None = None, model: str = MODEL, demo: bool = False,
           images: list[dict[str, Any]] | None = None, write_images: bool = True) -> Path:
    """A stored run written by hand (the layout `Gallery.store` makes)."""
    folder = gallery.root / day / pid
    folder.mkdir(parents=True)
    images = images if images is not None else [{"file": "1.jpg", "width": 1024, "height": 768}]
    if write_images:
        for image in images:
            (folder / image["file"]).write_bytes(b"\xff\xd8\xff fake")
    sidecar = {"id": pid, "model": model, "demo": demo, "saved_at": saved_at, "images": images,
               "input": input if input is not None else {"prompt": f"prompt of {pid}"}}
    (folder / SIDECAR).write_text(json.dumps(sidecar))
    return folder


# -- the journal ---------------------------------------------------------------------------------


def test_pending_run_writes_nothing_until_prepared(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    pending = gallery.pending({"model": MODEL, "input": {"prompt": "a fox"}})
    assert list(tmp_path.iterdir()) == []
    assert pending.staging.parent == tmp_path and pending.staging.name == f".partial-{pending.key}"


def test_prepare_confirm_moves_the_entry_under_its_id(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    pending = gallery.pending({"model": MODEL, "input": {"prompt": "a fox"}})
    pending.prepare()
    pending.prepare()  # a second call does nothing (on_sent may fire for each try)
    pending_file = gallery.journal_dir / f"{pending.key}.pending"
    lines = pending_file.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"model": MODEL, "input": {"prompt": "a fox"}, "staging": pending.staging.name}
    assert pending.staging.is_dir()
    assert gallery.in_flight() == [], "a pending entry has no id: nothing to resume"

    pending.confirm("abc123")

    assert not pending_file.exists()
    entry_file = gallery.journal_dir / "abc123.json"
    assert [json.loads(line) for line in entry_file.read_text().splitlines()][-1] == {"id": "abc123"}
    entry = {"model": MODEL, "input": {"prompt": "a fox"}, "staging": pending.staging.name, "id": "abc123"}
    assert read_journal(entry_file) == entry
    assert gallery.journal_entry("abc123") == entry
    assert gallery.in_flight() == [entry]
    assert gallery.staging_for("abc123") == pending.staging, "resume() uses the staging folder the entry names"


def test_confirm_without_prepare_prepares_first(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    pending = gallery.pending({"input": {"prompt": "x"}})
    pending.confirm("p1")
    assert gallery.journal_entry("p1") == {"input": {"prompt": "x"}, "staging": pending.staging.name, "id": "p1"}
    assert files(tmp_path) == [".journal/p1.json"]


@pytest.mark.parametrize("prepared", [True, False])
def test_abandon_removes_the_entry_and_the_staging_folder(tmp_path: Path, prepared: bool) -> None:
    gallery = Gallery(tmp_path)
    pending = gallery.pending({"input": {"prompt": "x"}})
    if prepared:
        pending.prepare()
        (pending.staging / "1.jpg").write_bytes(b"partial")
    pending.abandon()
    assert files(tmp_path) == []
    assert not pending.staging.exists()


def test_unjournal_and_a_journal_without_id(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    gallery.pending({"input": {"prompt": "x"}}).confirm("p1")
    gallery.unjournal("p1")
    gallery.unjournal("p1")  # already gone: fine
    assert gallery.in_flight() == []
    gallery.journal_dir.joinpath("junk.json").write_text('{"input": {"prompt": "no id"}}\n')
    gallery.journal_dir.joinpath("broken.json").write_text("{not json")
    assert gallery.in_flight() == []


def test_read_journal_accepts_one_json_document_over_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"id": "old1", "input": {"prompt": "x"}}, indent=2))
    assert read_journal(path) == {"id": "old1", "input": {"prompt": "x"}}
    assert read_journal(tmp_path / "missing.json") is None


def test_in_flight_is_oldest_first_by_modification_time(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    for pid in ("aaa", "bbb", "ccc"):
        gallery.pending({"input": {"prompt": pid}}).confirm(pid)
    # Against name order, and against creation order.
    for pid, mtime in (("aaa", 3_000), ("bbb", 1_000), ("ccc", 2_000)):
        os.utime(gallery.journal_dir / f"{pid}.json", (mtime, mtime))
    assert [entry["id"] for entry in gallery.in_flight()] == ["bbb", "ccc", "aaa"]


# -- storing -------------------------------------------------------------------------------------


def staged(gallery: Gallery, names: tuple[str, ...] = ("1.jpg",)) -> Path:
    staging = gallery.root / ".partial-test"
    staging.mkdir(parents=True)
    for name in names:
        (staging / name).write_bytes(b"image " + name.encode())
    return staging


def test_store_renames_the_staging_folder_into_place_with_the_sidecar(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    gallery = Gallery(tmp_path)
    pending = gallery.pending({"input": {"prompt": "x"}})
    pending.confirm("p1")
    staging = pending.staging
    for name in ("1.jpg", "2.jpg"):
        (staging / name).write_bytes(b"image " + name.encode())
    inode = staging.stat().st_ino
    created = datetime(2026, 3, 4, 23, 30, tzinfo=timezone.utc)

    folder = gallery.store("p1", created, staging, {"id": "p1", "input": {"prompt": "x"}, "model": MODEL})

    assert folder == tmp_path / "2026-03-04" / "p1"
    assert folder.stat().st_ino == inode, "renamed whole, not copied file by file"
    assert not staging.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["1.jpg", "2.jpg", SIDECAR]
    assert (folder / "1.jpg").read_bytes() == b"image 1.jpg"
    sidecar = json.loads((folder / SIDECAR).read_text())
    assert sidecar["id"] == "p1" and sidecar["model"] == MODEL
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sidecar["saved_at"])
    assert gallery.in_flight() == [], "a stored run leaves the journal"
    assert files(tmp_path) == ["2026-03-04/p1/1.jpg", "2026-03-04/p1/2.jpg", f"2026-03-04/p1/{SIDECAR}"]


def test_store_uses_the_utc_day_of_creation(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    gallery = Gallery(tmp_path)
    late_evening_west = datetime(2026, 3, 4, 20, 0, tzinfo=timezone(timedelta(hours=-8)))  # 5 March in UTC
    folder = gallery.store("p2", late_evening_west, staged(gallery), {"id": "p2"})
    assert folder.parent.name == "2026-03-05"


def test_store_again_replaces_the_previous_copy_whole(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    gallery = Gallery(tmp_path)
    created = datetime(2026, 1, 2, tzinfo=timezone.utc)
    first = gallery.store("p1", created, staged(gallery, ("1.jpg", "2.jpg")), {"id": "p1", "n": 1})
    second = gallery.store("p1", created, staged(gallery, ("1.png",)), {"id": "p1", "n": 2})
    assert first == second
    assert sorted(p.name for p in second.iterdir()) == ["1.png", SIDECAR]
    assert json.loads((second / SIDECAR).read_text())["n"] == 2


def test_discard_removes_a_staging_folder(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    staging = staged(gallery)
    gallery.discard(staging)
    gallery.discard(staging)
    assert not staging.exists()


# -- queries -------------------------------------------------------------------------------------


def test_find_an_exact_id_and_refuse_paths(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    stored(gallery, "abc1")
    stored(gallery, "abc12")
    record = gallery.find("abc1")
    assert record is not None and record.id == "abc1" and record.folder == tmp_path / "2026-01-01" / "abc1"
    assert gallery.find("abc") is None, "an id is matched whole"
    for bad in ("", "2026-01-01/abc1", ".journal", "../abc1", "*", "abc?"):
        assert gallery.find(bad) is None, bad


def test_find_prefix_newest_first(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    stored(gallery, "abc1", saved_at="2026-01-01T10:00:00.000Z")
    stored(gallery, "abd2", saved_at="2026-01-02T10:00:00.000Z", day="2026-01-02")
    stored(gallery, "abc3", saved_at="2026-01-03T10:00:00.000Z", day="2026-01-03")
    stored(gallery, "xab4")
    assert [r.id for r in gallery.find_prefix("ab")] == ["abc3", "abd2", "abc1"]
    assert [r.id for r in gallery.find_prefix("abc")] == ["abc3", "abc1"]
    assert gallery.find_prefix("zzz") == []
    assert gallery.find_prefix("") == [] and gallery.find_prefix(".") == [] and gallery.find_prefix("a/b") == []


@pytest.mark.parametrize(("prefix", "expected"), [
    ("a*", ["a*1"]),
    ("a?", ["a?2"]),
    ("a[", ["a[b]3"]),
    ("a[b]", ["a[b]3"]),
    ("a%", ["a%6"]),
    ("a_", ["a_7"]),
    ("a\\", ["a\\8"]),
    ("a", ["a%6", "a*1", "a?2", "a[b]3", "a\\8", "a_7", "ab4", "ax5"]),
])
def test_find_prefix_takes_special_characters_literally(tmp_path: Path, prefix: str, expected: list[str]) -> None:
    """Glob's ``* ? [`` and SQL LIKE's ``% _`` (and its escape character) match only themselves."""
    gallery = Gallery(tmp_path)
    for pid in ("a*1", "a?2", "a[b]3", "ab4", "ax5", "a%6", "a_7", "a\\8"):
        stored(gallery, pid)
    assert sorted(r.id for r in gallery.find_prefix(prefix)) == expected
    if len(expected) == 1:
        found = gallery.find(expected[0])
        assert found is not None and found.id == expected[0]


def test_find_prefix_returns_every_match(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    for n in range(25):
        stored(gallery, f"a{n:02d}", saved_at=f"2026-01-01T00:00:{n:02d}.000Z")
    assert len(gallery.find_prefix("a")) == 25


def test_glob_escape_makes_every_special_character_literal(tmp_path: Path) -> None:
    names = ["a*b", "a?b", "a[b", "a]b", "axb"]
    for name in names:
        (tmp_path / name).mkdir()
    for name in names:
        assert [p.name for p in tmp_path.glob(glob_escape(name))] == [name]


def test_a_run_stored_elsewhere_is_listed(tmp_path: Path) -> None:
    """Another process (here another Gallery on the same folder) stores a run, or a run is copied in by hand."""
    from datetime import datetime, timezone

    here, elsewhere = Gallery(tmp_path), Gallery(tmp_path)
    stored(here, "p1", saved_at="2026-01-01T01:00:00.000Z")
    assert [r.id for r in here.history()] == ["p1"]
    pending = elsewhere.pending({"input": {"prompt": "two"}})
    pending.confirm("p2")
    (pending.staging / "1.jpg").write_bytes(b"x")
    elsewhere.store("p2", datetime(2026, 1, 1, tzinfo=timezone.utc), pending.staging,
                    {"id": "p2", "input": {"prompt": "two"}, "images": [{"file": "1.jpg"}]})
    assert [r.id for r in here.history()] == ["p2", "p1"]
    stored(here, "p3", day="2026-01-05", saved_at="2026-01-05T00:00:00.000Z")  # copied in by hand
    until = time.monotonic() + 3
    while [r.id for r in here.history()] != ["p2", "p3", "p1"] and time.monotonic() < until:
        time.sleep(0.1)
    assert [r.id for r in here.history()] == ["p2", "p3", "p1"]
    found = here.find("p3")
    assert found is not None and found.prompt == "prompt of p3"


def test_history_newest_first_and_limited(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    stored(gallery, "old", saved_at="2026-01-01T08:00:00.000Z", day="2026-01-03")  # folder day does not order
    stored(gallery, "new", saved_at="2026-01-03T08:00:00.000Z", day="2026-01-01")
    stored(gallery, "mid", saved_at="2026-01-02T08:00:00.000Z", day="2026-01-02")
    (tmp_path / "2026-01-02" / "broken").mkdir()
    (tmp_path / "2026-01-02" / "broken" / SIDECAR).write_text("{truncated")
    assert [r.id for r in gallery.history()] == ["new", "mid", "old"]
    assert [r.id for r in gallery.history(2)] == ["new", "mid"]
    assert [r.id for r in gallery.history(None)] == ["new", "mid", "old"]
    assert Gallery(tmp_path / "nowhere").history() == []


# -- matching by input ------------------------------------------------------------------------------


def test_input_key_matches_a_data_uri_and_its_redacted_form() -> None:
    payload = {"prompt": "edit", "image_input": [PNG_URI, "https://x/y.png"], "size": "1K"}
    redacted = redact_input(payload)
    assert redacted["image_input"][0] == describe_uri(PNG_URI) and redacted["image_input"][0] != PNG_URI
    assert Gallery.input_key(payload) == Gallery.input_key(redacted)
    assert Gallery.input_key(payload) == Gallery.input_key(dict(reversed(list(payload.items())))), "key order"
    other = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x01" * 64).decode()
    assert Gallery.input_key({**payload, "image_input": [other, "https://x/y.png"]}) != Gallery.input_key(payload)
    assert Gallery.input_key({**payload, "size": "2K"}) != Gallery.input_key(payload)


def test_stored_by_input_counts_complete_runs_of_the_model_and_mode(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    same = {"prompt": "a fox", "size": "1K"}
    stored(gallery, "r1", input=same, saved_at="2026-01-01T01:00:00.000Z")
    stored(gallery, "r2", input=same, saved_at="2026-01-01T02:00:00.000Z")
    stored(gallery, "r3", input=same, model="")  # an older sidecar without a model: counts as this one
    stored(gallery, "demo1", input=same, demo=True)
    stored(gallery, "other1", input=same, model="bytedance/seedream-4.5")
    stored(gallery, "gone1", input=same, write_images=False)
    stored(gallery, "noimages", input=same, images=[])
    stored(gallery, "r4", input={"prompt": "an owl"})

    found = gallery.stored_by_input(MODEL, demo=False)

    key = Gallery.input_key(same)
    assert [r.id for r in found[key]] == ["r3", "r1", "r2"], "oldest first"
    assert [r.id for r in found[Gallery.input_key({"prompt": "an owl"})]] == ["r4"]
    assert set(found) == {key, Gallery.input_key({"prompt": "an owl"})}
    assert [r.id for r in gallery.stored_by_input(MODEL, demo=True)[key]] == ["demo1"]
    assert [r.id for r in gallery.stored_by_input("bytedance/seedream-4.5", demo=False)[key]] == ["r3", "other1"]


def test_stored_by_input_matches_a_data_uri_input(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    payload = {"prompt": "edit", "image_input": [PNG_URI]}
    stored(gallery, "e1", input=redact_input(payload))
    assert [r.id for r in gallery.stored_by_input(MODEL, demo=False)[Gallery.input_key(payload)]] == ["e1"]


def test_journaled_by_input_lists_ids_of_the_model(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    same = redact_input({"prompt": "a fox", "image_input": [PNG_URI]})
    for pid, model in (("j1", MODEL), ("j2", MODEL), ("j3", "bytedance/seedream-4.5")):
        gallery.pending({"model": model, "input": same}).confirm(pid)
    os.utime(gallery.journal_dir / "j1.json", (2_000, 2_000))
    os.utime(gallery.journal_dir / "j2.json", (1_000, 1_000))
    gallery.pending({"model": MODEL, "input": same}).prepare()  # no id yet: not resumable
    gallery.journal_dir.joinpath("j4.json").write_text(json.dumps({"id": "j4", "model": MODEL}))  # no input

    found = gallery.journaled_by_input(MODEL)

    assert found == {Gallery.input_key({"prompt": "a fox", "image_input": [PNG_URI]}): ["j2", "j1"]}
    assert list(gallery.journaled_by_input("bytedance/seedream-4.5").values()) == [["j3"]]


# -- records ---------------------------------------------------------------------------------------


def test_run_record_properties(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    folder = stored(gallery, "p1", input={"prompt": "a <b>fox</b>", "size": "1K"}, demo=True,
                    model="bytedance/seedream-4.5", saved_at="2026-02-03T04:05:06.007Z",
                    images=[{"file": "1.jpg", "width": 1024, "height": 768}, {"file": "2.jpg", "width": 800}])
    record = gallery.find("p1")
    assert record is not None
    assert record.paths == [folder / "1.jpg", folder / "2.jpg"]
    assert record.sizes == [(1024, 768), (800, 0)]
    assert record.model == "bytedance/seedream-4.5" and record.demo is True
    assert record.input == {"prompt": "a <b>fox</b>", "size": "1K"} and record.prompt == "a <b>fox</b>"
    assert record.saved_at == "2026-02-03T04:05:06.007Z"
    assert record.created_at == "2026-02-03T04:05:06.007Z", "falls back to saved_at without created_at"
    assert record.complete
    (folder / "2.jpg").unlink()
    assert not record.complete, "a missing file makes it incomplete"


def test_run_record_of_a_sparse_sidecar() -> None:
    record = RunRecord("p0", Path("/nowhere/p0"), {"created_at": "2026-01-01T00:00:00Z"})
    assert record.paths == [] and record.sizes == [] and not record.complete
    assert record.model == "" and record.demo is False and record.input == {} and record.prompt == ""
    assert record.created_at == "2026-01-01T00:00:00Z" and record.saved_at == "2026-01-01T00:00:00Z"


def test_run_record_of_a_sidecar_with_a_null_input(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    folder = stored(gallery, "p1")
    sidecar = json.loads((folder / SIDECAR).read_text())
    (folder / SIDECAR).write_text(json.dumps({**sidecar, "input": None}))
    (record,) = gallery.history()
    assert record.input == {}
    assert record.prompt == ""


def test_redact_input_keeps_urls_and_everything_else() -> None:
    payload = {"prompt": "x", "image_input": [PNG_URI, "https://x/y.png"], "size": "2K"}
    redacted = redact_input(payload)
    assert redacted["image_input"][1] == "https://x/y.png" and redacted["size"] == "2K"
    assert redacted["image_input"][0].startswith("data:image/png;sha256=") and ";bytes=" in redacted["image_input"][0]
    assert payload["image_input"][0] == PNG_URI, "the input itself is left as it was"
    assert redact_input(redacted) == redacted, "redacting twice changes nothing"
