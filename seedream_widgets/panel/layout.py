"""What the panel's views share: headings, notices, and replacing or closing widgets with everything inside them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import ipywidgets as widgets

from ..display import COLORS, FONT, esc


def heading(text: str, margin: str = "8px 0 4px 0") -> str:
    return f'<div style="{FONT}font-weight:600;margin:{margin}">{esc(text)}</div>'


def descendants(widget: Any) -> Iterator[Any]:
    """Every widget reachable from ``widget`` through its traits (children, layout, style), itself first."""
    seen: set[int] = set()
    todo = [widget]
    while todo:
        current = todo.pop()
        if id(current) not in seen:
            seen.add(id(current))
            yield current
            for value in (getattr(current, name, None) for name in current.keys):
                todo.extend(item for item in (value if isinstance(value, (tuple, list)) else (value,))
                            if isinstance(item, widgets.Widget))


def replace_children(box: Any, cells: Sequence[Any]) -> None:
    """Show ``cells`` in ``box``; close the children it no longer shows, and all inside them (a closed view's
    widgets must not linger in the kernel, nor in the notebook's saved widget state)."""
    old = [child for child in box.children if not any(child is cell for cell in cells)]
    box.children = tuple(cells)
    for widget in [widget for child in old for widget in descendants(child)]:
        widget.close()


def notice_html(message: str) -> str:
    """A remark about the input images: theme text marked by the warning colour's edge."""
    return (f'<div class="seedream-notice" style="{FONT}color:{COLORS["text"]};border-left:3px solid '
            f'{COLORS["warn_edge"]};padding:1px 8px;margin:2px 0">{esc(message)}</div>' if message else "")
