"""The results: the gallery of the latest (or a restored) run, and the history strip of the panel's runs.

Outputs are linked from the stored files, relative to the kernel's folder, inside `Output` widgets: their
rendermime resolves relative links to the server's files (an HTML widget's would not). Widget state holds
thumbnails only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as widgets

from ..display import FONT, MUTED, esc, shorten, thumbnail_data_uri
from ..result import Result
from .layout import heading, replace_children

GALLERY_PX = 512
"""Largest side of a gallery thumbnail kept in widget state."""
HISTORY_PX = 96


def _thumb(path: Path, max_px: int) -> str:
    try:
        return thumbnail_data_uri(path, max_px)  # cached per file: a restore does not decode it again
    except OSError:  # gone (a saved image moves into its run's folder): the caption and links still show
        return ""


class GalleryView:
    """``title`` and ``box``: a cell per image with its thumbnail, open full size, download and Use as input."""

    def __init__(self, use_as_input: Callable[[Path], Any]) -> None:
        self.title = widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._use, self.full = use_as_input, False

    def show(self, number: int, result: Result) -> None:
        total, sizes = len(result.paths), [f" · {w}×{h}" for w, h in result.sizes] + [""] * len(result.paths)
        self.title.value = heading(f"Run #{number} · {shorten(result.prompt, 80)}")
        replace_children(self.box, [self._cell(path, f"{i} of {total}{sizes[i - 1]}")
                                    for i, path in enumerate(result.paths, 1)])

    def enable(self, room: bool) -> None:
        """Use as input works while another input image fits."""
        self.full = not room
        for cell in self.box.children:
            cell.children[-1].disabled = self.full

    def _cell(self, path: Path, caption: str) -> Any:
        button = widgets.Button(description="Use as input", icon="plus", disabled=self.full,
                                tooltip="Append this image to the input images (edit it next)",
                                layout=widgets.Layout(width="220px"))
        button.on_click(lambda _: self._use(path))
        try:  # relative to the kernel's working folder (the notebook's, in Jupyter)
            href = esc(quote(Path(os.path.relpath(path, os.getcwd())).as_posix()))
        except ValueError:  # another drive on Windows
            href = esc(quote(path.as_posix()))
        body = (f'<div class="seedream-image" style="{FONT}width:220px"><a href="{href}" target="_blank" '
                f'title="Open full size: {esc(path)}"><img src="{_thumb(path, GALLERY_PX)}" alt="{esc(caption)}" '
                f'style="width:220px;border-radius:4px;display:block"/></a><div style="{MUTED}margin-top:2px">'
                f'{esc(caption)}</div><div><a href="{href}" target="_blank">open full size</a> · '
                f'<a href="{href}" download="{esc(path.name)}">download</a></div></div>')
        out = widgets.Output(layout=widgets.Layout(width="224px"))
        out.outputs = ({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": body, "text/plain": f"{caption}: {path}"}},)
        cell = widgets.VBox([out, button], layout=widgets.Layout(width="226px", margin="0 10px 10px 0"))
        cell.add_class("seedream-cell")
        return cell


class HistoryView:
    """``title`` and ``box``: an icon and a restore button per finished run, newest first (at most 50)."""

    def __init__(self, restore: Callable[[int], Any]) -> None:
        self.title = widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._restore = restore

    def show(self, runs: Sequence[tuple[int, Result]]) -> None:
        self.title.value = heading("History (click to restore settings, input and output images)")
        cells = []
        for number, result in reversed(runs[-50:]):
            icon = widgets.HTML(f'<img src="{_thumb(result.paths[0], HISTORY_PX) if result.paths else ""}" '
                                f'title="{esc(result.prompt)}" alt="run {number}" style="width:72px;height:72px;'
                                'object-fit:cover;border-radius:3px;display:block"/>')
            button = widgets.Button(description=f"#{number}", icon="undo", tooltip=f"Restore run {number}: "
                                    f"{result.prompt[:200]}", layout=widgets.Layout(width="72px", height="26px"))
            button.on_click(lambda _, n=number: self._restore(n))
            cells.append(widgets.VBox([icon, button], layout=widgets.Layout(width="76px", margin="0 6px 6px 0")))
        replace_children(self.box, cells)
