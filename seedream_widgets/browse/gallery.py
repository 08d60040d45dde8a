"""`SeedreamGallery`: the output folder as a browsable widget: a paged thumbnail grid, search and filters, and per
run the lightbox, star, delete (with undo), "use as input" and "open in a panel with these settings"."""

from __future__ import annotations

import base64
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..config import resolve_settings
from ..display import COLORS, FONT, MUTED, esc, short_path, shorten
from ..errors import SeedreamError
from ..frontend import Lightbox, Slide
from ..gallery import Gallery, RunRecord
from .filters import FilterBar, Filters
from .grid import GalleryGrid

if TYPE_CHECKING:
    from ..client import Seedream
    from ..panel import SeedreamPanel

__all__ = ["PAGE_SIZE", "THUMB_BUDGET", "THUMB_PX", "SeedreamGallery"]

log = logging.getLogger("seedream_widgets")
PAGE_SIZE = 24
THUMB_PX = 224
"""Largest side of a grid thumbnail: the page's thumbnails (about 8 kB each) are all the widget state holds."""
THUMB_BUDGET = 0.4
"""Seconds a page may spend making thumbnails not cached yet (a 2K PNG takes about 40 ms); the rest are made
when the view asks (`SeedreamGallery.fill_thumbnails`), so the page shows at once and they follow."""


