# ruff: noqa: F811  (the shared fixtures are imported from test_magics, and named again as test arguments)
"""Issue 15 through the magic: each model's own options, models unknown to the package, a model axis, the
estimate, ``--max-cost`` and ``%seedream cost``, end to end against the demo backend on a socket."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from _painter import painter_document
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image
from test_magics import fresh, magics, run  # noqa: F401  (fixtures)

from seedream_widgets.demo import DemoServer
from seedream_widgets.errors import CostLimitExceeded, NotFoundError, ValidationError
from seedream_widgets.magics import SeedreamMagics
from seedream_widgets.result import Comparison, Result

SENTINEL = "r8_" + secrets.token_hex(16)
S45, S5 = "bytedance/seedream-4.5", "bytedance/seedream-5-lite"


@pytest.fixture
def painter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DemoServer]:
    """A backend that also serves acme/painter, unknown to the package, as the magic's base URL."""
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1, models={"acme/painter": painter_document()}) as server:
        monkeypatch.setenv("SEEDREAM_BASE_URL", server.base_url)
        monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "outputs"))
        yield server


@pytest.fixture
def real(fresh: DemoServer, monkeypatch: pytest.MonkeyPatch) -> DemoServer:
    """The backend as a real service (a token is set): runs are priced."""
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)
    return fresh


# -- each model's options --------------------------------------------------------------------------


