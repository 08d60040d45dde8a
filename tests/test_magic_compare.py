# ruff: noqa: F811  (the shared fixtures are imported from test_magics, and named again as test arguments)
"""Issue 21 through the magic: the cell's text as a template, values with commas, grids of up to three axes,
a comparison kept in a variable (and saved as one contact sheet) and reopened from the output folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image
from test_magic_kernel import execute, of_type, start_kernel, stop_kernel
from test_magics import fresh, magics, run  # noqa: F401  (fixtures)

from seedream_widgets.demo import DemoServer
from seedream_widgets.errors import NotFoundError, ValidationError
from seedream_widgets.magics import SeedreamMagics
from seedream_widgets.result import Comparison


def prompts(server: DemoServer) -> list[str]:
    return sorted(server.prediction(i)["input"]["prompt"] for i in server.stats.prediction_ids)


def test_a_template_fills_its_placeholders_from_the_axes(shell: InteractiveShell, magics: SeedreamMagics,
                                                         fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 1K -o grid --compare animal=fox,owl weather=snow,rain\n"
                      "a {animal} in the {weather}")
    assert cell.error is None, cell.text
    grid = shell.user_ns.pop("grid")
    assert isinstance(grid, Comparison) and dict(grid.axes) == {"animal": ["fox", "owl"], "weather": ["snow", "rain"]}
    assert prompts(fresh) == ["a fox in the rain", "a fox in the snow", "a owl in the rain", "a owl in the snow"]
    assert all(fresh.prediction(i)["input"]["size"] == "1K" for i in fresh.stats.prediction_ids)
    html = cell.html()
    assert 'class="seedream-compare"' in html and html.count("<img") == 4
    assert "animal=owl" in html and "weather=rain" in html
    assert f"%seedream open {grid.group}" in html  # how to see it again


def test_a_placeholder_with_one_value_is_filled_everywhere(shell: InteractiveShell, magics: SeedreamMagics,
                                                           fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --dry-run -o body --compare animal=fox size=1K,2K\na {animal} at dawn")
    assert cell.error is None, cell.text
    bodies = shell.user_ns.pop("body")
    assert [b["input"] for b in bodies] == [{"prompt": "a fox at dawn", "size": s} for s in ("1K", "2K")]
    assert fresh.stats.total_requests == 0


@pytest.mark.parametrize(("item", "values"), [
    ('style="oil, thick paint",ink', ["oil, thick paint", "ink"]),
    ('\'style="oil, thick paint","ink, wash"\'', ["oil, thick paint", "ink, wash"]),
    ('"style=oil paint,ink wash"', ["oil paint", "ink wash"]),
    ("style=oil,,ink,", ["oil", "ink"]),
], ids=["quoted value", "item in single quotes", "item in double quotes", "empty values dropped"])
def test_values_with_commas_and_spaces(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer,
                                       item: str, values: list[str]) -> None:
    cell = run(shell, f"%%seedream --dry-run -s 1K -o body --compare {item}\na fox in {{style}}")
    assert cell.error is None, cell.text
    assert [b["input"]["prompt"] for b in shell.user_ns.pop("body")] == [f"a fox in {v}" for v in values]
    assert fresh.stats.total_requests == 0


def test_a_quoted_path_keeps_its_spaces(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer,
                                        tmp_path: Path) -> None:
    picture = tmp_path / "my holiday photo.png"
    Image.new("RGB", (40, 30), "green").save(picture)
    for quoted in (f'"{picture}"', f"'{picture}'"):
        cell = run(shell, f"%%seedream --dry-run -s 1K -o body -i {quoted}\nthe same place in winter")
        assert cell.error is None, cell.text
        assert shell.user_ns.pop("body")["input"]["image_input"][0].startswith("data:image/png;base64,")


@pytest.mark.parametrize(("line", "body", "error", "words"), [
    ("--compare animal=fox,owl", "a {animal} in the {weather}", ValidationError,
     ["{weather} placeholder", "give --compare weather=A,B"]),
    ("--compare animl=fox,owl", "a {animal}", UsageError, ["'animl'", "did you mean animal?", "placeholders: animal"]),
    ("--compare 'style=\"oil, paint'", "a fox in {style}", UsageError, ["double quote is not closed"]),
    ("--compare animal=fox,owl", "a {animal in the snow", ValidationError, ["braces do not pair up"]),
    ("--compare animal=", "a {animal}", UsageError, ["NAME=VALUE"]),
])
def test_template_mistakes_are_named_in_option_words_before_any_request(
        shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer, line: str, body: str,
        error: type[Exception], words: list[str]) -> None:
    magics.display_mode = "text"
    cell = run(shell, f"%%seedream -s 1K {line}\n{body}")
    assert type(cell.error) is error, cell.text
    for word in words:
        assert word in cell.text, cell.text
    assert "=[" not in cell.text and "Traceback" not in cell.text
    assert fresh.stats.total_requests == 0


def test_braces_stay_literal_without_compare(shell: InteractiveShell, magics: SeedreamMagics,
                                             fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --dry-run -s 1K -o body\na {animal} sign")
    assert cell.error is None and shell.user_ns.pop("body")["input"]["prompt"] == "a {animal} sign"


def test_three_axes_make_one_labelled_grid_per_value_of_the_third(shell: InteractiveShell, magics: SeedreamMagics,
                                                                  fresh: DemoServer, tmp_path: Path) -> None:
    cell = run(shell, "%%seedream -o grid --compare animal=fox,owl weather=snow,rain size=1K,2K\n"
                      "a {animal} in the {weather}")
    assert cell.error is None, cell.text
    grid = shell.user_ns.pop("grid")
    assert len(grid.results) == 8 and fresh.stats.creates == 8
    html = cell.html()
    assert html.count("<table") == 2 and html.count("<img") == 8
    assert "size=1K" in html and "size=2K" in html
    sheet, *cells = grid.save(tmp_path / "grid.png", cells=True)
    assert sheet == tmp_path / "grid.png" and len(cells) == 8
    with Image.open(sheet) as image:
        assert image.format == "PNG" and image.width >= 2 * 192 and image.height >= 4 * 192


def test_a_kept_comparison_opens_again_as_the_same_grid(shell: InteractiveShell, magics: SeedreamMagics,
                                                        fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 1K -o grid --compare animal=fox,owl aspect_ratio=1:1,16:9\na {animal}")
    assert cell.error is None, cell.text
    grid = shell.user_ns.pop("grid")
    first = cell.html()
    shell.run_line_magic("unload_ext", "seedream_widgets")  # every client closed: as after a restart
    shell.run_line_magic("load_ext", "seedream_widgets")
    magics = shell.magics_manager.registry["SeedreamMagics"]
    magics.display_mode = "html"
    requests = fresh.stats.total_requests
    for given in (grid.group, grid.group[:-2]):  # the whole id, or its start
        cell = run(shell, f"%seedream open {given} -o again")
        assert cell.error is None, cell.text
        again = shell.user_ns.pop("again")
        assert isinstance(again, Comparison) and again.group == grid.group and again is shell.user_ns["_seedream"]
        assert dict(again.axes) == dict(grid.axes) and [r.id for r in again.results] == [r.id for r in grid.results]
        assert cell.html().count("<img") == first.count("<img") == 4
        assert re.findall(r"animal=\w+|aspect_ratio=[\d:]+", cell.html()) == \
            re.findall(r"animal=\w+|aspect_ratio=[\d:]+", first)
    assert fresh.stats.total_requests == requests  # from the output folder alone
    magics.display_mode = "text"
    group, _, *rest = run(shell, "%seedream history --compares").stdout.splitlines()[0].split("  ")
    assert [group, *rest] == [grid.group, "4 runs", "animal (2) × aspect_ratio (2)", "a {animal}"]
    cell = run(shell, f"%seedream open {grid.group}")
    assert "<Comparison of 4 runs" in cell.stdout and f"kept as {grid.group}" in cell.stdout
    cell = run(shell, "%seedream open cmp-20000101-000000-000000")
    assert isinstance(cell.error, NotFoundError) and "no comparison" in cell.text


@pytest.mark.kernel
def test_a_comparison_reopens_after_a_kernel_restart(demo_server: DemoServer, tmp_path: Path) -> None:
    km, kc = start_kernel(demo_server, tmp_path)
    try:
        reply, _ = execute(kc, "%load_ext seedream_widgets")
        assert reply["content"]["status"] == "ok"
        reply, messages = execute(kc, "%%seedream -s 1K -o grid --compare animal=fox,owl weather=snow,rain\n"
                                      "a {animal} in the {weather}\n")
        assert reply["content"]["status"] == "ok", reply["content"]
        shown = of_type(messages, "update_display_data")[-1]["content"]["data"]["text/html"]
        group = re.search(r"%seedream open (cmp-[\w-]+)", shown)
        assert group is not None and shown.count("<img") == 4
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        reply, _ = execute(kc, "%load_ext seedream_widgets")
        assert reply["content"]["status"] == "ok"
        reply, messages = execute(kc, f"%seedream open {group.group(1)} -o grid\nprint(len(grid.results))")
        assert reply["content"]["status"] == "ok", reply["content"]
        grid_html = [m["content"]["data"]["text/html"] for m in of_type(messages, "display_data")]
        assert grid_html and grid_html[-1].count("<img") == 4 and "animal=owl" in grid_html[-1]
        assert "".join(m["content"]["text"] for m in of_type(messages, "stream")).split() == ["4"]
    finally:
        stop_kernel(km, kc)
