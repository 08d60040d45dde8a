"""`Lightbox`: one image large inside the notebook, with zoom, arrow keys across a set and across runs, its run's
details, a download under a descriptive name, and a before/after slider for an edit.

>>> box = Lightbox()                                                        # doctest: +SKIP
>>> box.show([Slide.from_record(r, 0, gallery) for r in gallery.history(5)])  # doctest: +SKIP

An anywidget: the traits hold what is shown (each slide's caption, details and a small thumbnail),
never an image file; the view asks for the image it shows (and its neighbours) with a custom
message, and the kernel answers with the file's bytes as a binary buffer, so full-size images
travel on demand and stay out of saved widget state. Keys: ← → move across the images of the set
(across runs too), ↑ ↓ jump to the previous or next run, + − 0 zoom, Escape closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..gallery import descriptive_name
from .look import asset, stylesheet

if TYPE_CHECKING:
    from ..gallery import Gallery, RunRecord
    from ..result import Result

__all__ = ["Lightbox", "Slide", "run_details"]

log = logging.getLogger("seedream_widgets")
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
         ".gif": "image/gif"}


@dataclass(frozen=True)
class Slide:
    """One image of a lightbox: its file, the name a download gets, what is shown beside it, and (for an edit)
    where its input image is, found only when the slide is shown."""

    path: Path
    name: str
    """The descriptive file name a download saves (``2026-12-01_red-fox-in-the-snow_1.jpg``)."""
    prompt: str = ""
    run: str = ""
    """The run's id: ↑ ↓ jump between runs."""
    number: int = 1
    """This image's place in its run, from 1."""
    count: int = 1
    details: tuple[tuple[str, str], ...] = ()
    """(label, text) rows: model, settings, id, time, cost..."""
    thumb: str = ""
    """A small data URI shown at once while the image loads ("" for none)."""
    demo: bool = False
    before: Callable[[], Path | str | None] | None = field(default=None, compare=False)
    """For an edit: finds its (first) input image: a stored file, a URL, or None when it is not available."""

    @classmethod
    def from_record(cls, record: RunRecord, index: int = 0, gallery: Gallery | None = None,
                    thumb: str = "") -> Slide:
        """Image ``index`` of a stored run; with ``gallery``, an edit's input image is looked up there."""
        edited = bool(record.input.get("image_input"))
        before = None
        if edited and gallery is not None:
            def before() -> Path | str | None:
                return next(iter(gallery.input_images(record)), None)
        return cls(record.paths[index], record.file_name(index), record.prompt, record.id, index + 1,
                   len(record.paths), run_details(record.model, record.input, record.id, record.created_at,
                                                  record.cost, record.demo, record.size),
                   thumb, record.demo, before)

    @classmethod
    def from_result(cls, result: Result, index: int = 0) -> Slide:
        """Image ``index`` of a `Result` (an edit shows no before image: a result does not keep its input's file)."""
        created = str(getattr(result.prediction, "created_at", "") or "")
        path = result.paths[index]
        size = result.sizes[index] if index < len(result.sizes) else (0, 0)
        return cls(path, descriptive_name(created, result.prompt, index + 1, len(result.paths), path.suffix),
                   result.prompt, result.id, index + 1, len(result.paths),
                   run_details(result.model, result.input, result.id, created, result.cost, result.demo, size),
                   demo=result.demo)

    def caption(self) -> dict[str, Any]:
        """What the view is told about the slide (plain JSON: no path, no image)."""
        return {"name": self.name, "prompt": self.prompt, "run": self.run, "number": self.number,
                "count": self.count, "details": [list(row) for row in self.details], "thumb": self.thumb,
                "demo": self.demo, "edit": self.before is not None}


def run_details(model: str, payload: Any, run_id: str, created: str, cost: float | None, demo: bool,
                size: tuple[int, int]) -> tuple[tuple[str, str], ...]:
    """The rows a lightbox shows beside an image: model, settings, size, id, time, cost (when known)."""
    fields = {k: v for k, v in dict(payload or {}).items() if k not in ("prompt", "image_input")}
    images = len(dict(payload or {}).get("image_input") or [])
    settings = ", ".join(f"{k}={v}" for k, v in fields.items()) or "defaults"
    rows = [("Model", model or "unknown"), ("Settings", settings)]
    if images:
        rows.append(("Input images", str(images)))
    if size[0] and size[1]:
        rows.append(("Size", f"{size[0]}×{size[1]} px"))
    rows += [("Id", run_id), ("Created", created[:19].replace("T", " ") + (" UTC" if created else ""))]
    if demo:
        rows.append(("Cost", "nothing (demo backend)"))
    elif cost is not None:
        rows.append(("Cost", f"${cost:.3f}"))
    return tuple(rows)


