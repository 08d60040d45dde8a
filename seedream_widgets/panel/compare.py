"""Experiments beside Generate: the same prompt on several models, or one word of it varied; the grid they make.

Both start a comparison (`Seedream.start_compare`): every cell is validated before anything is sent, is
stored as a normal run and kept as a group, and the grid is `display.comparison_html`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..display import FONT, MUTED, comparison_html, esc
from ..models import KNOWN_MODELS
from ..result import Comparison
from .layout import heading
from .model import model_title
from .state import Form

WORD = re.compile(r"[^\W_][\w'’-]*")
"""A word of the prompt: letters or digits, with inner apostrophes and hyphens (punctuation stays put)."""


def prompt_words(prompt: str) -> list[tuple[int, int]]:
    """The (start, end) of each word of ``prompt``."""
    return [match.span() for match in WORD.finditer(prompt)]


def alternatives(text: str) -> list[str]:
    """``"owl, snow leopard"`` -> ``["owl", "snow leopard"]`` (commas or new lines between them)."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def varied(prompt: str, span: tuple[int, int], others: Sequence[str]) -> list[str]:
    """``prompt`` first, then it with the word at ``span`` replaced by each alternative (each prompt once)."""
    start, end = span
    return list(dict.fromkeys([prompt, *(prompt[:start] + other + prompt[end:] for other in others)]))


class CompareView:
    """A closed accordion: "Compare models" (checkboxes, the model in use among them) and "Vary a word" (a word
    of the prompt, its alternatives); and, in the results, ``title`` and ``grid`` for the comparison made."""

    def __init__(self, on_models: Callable[[list[str]], Any], on_vary: Callable[[list[str]], Any]) -> None:
        self.checks = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.compare_button = widgets.Button(description="Compare models", icon="th", disabled=True,
                                             tooltip="Run the prompt and settings on each model ticked, as a grid",
                                             layout=widgets.Layout(width="auto"))
        self.word = widgets.Dropdown(options=[], description="Word", tooltip="The word to vary",
                                     layout=widgets.Layout(width="220px", flex="0 1 220px", min_width="150px"))
        self.others = widgets.Text(placeholder="alternatives, comma-separated: owl, snow leopard",
                                   tooltip="Each one replaces the word in a copy of the prompt",
                                   layout=widgets.Layout(flex="1 1 200px", width="auto", min_width="140px"))
        self.vary_button = widgets.Button(description="Run the row", icon="th-list", disabled=True,
                                          tooltip="Generate the prompt and each variant, as a grid",
                                          layout=widgets.Layout(width="auto"))
        self.note = widgets.HTML()
        body = widgets.VBox([
            widgets.HTML(heading("Compare models", "0 0 2px 0")), self.checks, self.compare_button,
            widgets.HTML(heading("Vary a word")),
            widgets.HBox([self.word, self.others], layout=widgets.Layout(flex_flow="row wrap", width="100%")),
            self.vary_button, self.note])
        self.accordion = widgets.Accordion(children=[body], selected_index=None)
        self.accordion.titles = ("Compare models · vary a word",)
        self.title, self.grid = widgets.HTML(), widgets.HTML()
        self._words: tuple[str, list[tuple[int, int]]] = ("", [])
        self.compare_button.on_click(lambda _: on_models(self.models()))
        self.vary_button.on_click(lambda _: on_vary(self.prompts()))
        self.others.observe(lambda _: self._enable(), names="value")
        self._ready = False
        for model in KNOWN_MODELS:
            self._add(model)

    def _add(self, model: str) -> None:
        box = widgets.Checkbox(value=True, description=model_title(model), indent=False, tooltip=model,
                               layout=widgets.Layout(width="auto", margin="0 12px 0 0"))
        box.observe(lambda _: self._enable(), names="value")
        self.checks.children = (*self.checks.children, box)

    def models(self) -> list[str]:
        """The models ticked, in order."""
        return [box.tooltip for box in self.checks.children if box.value]

    def prompts(self) -> list[str]:
        """The prompt, then each variant with the chosen word replaced."""
        prompt, spans = self._words
        index = self.word.value
        if not isinstance(index, int) or not 0 <= index < len(spans):
            return [prompt]
        return varied(prompt, spans[index], alternatives(self.others.value))

    def show(self, form: Form, ready: bool) -> None:
        """Follow the form: the model in use among the choices, the prompt's words; ``ready``: nothing runs and
        the input is valid."""
        if form.schema.label not in [box.tooltip for box in self.checks.children]:
            self._add(form.schema.label)
        prompt = str(form.values.get("prompt") or "")
        if prompt != self._words[0]:
            old_prompt, old_spans = self._words
            index = self.word.value
            old_word = old_prompt[slice(*old_spans[index])] if isinstance(index, int) and index < len(old_spans) else ""
            spans = prompt_words(prompt)
            self._words = (prompt, spans)
            words = [prompt[a:b] for a, b in spans]
            labels = [word if words.count(word) == 1 else f"{word} ({words[:i + 1].count(word)})"
                      for i, word in enumerate(words)]
            self.word.options = list(zip(labels, range(len(spans)), strict=True))
            keep = words.index(old_word) if old_word in words else len(words) - 1
            self.word.value = keep if words else None
        self._ready = ready
        self._enable()

    def _enable(self) -> None:
        self.compare_button.disabled = not (self._ready and len(self.models()) >= 2)
        self.vary_button.disabled = not (self._ready and len(self.prompts()) >= 2)

    def say(self, text: str) -> None:
        self.note.value = f'<div style="{FONT}{MUTED}">{esc(text)}</div>' if text else ""

    def show_grid(self, comparison: Comparison, what: str) -> None:
        self.title.value = heading(f"{what} · {len(comparison.cells)} cells")
        self.grid.value = comparison_html(comparison)