class SeedreamGallery(widgets.VBox):  # type: ignore[misc]
    """Browse the runs stored in an output folder, newest first.

    >>> gallery = SeedreamGallery()                      # doctest: +SKIP
    >>> gallery.search("red fox", starred=True)          # doctest: +SKIP
    >>> gallery.on_use(panel.use_as_input)               # doctest: +SKIP

    ``output_dir`` defaults to the configured one (``SEEDREAM_OUTPUT_DIR``, else ``./seedream-outputs``);
    with ``client`` its folder, and its model for "open in a panel". Everything goes through the
    folder's index (`Gallery.search`), so opening it costs the same on ten runs or a hundred thousand.
    """

    def __init__(self, output_dir: str | os.PathLike[str] | None = None, client: Seedream | None = None, *,
                 page_size: int = PAGE_SIZE) -> None:
        self._closed = True  # until built: Widget.__del__ calls close() even when __init__ raised
        if client is not None and output_dir is not None:
            raise TypeError("pass output_dir either to SeedreamGallery or to Seedream(...), not both")
        self.client = client
        self.gallery: Gallery = client.gallery if client is not None else Gallery(
            resolve_settings(output_dir=output_dir).output_dir.absolute())
        self.output_dir = self.gallery.root
        self.records: list[RunRecord] = []
        """The runs on the page shown, newest first."""
        self.panel: SeedreamPanel | None = None
        """The panel opened with a run's settings (below the grid), if any."""
        self._panel_client: Seedream | None = None
        self._thumbs: dict[str, str] = {}
        self._trash: list[str] = []  # what undo brings back, newest last (the trash keeps it after the widget)
        self._use: list[Callable[[Path], Any]] = []
        self.filters = FilterBar(self.gallery.models())
        self.grid = GalleryGrid(page_size=max(1, page_size), folder=short_path(self.output_dir))
        self.lightbox = Lightbox()
        self.panel_box = widgets.VBox()
        title = widgets.HTML(f'<div style="{FONT}display:flex;gap:8px;align-items:baseline">'
                             f'<b style="font-size:14px">Seedream gallery</b><span style="{MUTED}">'
                             f'{esc(short_path(self.output_dir))}</span></div>')
        super().__init__([title, self.filters.box, self.grid, self.lightbox, self.panel_box],
                         layout=widgets.Layout(width="100%", padding="4px"))
        self.add_class("seedream-gallery")
        self.filters.on_change(lambda _: self.show_page(0))
        self.grid.on_action(self._action)
        self.lightbox.on_edge(self._edge)
        self.show_page(0)
        self._closed = False

    # -- what is shown ----------------------------------------------------------------------------

    @property
    def page(self) -> int:
        """The page shown, from 0 (the newest runs)."""
        return int(self.grid.page)

    @property
    def pages(self) -> int:
        return int(self.grid.pages)

    @property
    def total(self) -> int:
        """How many runs the filters give."""
        return int(self.grid.total)

    def show_page(self, page: int) -> None:
        """Show page ``page`` (clamped) of the runs the filters give: the query and the page's thumbnails only."""
        args = self.filters.value.search_args()
        size = int(self.grid.page_size)
        total = self.gallery.count(**args)
        pages = max(1, math.ceil(total / size))
        page = min(max(0, page), pages - 1)
        self.records = self.gallery.search(**args, limit=size, offset=page * size)
        deadline = time.monotonic() + THUMB_BUDGET
        cells = [self._cell(record, time.monotonic() < deadline) for record in self.records]
        with self.grid.hold_sync():
            self.grid.runs, self.grid.page, self.grid.pages, self.grid.total = cells, page, pages, total
            self.grid.filtered = self.filters.value.active

    def refresh(self) -> None:
        """Read the folder again (runs stored since, models offered) and redraw the page."""
        self.filters.set_models(self.gallery.models())
        self.show_page(self.page)

    def search(self, text: str = "", **filters: Any) -> None:
        """Set the filters (the fields of `Filters`: ``model``, ``since``, ``until``, ``starred``, ``demo``), page 1."""
        self.filters.set(Filters(text, **filters))

    def _cell(self, record: RunRecord, thumbnail: bool = True) -> dict[str, Any]:
        thumb = self._thumbnail(record) if thumbnail else ""
        if thumbnail:
            self._thumbs[record.id] = thumb
        return {"id": record.id, "prompt": record.prompt, "model": record.model.rsplit("/", 1)[-1] or "unknown model",
                "when": _when(record.created_at), "images": len(record.files), "starred": record.starred,
                "demo": record.demo, "edit": bool(record.input.get("image_input")), "thumb": thumb,
                "pending": not thumbnail, "name": record.file_name(0) if record.files else ""}

    def fill_thumbnails(self) -> int:
        """Make the thumbnails the page was shown without (its time budget ran out); the view asks for this as soon
        as it has drawn the page. Returns how many were made; the grid shows them in batches as they come."""
        made, deadline = 0, time.monotonic() + THUMB_BUDGET / 2
        runs = [dict(run) for run in self.grid.runs]
        for run in runs:
            if not run.get("pending"):
                continue
            record = next((r for r in self.records if r.id == run["id"]), None)
            run["thumb"] = self._thumbs[run["id"]] = self._thumbnail(record) if record is not None else ""
            run["pending"] = False
            made += 1
            if time.monotonic() > deadline:  # show this batch, go on with the next
                self.grid.runs, deadline = [dict(r) for r in runs], time.monotonic() + THUMB_BUDGET / 2
        if made:
            self.grid.runs = runs
        return made

    def _thumbnail(self, record: RunRecord) -> str:
        try:
            data = self.gallery.thumbnail(record, 0, THUMB_PX)
        except Exception as exc:  # gone, unreadable or not an image: the cell says "image missing"
            log.debug("no thumbnail for %s: %r", record.id, exc)
            return ""
        return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")

    def _find(self, run_id: str) -> RunRecord:
        for record in self.records:
            if record.id == run_id:
                return record
        found = self.gallery.find(run_id)
        if found is None:
            raise KeyError(f"no stored run {run_id} in {self.output_dir}")
        return found

    def _say(self, text: str, *, undo: bool = False, error: bool = False) -> None:
        self.grid.notice = {"text": text, "undo": undo, "error": error} if text else {}

    # -- the lightbox -------------------------------------------------------------------------------

    def view(self, run_id: str, image: int = 0) -> None:
        """Show image ``image`` of run ``run_id`` in the lightbox, with the page's other runs a key press away."""
        records = self.records if any(r.id == run_id for r in self.records) else [self._find(run_id)]
        slides, at = self._slides(records), 0
        for i, slide in enumerate(slides):
            if slide.run == run_id and slide.number == image + 1:
                at = i
        self.lightbox.show(slides, at)

    def _slides(self, records: list[RunRecord]) -> list[Slide]:
        return [Slide.from_record(record, i, self.gallery, self._thumbs.get(record.id, "") if i == 0 else "")
                for record in records for i in range(len(record.files))]

    def _edge(self, direction: int) -> None:
        """The lightbox went past the page's first or last image: turn the page, and go on there."""
        page = self.page + direction
        if not 0 <= page < self.pages:
            return
        self.show_page(page)
        slides = self._slides(self.records)
        self.lightbox.show(slides, 0 if direction > 0 else len(slides) - 1)

    # -- per run: star, delete and undo, use as input, a panel with its settings ----------------------

    def star(self, run_id: str, starred: bool | None = None) -> None:
        """Star run ``run_id`` (``starred`` None: toggle), written to its sidecar."""
        record = self._find(run_id)
        self.gallery.star(run_id, not record.starred if starred is None else starred)
        self.show_page(self.page)

    def delete(self, run_id: str) -> None:
        """Move run ``run_id`` to the trash (``{output_dir}/.trash``); `undo` brings it back."""
        record = self._find(run_id)
        self.gallery.delete(run_id)
        self._trash.append(run_id)
        self._say(f"Moved “{shorten(record.prompt, 60)}” to the trash.", undo=True)
        self.show_page(self.page)
        if self.lightbox.index >= 0:  # its slides of that run point at files that moved
            slides = self._slides(self.records)
            self.lightbox.show(slides, min(self.lightbox.index, len(slides) - 1))

    def undo(self) -> str | None:
        """Bring back the run deleted last (while this widget lives); returns its id (None: nothing to undo)."""
        if not self._trash:
            self._say("Nothing to undo.")
            return None
        run_id = self._trash.pop()
        record = self.gallery.restore(run_id)
        self._say(f"Restored “{shorten(record.prompt, 60)}”.", undo=bool(self._trash))
        self.show_page(self.page)
        return run_id

    def on_use(self, callback: Callable[[Path], Any], remove: bool = False) -> None:
        """Call ``callback(path)`` when "Use as input" is clicked, in the grid (a run's first image) or the lightbox.

        >>> gallery.on_use(panel.use_as_input)        # doctest: +SKIP
        """
        if remove:
            self._use.remove(callback)
        else:
            self._use.append(callback)
        self.grid.can_use = bool(self._use)
        if self._use and not self.lightbox.can_use:
            self.lightbox.on_use(self._used)
        elif not self._use and self.lightbox.can_use:
            self.lightbox.on_use(self._used, remove=True)

    def use(self, run_id: str, image: int = 0) -> Path:
        """"Use as input" on image ``image`` of run ``run_id``: the ``on_use`` callbacks get its path."""
        path = self._find(run_id).paths[image]
        self._used(path)
        return path

    def _used(self, path: Path) -> None:
        try:
            for callback in list(self._use):
                callback(path)
        except Exception as exc:
            log.exception("gallery on_use callback failed")
            self._say(f"Use as input failed: {exc}", error=True)
        else:
            self._say(f"Used {path.name} of run {path.parent.name} as input.")

    def open_panel(self, run_id: str) -> SeedreamPanel:
        """A `SeedreamPanel` preset with run ``run_id``'s prompt, model and fields (and its input images when they
        are still at hand), shown below the grid in place of an earlier one."""
        from ..panel import SeedreamPanel
        from ..provenance import GenerationRecord
        from ..schema import restore_input

        record = self._find(run_id)
        client = self._client_for(record.model)
        restored, notes = restore_input(GenerationRecord(model=record.model or client.settings.model,
                                                         prompt=record.prompt, input=record.input),
                                        schema=client.schema)
        fields = {k: v for k, v in restored.to_payload().items() if k != "image_input"}
        images = [source for source in self.gallery.input_images(record) if source is not None]
        if images:
            fields["image_input"] = images
            notes = tuple(n for n in notes if "cannot be restored" not in n)
            lost = len(record.input.get("image_input") or []) - len(images)
            if lost:
                notes += (f"{lost} input image{'s' * (lost > 1)} of the run could not be found",)
        panel = SeedreamPanel(client, **fields)
        self.close_panel()
        self.panel = panel
        close = widgets.Button(description="Close panel", icon="times", layout=widgets.Layout(width="120px"))
        close.on_click(lambda _: self.close_panel())
        said = "".join(f'<div style="color:{COLORS["warn"]}">note: {esc(note)}</div>' for note in notes)
        head = widgets.HTML(f'<div style="{FONT}"><b>Panel with the settings of</b> “{esc(shorten(record.prompt, 80))}”'
                            f' <span style="{MUTED}">({esc(record.id)})</span>{said}</div>')
        self.panel_box.children = (widgets.HBox([head, close], layout=widgets.Layout(
            justify_content="space-between", align_items="center", margin="10px 0 0 0")), panel)
        return panel

    def close_panel(self) -> None:
        """Close the panel opened by `open_panel` (and the client made for its model)."""
        old = list(self.panel_box.children)
        self.panel_box.children = ()
        for widget in old:
            widget.close()
        self.panel = None
        if self._panel_client is not None:
            self._panel_client.close()
            self._panel_client = None

    def _client_for(self, model: str) -> Seedream:
        """The client a panel for ``model`` uses: the gallery's when it has that model, else one made for it."""
        from ..client import Seedream

        if self.client is not None and (not model or self.client.settings.model == model):
            return self.client
        client = Seedream(output_dir=self.output_dir, model=model or None)
        if self._panel_client is not None:
            self._panel_client.close()
        self._panel_client = client
        return client

    # -- the view's clicks, and the end ------------------------------------------------------------------

    def _action(self, action: str, message: dict[str, Any]) -> None:
        run_id = str(message.get("id") or "")
        try:
            if action == "page":
                self.show_page(int(message.get("page", 0)))
            elif action == "thumbs":
                self.fill_thumbnails()
            elif action == "undo":
                self.undo()
            elif action == "open":
                self.view(run_id, int(message.get("image", 0)))
            elif action == "star":
                self.star(run_id)
            elif action == "delete":
                self.delete(run_id)
            elif action == "use":
                self.use(run_id)
            elif action == "panel":
                self.open_panel(run_id)
        except (SeedreamError, KeyError, OSError) as exc:
            self._say(f"Could not {action}: {exc}", error=True)

    def close(self) -> None:
        """Close the gallery, its lightbox and panel (a client passed in stays open)."""
        if self._closed:
            return
        self._closed = True
        self.close_panel()
        for widget in (self.lightbox, self.grid, *self.filters.box.children, self.filters.box, *self.children):
            widget.close()
        super().close()

    def __repr__(self) -> str:
        return f"<SeedreamGallery {self.output_dir}: {self.total} runs, page {self.page + 1} of {self.pages}>"


def _when(iso: str) -> str:
    """``2026-12-01 22:31`` (UTC, as stored)."""
    return iso[:16].replace("T", " ") if len(iso) >= 16 else iso
