"""``seedream compare`` (issue 21 from the command line): prompts, templates and models as axes, priced first,
kept as a group that ``show`` draws again and ``history --group`` lists."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from test_cli import no_traceback, seedream

from seedream_widgets.demo import DemoServer

TOKEN = "r8_" + secrets.token_hex(12)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def test_a_template_grid_runs_is_kept_and_shown_again(demo: DemoServer, workdir: Path) -> None:
    result = seedream("compare", "a {animal} in the {weather}", "--vary", "animal=fox,owl", "--vary",
                      "weather=snow,rain", "--size", "1K", "--json", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    grid = json.loads(result.stdout)
    assert [cell["settings"] for cell in grid["cells"]] == [
        {"animal": "fox", "weather": "snow"}, {"animal": "fox", "weather": "rain"},
        {"animal": "owl", "weather": "snow"}, {"animal": "owl", "weather": "rain"}]
    prompts = {demo.prediction(cell["id"])["input"]["prompt"] for cell in grid["cells"]}
    assert prompts == {"a fox in the snow", "a fox in the rain", "a owl in the snow",
                       "a owl in the rain"}
    assert "price: 4 runs, at most 4 images; demo backend: nothing is billed" in result.stderr
    group = grid["group"]
    assert group.startswith("cmp-") and f"seedream show {group}" in result.stderr
    again = json.loads(seedream("show", group, "--json", server=demo, cwd=workdir).stdout)
    assert [cell["id"] for cell in again["cells"]] == [cell["id"] for cell in grid["cells"]]
    assert demo.stats.creates == 4  # shown from disk
    listed = json.loads(seedream("history", "--group", group, "--json", server=demo, cwd=workdir).stdout)
    assert sorted(run["id"] for run in listed["runs"]) == sorted(cell["id"] for cell in grid["cells"])
    table = seedream("history", server=demo, cwd=workdir).stdout
    assert table.splitlines()[0].split()[6] == "GROUP" and group in table


def test_prompts_as_an_axis_priced_in_a_dry_run(demo: DemoServer, workdir: Path) -> None:
    result = seedream("compare", "a red fox", "a red fox, watercolour", "a red fox, 35 mm photo", "--vary",
                      "size=1K,2K", "--dry-run", server=demo, cwd=workdir, SEEDREAM_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert "price: 6 runs, at most 6 images, at most $0.180" in result.stderr
    assert "prompt=a red fox, watercolour, size=2K" in result.stdout
    assert len(result.stdout.splitlines()) == 7 and demo.stats.total_requests == 0


def test_max_cost_applies_to_the_whole_grid(demo: DemoServer, workdir: Path) -> None:
    result = seedream("compare", "a fox", "--vary", "size=1K,2K,4K", "--max-cost", "0.05", server=demo, cwd=workdir,
                      SEEDREAM_API_TOKEN=TOKEN)
    assert result.returncode == 2 and "up to $0.090" in result.stderr and "--max-cost" in result.stderr
    assert demo.stats.creates == 0
    no_traceback(result)


def test_models_as_an_axis(demo: DemoServer, workdir: Path) -> None:
    result = seedream("compare", "a fox", "--vary", "model=bytedance/seedream-4,bytedance/seedream-5-lite",
                      "--size", "2K", "--json", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    cells = json.loads(result.stdout)["cells"]
    assert [demo.prediction(c["id"])["model"].split(":")[0] for c in cells] == [
        "bytedance/seedream-4", "bytedance/seedream-5-lite"]


@pytest.mark.parametrize(("args", "words"), [
    (["a {animal} in the {weather}", "--vary", "animal=fox,owl"], ["{weather} placeholder but no values"]),
    (["a {animal}", "--vary", "colour=red,blue"], ["--vary: 'colour' is not a field", "animal"]),
    (["a fox"], ["nothing to compare"]),
    (["a fox", "--vary", "size=1K,3K"], ["-s/--size: got '3K'; allowed: 1K, 2K, 4K, custom"]),
    (["a fox", "--vary", "size"], ["--vary 'size': expected NAME=VALUE,VALUE"]),
])
def test_a_bad_grid_is_refused_before_anything_is_sent(demo: DemoServer, workdir: Path, args: list[str],
                                                       words: list[str]) -> None:
    result = seedream("compare", *args, server=demo, cwd=workdir)
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in result.stderr
    assert demo.stats.total_requests == 0
    no_traceback(result)


def test_a_grid_saved_as_one_contact_sheet_with_its_cells(demo: DemoServer, workdir: Path) -> None:
    from PIL import Image

    from seedream_widgets.provenance import read_generation

    result = seedream("compare", "a {animal}", "--vary", "animal=fox,owl", "--vary", "size=1K,2K", "--save",
                      "grid.png", "--cells", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    sheet = workdir / "grid.png"
    assert f"contact sheet: {sheet.name}" in result.stderr or "contact sheet: grid.png" in result.stderr
    with Image.open(sheet) as image:
        assert image.width >= 2 * 384 and image.height >= 2 * 384  # two columns and two rows of cells
    record = read_generation(sheet)
    assert record is not None and record.prompt == "a {animal}"  # the sheet carries its own record
    cells = sorted((workdir / "grid-cells").iterdir())
    assert len(cells) == 4 and all(p.stat().st_size > 0 for p in cells)
