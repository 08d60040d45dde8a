"""`SeedreamGallery`: the output folder in a widget: a paged thumbnail grid through the gallery's index, search and
filters, a lightbox, and per run star, delete with undo, "use as input" and "open in a panel with these settings".

>>> from seedream_widgets import SeedreamGallery
>>> SeedreamGallery()                                   # doctest: +SKIP

In parts: `filters` (what is shown, as plain data, and its stock ipywidgets toolbar), `grid` (the page
of runs, an anywidget view) and `gallery` (the widget tying them to the engine's `Gallery`, the
`Lightbox` and `SeedreamPanel`). A front door: it asks `Gallery` for everything (queries, thumbnails,
star, delete, restore) and writes no file itself.
"""

from __future__ import annotations

from .gallery import SeedreamGallery

__all__ = ["SeedreamGallery"]
