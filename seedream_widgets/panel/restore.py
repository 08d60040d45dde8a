"""Settings brought back: from a stored run (the history strip) or from the record an image file carries.

Pure functions from records to a `Form` and notes on what could not be kept; the widget asks, applies
and offers Undo. The rules of what a record restores are the engine's (`schema.restore_input`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..display import short_path, shorten
from ..errors import InvalidField, ValidationError
from ..gallery import RunRecord
from ..models import ModelSchema
from ..provenance import ForeignRecord, GenerationRecord, read_generation
from ..result import Result
from ..schema import restore_input
from .base import PanelBase
from .results import HISTORY_SIZE
from .running import SESSION
from .state import Form, InputImage, load_image, refusal, source_label

Record = GenerationRecord | ForeignRecord


def form_from_record(record: Record, schema_of: Callable[[str], ModelSchema | None], current: ModelSchema,
                     load: Callable[[Any], InputImage],
                     images: Sequence[Path | str | None] | None = None) -> tuple[Form, tuple[str, ...]]:
    """The form a record describes (prompt, model, fields, the input images that can still be had), and notes
    on what was left out. ``schema_of`` knows the models' schemas (None: unknown here; ``current`` serves);
    ``images`` are where the run's input images are now, when known (`Gallery.input_images`: an inline one
    found again among the stored outputs). Raises `ValidationError` when the record names no prompt."""
    model = record.model if isinstance(record, GenerationRecord) else ""
    schema = schema_of(model) if model else None
    notes: list[str] = []
    if schema is None:
        if model:
            notes.append(f"{model}'s fields are not known here: restored for {current.model}")
        schema = current
    restored, found = restore_input(record, schema=schema)
    sources: Sequence[Path | str | None] = restored.image_input if images is None else images
    if images is not None:
        lost = sum(source is None for source in images)
        found = tuple(note for note in found if "cannot be restored" not in note)
        if lost:
            notes.append(f"{lost} input image{'s' * (lost > 1)} of the run could not be found: add "
                         f"{'them' if lost > 1 else 'it'} again to use {'them' if lost > 1 else 'it'}")
    inputs = []
    for source in sources:
        try:
            if source is not None:
                inputs.append(load(source))
        except ValidationError as exc:
            notes.append(refusal(shorten(str(source), 60), exc))
    values = {name: value for name, value in restored.values.items() if name != "image_input"}
    form, dropped = Form.adopt(schema, values, inputs)
    return form, (*notes, *found, *dropped)


def run_record(record: RunRecord) -> GenerationRecord:
    """A stored run as the record its images carry (from the index: no file is opened)."""
    return GenerationRecord(model=record.model, prompt=record.prompt, input=record.input,
                            prediction_id=record.id, created_at=record.created_at)


def image_record(data: bytes) -> Record | None:
    """The generation record uploaded bytes carry, if it names a prompt (ours, AUTOMATIC1111's, ComfyUI's)."""
    try:
        record = read_generation(data)
    except Exception:  # an odd file is only an input image, never an error here
        return None
    return record if record is not None and str(record.prompt or "").strip() else None


def describe(record: Record) -> str:
    """``seedream-4: "a red fox in the snow"`` / ``AUTOMATIC1111: "a castle"``."""
    source = record.model if isinstance(record, GenerationRecord) else record.tool
    return f'{source}: "{shorten(str(record.prompt), 70)}"'


class Restoring(PanelBase):
    """The panel's part that brings settings back: the history strip, an image's record, and Undo."""

    def _show_history(self) -> None:
        """The newest stored runs, from the gallery's index. A folder that does not exist yet has none: asking
        would make its index, so a panel only looked at leaves no trace on disk."""
        if not self.client.settings.output_dir.is_dir():
            return
        records = self.client.gallery.history(HISTORY_SIZE)
        self._history_view.show(records, {result.id: n for n, result, _ in self._history}, SESSION)

    def _target(self, run: int | str) -> tuple[str, Form, Result | None, tuple[str, ...]]:
        """(title, form, result, notes) of a run: this panel's by number or id (exactly as it was), else a stored
        one by prediction id (from its record, with the input images still at hand)."""
        for number, result, form in self._history:
            if run in (number, result.id):
                return f"Run #{number}", form, result, ()
        if isinstance(run, int):
            raise KeyError(f"no run #{run} in this panel's history (it has {len(self._history)})")
        record = self.client.gallery.find(run)
        if record is None:
            raise KeyError(f"no stored run {run!r} in {short_path(self.client.settings.output_dir)}")
        form, notes = form_from_record(run_record(record), self.client.core.catalog.get, self._form.schema,
                                       self._load, self.client.gallery.input_images(record))
        stored = Result.from_record(record) if record.complete else None
        return f"Run {record.id} ({record.created_at[:10]})", form, stored, notes

    def _load(self, source: Any) -> InputImage:
        return load_image(source, source_label(source), self.client.image_uri)

    def _ask_restore(self, run: int | str) -> None:
        """The history strip's click: restore, after asking when it would replace a prompt being written."""
        title, form, _, _ = self._target(run)
        typed = str(self._form.values.get("prompt") or "").strip()
        if typed and typed != str(form.values.get("prompt") or "").strip():
            self._ask.ask("replace", f"Replace the prompt you are writing with the one of {title}?", [
                ("Replace", "check", lambda: self.restore(run)), ("Keep mine", "times", lambda: None)])
        else:
            self.restore(run)

    def restore(self, run: int | str) -> None:
        """Restore a run's settings, input images and gallery: ``run`` is this panel's run number, or the prediction
        id of any stored run (the history strip). Undo brings back what was there."""
        title, form, result, notes = self._target(run)
        self._apply(form, f"Restored {title}", notes)
        if result is not None:
            self._show_result(title, result)

    def restore_image(self, source: Any, name: str = "") -> None:
        """Restore the prompt, model and settings an image file carries (bytes or a path); Undo brings back what
        was there. Raises `ValidationError` when it carries none."""
        data = Path(source).read_bytes() if isinstance(source, (str, os.PathLike)) else bytes(source)
        record = image_record(data)
        if record is None:
            raise ValidationError([InvalidField("image", "carries no generation record with a prompt (ours, "
                                                "AUTOMATIC1111's or ComfyUI's)", "missing")])
        self._restore_record(record, name or source_label(source))

    def _offer_restore(self, record: Record, name: str) -> None:
        self._ask.ask("image", f"{name} carries how it was made ({describe(record)}). Restore its prompt, model and "
                               "settings? (It stops being an input image.)", [
            ("Restore settings", "undo", lambda: self._restore_record(record, name)),
            ("Keep as input image", "check", lambda: None)])

    def _restore_record(self, record: Record, name: str) -> None:
        form, notes = form_from_record(record, self.client.core.catalog.get, self._form.schema, self._load)
        self._apply(form, f"Restored the settings {name} carries", notes)

    def _apply(self, form: Form, what: str, notes: Sequence[str]) -> None:
        """Replace the form with a restored one, keeping the old one for Undo; the status line says so."""
        with self._lock:
            self._undo = self._form
            self._wanted = form.schema.label
            self._set_form(form)
            self._model.say("")
            self._inputs.say("")
        self._error.show(None)
        self._status.say(what + (": " + " ".join(notes) if notes else "."))
        self._ask.ask("undo", f"{what}.", [("Undo", "undo", self.undo)])

    def undo(self) -> None:
        """Bring back the settings and images a restore replaced (one level)."""
        if self._undo is not None:
            previous, self._undo = self._undo, None
            self._wanted = previous.schema.label
            self._set_form(previous)
            self._status.say("Restore undone: the settings are as they were.")
