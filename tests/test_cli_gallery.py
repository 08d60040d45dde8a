"""``seedream`` over the gallery's index (issue 17): history's search and filters, reindex, star, delete and the
trash, export under descriptive names."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_cli import no_traceback, seedream

from seedream_widgets import Seedream
from seedream_widgets.demo import DemoServer


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


@pytest.fixture
def runs(demo_server: DemoServer, workdir: Path) -> dict[str, str]:
    """Four stored runs (prompt -> id), oldest first: three seedream-4 runs and one seedream-5-lite run, made through
    the Python API (fast, in-process) into the folder the commands read, as the command would make them."""
    made = {}
    with Seedream(base_url=demo_server.base_url, output_dir=workdir / "out") as client:
        for prompt, fields in (("a red fox in the snow", {"size": "1K"}), ("an owl at night", {"size": "1K"}),
                               ("a red panda", {"size": "1K", "max_images": 2, "sequential_image_generation": "auto"}),
                               ("a red kite", {"model": "bytedance/seedream-5-lite", "size": "2K"})):
            made[prompt] = client.generate(prompt, **fields).id
    return made


def listed(server: DemoServer, cwd: Path, *args: str) -> list[str]:
    """The ids ``seedream history ARGS --json`` lists, newest first."""
    result = seedream("history", *args, "--json", server=server, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return [run["id"] for run in json.loads(result.stdout)["runs"]]


def test_history_searches_and_filters_through_the_index(demo_server: DemoServer, workdir: Path,
                                                        runs: dict[str, str]) -> None:
    fox, owl, panda, kite = runs.values()
    assert listed(demo_server, workdir) == [kite, panda, owl, fox]
    assert listed(demo_server, workdir, "--search", "red") == [kite, panda, fox]
    assert listed(demo_server, workdir, "-s", "snow red") == [fox]  # every word, any order
    assert listed(demo_server, workdir, "--model", "bytedance/seedream-5-lite") == [kite]
    assert listed(demo_server, workdir, "--limit", "2", "--offset", "1") == [panda, owl]
    assert listed(demo_server, workdir, "2") == [kite, panda]
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert listed(demo_server, workdir, "--since", tomorrow) == []
    assert listed(demo_server, workdir, "--since", "today", "--until", "today") == [kite, panda, owl, fox]
    assert listed(demo_server, workdir, "--until", "yesterday") == []
    text = seedream("history", "--limit", "2", server=demo_server, cwd=workdir)
    assert text.returncode == 0 and "[DEMO] a red kite" in text.stdout and "seedream-5-lite" in text.stdout
    assert "1-2 of 4 runs; --offset 2 lists the next ones" in text.stderr
    none = seedream("history", "--search", "giraffe", server=demo_server, cwd=workdir)
    assert none.stdout.strip() == "No stored run matches."
    bad = seedream("history", "--since", "last tuesday", server=demo_server, cwd=workdir)
    assert bad.returncode == 2 and "expected a date such as 2026-11-24" in bad.stderr


def test_star_unstar_and_starred(demo_server: DemoServer, workdir: Path, runs: dict[str, str]) -> None:
    fox, owl, panda, _ = runs.values()
    starred = seedream("star", fox[:8], owl, server=demo_server, cwd=workdir)
    assert starred.returncode == 0, starred.stderr
    assert f"★ {fox}" in starred.stderr
    assert listed(demo_server, workdir, "--starred") == [owl, fox]
    assert seedream("unstar", owl, server=demo_server, cwd=workdir).returncode == 0
    assert listed(demo_server, workdir, "--starred", "--search", "red") == [fox]
    assert json.loads((next((workdir / "out").glob(f"*/{fox}")) / "prediction.json").read_text())["starred"] is True
    table = seedream("history", "--starred", server=demo_server, cwd=workdir).stdout
    assert "★" in table.splitlines()[1] and fox in table
    unknown = seedream("star", "nosuchrun", server=demo_server, cwd=workdir)
    assert unknown.returncode == 2 and "no stored run 'nosuchrun'" in unknown.stderr
    no_traceback(unknown)
    assert panda  # untouched


def test_delete_goes_to_the_trash_which_restores_and_empties(demo_server: DemoServer, workdir: Path,
                                                            runs: dict[str, str]) -> None:
    fox, owl, panda, kite = runs.values()
    deleted = seedream("delete", fox, panda[:10], server=demo_server, cwd=workdir)
    assert deleted.returncode == 0, deleted.stderr
    assert f"seedream trash restore {fox} {panda}" in deleted.stderr
    assert listed(demo_server, workdir) == [kite, owl]
    trash = seedream("trash", server=demo_server, cwd=workdir)
    assert fox in trash.stdout and panda in trash.stdout and "2 runs in" in trash.stderr
    assert seedream("trash", "restore", fox[:6], server=demo_server, cwd=workdir).returncode == 0
    assert listed(demo_server, workdir) == [kite, owl, fox]
    emptied = seedream("trash", "empty", server=demo_server, cwd=workdir)  # not a terminal: no question asked
    assert emptied.returncode == 0 and "deleted 1 run for good" in emptied.stderr
    assert seedream("trash", server=demo_server, cwd=workdir).stdout.strip() == "The trash is empty."
    gone = seedream("trash", "restore", panda, server=demo_server, cwd=workdir)
    assert gone.returncode == 2 and "matches 0 runs in the trash" in gone.stderr


def test_reindex_rebuilds_the_index_and_says_how_many_and_how_long(demo_server: DemoServer, workdir: Path,
                                                                   runs: dict[str, str]) -> None:
    shutil.rmtree(workdir / "out" / ".index")
    result = seedream("reindex", server=demo_server, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reindexed 4 runs in ") and " s (" in result.stdout
    assert (workdir / "out" / ".index").is_dir()
    data = json.loads(seedream("reindex", "--json", server=demo_server, cwd=workdir).stdout)
    assert data["runs"] == 4 and data["seconds"] >= 0
    assert listed(demo_server, workdir, "--search", "owl") == [runs["an owl at night"]]


def test_export_copies_under_descriptive_names_once(demo_server: DemoServer, workdir: Path,
                                                   runs: dict[str, str]) -> None:
    fox, _, panda, _ = runs.values()
    day = datetime.now(timezone.utc).date().isoformat()
    result = seedream("export", fox, panda[:8], "--to", "picked", server=demo_server, cwd=workdir)
    assert result.returncode == 0, result.stderr
    copies = [Path(line) for line in result.stdout.splitlines()]
    assert [p.name for p in copies] == [f"{day}_a-red-fox-in-the-snow.jpg", f"{day}_a-red-panda_1.jpg",
                                        f"{day}_a-red-panda_2.jpg"]
    originals = sorted((workdir / "out").glob(f"*/{panda}/*.jpg"))
    assert [p.read_bytes() for p in copies[1:]] == [p.read_bytes() for p in originals]
    again = seedream("export", fox, "--to", "picked", "--json", server=demo_server, cwd=workdir)
    assert json.loads(again.stdout)[0]["paths"] == [str(copies[0].absolute())]  # the same copy: not twice
    assert len(list((workdir / "picked").iterdir())) == 3
    unknown = seedream("export", fox, "nosuchrun", "--to", "elsewhere", server=demo_server, cwd=workdir)
    assert unknown.returncode == 2 and not (workdir / "elsewhere").exists()  # checked before anything is copied
