"""The gallery's SQLite index (issue 17): several processes at once, a cache that loses nothing, and its queries.

The sidecars are the truth; the index (``.index/gallery.sqlite3``) is rebuilt from them when it is
missing and brought up to date when another process stored runs. Writers here are real processes
storing through `Gallery.store`, the way two kernels would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _stored_runs import MODELS, write_runs

from seedream_widgets.gallery import Gallery
from seedream_widgets.index import SYNC_INTERVAL

WRITER = textwrap.dedent("""
    import io, json, sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from PIL import Image
    from seedream_widgets.gallery import Gallery

    root, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    gallery = Gallery(root)
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 60, 40)).save(picture, format="JPEG")
    for i in range(count):
        run_id = f"{name}{i:04d}".ljust(26, "x")
        staging = gallery.staging_for(run_id)
        staging.mkdir(parents=True)
        (staging / "1.jpg").write_bytes(picture.getvalue())
        now = datetime.now(timezone.utc)
        sidecar = {"id": run_id, "model": "bytedance/seedream-4", "status": "succeeded", "demo": True,
                   "created_at": now.isoformat(), "completed_at": now.isoformat(),
                   "input": {"prompt": f"a paper boat from {name} number {i}", "size": "1K"},
                   "images": [{"file": "1.jpg", "mime": "image/jpeg", "width": 32, "height": 24}]}
        gallery.store(run_id, now, staging, sidecar)
    gallery.close()
""")

SEARCHER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from seedream_widgets.gallery import Gallery

    root, stop = Path(sys.argv[1]), Path(sys.argv[2])
    counts, errors = [], []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        last = stop.exists()
        try:
            gallery = Gallery(root)  # a fresh one each time: what a new kernel sees
            counts.append((gallery.count(), gallery.count("paper boat"), len(gallery.history(20))))
            gallery.close()
        except Exception as exc:
            errors.append(repr(exc))
        if last:
            break
        time.sleep(0.01)
    print(json.dumps({"counts": counts, "errors": errors}))
""")


def test_two_processes_storing_while_a_third_searches_lose_nothing_and_see_everything(tmp_path: Path) -> None:
    root, stop, per_writer = tmp_path / "out", tmp_path / "writers-done", 60
    root.mkdir()
    searcher = subprocess.Popen([sys.executable, "-c", SEARCHER, str(root), str(stop)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), name, str(per_writer)],
                                stderr=subprocess.PIPE, text=True) for name in ("alpha", "bravo")]
    try:
        for writer in writers:
            _, err = writer.communicate(timeout=120)
            assert writer.returncode == 0, err
    finally:
        stop.touch()
        out, err = searcher.communicate(timeout=120)
    assert searcher.returncode == 0, err
    seen = json.loads(out)
    assert seen["errors"] == [], seen["errors"][:3]
    counts = [c for c, _, _ in seen["counts"]]
    assert len(counts) >= 3 and counts == sorted(counts), "a searcher never sees runs disappear"
    assert counts[-1] == 2 * per_writer, f"the searcher's last look, after both writers ended: {counts[-1]}"
    assert any(0 < c < 2 * per_writer for c in counts), "it searched while the writers were storing"

    gallery = Gallery(root)
    stored = {r.id for r in gallery.history(None)}
    assert len(stored) == 2 * per_writer and gallery.count("paper boat from alpha") == per_writer
    assert all(gallery.find(f"bravo{i:04d}".ljust(26, "x")) for i in range(per_writer))
    assert gallery.reindex() == 2 * per_writer, "the index agrees with the sidecars"
    gallery.close()


def test_the_index_is_a_cache_deleting_it_loses_nothing(tmp_path: Path) -> None:
    ids = write_runs(tmp_path, 40, days=10, seed=3)
    gallery = Gallery(tmp_path)
    assert gallery.count() == 40 and (tmp_path / ".index").is_dir()  # built from the sidecars on first use
    gallery.star(ids[5])
    gallery.close()
    shutil.rmtree(tmp_path / ".index")
    again = Gallery(tmp_path)
    assert [r.id for r in again.history(None)] == list(reversed(ids)), "rebuilt, newest first"
    assert [r.id for r in again.search(starred=True, limit=None) if r.id == ids[5]] == [ids[5]], \
        "a star lives in the sidecar, so it survives the index"
    again.close()


def test_runs_another_process_wrote_are_seen_without_a_reindex(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    write_runs(tmp_path, 10, days=3, seed=5)
    assert gallery.count() == 10
    later = write_runs(tmp_path, 5, days=1, seed=6)  # straight to disk, as another kernel's store would
    # A day folder's mtime tells the index it changed; it looks at most once every SYNC_INTERVAL seconds.
    time.sleep(SYNC_INTERVAL + 0.1)
    assert gallery.count() == 15 and gallery.find(later[-1]) is not None
    gallery.close()


def test_search_filters_combine_and_page(tmp_path: Path) -> None:
    ids = write_runs(tmp_path, 90, days=9, seed=11, demo_every=3, star_every=10)
    gallery = Gallery(tmp_path)
    foxes = gallery.search("red fox", limit=None)
    assert foxes and all("red fox" in r.prompt for r in foxes)
    assert len(foxes) == sum(1 for i in range(90) if i % 10 == 0)  # subject 0 of 10 is "a red fox"
    in_any_order = gallery.search("watercolor fox", limit=None)
    assert {r.id for r in in_any_order} == {r.id for r in foxes if "watercolor" in r.prompt}
    real = gallery.search(model=MODELS[1], demo=False, limit=None)  # (runs i % 3 == 0 are the demo ones)
    assert len(real) == 30 and all(r.model == MODELS[1] and not r.demo for r in real)
    starred = gallery.search(starred=True, limit=None)
    assert {r.id for r in starred} == {ids[i] for i in range(0, 90, 10)}
    newest = gallery.history(90)
    day = newest[0].saved_at[:10]
    assert all(r.saved_at[:10] >= day for r in gallery.search(since=day, limit=None))
    assert all(r.saved_at[:10] < day for r in gallery.search(until=day, limit=None))
    pages = gallery.search(limit=25) + gallery.search(limit=25, offset=25) + gallery.search(limit=25, offset=50)
    assert [r.id for r in pages] == [r.id for r in newest[:75]], "pages follow each other without a gap"
    assert gallery.count("red fox", model=MODELS[0]) == len([r for r in foxes if r.model == MODELS[0]])
    gallery.close()


def test_delete_goes_to_the_trash_and_comes_back(tmp_path: Path) -> None:
    ids = write_runs(tmp_path, 6, days=2, seed=13)
    gallery = Gallery(tmp_path)
    moved = gallery.delete(ids[2])
    assert moved.is_dir() and gallery.find(ids[2]) is None and gallery.count() == 5
    assert [r.id for r in gallery.trash()] == [ids[2]]
    restored = gallery.restore(ids[2])
    assert restored.id == ids[2] and gallery.count() == 6 and restored.paths[0].is_file()
    gallery.delete(ids[0])
    gallery.delete(ids[1])
    assert gallery.empty_trash() == 2 and gallery.trash() == [] and gallery.count() == 4
    assert gallery.reindex() == 4
    gallery.close()
