"""Issue 21 through the Python API, on the demo: prompts and templates as axes, three axes, and the contact sheet.

The sheet is checked as an image: its size follows the grid (a row per value of the first axis, a
column per value of the second, a block per value of the third), and its labels are real text of
legible height (dark pixels at least 12 px tall in the label bands, as at 18 px type).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from seedream_widgets import Comparison, Seedream, ValidationError
from seedream_widgets.demo import DemoServer
from seedream_widgets.provenance import read_generation
from seedream_widgets.sheet import CELL_PX, INK, PAD, ROW_LABEL_PX

TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
PROMPTS = ["a red fox", "a red fox, watercolour", "a red fox, 35 mm photo"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with DemoServer(base_seconds=0.05, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path_factory.mktemp("out")) as c:
        yield c


def ink_rows(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixel rows inside ``box`` hold text-coloured (dark) pixels."""
    region = image.convert("RGB").crop(box)
    dark = [y for y in range(region.height)
            if any(sum(abs(a - b) for a, b in zip(region.getpixel((x, y)), INK, strict=True)) < 120
                   for x in range(0, region.width, 2))]
    return len(dark)


def first_cell_top(image: Image.Image) -> int:
    """The first pixel row of the first cell's picture (down the middle of the first column)."""
    rgb, x = image.convert("RGB"), PAD + ROW_LABEL_PX + CELL_PX // 2
    column = [rgb.getpixel((x, y)) for y in range(image.height)]
    for y in range(image.height - 40):
        if all(column[y + k] != (255, 255, 255) for k in range(40)):
            return y
    raise AssertionError("no picture in the first column")


def test_three_prompts_by_two_sizes_is_one_labelled_grid_saved_as_a_sheet(client: Seedream, tmp_path: Path) -> None:
    grid = client.compare(PROMPTS, size=["1K", "2K"])
    assert isinstance(grid, Comparison) and list(grid.axes) == ["prompt", "size"] and len(grid.cells) == 6
    assert all(not isinstance(outcome, Exception) for _, outcome in grid.cells)
    written = grid.save(tmp_path / "foxes.png", cells=True)
    sheet, cells = written[0], written[1:]
    assert sheet.name == "foxes.png" and len(cells) == 6 and all(p.is_file() for p in cells)
    with Image.open(sheet) as image:
        image.load()
        assert image.width == 2 * PAD + ROW_LABEL_PX + 2 * (CELL_PX + PAD), "two columns: the sizes"
        assert image.height > 3 * CELL_PX, "three rows: the prompts"
        assert ink_rows(image, (PAD, PAD, image.width - PAD, PAD + 30)) >= 12, "the header's text"
        top = first_cell_top(image)
        assert ink_rows(image, (PAD + ROW_LABEL_PX, top - 60, image.width - PAD, top)) >= 12, "column labels"
        assert ink_rows(image, (PAD, top, PAD + ROW_LABEL_PX - PAD, top + 60)) >= 12, "a row label"
    record = read_generation(sheet)
    assert (record is not None and record.prompt == PROMPTS[0]) or (record is not None and "fox" in record.prompt)


def test_a_template_fills_its_placeholders_and_a_third_axis_makes_a_block_per_value(client: Seedream,
                                                                                     tmp_path: Path) -> None:
    grid = client.compare("a {animal} in the {weather}", animal=["fox", "owl"], weather=["snow", "rain"],
                          size=["1K", "2K"])
    assert list(grid.axes) == ["animal", "weather", "size"] and len(grid.cells) == 8
    prompts = sorted({outcome.input["prompt"] for _, outcome in grid.cells})
    assert prompts == ["a fox in the rain", "a fox in the snow", "an owl in the rain", "an owl in the snow"] \
        or prompts == ["a fox in the rain", "a fox in the snow", "a owl in the rain", "a owl in the snow"]
    two = grid.save(tmp_path / "blocks.jpg")[0]
    with Image.open(two) as image:
        assert image.format == "JPEG" and image.height > 2 * 2 * CELL_PX, "two blocks of two rows"


def test_template_mistakes_name_both_lists_before_any_request(client: Seedream) -> None:
    with pytest.raises(ValidationError) as unknown:
        client.compare("a {animal} at dusk", animal=["fox", "owl"], colour=["red", "blue"])
    message = str(unknown.value)
    assert "colour" in message and "animal" in message and "size" in message, message  # placeholders and fields
    with pytest.raises(ValidationError, match="weather"):
        client.compare("a {animal} in the {weather}", animal=["fox", "owl"])  # a placeholder with no values
