"""The front-end pieces stock ipywidgets cannot do, as anywidgets any door may use: `Lightbox` (an image large,
keys, zoom, details, download, before/after) and `DropZone` (drop or paste image files, Ctrl+Enter).

Each is a plain Python model (traits, callbacks) bound to a small ES module beside it, with JupyterLab's theme
variables for colours (``theme.css``); no build step, so they run in JupyterLab, Notebook 7, VS Code, Colab and Voila.
"""

from __future__ import annotations

from .drop import DroppedFile, DropZone
from .lightbox import Lightbox, Slide

__all__ = ["DropZone", "DroppedFile", "Lightbox", "Slide"]
