"""One question or offer at a time under the prompt: replace the prompt?, undo a restore, restore from an image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..display import COLORS, FONT, esc
from .layout import descendants

Choice = tuple[str, str, Callable[[], Any]]
"""(button label, icon, what a click does)."""


class AskBar:
    """``box``: a sentence and its buttons; a click clears the bar, then does its action."""

    def __init__(self) -> None:
        self.text = widgets.HTML()
        self.buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.box = widgets.VBox([self.text, self.buttons], layout=widgets.Layout(display="none", margin="4px 0"))
        self.box.add_class("seedream-ask")
        self.topic = ""
        """What is being asked (``replace``, ``undo``, ``image``), "" when nothing."""

    def ask(self, topic: str, text: str, choices: Sequence[Choice]) -> None:
        self.clear()
        self.topic = topic
        self.text.value = (f'<div style="{FONT}color:{COLORS["text"]};border-left:3px solid {COLORS["warn_edge"]};'
                           f'padding:1px 8px">{esc(text)}</div>')
        buttons = []
        for label, icon, action in choices:
            button = widgets.Button(description=label, icon=icon, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _, act=action: self._answer(act))
            buttons.append(button)
        self.buttons.children = tuple(buttons)
        self.box.layout.display = ""

    def _answer(self, action: Callable[[], Any]) -> None:
        self.clear()
        action()

    def clear(self, topic: str = "") -> None:
        """Close the bar (only if it is about ``topic``, when one is given)."""
        if topic and topic != self.topic:
            return
        old = self.buttons.children
        self.buttons.children, self.text.value, self.topic = (), "", ""
        self.box.layout.display = "none"
        for widget in [widget for button in old for widget in descendants(button)]:
            widget.close()
