"""The gallery's filters: what they hold as plain data (`Filters`), and the stock ipywidgets toolbar that edits them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ipywidgets as widgets

__all__ = ["FilterBar", "Filters"]

MODES: tuple[tuple[str, str], ...] = (("Demo and real", ""), ("Real runs", "real"), ("Demo runs", "demo"))
"""The demo/real menu (a Dropdown cannot show a value of None, so its values are words)."""


@dataclass(frozen=True)
class Filters:
    """What the gallery shows: runs whose prompt has every word of ``text``, of ``model``, saved from ``since``
    to ``until`` (whole days, both included), starred only, demo or real only (None: both).

    >>> Filters("fox", until=dt.date(2026, 12, 1), starred=True).search_args()["until"]
    '2026-12-02'
    """

    text: str = ""
    model: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    starred: bool = False
    demo: bool | None = None

    def search_args(self) -> dict[str, Any]:
        """The keyword arguments of `Gallery.search` and `Gallery.count`."""
        return {"text": self.text.strip() or None, "model": self.model or None,
                "since": self.since.isoformat() if self.since else None,
                "until": (self.until + dt.timedelta(days=1)).isoformat() if self.until else None,
                "starred": True if self.starred else None, "demo": self.demo}

    @property
    def active(self) -> bool:
        return self != Filters()


class FilterBar:
    """``box``: a search box, a model menu, a date range, a starred toggle and a demo/real menu; ``value`` is the
    `Filters` they hold, and ``on_change`` callbacks get each new one."""

    def __init__(self, models: Sequence[str] = ()) -> None:
        self.search = widgets.Text(placeholder="Search prompts (Enter)", continuous_update=False,
                                   layout=widgets.Layout(flex="1 1 220px", min_width="160px", width="auto"))
        self.model = widgets.Dropdown(layout=widgets.Layout(width="210px"), description_allow_html=False)
        self.since = widgets.DatePicker(description="From", layout=widgets.Layout(width="190px"),
                                        style={"description_width": "36px"})
        self.until = widgets.DatePicker(description="to", layout=widgets.Layout(width="170px"),
                                        style={"description_width": "20px"})
        self.starred = widgets.ToggleButton(description="Starred", icon="star", tooltip="Only starred runs",
                                            layout=widgets.Layout(width="96px"))
        self.mode = widgets.Dropdown(options=MODES, value="", layout=widgets.Layout(width="140px"))
        self.clear = widgets.Button(description="Clear", tooltip="Show every run", layout=widgets.Layout(width="70px"))
        self.set_models(models)
        self._callbacks: list[Callable[[Filters], Any]] = []
        self._hold = 0
        for control in (self.search, self.model, self.since, self.until, self.starred, self.mode):
            control.observe(lambda _: self._changed(), names="value")
        self.clear.on_click(lambda _: self.set(Filters()))
        self.box = widgets.HBox([self.search, self.model, self.since, self.until, self.starred, self.mode,
                                 self.clear], layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                                                    width="100%"))
        self.box.add_class("seedream-gallery-filters")

    def set_models(self, models: Sequence[str]) -> None:
        """Offer ``models`` (the ones in the output folder), keeping the one chosen."""
        chosen = self.model.value or ""
        names = sorted({*models, *([chosen] if chosen else [])})
        self.model.options = [("All models", ""), *((name.rsplit("/", 1)[-1], name) for name in names)]
        self.model.value = chosen

    @property
    def value(self) -> Filters:
        return Filters(self.search.value, self.model.value or "", self.since.value, self.until.value,
                       bool(self.starred.value), {"real": False, "demo": True}.get(self.mode.value))

    def set(self, filters: Filters) -> None:
        """Show ``filters`` in the controls (one change for the callbacks)."""
        if filters.model and filters.model not in (v for _, v in self.model.options):
            self.set_models([v for _, v in self.model.options if v] + [filters.model])
        self._hold += 1
        try:
            self.search.value, self.model.value = filters.text, filters.model
            self.since.value, self.until.value = filters.since, filters.until
            self.starred.value = filters.starred
            self.mode.value = "" if filters.demo is None else "demo" if filters.demo else "real"
        finally:
            self._hold -= 1
        self._changed()

    def update(self, **changes: Any) -> None:
        """Change some filters: ``bar.update(text="fox", starred=True)``."""
        self.set(replace(self.value, **changes))

    def on_change(self, callback: Callable[[Filters], Any]) -> None:
        self._callbacks.append(callback)

    def _changed(self) -> None:
        if self._hold:
            return
        value = self.value
        for callback in list(self._callbacks):
            callback(value)
