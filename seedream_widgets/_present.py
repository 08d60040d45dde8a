"""Where data objects find how they are shown, without importing the module that shows them.

`Result`, `Comparison`, `RunState` and `BatchState` are plain data; `seedream_widgets.display`
registers their renderers here when it is imported (the package's ``__init__`` imports it), and
the sync client asks here for a progress renderer for ``generate_many``. So the engine never
imports presentation code, and presentation is swapped in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["html_for", "progress_renderer", "register_html", "register_progress"]

_HTML: dict[str, Callable[[Any], str]] = {}
"""Renderers by the qualified name of the type they show (registering needs no import of it)."""
_PROGRESS: list[Callable[[], Callable[[Any], None] | None]] = []


def register_html(type_name: str, render: Callable[[Any], str]) -> None:
    """Show instances of the type ``module.QualName`` (and its subclasses) with ``render(obj) -> html``."""
    _HTML[type_name] = render


def html_for(obj: Any) -> str | None:
    """The registered HTML of ``obj``, or None when nothing renders its type."""
    for cls in type(obj).__mro__:
        render = _HTML.get(f"{cls.__module__}.{cls.__qualname__}")
        if render is not None:
            return render(obj)
    return None


def register_progress(factory: Callable[[], Callable[[Any], None] | None]) -> None:
    """``factory()`` makes a fresh progress view for one blocking batch (None: nothing to show)."""
    _PROGRESS[:] = [factory]


def progress_renderer() -> Callable[[Any], None] | None:
    """A new progress view (called with each `BatchState` on the waiting thread), or None."""
    return _PROGRESS[0]() if _PROGRESS else None
