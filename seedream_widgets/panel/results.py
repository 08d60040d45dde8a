"""The results: the gallery of the latest (or a restored) run, an edit's inputs beside it, and the history strip
of the runs in the output folder (from the gallery's index, newest first, this session's marked).

Outputs are linked from the stored files, relative to the kernel's folder, inside `Output` widgets: their
rendermime resolves relative links to the server's files (an HTML widget's would not). Downloads save a
descriptive name (`RunRecord.file_name`). Widget state holds thumbnails only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as widgets

from ..display import COLORS, FONT, MUTED, details_html, esc, shorten, sources_html, thumbnail_data_uri
from ..frontend import Slide
from ..gallery import RunRecord
from ..result import Result
from .base import PanelBase
from .layout import heading, replace_children

GALLERY_PX = 512
"""Largest side of a gallery thumbnail kept in widget state."""
HISTORY_PX = 96
SOURCE_PX = 128
HISTORY_SIZE = 24
"""How many of the newest stored runs the strip shows."""


def _thumb(path: Path, max_px: int) -> str:
    try:
        return thumbnail_data_uri(path, max_px)  # cached per file: a restore does not decode it again
    except OSError:  # gone (a saved image moves into its run's folder): the caption and links still show
        return ""


def local_time(stamp: str) -> str:
    """``2026-12-01 23:05`` in the kernel's time zone, from an ISO time as stored (UTC)."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().isoformat(" ")[:16]
    except ValueError:
        return stamp.replace("T", " ")[:16]


def href(path: Path) -> str:
    """A link to a stored file, relative to the kernel's working folder (the notebook's, in Jupyter)."""
    try:
        return quote(Path(os.path.relpath(path, os.getcwd())).as_posix())
    except ValueError:  # another drive on Windows
        return quote(path.as_posix())


