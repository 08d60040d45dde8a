"""The settings: the prompt box and a ``label | control | note`` row per model field, built from its `FieldSpec`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from ..display import COLORS, FONT, MUTED, esc, shorten
from ..models import FieldSpec, ModelSchema, builtin_schema
from .layout import descendants
from .state import Form

Convert = tuple[Callable[[Any], Any], Callable[[Any], Any]]
"""(control value -> field value, field value -> control value) for a control that holds text."""


def make_prompt(spec: FieldSpec) -> Any:
    """The prompt box (kept across changes of model: what is typed survives)."""
    return widgets.Textarea(value=spec.default or "", placeholder=spec.help + " (required)" * spec.required,
                            tooltip=spec.help, rows=4, layout=widgets.Layout(width="100%", height="88px"))


def make_control(spec: FieldSpec) -> tuple[Any, Convert | None] | None:
    """The widget for a field from its kind, choices, bounds, default and help, and how to read a text box
    (None for the input images: they have their own section)."""
    common: dict[str, Any] = {"tooltip": spec.help}
    if spec.kind == "enum":
        options = [(choice.replace("_", " "), choice) for choice in spec.choices]
        if len(options) > 4:
            return widgets.Dropdown(options=options, value=spec.default, layout=widgets.Layout(width="200px"),
                                    **common), None
        buttons = widgets.ToggleButtons(options=options, value=spec.default, tooltips=[spec.help] * len(options),
                                        style={"button_width": f"{24 + 8 * max(len(label) for label, _ in options)}px"},
                                        layout=widgets.Layout(width="auto", flex="0 1 auto"), **common)
        buttons.add_class("seedream-choices")
        return buttons, None
    if spec.kind == "int" and spec.low is not None and spec.high is not None and spec.high - spec.low <= 50 \
            and spec.default is not None:
        return widgets.IntSlider(value=spec.default, min=int(spec.low), max=int(spec.high), **common,
                                 layout=widgets.Layout(width="220px", flex="0 1 220px", min_width="150px")), None
    if spec.kind in ("int", "number") and spec.default is not None:
        box = widgets.IntText if spec.kind == "int" else widgets.FloatText
        return box(value=spec.default, layout=widgets.Layout(width="110px"), **common), None
    if spec.kind == "bool":
        return widgets.Checkbox(value=bool(spec.default), indent=False, layout=widgets.Layout(width="auto"),
                                **common), None
    if spec.kind in ("str", "int", "number", "json"):  # text, a number without a default, or a JSON value
        show = json.dumps if spec.kind == "json" else str
        text = widgets.Text(value="" if spec.default is None else show(spec.default), **common,
                            placeholder="(not set)" if spec.default is None else "",
                            layout=widgets.Layout(width="260px", flex="0 1 260px", min_width="120px"))
        return text, (_reader(spec), lambda value: "" if value is None else show(value))
    return None  # the input images have their own section


def _reader(spec: FieldSpec) -> Callable[[Any], Any]:
    def read(text: Any) -> Any:
        if str(text).strip() == "":
            return spec.default
        if spec.kind == "str":
            return text
        try:
            return json.loads(text) if spec.kind == "json" else int(text) if spec.kind == "int" else float(text)
        except ValueError:
            return text  # (a JSON field takes it as a string) the schema's check says what is wrong, beside the box
    return read


def problem_html(text: str) -> str:
    """A field's problem, beside its control: theme text marked by the error colour's edge."""
    return (f'<span class="seedream-field-problem" style="{FONT}color:{COLORS["text"]};border-left:3px solid '
            f'{COLORS["error_edge"]};padding-left:6px;display:inline-block">{esc(text)}</span>')


def mark(control: Any, invalid: bool) -> None:
    """Outline a control in the theme's error colour while its value is a problem (a layout trait: no CSS)."""
    border = f"2px solid {COLORS['error_edge']}" if invalid else None
    if control.layout.border != border:
        control.layout.border = border


