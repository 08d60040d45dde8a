"""The settings: the prompt box and a ``label | control | note`` row per model field, built from its `FieldSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..display import FONT, MUTED, esc
from ..models import FieldSpec, ModelSchema
from .state import Form


def make_control(spec: FieldSpec) -> Any | None:
    """The widget for a field, from its kind, choices, bounds, default and help (None: it has none here)."""
    common: dict[str, Any] = {"tooltip": spec.help}
    if spec.kind == "str":
        return widgets.Textarea(value=spec.default or "", placeholder=spec.help + " (required)" * spec.required,
                                rows=4, layout=widgets.Layout(width="100%", height="88px"), **common)
    if spec.kind == "enum":
        options = [(choice.replace("_", " "), choice) for choice in spec.choices]
        if len(options) > 4:
            return widgets.Dropdown(options=options, value=spec.default, layout=widgets.Layout(width="200px"), **common)
        return widgets.ToggleButtons(options=options, value=spec.default, tooltips=[spec.help] * len(options),
                                     style={"button_width": f"{24 + 8 * max(len(label) for label, _ in options)}px"},
                                     layout=widgets.Layout(width="auto", flex="0 0 auto"), **common)
    if spec.kind == "int" and spec.low is not None and spec.high is not None and spec.high - spec.low <= 50:
        return widgets.IntSlider(value=spec.default, min=int(spec.low), max=int(spec.high),
                                 layout=widgets.Layout(width="260px"), **common)
    if spec.kind in ("int", "number"):
        box = widgets.IntText if spec.kind == "int" else widgets.FloatText
        return box(value=spec.default or 0, layout=widgets.Layout(width="110px"), **common)
    if spec.kind == "bool":
        return widgets.Checkbox(value=bool(spec.default), indent=False, layout=widgets.Layout(width="auto"), **common)
    return None  # the input images have their own section; a JSON field has no control


class ControlsView:
    """``controls[name]`` for each field that has one; ``rows`` lay out all but the prompt, labels aligned."""

    def __init__(self, schema: ModelSchema) -> None:
        self.controls: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        """The remark beside each setting: why it is ignored, or the output size."""
        self.rows: list[Any] = []
        for spec in schema.fields:
            control = make_control(spec)
            if control is not None:
                self.controls[spec.name] = control
            if control is not None and spec.name != "prompt":
                label = widgets.HTML(f'<div style="{FONT}font-size:13px;text-align:right;padding-right:10px" '
                                     f'title="{esc(spec.help)}">{esc(spec.label)}</div>',
                                     layout=widgets.Layout(width="120px", min_width="120px"))
                note = self.notes[spec.name] = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px", flex="0 1 auto"))
                self.rows.append(widgets.HBox([label, control, note], layout=widgets.Layout(align_items="center")))

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def set(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name in self.controls:
                self.controls[name].value = value

    def limit(self, form: Form) -> None:
        """Inputs plus outputs have a ceiling: the max images slider's top follows the inputs (clamping its value)."""
        slider = self.controls.get("max_images")
        if isinstance(slider, widgets.IntSlider):
            slider.max = max(slider.min, form.output_room)

    def show(self, form: Form) -> None:
        for name, control in self.controls.items():
            control.disabled = not form.active.get(name, True)
        for name, note in self.notes.items():
            text = form.notes.get(name)
            note.value = f'<span style="{FONT}{MUTED}white-space:nowrap">{esc(text)}</span>' if text else ""
