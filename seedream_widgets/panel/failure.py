"""How a run failed, and for an image the service made but the panel could not store, a Resume button."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..display import error_html
from ..errors import OutputError


class ErrorView:
    """``box``: the error (`display.error_html`) and, for an `OutputError` naming its prediction (no space,
    a folder gone), "Resume", which stores the run once the cause is gone (the service keeps it an hour)."""

    def __init__(self, on_resume: Callable[[str], Any]) -> None:
        self.html = widgets.HTML()
        self.resume_button = widgets.Button(description="Resume", icon="repeat", button_style="warning",
                                            layout=widgets.Layout(width="110px", display="none"))
        self.box = widgets.VBox([self.html, self.resume_button])
        self.prediction_id = ""
        self.resume_button.on_click(lambda _: self.prediction_id and on_resume(self.prediction_id))

    def show(self, error: BaseException | None) -> None:
        self.html.value = "" if error is None else error_html(error)
        resumable = isinstance(error, OutputError) and bool(error.prediction_id)
        self.prediction_id = error.prediction_id if resumable and isinstance(error, OutputError) else ""
        self.resume_button.tooltip = (f"Store prediction {self.prediction_id}'s images once the cause is fixed "
                                      "(free some space, restore the folder): the service keeps them about an hour")
        self.resume_button.layout.display = "" if resumable else "none"