def note_span(text: str) -> str:
    return f'<span class="seedream-field-note" style="{FONT}{MUTED}">{esc(text)}</span>' if text else ""


class ControlsView:
    """``controls[name]`` for each field that has one; ``rows`` lay out all but the prompt, labels aligned.

    ``prompt`` is the prompt box to use and ``prompt_note`` the line under it for its problem (made for the
    first model, kept across models).
    """

    def __init__(self, schema: ModelSchema, prompt: Any, prompt_note: Any) -> None:
        self.controls: dict[str, Any] = {"prompt": prompt}
        self.notes: dict[str, Any] = {}
        """The remark beside each setting: its problem, why it is ignored, the output size, or its help."""
        self.rows: list[Any] = []
        self._convert: dict[str, Convert] = {}
        self._rows: dict[str, Any] = {}
        self._labels = {spec.name: spec.label.lower() for spec in schema.fields}
        snapshot = builtin_schema(schema.model)
        self._own_help = {spec.name: spec.help for spec in schema.fields  # fields the package's snapshot lacks
                          if snapshot is None or spec.name not in snapshot}
        self.prompt_note = prompt_note
        for spec in schema.fields:
            made = make_control(spec) if spec.name != "prompt" else None
            if made is None:
                continue
            control, convert = made
            self.controls[spec.name] = control
            if convert is not None:
                self._convert[spec.name] = convert
            label = widgets.HTML(f'<div style="{FONT}font-size:13px;text-align:right;padding-right:10px" '
                                 f'title="{esc(spec.help)}">{esc(spec.label)}</div>',
                                 layout=widgets.Layout(width="110px", min_width="110px"))
            note = self.notes[spec.name] = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px", flex="1 1 140px",
                                                                              min_width="0"))
            row = self._rows[spec.name] = widgets.HBox([label, control, note], layout=widgets.Layout(
                align_items="center", flex_flow="row wrap", width="100%"))
            row.add_class("seedream-row")
            self.rows.append(row)

    def values(self) -> dict[str, Any]:
        return {name: self._convert[name][0](control.value) if name in self._convert else control.value
                for name, control in self.controls.items()}

    def set(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in self.controls:
                self.controls[name].value = self._convert[name][1](value) if name in self._convert else value

    def limit(self, form: Form) -> None:
        """Inputs plus outputs have a ceiling: the max images slider's top follows the inputs (clamping its value)."""
        slider = self.controls.get("max_images")
        if isinstance(slider, widgets.IntSlider):
            slider.max = max(slider.min, form.output_room)

    def show(self, form: Form) -> None:
        """Disable what takes no effect; beside each control its problem (the row marked), else its note."""
        problems = {} if form.incomplete else form.field_problems
        for name, control in self.controls.items():
            control.disabled = not form.active.get(name, True)
        for name, note in self.notes.items():
            problem, row = problems.get(name), self._rows[name]
            (row.add_class if problem else row.remove_class)("seedream-invalid")
            mark(self.controls[name], bool(problem))
            text = self._words(form.notes.get(name, "")) or self._own_help.get(name, "")
            value = problem_html(problem) if problem else note_span(shorten(text, 160))
            if note.value != value:
                note.value = value
        prompt = problems.get("prompt")
        (self.controls["prompt"].add_class if prompt else self.controls["prompt"].remove_class)("seedream-invalid")
        mark(self.controls["prompt"], bool(prompt))
        self.prompt_note.value = problem_html(f"Prompt: {prompt}") if prompt else ""

    def _words(self, note: str) -> str:
        """A note in the labels' words: ``only when sequential_image_generation is auto`` -> ``... sequential ...``."""
        for name, label in self._labels.items():
            note = note.replace(f" {name} ", f" {label} ")
        return note

    def close(self) -> None:
        """Close the rows and all inside them (not the prompt box and its note, which the next model's view keeps)."""
        for widget in [widget for row in self.rows for widget in descendants(row)]:
            widget.close()
