"""A comparison as one labelled image (a contact sheet), for keeping and sharing a grid.

>>> grid = Seedream().compare("a {animal}", animal=["fox", "owl"], size=["1K", "2K"])   # doctest: +SKIP
>>> grid.save("fox-owl.png", cells=True)                                                # doctest: +SKIP

The header holds the prompt (or template), the axes and the models; rows are the first axis,
columns the second, and a third axis makes one block per value, stacked. Labels are drawn at
18 px (readable at 100 %), each cell is its first image scaled to fit, captioned with what
differs there (its size, a note, or the error of a cell that failed). The sheet carries its own
provenance record (the prompt, the axes, every cell's prediction id), written by
`seedream_widgets.provenance` like every stored image.
"""

from __future__ import annotations

import io
import itertools
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .provenance import GenerationRecord, embed

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    from .result import Comparison

__all__ = ["contact_sheet", "save_sheet"]

CELL_PX = 384
LABEL_PX = 18
HEADER_PX = 22
PAD = 12
ROW_LABEL_PX = 220
BACKGROUND, INK, MUTED, LINE, ERROR = (255, 255, 255), (17, 24, 39), (75, 85, 99), (209, 213, 219), (153, 27, 27)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _lines(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    """``text`` wrapped to ``width`` pixels (by characters per line, measured with ``font``)."""
    average = max(1.0, draw.textlength("abcdefghijklmnopqrstuvwxyz", font=font) / 26)
    return textwrap.wrap(text, max(8, int(width / average))) or [""]


def _label(settings: dict[str, Any], axis: str | None) -> str:
    if axis is None:
        return ""
    value = settings.get(axis, "")
    return str(value) if axis == "prompt" else f"{axis}={value}"


def contact_sheet(comparison: Comparison, *, cell_px: int = CELL_PX) -> PILImage.Image:
    """The comparison drawn as one RGB image."""
    from PIL import Image, ImageDraw

    names = list(comparison.axes)
    row_axis, col_axis, page_axes = names[0], (names[1] if len(names) > 1 else None), names[2:]
    rows = list(comparison.axes[row_axis])
    cols = list(comparison.axes[col_axis]) if col_axis else [None]
    pages = list(itertools.product(*(comparison.axes[n] for n in page_axes))) or [()]
    by_key = {tuple(s.get(n) for n in names): (i, o) for i, (s, o) in enumerate(comparison.cells)}
    label_font, head_font, small = _font(LABEL_PX), _font(HEADER_PX), _font(LABEL_PX - 3)
    scratch = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    line_h = LABEL_PX + 6

    width = PAD * 2 + ROW_LABEL_PX + len(cols) * (cell_px + PAD)
    header = _lines(scratch, comparison.prompt, head_font, width - 2 * PAD)[:4]
    axes_text = "  by  ".join(f"{n} ({len(v)})" for n, v in comparison.axes.items())  # the font has no "×"
    col_labels = [_lines(scratch, _label({col_axis: c}, col_axis), label_font, cell_px)[:3] for c in cols] \
        if col_axis else [[]]
    col_head_h = max(len(lines) for lines in col_labels) * line_h + PAD if col_axis else 0
    cell_h = cell_px + 3 * line_h
    page_h = (line_h + 6 if page_axes else 0) + col_head_h + len(rows) * (cell_h + PAD)
    height = PAD * 2 + len(header) * (HEADER_PX + 8) + line_h + 10 + len(pages) * (page_h + PAD)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)

    y = PAD
    for line in header:
        draw.text((PAD, y), line, fill=INK, font=head_font)
        y += HEADER_PX + 8
    draw.text((PAD, y), axes_text, fill=MUTED, font=label_font)
    y += line_h + 10
    for page in pages:
        if page_axes:
            draw.text((PAD, y), ", ".join(f"{n}={v}" for n, v in zip(page_axes, page, strict=True)), fill=INK,
                      font=label_font)
            y += line_h + 6
        x0 = PAD + ROW_LABEL_PX
        for c, lines in enumerate(col_labels):
            for k, line in enumerate(lines):
                draw.text((x0 + c * (cell_px + PAD), y + k * line_h), line, fill=INK, font=label_font)
        y += col_head_h
        for row in rows:
            draw.line([(PAD, y - PAD // 2), (width - PAD, y - PAD // 2)], fill=LINE, width=1)
            for k, line in enumerate(_lines(draw, _label({row_axis: row}, row_axis), label_font,
                                            ROW_LABEL_PX - PAD)[:8]):
                draw.text((PAD, y + k * line_h), line, fill=INK, font=label_font)
            for c, col in enumerate(cols):
                key = (row, *([col] if col_axis else []), *page)
                index, outcome = by_key.get(key, (-1, None))
                note = comparison.notes[index] if 0 <= index < len(comparison.notes) else ""
                _draw_cell(sheet, draw, (x0 + c * (cell_px + PAD), y), outcome, note, cell_px, small)
            y += cell_h + PAD
        y += PAD
    return sheet


def _draw_cell(sheet: PILImage.Image, draw: ImageDraw.ImageDraw, at: tuple[int, int], outcome: Any, note: str,
               cell_px: int, font: Any) -> None:
    from PIL import Image

    x, y = at
    captions: list[tuple[str, tuple[int, int, int]]] = []
    if outcome is None:
        captions.append(("(no cell)", MUTED))
    elif isinstance(outcome, BaseException):
        draw.rectangle([x, y, x + cell_px, y + cell_px], outline=ERROR, width=2)
        for k, line in enumerate(_lines(draw, f"{type(outcome).__name__}: {outcome}", font, cell_px - 16)[:12]):
            draw.text((x + 8, y + 8 + k * (LABEL_PX + 2)), line, fill=ERROR, font=font)
    else:
        paths = [p for p in outcome.paths if p.is_file()]
        if paths:
            with Image.open(paths[0]) as image:
                image.draft("RGB", (cell_px, cell_px))
                thumb = image.convert("RGB")
                thumb.thumbnail((cell_px, cell_px))
            sheet.paste(thumb, (x + (cell_px - thumb.width) // 2, y + (cell_px - thumb.height) // 2))
        size = f"{outcome.sizes[0][0]}x{outcome.sizes[0][1]}" if outcome.sizes else ""
        more = f" · {len(outcome.paths)} images" if len(outcome.paths) > 1 else ""
        captions.append((f"{size}{more}", MUTED))
    if note:
        captions.append((note, MUTED))
    for k, (text, fill) in enumerate(captions[:3]):
        draw.text((x, y + cell_px + 4 + k * (LABEL_PX + 2)), text[:80], fill=fill, font=font)


def save_sheet(comparison: Comparison, path: str | Path, *, cells: bool = False,
               cell_px: int = CELL_PX) -> list[Path]:
    """Write the contact sheet (PNG or JPEG by the suffix) with its provenance record; with ``cells`` also each
    cell's images, by descriptive names, into ``<stem>-cells/``. Returns the files written, the sheet first."""
    target = Path(path)
    kind = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}.get(target.suffix.lower())
    if kind is None:
        raise ValueError(f"{target.name}: a contact sheet is a .png, .jpg or .jpeg file")
    image = contact_sheet(comparison, cell_px=cell_px)
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({"quality": 90} if kind == "JPEG" else {"optimize": True}))
    models = sorted({r.model for r in comparison.results if r.model})
    record = GenerationRecord.create(
        model=", ".join(models) or "seedream", size=image.size, demo=any(r.demo for r in comparison.results),
        input={"prompt": comparison.prompt, "compare": {k: [str(v) for v in vs] for k, vs in comparison.axes.items()},
               "cells": [{"settings": {k: str(v) for k, v in s.items()},
                          "prediction": getattr(o, "id", None)} for s, o in comparison.cells],
               "group": comparison.group})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(embed(buffer.getvalue(), record).data)
    written = [target]
    if cells:
        folder = target.with_name(f"{target.stem}-cells")
        folder.mkdir(exist_ok=True)
        for number, (settings, outcome) in enumerate(comparison.cells, 1):
            for index, source in enumerate(getattr(outcome, "paths", [])):
                label = "_".join(_slug(v) for v in settings.values())[:60]
                copy = folder / f"{number:02d}_{label}_{index + 1}{source.suffix}"
                shutil.copy2(source, copy)
                written.append(copy)
    return written


def _slug(value: Any) -> str:
    text = "".join(c if c.isalnum() else "-" for c in str(value).lower())
    return "-".join(part for part in text.split("-") if part) or "x"

