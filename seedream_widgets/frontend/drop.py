"""`DropZone`: drop or paste image files into a widget, and Ctrl+Enter to submit (for the panel's input images).

>>> zone = DropZone()                                                  # doctest: +SKIP
>>> zone.on_files(lambda files: [print(f.name, len(f.data)) for f in files])  # doctest: +SKIP
>>> zone.on_submit(panel.generate)                                      # doctest: +SKIP

An anywidget: the view reads dropped, pasted or chosen files in the browser and sends each one's
bytes once, as a binary buffer of a custom message; nothing of them goes into widget state. Files
over ``max_bytes`` (10 MB: the notebook's websocket refuses larger messages) are refused in the
browser with a message. ``scope`` (a CSS selector of an ancestor, such as ``.seedream-panel``)
widens where pastes and Ctrl+Enter are caught, from the zone itself to that whole element.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anywidget
import traitlets

from .look import asset, stylesheet

__all__ = ["DropZone", "DroppedFile"]

log = logging.getLogger("seedream_widgets")
MAX_BYTES = 10 * 2**20


@dataclass(frozen=True)
class DroppedFile:
    """One file the user dropped, pasted or chose: its name (``"pasted image"`` for a paste), type and bytes."""

    name: str
    mime: str
    data: bytes
    how: str = "drop"
    """``"drop"``, ``"paste"`` or ``"choose"``."""


class DropZone(anywidget.AnyWidget):
    """A drop target for image files that also takes pastes (Ctrl+V) and Ctrl+Enter.

    >>> zone = DropZone(label="Drop input images here")
    >>> zone.receive([DroppedFile("fox.png", "image/png", b"...")])
    1
    """

    _esm = asset(__file__, ".js")
    _css = stylesheet(__file__)

    label = traitlets.Unicode("Drop or paste images here, or click to choose",
                              help="What the zone says while empty.").tag(sync=True)
    message = traitlets.Unicode("", help="A line under the label (what was added, or why not).").tag(sync=True)
    accept = traitlets.Unicode("image/*", help="Which files are taken (an <input accept> value).").tag(sync=True)
    max_bytes = traitlets.Int(MAX_BYTES, help="Larger files are refused in the browser.").tag(sync=True)
    scope = traitlets.Unicode("", help="CSS selector of an ancestor that also catches pastes and Ctrl+Enter.").tag(
        sync=True)
    disabled = traitlets.Bool(False, help="Take nothing (Ctrl+Enter still submits).").tag(sync=True)
    received = traitlets.Int(0, read_only=True, help="How many files arrived so far.")
    submitted = traitlets.Int(0, read_only=True, help="How many times Ctrl+Enter was pressed.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._file_callbacks: list[Callable[[list[DroppedFile]], Any]] = []
        self._submit_callbacks: list[Callable[[], Any]] = []
        self.on_msg(self._message)

    def on_files(self, callback: Callable[[list[DroppedFile]], Any], remove: bool = False) -> None:
        """Call ``callback(files)`` with each batch of files that arrives (one drop, one paste)."""
        (self._file_callbacks.remove if remove else self._file_callbacks.append)(callback)

    def on_submit(self, callback: Callable[[], Any], remove: bool = False) -> None:
        """Call ``callback()`` on Ctrl+Enter (Cmd+Enter on a Mac) inside the zone or its ``scope``."""
        (self._submit_callbacks.remove if remove else self._submit_callbacks.append)(callback)

    def receive(self, files: Sequence[DroppedFile]) -> int:
        """Hand ``files`` to the callbacks, as a drop would; returns how many."""
        if not files:
            return 0
        self.set_trait("received", self.received + len(files))
        for callback in list(self._file_callbacks):
            try:
                callback(list(files))
            except Exception as exc:
                log.exception("drop zone on_files callback %r failed", callback)
                self.message = f"could not take the files: {exc}"
        return len(files)

    def submit(self) -> None:
        """What Ctrl+Enter does: the ``on_submit`` callbacks."""
        self.set_trait("submitted", self.submitted + 1)
        for callback in list(self._submit_callbacks):
            try:
                callback()
            except Exception:
                log.exception("drop zone on_submit callback %r failed", callback)

    def _message(self, _: Any, content: Any, buffers: Sequence[Any]) -> None:
        if not isinstance(content, dict):
            return
        if content.get("kind") == "submit":
            self.submit()
        elif content.get("kind") == "files" and not self.disabled:
            meta = [m for m in content.get("files") or [] if isinstance(m, dict)]
            files = [DroppedFile(str(m.get("name") or "image"), str(m.get("type") or ""), bytes(data),
                                 str(content.get("how") or "drop"))
                     for m, data in zip(meta, buffers, strict=False) if len(data) <= self.max_bytes]
            self.receive(files)