def test_seedream_5_lite_takes_its_own_size_and_format(shell: InteractiveShell, magics: SeedreamMagics,
                                                       fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --model seedream-5-lite --size 3K -a 16:9 --output-format png -o fox\na red fox")
    assert cell.error is None, cell.text
    fox = shell.user_ns["fox"]
    assert isinstance(fox, Result) and fox.model == S5
    sent = fresh.prediction(fox.id)
    assert sent["model"] == S5 and sent["input"] == {"prompt": "a red fox", "size": "3K", "aspect_ratio": "16:9",
                                                     "output_format": "png"}
    with Image.open(fox.path) as image:
        assert image.format == "PNG" and image.width > image.height >= 1700  # 3K at 16:9


def test_seedream_4_5_refuses_1k_before_any_request_in_option_words(shell: InteractiveShell, magics: SeedreamMagics,
                                                                    fresh: DemoServer) -> None:
    cell = run(shell, f"%%seedream --model {S45} --size 1K\na fox")
    assert isinstance(cell.error, ValidationError) and cell.error.fields == ("size",)
    shown = cell.html()
    assert "-s/--size: " in shown and "2K, 4K, custom" in shown and "size=" not in shown
    assert fresh.stats.total_requests == 0


def test_options_of_one_model_are_refused_for_another(shell: InteractiveShell, magics: SeedreamMagics,
                                                      fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 2K --disable-safety-checker\na fox")  # seedream-4 has no such field
    assert type(cell.error) is UsageError and "--disable-safety-checker" in cell.text
    assert fresh.stats.total_requests == 0
    cell = run(shell, f"%%seedream --model {S45} -s 2K --disable-safety-checker\na fox")
    assert cell.error is None, cell.text
    assert fresh.prediction(shell.user_ns["_seedream"].id)["input"]["disable_safety_checker"] is True


def test_14_input_images_on_seedream_4_5(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer,
                                        tmp_path: Path) -> None:
    picture = tmp_path / "in.png"
    Image.new("RGB", (64, 48), "blue").save(picture)
    images = " ".join(f"-i {picture}" for _ in range(14))
    cell = run(shell, f"%%seedream --dry-run --model {S45} {images} -o body\nfourteen foxes")
    assert cell.error is None, cell.text
    assert len(shell.user_ns["body"]["input"]["image_input"]) == 14
    cell = run(shell, f"%%seedream --dry-run {images}\nfourteen foxes")  # seedream-4 takes 10
    assert isinstance(cell.error, ValidationError) and "-i/--image" in cell.html() and "at most 10" in cell.html()
    assert fresh.stats.total_requests == 0
    shell.user_ns.pop("body", None)


def test_help_keeps_the_default_model_and_help_model_shows_another(shell: InteractiveShell,
                                                                   magics: SeedreamMagics,
                                                                   fresh: DemoServer) -> None:
    doc = shell.find_cell_magic("seedream").__doc__ or ""
    assert "model fields (bytedance/seedream-4;" in doc and "--no-enhance" in doc
    assert "[--output-format" not in doc and "{2K,3K}" not in doc  # 5-lite's options are not seedream-4's
    assert "style=\"oil, thick paint\",ink" in doc and "{placeholder}" in doc  # the compare syntax is documented
    cell = run(shell, "%seedream help --model seedream-5-lite")
    assert cell.error is None
    assert "--output-format" in cell.stdout and "{2K,3K}" in cell.stdout and "--no-enhance" not in cell.stdout
    assert "sequential_image_generation='auto'" not in cell.stdout and "--sequential auto" in cell.stdout
    assert fresh.stats.total_requests == 0  # a known model's options need no request


def test_models_lists_fields_sizes_and_prices_in_option_words(shell: InteractiveShell, magics: SeedreamMagics,
                                                              fresh: DemoServer) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%seedream models")
    assert cell.error is None
    text = cell.stdout
    for words in ("bytedance/seedream-4  ($0.030/image", "bytedance/seedream-4.5  ($0.040/image (unverified)",
                  "bytedance/seedream-5-lite  ($0.035/image", "-s/--size: 2K, 3K [default 2K]",
                  "-s/--size: 1K, 2K, 4K, custom", "--output-format: png, jpeg", "(only when --sequential is auto)",
                  "--disable-safety-checker: sets disable_safety_checker to true"):
        assert words in text, words
    assert fresh.stats.total_requests == 0
    cell = run(shell, "%seedream models seedream-4.5 --refresh")  # read again from the service
    assert cell.error is None and "bytedance/seedream-4.5" in cell.stdout and "from the service" in cell.stdout
    assert "seedream-5-lite" not in cell.stdout and fresh.stats.requests.get("model", 0) >= 1


# -- a model the package does not know ------------------------------------------------------------------


def test_a_model_unknown_to_the_package_runs_with_its_own_options(shell: InteractiveShell,
                                                                  magics: SeedreamMagics,
                                                                  painter: DemoServer) -> None:
    cell = run(shell, "%seedream help --model acme/painter")
    assert cell.error is None
    assert "--style" in cell.stdout and "{photo,anime,sketch}" in cell.stdout and "--steps" in cell.stdout
    assert "[-s " not in cell.stdout and "model fields (acme/painter;" in cell.stdout
    cell = run(shell, "%%seedream --model acme/painter --style anime --steps 7 --tiled -o art\na lighthouse")
    assert cell.error is None, cell.text
    art = shell.user_ns["art"]
    assert painter.prediction(art.id)["input"] == {"prompt": "a lighthouse", "style": "anime", "steps": 7,
                                                   "tiled": True}
    cell = run(shell, "%%seedream --model acme/painter --steps 99\na lighthouse")
    assert isinstance(cell.error, ValidationError) and "--steps: " in cell.html() and "50" in cell.html()
    shell.user_ns.pop("art", None)


def test_without_a_models_route_an_unknown_model_is_a_clear_error(shell: InteractiveShell,
                                                                  magics: SeedreamMagics,
                                                                  painter: DemoServer) -> None:
    painter.configure(models_route=False)
    cell = run(shell, "%%seedream --model acme/painter --style anime\na lighthouse")
    assert isinstance(cell.error, ValidationError)
    assert "acme/painter" in cell.html() and "/models" in cell.html()
    assert painter.stats.creates == 0
    magics.display_mode = "text"
    cell = run(shell, f"%%seedream --model {S45} -s 2K --dry-run\na lighthouse")  # a known model: its snapshot
    assert cell.error is None and painter.stats.creates == 0
    cell = run(shell, "%seedream models --refresh")
    notes = [line for line in cell.stdout.splitlines() if line.startswith("note: ")]
    assert any("no /models route" in line for line in notes), cell.stdout
    assert "bytedance/seedream-5-lite" in cell.stdout  # the built-in snapshots serve
    again = run(shell, "%seedream models --refresh")
    assert not [line for line in again.stdout.splitlines() if "no /models route" in line]  # said once


# -- a model axis ----------------------------------------------------------------------------------------


def test_compare_across_models_checks_each_cell_against_its_own_model(shell: InteractiveShell,
                                                                      magics: SeedreamMagics,
                                                                      fresh: DemoServer) -> None:
    cell = run(shell, f"%%seedream -s 2K --output-format jpeg -o grid --compare model=bytedance/seedream-4,{S5}\n"
                      "a lighthouse")
    assert cell.error is None, cell.text
    grid = shell.user_ns["grid"]
    assert isinstance(grid, Comparison) and len(grid.results) == 2
    sent = {fresh.prediction(i)["model"]: fresh.prediction(i)["input"] for i in fresh.stats.prediction_ids}
    assert sent == {"bytedance/seedream-4": {"prompt": "a lighthouse", "size": "2K"},
                    S5: {"prompt": "a lighthouse", "size": "2K", "output_format": "jpeg"}}
    html = cell.html()
    assert "bytedance/seedream-4 has no --output-format: left out" in html  # a note, and the grid's cell note
    assert "output_format" not in html.replace("--output-format", "")
    assert grid.notes[0] == "bytedance/seedream-4 has no output_format: left out"  # the object keeps Python's words
    cell = run(shell, "%%seedream -s 1K --compare model=seedream-4,seedream-5-lite\na lighthouse")  # 5-lite: no 1K
    assert isinstance(cell.error, ValidationError) and "-s/--size: " in cell.html() and "2K, 3K" in cell.html()


def test_a_model_axis_naming_an_unknown_model_fails_before_any_create(shell: InteractiveShell,
                                                                      magics: SeedreamMagics,
                                                                      fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 2K --compare model=seedream-4,someone/nothing\na lighthouse")
    assert isinstance(cell.error, NotFoundError) and "someone/nothing" in cell.html()
    assert fresh.stats.creates == 0


# -- cost ------------------------------------------------------------------------------------------------


def test_dry_run_shows_the_estimate(shell: InteractiveShell, magics: SeedreamMagics, real: DemoServer) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%%seedream --dry-run -s 1K -n 4\na set of foxes")
    assert cell.error is None and "# estimate\nat most 4 images, at most $0.120" in cell.stdout
    cell = run(shell, f"%%seedream --dry-run -s 2K --compare model=seedream-4,{S5} --max-cost 0.05\na fox")
    assert cell.error is None
    assert "2 runs, at most 2 images, at most $0.065" in cell.stdout
    assert "over --max-cost $0.05: it would be refused" in cell.stdout
    assert real.stats.total_requests == 0


def test_dry_run_in_demo_mode_says_nothing_is_billed(shell: InteractiveShell, magics: SeedreamMagics,
                                                     fresh: DemoServer) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%%seedream --dry-run -s 1K -n 4 --max-cost 0\na set of foxes")
    assert "at most 4 images; demo backend: nothing is billed ($0)" in cell.stdout and "refused" not in cell.stdout


@pytest.mark.parametrize(("line", "env"), [
    ("-s 1K -n 3 --max-cost 0.05", {}),
    ("-s 1K --compare aspect_ratio=1:1,16:9,4:3", {"SEEDREAM_MAX_COST": "0.06"}),
], ids=["a set over --max-cost", "a grid over SEEDREAM_MAX_COST"])
def test_max_cost_refuses_before_anything_is_sent_or_written(shell: InteractiveShell, magics: SeedreamMagics,
                                                             real: DemoServer, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path, line: str, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cell = run(shell, f"%%seedream {line}\na fox")
    assert isinstance(cell.error, CostLimitExceeded)
    shown = cell.html()
    assert "$0.090" in shown and "--max-cost" in shown and "nothing was sent" in shown
    assert "max_cost" not in shown.replace("--max-cost", "")
    assert real.stats.total_requests == 0
    outputs = tmp_path / "outputs"
    assert not outputs.exists() or not [p for p in outputs.rglob("*") if p.is_file()]  # no kept group either


def test_cost_sums_what_was_spent_by_day_and_model(shell: InteractiveShell, magics: SeedreamMagics,
                                                   real: DemoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    magics.display_mode = "text"
    assert "no stored runs" in run(shell, "%seedream cost").stdout
    assert run(shell, "%%seedream -s 1K -n 2\ntwo foxes").error is None
    assert run(shell, f"%%seedream --model {S5} -s 2K\na fox").error is None
    monkeypatch.delenv("SEEDREAM_API_TOKEN")  # then a demo run on the same folder
    monkeypatch.delenv("SEEDREAM_BASE_URL")
    assert run(shell, "%%seedream -s 1K\na demo fox").error is None
    cell = run(shell, "%seedream cost")
    lines = cell.stdout.splitlines()
    assert lines[0].split() == ["day", "model", "runs", "images", "cost"]
    rows = {(line.split()[1], line.split()[-1]) for line in lines[1:-1]}
    assert ("bytedance/seedream-4", "$0.060") in rows and (S5, "$0.035") in rows
    assert any(line.endswith("$0 (demo)") for line in lines)
    assert lines[-1] == "total $0.095 over 2 runs on the service; demo runs cost nothing"
    magics.display_mode = "html"
    assert 'class="seedream-cost"' in run(shell, "%seedream cost").html()
