"""`GalleryGrid`: the gallery's page of runs as a thumbnail grid with per-run actions (an anywidget view).

State is the page in hand (``runs``: each run's caption and a small JPEG data URI), the pager's
numbers and a notice; the view reports clicks as custom messages, which `SeedreamGallery` turns
into engine calls. No image file or path goes into its state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import traitlets

from ..frontend.look import asset, stylesheet

__all__ = ["ACTIONS", "GalleryGrid"]

log = logging.getLogger("seedream_widgets")
ACTIONS = frozenset({"open", "star", "delete", "undo", "use", "panel", "page", "thumbs"})
"""What the view can ask for: ``{"action": ..., "id": run id}`` (``"page"``: ``{"page": n}``; ``"undo"`` and
``"thumbs"``, the thumbnails the page was shown without: nothing more)."""


class GalleryGrid(anywidget.AnyWidget):
    """A page of runs: thumbnail, prompt, model and time of each, and open / star / use / panel / delete buttons."""

    _esm = asset(__file__, ".js")
    _css = stylesheet(__file__)

    runs = traitlets.List(traitlets.Dict(), help="The page's runs: id, prompt, model, when, images, starred, demo, "
                          "edit, thumb (a JPEG data URI), pending (its thumbnail is on its way), name.").tag(sync=True)
    page = traitlets.Int(0, help="The page shown, from 0 (newest runs first).").tag(sync=True)
    pages = traitlets.Int(1, help="How many pages the filters give.").tag(sync=True)
    page_size = traitlets.Int(24).tag(sync=True)
    total = traitlets.Int(0, help="How many runs the filters give.").tag(sync=True)
    filtered = traitlets.Bool(False, help="Some filter is set (the empty page says so).").tag(sync=True)
    notice = traitlets.Dict(help='A line over the grid: {"text": ..., "undo": bool}.').tag(sync=True)
    can_use = traitlets.Bool(False, help="Offer 'Use as input' (someone registered on_use).").tag(sync=True)
    folder = traitlets.Unicode("", help="The output folder, for the empty page.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._callbacks: list[Callable[[str, dict[str, Any]], Any]] = []
        self.on_msg(self._message)

    def on_action(self, callback: Callable[[str, dict[str, Any]], Any]) -> None:
        """Call ``callback(action, message)`` for each click the view reports (one of `ACTIONS`)."""
        self._callbacks.append(callback)

    def _message(self, _: Any, content: Any, buffers: Sequence[Any]) -> None:
        if isinstance(content, dict) and content.get("action") in ACTIONS:
            for callback in list(self._callbacks):
                try:
                    callback(str(content["action"]), content)
                except Exception as exc:
                    log.exception("gallery action %r failed", content)
                    self.notice = {"text": f"Could not {content['action']}: {exc}", "undo": False, "error": True}