class GalleryView:
    """``title``, ``sources`` (an edit's inputs), ``box`` (a cell per image with its thumbnail, open full size,
    download, View (large, in the panel's lightbox) and Use as input) and ``details`` (the run's record, folded)."""

    def __init__(self, use_as_input: Callable[[Path], Any], view: Callable[[int], Any]) -> None:
        self.title, self.sources, self.details = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._use, self._view, self.full = use_as_input, view, False
        self.result: Result | None = None
        """The run shown (the static copy of the panel shows it too)."""

    def show(self, title: str, result: Result, names: Sequence[str]) -> None:
        """Show ``result`` under ``title``; ``names`` are its images' descriptive file names."""
        total, sizes = len(result.paths), [f" · {w}×{h}" for w, h in result.sizes] + [""] * len(result.paths)
        self.result = result
        self.title.value = heading(f"{title} · {shorten(result.prompt, 80)}")
        self.sources.value = sources_html(result, max_px=SOURCE_PX, label="made from")
        self.details.value = details_html(result)
        names = [*names, *(path.name for path in result.paths[len(names):])]
        replace_children(self.box, [self._cell(i - 1, path, f"{i} of {total}{sizes[i - 1]}", names[i - 1])
                                    for i, path in enumerate(result.paths, 1)])

    def enable(self, room: bool) -> None:
        """Use as input works while another input image fits."""
        self.full = not room
        for cell in self.box.children:
            cell.children[-1].children[-1].disabled = self.full

    def _cell(self, index: int, path: Path, caption: str, name: str) -> Any:
        button = widgets.Button(description="Use as input", icon="plus", disabled=self.full,
                                tooltip="Append this image to the input images (edit it next)",
                                layout=widgets.Layout(width="140px"))
        button.on_click(lambda _: self._use(path))
        view = widgets.Button(description="View", icon="search-plus", layout=widgets.Layout(width="76px"),
                              tooltip="See it large here: zoom, arrow keys to the other images and runs, details")
        view.on_click(lambda _: self._view(index))
        link = esc(href(path))
        body = (f'<div class="seedream-image" style="{FONT}color:{COLORS["text"]};width:220px"><a href="{link}" '
                f'target="_blank" title="Open full size: {esc(name)}"><img src="{_thumb(path, GALLERY_PX)}" '
                f'alt="{esc(caption)}" style="width:220px;border-radius:4px;display:block"/></a>'
                f'<div style="{MUTED}margin-top:2px">{esc(caption)}</div><div><a href="{link}" target="_blank" '
                f'title="{esc(name)}" style="color:{COLORS["link"]}">open full size</a> · <a href="{link}" '
                f'download="{esc(name)}" title="Save as {esc(name)}" style="color:{COLORS["link"]}">download</a>'
                '</div></div>')
        out = widgets.Output(layout=widgets.Layout(width="224px"))
        out.outputs = ({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": body, "text/plain": f"{caption}: {path}"}},)
        cell = widgets.VBox([out, widgets.HBox([view, button])], layout=widgets.Layout(width="226px",
                                                                                      margin="0 10px 10px 0"))
        cell.add_class("seedream-cell")
        return cell


class HistoryView:
    """``title`` and ``box``: an icon and a restore button per stored run, newest first; the runs of this
    kernel session are outlined, this panel's numbered (``#3``), and earlier ones dated."""

    def __init__(self, restore: Callable[[str], Any]) -> None:
        self.title = widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._restore = restore
        self._shown: tuple[tuple[str, int | None, bool], ...] = ()

    def show(self, records: Sequence[RunRecord], numbers: Mapping[str, int], session: Collection[str]) -> None:
        """``records`` newest first; ``numbers`` the panel's own run numbers by prediction id; ``session`` the
        ids of the runs made in this kernel session."""
        key = tuple((record.id, numbers.get(record.id), record.id in session) for record in records)
        if key == self._shown:
            return
        self._shown = key
        self.title.value = heading("History (outlined: this session) · click to restore" if records else "History")
        replace_children(self.box, [self._cell(record, numbers.get(record.id), record.id in session)
                                    for record in records])

    def _cell(self, record: RunRecord, number: int | None, recent: bool) -> Any:
        when = local_time(record.created_at)
        mine = f" · run #{number} of this panel" if number is not None else " · this session" * recent
        outline = f"outline:2px solid {COLORS['link']};outline-offset:1px;" if recent else ""
        image = _thumb(record.paths[0], HISTORY_PX) if record.paths else ""
        icon = widgets.HTML(f'<img src="{image}" title="{esc(shorten(record.prompt, 200))} ({esc(when)}{mine})" '
                            f'alt="{esc(shorten(record.prompt, 24))}" style="{FONT}{MUTED}width:72px;height:72px;'
                            f'object-fit:cover;border-radius:3px;display:block;overflow:hidden;{outline}"/>')
        today = datetime.now().isoformat()[:10] == when[:10]
        label = f"#{number}" if number is not None else (when[11:16] if today else when[5:10]) or "run"
        button = widgets.Button(description=label, layout=widgets.Layout(width="72px", height="26px"),
                                tooltip=f"Restore {record.id} ({when}): {shorten(record.prompt, 200)}")
        button.on_click(lambda _: self._restore(record.id))
        cell = widgets.VBox([icon, button], layout=widgets.Layout(width="76px", margin="0 6px 6px 0"))
        cell.add_class("seedream-history-cell")
        if recent:
            cell.add_class("seedream-session")
        return cell


class Viewing(PanelBase):
    """The panel's part that shows images large (its `frontend.Lightbox`): the run in the gallery, then the other
    runs of the history strip, a key press away."""

    def view(self, index: int = 0) -> None:
        """Open image ``index`` of the run in the gallery in the lightbox (like its View button)."""
        shown = self._gallery.result
        if shown is None:
            return
        gallery = self.client.gallery
        records = [gallery.find(shown.id), *(r for r in gallery.history(HISTORY_SIZE) if r.id != shown.id)]
        slides = [Slide.from_record(record, i, gallery) for record in records if record is not None
                  for i in range(len(record.paths))]
        if records[0] is None:  # not in the index (yet): the result itself
            slides = [Slide.from_result(shown, i) for i in range(len(shown.paths))] + slides
        self.lightbox.show(slides, min(index, len(slides) - 1))