class Lightbox(anywidget.AnyWidget):
    """A set of images shown one at a time, large (closed while ``index`` is -1).

    >>> box = Lightbox()
    >>> box.show([Slide(Path("1.jpg"), "fox.jpg")]); box.index
    0
    >>> box.hide(); box.index
    -1
    """

    _esm = asset(__file__, ".js")
    _css = stylesheet(__file__)

    slides = traitlets.List(traitlets.Dict(), help="Each slide's caption (`Slide.caption`): no paths, no images.").tag(
        sync=True)
    index = traitlets.Int(-1, help="The slide shown; -1 while closed.").tag(sync=True)
    epoch = traitlets.Int(0, help="Counts `show` calls: answers to an earlier set's requests are dropped.").tag(
        sync=True)
    can_use = traitlets.Bool(False, help="Offer 'Use as input' (someone registered `on_use`).").tag(sync=True)

    def __init__(self, slides: Sequence[Slide] = (), index: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slides: list[Slide] = []
        self._use: list[Callable[[Path], Any]] = []
        self._edge: list[Callable[[int], Any]] = []
        self._before: dict[int, Path | str | None] = {}
        self.on_msg(self._message)
        if slides:
            self.show(slides, index)

    @property
    def current(self) -> Slide | None:
        """The slide shown (None while closed)."""
        return self._slides[self.index] if 0 <= self.index < len(self._slides) else None

    @property
    def items(self) -> list[Slide]:
        return list(self._slides)

    def show(self, slides: Sequence[Slide], index: int = 0) -> None:
        """Show ``slides``, opened at ``index`` (-1: loaded, closed)."""
        self._slides, self._before = list(slides), {}
        with self.hold_sync():
            self.epoch += 1
            self.slides = [slide.caption() for slide in self._slides]
            self.index = min(index, len(self._slides) - 1)

    def hide(self) -> None:
        """Close it (like Escape)."""
        self.index = -1

    def step(self, delta: int) -> None:
        """Move by ``delta`` images (like ← →); past either end, the ``on_edge`` callbacks may bring more."""
        if not self._slides:
            return
        target = max(0, self.index) + delta
        if 0 <= target < len(self._slides):
            self.index = target
        else:
            self._at_edge(1 if delta > 0 else -1)

    def step_run(self, delta: int) -> None:
        """Jump to the first image of the next (``delta`` 1) or previous (-1) run, like ↑ ↓."""
        starts = [i for i, s in enumerate(self._slides) if i == 0 or s.run != self._slides[i - 1].run]
        here = max(0, self.index)
        current = max(i for i in starts if i <= here)
        targets = [i for i in starts if i > here] if delta > 0 else [i for i in starts if i < current][-1:]
        if targets:
            self.index = targets[0]
        else:
            self._at_edge(delta)

    def on_use(self, callback: Callable[[Path], Any], remove: bool = False) -> None:
        """Call ``callback(path)`` when 'Use as input' is clicked on an image."""
        if remove:
            self._use.remove(callback)
        else:
            self._use.append(callback)
        self.can_use = bool(self._use)

    def on_edge(self, callback: Callable[[int], Any]) -> None:
        """Call ``callback(direction)`` (1 or -1) when asked to move past the last or first slide."""
        self._edge.append(callback)

    def use(self, index: int | None = None) -> None:
        """'Use as input' on slide ``index`` (default: the one shown)."""
        slide = self._slides[self.index if index is None else index]
        for callback in list(self._use):
            try:
                callback(slide.path)
            except Exception:
                log.exception("lightbox on_use callback %r failed", callback)

    def _at_edge(self, direction: int) -> None:
        for callback in list(self._edge):
            try:
                callback(direction)
            except Exception:
                log.exception("lightbox on_edge callback %r failed", callback)

    def before(self, index: int) -> Path | str | None:
        """Where the input image of slide ``index`` is (an edit's "before"), looked up once."""
        if index not in self._before:
            finder = self._slides[index].before
            try:
                self._before[index] = finder() if finder is not None else None
            except Exception:
                log.exception("could not find the input image of %s", self._slides[index].run)
                self._before[index] = None
        return self._before[index]

    def _message(self, _: Any, content: Any, buffers: Sequence[Any]) -> None:
        """Requests from the view: the bytes of an image, a move past an end, 'use as input'."""
        if not isinstance(content, dict) or content.get("epoch", self.epoch) != self.epoch:
            return  # about a set shown before: its slides are gone
        kind, index = content.get("kind"), content.get("index")
        if kind == "edge":
            self._at_edge(1 if content.get("direction", 1) > 0 else -1)
        elif not isinstance(index, int) or not 0 <= index < len(self._slides):
            return
        elif kind == "use":
            self.use(index)
        elif kind == "load":
            self._send_image(index, str(content.get("part", "image")), content.get("request"))

    def _send_image(self, index: int, part: str, request: Any) -> None:
        answer: dict[str, Any] = {"kind": "image", "epoch": self.epoch, "index": index, "part": part,
                                  "request": request}
        source = self._slides[index].path if part == "image" else self.before(index)
        if isinstance(source, str):  # a URL the service was sent: the browser loads it itself
            self.send({**answer, "url": source})
            return
        try:
            data = source.read_bytes() if source is not None else None
        except OSError as exc:
            log.debug("lightbox could not read %s: %r", source, exc)
            data = None
        if source is None or data is None:
            self.send({**answer, "missing": True})
            return
        self.send({**answer, "mime": _MIME.get(source.suffix.lower(), "application/octet-stream"),
                   "bytes": len(data)}, [data])
