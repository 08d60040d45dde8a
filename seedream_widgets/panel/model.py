"""The model choice: the Seedream family, or any ``owner/name[:version]`` typed in, and what the change kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..config import full_model_name
from ..display import FONT, MUTED, esc
from ..models import KNOWN_MODELS, ModelSchema
from .base import PanelBase
from .layout import notice_html

OTHER = "other"
"""The dropdown's value that shows the box for a model typed in."""
MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*(:[0-9a-f]{6,64})?$")


def model_title(model: str) -> str:
    """``bytedance/seedream-5-lite`` -> ``Seedream 5 lite``; other models keep their ``owner/name``."""
    name = model.split(":", 1)[0]
    if name in KNOWN_MODELS:
        short = name.split("/", 1)[1].replace("-", " ")
        return short[:1].upper() + short[1:]
    return model


class ModelView:
    """``row``: a labelled dropdown of the known models (and the ones used here), a box for another one (Enter
    or Load reads its schema), and a note. Reports a chosen ``owner/name[:version]`` to ``on_choose``."""

    def __init__(self, current: str, on_choose: Callable[[str], Any]) -> None:
        self._on_choose = on_choose
        self.dropdown = widgets.Dropdown(options=self._options(current), value=current, tooltip="The model to run",
                                         layout=widgets.Layout(width="200px", flex="0 1 200px", min_width="140px"))
        self.typed = widgets.Text(placeholder="owner/name[:version]", continuous_update=False,
                                  tooltip="Any model of the service; its fields are read from it",
                                  layout=widgets.Layout(width="220px", flex="1 1 160px", min_width="120px",
                                                        display="none"))
        self.load = widgets.Button(description="Load", icon="download", tooltip="Read this model's fields",
                                   layout=widgets.Layout(width="76px", flex="0 0 auto", display="none"))
        self.note = widgets.HTML(layout=widgets.Layout(flex="1 1 100%", margin="0 0 0 110px", min_width="0"))
        label = widgets.HTML(f'<div style="{FONT}font-size:13px;text-align:right;padding-right:10px">Model</div>',
                             layout=widgets.Layout(width="110px", min_width="110px"))
        self.row = widgets.HBox([label, self.dropdown, self.typed, self.load, self.note], layout=widgets.Layout(
            align_items="center", flex_flow="row wrap", width="100%"))
        self.row.add_class("seedream-row")
        self._current, self._quiet = current, False
        self.dropdown.observe(self._picked, names="value")
        self.typed.observe(lambda change: self._typed(change["new"]), names="value")
        self.load.on_click(lambda _: self._typed(self.typed.value))

    @staticmethod
    def _options(*models: str) -> list[tuple[str, str]]:
        names = list(dict.fromkeys([*KNOWN_MODELS, *(m for m in models if m)]))
        return [(model_title(m) if m in KNOWN_MODELS else m, m) for m in names] + [("other model…", OTHER)]

    def _picked(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        other = change["new"] == OTHER
        self.typed.layout.display = self.load.layout.display = "" if other else "none"
        if not other and change["new"] != self._current:
            self._on_choose(change["new"])

    def _typed(self, text: str) -> None:
        model = full_model_name(text.strip())  # "seedream-4.5" is ByteDance's
        if not model:
            return
        if not MODEL_NAME.match(model):
            self.say(f"{model!r} is not a model name: owner/name, or owner/name:version (a version id in hex); "
                     "a Seedream may be named without its owner (seedream-4.5)", problem=True)
            return
        self._on_choose(model)

    def show(self, model: str) -> None:
        """Show ``model`` as the one in use (added to the dropdown when it is a typed one)."""
        self._current, self._quiet = model, True
        try:
            if model not in [value for _, value in self.dropdown.options]:
                self.dropdown.options = self._options(*[v for _, v in self.dropdown.options if v != OTHER], model)
            self.dropdown.value = model
            self.typed.value = ""
        finally:
            self._quiet = False
        self.typed.layout.display = self.load.layout.display = "none"

    def say(self, text: str, *, problem: bool = False) -> None:
        self.note.value = notice_html(text) if problem else (
            f'<div class="seedream-model-note" style="{FONT}{MUTED}">{esc(text)}</div>' if text else "")


class ModelChoice(PanelBase):
    """The panel's part that changes its model: new controls from the schema, the values that still apply kept."""

    def choose_model(self, model: str) -> None:
        """Use ``model`` (``owner/name[:version]``): its controls replace the current ones, keeping the values
        that still apply (the note beside the choice names what was dropped). Returns at once: a model
        new to the client has its schema read in the background (``client.load_schema_later``), and a
        built-in snapshot is checked against the service's schema the same way."""
        model = self._wanted = full_model_name(model)
        known = self.client.core.catalog.get(model)
        if known is not None:
            self._switch(known)
        else:
            self._model.say(f"reading {model}'s fields from the service…")
        if known is None or known.source == "built-in":
            with self._lock:
                self._pending += 1  # (the panel's own client closes only once no read is pending)
            self.client.load_schema_later(model, lambda found: self._loaded(model, found, quiet=known is not None),
                                          refresh=known is not None)

    def _loaded(self, model: str, found: ModelSchema | Exception, *, quiet: bool = False) -> None:
        """A schema (or why not) arrived on the notifier thread: switch to it if it is still the one wanted."""
        with self._lock:
            self._pending -= 1
        if self._closed or model != self._wanted:
            self._release()
            return
        notes = self.client.core.catalog.notes[self._notes_seen:]
        self._notes_seen += len(notes)
        if isinstance(found, Exception):
            if not quiet:
                self._model.say(f"{model}: {found}", problem=True)
            return
        with self._lock:
            if found.label != self._form.schema.label or found.fields != self._form.schema.fields:
                self._switch(found)
        if notes:
            self._model.say(" ".join(notes))

    def _switch(self, schema: ModelSchema) -> None:
        with self._lock:
            if schema.label == self._form.schema.label and schema.fields == self._form.schema.fields:
                self._model.show(schema.label)
                return
            form, dropped = self._form.for_schema(schema)
            price = f"{schema.price}" if schema.price else "price unknown"
            kept = f"{model_title(schema.label)} · {len(schema.fields)} fields · {price}"
            self._model.say(kept + (f" · dropped: {'; '.join(dropped)}" if dropped else ""),
                            problem=bool(dropped))
            self._set_form(form)
