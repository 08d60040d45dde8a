"""``seedream`` and the Seedream family (issue 15): each model's options, ``models``, ``cost``, ``--dry-run``'s price,
``--max-cost``. The real console script against real demo backends."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _painter import painter_document
from PIL import Image
from test_cli import no_traceback, seedream

from seedream_widgets.demo import DemoServer

TOKEN = "r8_" + secrets.token_hex(12)
PAINTER = "acme/painter"


@pytest.fixture
def painter() -> Iterator[DemoServer]:
    """A demo backend that also serves a model unknown to the package."""
    with DemoServer(base_seconds=0.1, per_image_seconds=0.05, models={PAINTER: painter_document()}) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def sent(server: DemoServer, index: int = 0) -> dict[str, Any]:
    """The input the backend received with its ``index``-th create."""
    return dict(server.prediction(server.stats.prediction_ids[index])["input"])


# -- a model's own options -----------------------------------------------------------------------------------


def test_five_lite_takes_3k_and_png(demo: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a red fox", "--model", "bytedance/seedream-5-lite", "--size", "3K",
                      "--output-format", "png", "-a", "1:1", "--json", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sent(demo) == {"prompt": "a red fox", "size": "3K", "output_format": "png", "aspect_ratio": "1:1"}
    assert demo.prediction(data["id"])["model"].startswith("bytedance/seedream-5-lite")
    with Image.open(data["paths"][0]) as image:
        assert image.format == "PNG" and image.size[0] > 2048  # 3K: bigger than any 2K image


def test_four_five_refuses_1k_before_any_request_naming_what_it_allows(demo: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a fox", "--model", "bytedance/seedream-4.5", "--size", "1K", server=demo,
                      cwd=workdir, SEEDREAM_API_TOKEN=TOKEN)
    assert result.returncode == 2
    assert "-s/--size: got '1K'; allowed: 2K, 4K, custom" in result.stderr
    assert demo.stats.total_requests == 0  # the schema is built in: not even a GET /models
    no_traceback(result)
    safety = seedream("generate", "a fox", "--model", "bytedance/seedream-4.5", "--disable-safety-checker",
                      "--size", "2K", "-q", server=demo, cwd=workdir)
    assert safety.returncode == 0, safety.stderr
    assert sent(demo)["disable_safety_checker"] is True


@pytest.mark.parametrize(("model", "present", "absent"), [
    ("bytedance/seedream-5-lite", ["--output-format {png,jpeg}", "-s {2K,3K}"], ["--width", "--no-enhance"]),
    ("bytedance/seedream-4.5", ["--disable-safety-checker", "-s {2K,4K,custom}"], ["--output-format"]),
    ("bytedance/seedream-4", ["--no-enhance", "--size {1K,2K,4K,custom}"], ["--output-format"]),
])
def test_help_shows_the_fields_of_the_model_named(demo_server: DemoServer, workdir: Path, model: str,
                                                  present: list[str], absent: list[str]) -> None:
    for command in ("generate", "batch"):
        result = seedream(command, "--model", model, "--help", server=demo_server, cwd=workdir)
        assert result.returncode == 0, result.stderr
        assert f"the {model} " in result.stdout
        for text in present:
            assert text in result.stdout, (command, text)
        options = result.stdout.split("examples:")[0]  # the examples may use any model's options
        for text in absent:
            assert text not in options, (command, text)


def test_a_model_unknown_to_the_package_runs_with_its_own_fields(painter: DemoServer, workdir: Path) -> None:
    helped = seedream("generate", "--model", PAINTER, "--help", server=painter, cwd=workdir)
    assert helped.returncode == 0, helped.stderr
    assert "--style {photo,anime,sketch}" in helped.stdout and "Denoising steps" in helped.stdout
    assert "--tiled" in helped.stdout and "--size" not in helped.stdout.split("examples:")[0]
    made = seedream("generate", "a castle", "--model", PAINTER, "--style", "anime", "--steps", "30", "--tiled",
                    "--json", server=painter, cwd=workdir)
    assert made.returncode == 0, made.stderr
    assert sent(painter) == {"prompt": "a castle", "style": "anime", "steps": 30, "tiled": True}
    assert json.loads(made.stdout)["paths"]
    bad = seedream("generate", "a castle", "--model", PAINTER, "--steps", "99", server=painter, cwd=workdir)
    assert bad.returncode == 2 and "--steps: got 99; must be at most 50" in bad.stderr
    assert painter.stats.creates == 1


def test_an_unknown_model_the_service_does_not_serve_exits_3(painter: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a fox", "--model", "nobody/nothing", server=painter, cwd=workdir,
                      SEEDREAM_API_TOKEN=TOKEN)
    assert result.returncode == 3 and "404" in result.stderr and painter.stats.creates == 0
    no_traceback(result)


def test_an_option_of_another_model_is_pointed_at_it(demo: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a fox", "--output-format", "png", server=demo, cwd=workdir)
    assert result.returncode == 2
    assert "--output-format is a field of bytedance/seedream-5-lite; add --model bytedance/seedream-5-lite" \
        in result.stderr
    assert demo.stats.total_requests == 0


def test_batch_items_are_checked_against_the_chosen_model(demo: DemoServer, workdir: Path) -> None:
    (workdir / "items.jsonl").write_text('{"prompt": "a fox", "size": "3K", "output-format": "jpeg"}\n'
                                         '{"prompt": "an owl", "size": "1K"}\n')
    result = seedream("batch", "items.jsonl", "--model", "bytedance/seedream-5-lite", "--json", server=demo,
                      cwd=workdir)
    assert result.returncode == 4, result.stderr
    items = json.loads(result.stdout)
    assert [item["status"] for item in items] == ["done", "invalid"]
    assert "-s/--size: got '1K'; allowed: 2K, 3K" in items[1]["error"]
    assert sent(demo) == {"prompt": "a fox", "size": "3K", "output_format": "jpeg"}


# -- seedream models -----------------------------------------------------------------------------------------


def test_models_lists_the_family_with_fields_sizes_and_prices(demo_server: DemoServer, workdir: Path) -> None:
    result = seedream("models", server=demo_server, cwd=workdir)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for model in ("bytedance/seedream-4 ", "bytedance/seedream-4.5 ", "bytedance/seedream-5-lite "):
        assert model in text
    assert "$0.030/image" in text and "$0.035/image" in text and "(unverified)" in text
    assert "· the default" in text and "2K, 3K" in text and "1K, 2K, 4K, custom" in text
    assert "--output-format" in text and "--disable-safety-checker" in text and "-n/--max-images" in text
    data = json.loads(seedream("models", "--json", server=demo_server, cwd=workdir).stdout)
    lite = next(m for m in data["models"] if m["model"] == "bytedance/seedream-5-lite")
    size = next(f for f in lite["fields"] if f["name"] == "size")
    assert size["choices"] == ["2K", "3K"] and size["options"] == ["-s", "--size"]
    assert lite["price"]["usd_per_image"] == 0.035 and lite["source"] == "built-in"


def test_models_reads_a_model_unknown_to_the_package_from_the_service(painter: DemoServer, workdir: Path) -> None:
    result = seedream("models", PAINTER, server=painter, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert f"{PAINTER}  (price unknown; from the service)" in result.stdout
    assert "--style" in result.stdout and "photo, anime, sketch" in result.stdout and "--steps" in result.stdout
    refreshed = json.loads(seedream("models", "--refresh", "--json", server=painter, cwd=workdir).stdout)
    assert {m["source"] for m in refreshed["models"]} == {"service"}
    assert all(len(m["version"]) == 64 for m in refreshed["models"])


def test_models_refresh_without_a_models_route_keeps_the_snapshot_with_a_note(workdir: Path) -> None:
    with DemoServer(models_route=False) as proxy:
        result = seedream("models", "--refresh", server=proxy, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "built-in snapshot" in result.stdout
    assert "note: the service has no /models route" in result.stderr


# -- cost: before (dry run, batch, --max-cost) and after (seedream cost) --------------------------------------------


def test_dry_run_shows_the_payload_the_curl_and_the_price_and_sends_nothing(demo: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a red fox", "-n", "3", "--size", "1K", "--dry-run", server=demo, cwd=workdir,
                      SEEDREAM_API_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert demo.stats.total_requests == 0
    assert f"POST {demo.base_url}/models/bytedance/seedream-4/predictions" in result.stdout
    assert '"max_images": 3' in result.stdout and '"sequential_image_generation": "auto"' in result.stdout
    assert "curl --silent --request POST" in result.stdout and "$SEEDREAM_API_TOKEN" in result.stdout
    assert "price: at most 3 images, at most $0.090" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    data = json.loads(seedream("generate", "a fox", "--model", "bytedance/seedream-5-lite", "--dry-run", "--json",
                               server=demo, cwd=workdir, SEEDREAM_API_TOKEN=TOKEN).stdout)
    assert data["sent"] is False and data["body"] == {"input": {"prompt": "a fox"}}
    assert data["estimate"]["usd"] == 0.035 and data["url"].endswith("/models/bytedance/seedream-5-lite/predictions")
    demo_mode = seedream("generate", "a fox", "--dry-run", server=demo, cwd=workdir, SEEDREAM_BASE_URL="")
    assert "seedream demo-server --port 8765" in demo_mode.stdout and "nothing is billed" in demo_mode.stdout
    assert demo.stats.total_requests == 0


def test_max_cost_refuses_a_set_and_a_batch_before_anything_is_sent(demo: DemoServer, workdir: Path) -> None:
    too_dear = seedream("generate", "a fox", "-n", "4", "--max-cost", "0.10", server=demo, cwd=workdir,
                        SEEDREAM_API_TOKEN=TOKEN)
    assert too_dear.returncode == 2, too_dear.stderr
    assert "up to $0.120" in too_dear.stderr and "over --max-cost $0.1" in too_dear.stderr
    (workdir / "three.jsonl").write_text('"a fox"\n"an owl"\n"a heron"\n')
    batch = seedream("batch", "three.jsonl", "--size", "1K", server=demo, cwd=workdir, SEEDREAM_API_TOKEN=TOKEN,
                     SEEDREAM_MAX_COST="0.05")
    assert batch.returncode == 2, batch.stderr
    assert "price: 3 runs, at most 3 images, at most $0.090" in batch.stderr and "nothing was sent" in batch.stderr
    assert demo.stats.creates == 0
    no_traceback(batch)
    within = seedream("generate", "a fox", "--size", "1K", "--max-cost", "0.03", "-q", server=demo, cwd=workdir,
                      SEEDREAM_API_TOKEN=TOKEN)
    assert within.returncode == 0 and demo.stats.creates == 1
    free = seedream("generate", "a fox", "-n", "4", "--size", "1K", "--max-cost", "0", "-q", server=demo, cwd=workdir)
    assert free.returncode == 0, free.stderr  # demo runs cost nothing: never over a limit


def test_cost_sums_by_day_and_model_and_demo_runs_cost_nothing(demo: DemoServer, workdir: Path) -> None:
    empty = seedream("cost", server=demo, cwd=workdir)
    assert empty.returncode == 0 and "Nothing spent" in empty.stdout
    for args in (["a fox", "-n", "2"], ["an owl", "--model", "bytedance/seedream-5-lite"]):
        made = seedream("generate", *args, "--size", "2K", "-q", server=demo, cwd=workdir, SEEDREAM_API_TOKEN=TOKEN)
        assert made.returncode == 0, made.stderr
    assert seedream("generate", "a heron", "--size", "1K", "-q", server=demo, cwd=workdir).returncode == 0  # demo
    result = seedream("cost", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:-1]]
    assert sorted((row[1], row[-1] if row[1] != "[DEMO]" else row[2]) for row in rows) == sorted(
        [("bytedance/seedream-4", "0.060"), ("bytedance/seedream-5-lite", "0.035"), ("[DEMO]", "bytedance/seedream-4")])
    assert "0 (demo: nothing billed)" in result.stdout
    assert result.stdout.splitlines()[-1] == "total: $0.095; 1 demo run cost nothing"
    data = json.loads(seedream("cost", "--json", server=demo, cwd=workdir).stdout)
    assert data["usd"] == pytest.approx(0.095) and data["demo_runs"] == 1
