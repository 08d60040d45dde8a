"""Running: one job at a time (Generate, Resume, a comparison), drawn as it goes, and how it ended."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ..batch import Batch, BatchState
from ..client import Seedream
from ..display import batch_html, short_path, status_html
from ..errors import SeedreamError
from ..models import check_value
from ..result import Comparison, Result
from ..run import Run, RunState
from .base import PanelBase
from .model import model_title
from .state import Form
from .status import Job

log = logging.getLogger("seedream_widgets")
SESSION: set[str] = set()
"""Prediction ids of the runs panels made in this kernel (the history strip outlines them)."""


class Running(PanelBase):
    """The panel's part that starts runs and grids on the client and draws their states (notifier thread)."""

    def _runner(self) -> Seedream:
        """The client runs start on: the panel's, storing images with the metadata chosen in the panel."""
        mode = str(self.metadata.value)
        if mode == self.client.settings.embed_metadata:
            return self.client
        if mode not in self._twins:
            self._twins[mode] = self.client.with_embedding(mode)
        return self._twins[mode]

    def _click(self, start: Callable[[], Any]) -> None:
        """A button's start: a refusal the form could not foresee (``max_cost``, a cell of a grid) is shown."""
        try:
            start()
        except SeedreamError as exc:
            self._error.show(exc)

    def generate(self) -> Run:
        """Start a generation, like clicking Generate; returns its `Run` at once (while one is in flight: that one).

        The panel draws the outcome as the run ends, then calls the ``on_result`` callbacks. Invalid
        settings raise `ValidationError` naming every field, and nothing is sent.
        """
        self._check_open()
        if isinstance(self._job, Run) and self.running:
            return self._job
        if self.running:
            raise RuntimeError("a comparison is running in this panel; cancel it or wait for it")
        run = self._runner().start(self.input)
        self._follow(run, self._form)
        return run

    def resume(self, prediction_id: str) -> Run:
        """Finish a run whose images could not be stored (no space, a folder gone) once the cause is fixed,
        like the Resume button; the service keeps its images about an hour."""
        self._check_open()
        run = self._runner().resume_run(prediction_id)
        self._follow(run, self._run_form)
        return run

    def compare_models(self, models: Sequence[str]) -> Batch[Comparison]:
        """Run the prompt and settings on each of ``models`` at once, shown as a grid (like "Compare models").

        A setting a model lacks is left out of its cell (the grid says so); a value some model does
        not accept is left out of every cell (the note under the button says so).
        """
        form = self._ready_form()
        chosen = list(dict.fromkeys(models))
        fields, dropped = self._shared_fields(form, chosen)
        batch = self._runner().start_compare(form.input.prompt if form.input else "", model=chosen, **fields)
        self._compare.say(f"left out for every model: {'; '.join(dropped)}" if dropped else "")
        self._follow(batch, form, f"{len(chosen)} models")
        return batch

    def vary(self, prompts: Sequence[str]) -> Batch[Comparison]:
        """Run each prompt with the panel's settings, shown as a grid whose rows name the words that differ
        (like "Run the row" under "Vary a word")."""
        form = self._ready_form()
        batch = self._runner().start_compare(list(prompts), model=form.schema.label, **form.fields)
        self._compare.say("")
        self._follow(batch, form, f"{len(prompts)} prompts")
        return batch

    def _ready_form(self) -> Form:
        self._check_open()
        if self.running:
            raise RuntimeError("this panel is running; cancel it or wait for it")
        _ = self.input  # raises ValidationError while invalid
        return self._form

    def _shared_fields(self, form: Form, models: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
        """The form's fields every model that has them accepts (and what some model refuses)."""
        fields, dropped = dict(form.fields), []
        for model in models:
            schema = self.client.schema_for(model)
            for name, value in list(fields.items()):
                spec = schema.get(name)
                if spec is not None and check_value(spec, value) is not None:
                    dropped.append(f"{name} ({model_title(model)} does not take {value!r})")
                    del fields[name]
        return fields, dropped

    def _follow(self, job: Job, form: Form, what: str = "") -> None:
        """Draw ``job`` until it ends (states arrive on the notifier thread)."""
        self._job, self._run_form, self._what = job, form, what
        self.set_trait("running", True)
        self._error.show(None)
        self._ask.clear("undo")
        self._buttons()
        self._compare.show(self._form, False)
        self._status.follow(job)
        job.subscribe(lambda state: self._show(job, state))
        job.add_done_callback(self._finished)

    def cancel(self) -> None:
        """Cancel the run (or grid) in flight (the service gets a cancel request); returns at once."""
        if self._job is not None and self.running and not self._status.canceling:
            self._status.canceling = True
            self._status.live()
            self._job.cancel(wait=False)

    def _show(self, job: Job, state: RunState | BatchState) -> None:
        """Draw a state of the job (on the notifier thread, where thumbnails may be made): the status, the outcome."""
        if job is not self._job:
            return
        if self._closed or not state.done:
            self._status.live()
            if state.done:
                self.set_trait("running", False)
            return
        if isinstance(state, BatchState):
            self._show_grid(job, state)
        else:
            self._show_run(state)
        if isinstance(state, BatchState) or state.result is not None:  # something new was stored
            self._show_history()
        self.set_trait("running", False)  # last: whoever waits for it finds the outcome drawn
        self._buttons()
        self._refresh()

    def _show_run(self, state: RunState) -> None:
        result = state.result
        notes = [f"{f'{result.sizes[0][0]}×{result.sizes[0][1]} px · ' if result.sizes else ''}saved in "
                 f"{short_path(result.folder)}"] if result is not None else []
        self._status.final(status_html(state, thumbnails=False), *notes)
        if result is not None:
            SESSION.add(result.id)
            self._history.append((len(self._history) + 1, result, self._run_form))
            self._show_result(f"Run #{len(self._history)}", result)
            self.set_trait("result", result)
        elif state.error is not None:
            self._error.show(state.error)

    def _show_grid(self, job: Job, state: BatchState) -> None:
        self._status.final(batch_html(state))
        try:
            comparison = job.result()
        except SeedreamError as exc:  # canceled as a whole
            self._error.show(exc)
            return
        if not isinstance(comparison, Comparison):
            return
        SESSION.update(result.id for result in comparison.results)
        self._compare.show_grid(comparison, f"Comparison of {self._what}")
        self.set_trait("comparison", comparison)

    def _show_result(self, title: str, result: Result) -> None:
        """Show a result in the gallery (with descriptive download names) and in the panel's static copy."""
        record = self.client.gallery.find(result.id)
        names = [record.file_name(i) for i in range(len(result.paths))] if record is not None else []
        self._gallery.show(title, result, names)
        self._update_fallback()

    def _finished(self, job: Job) -> None:
        """After a run ended and the panel drew it (notifier thread): the ``on_result`` callbacks."""
        if not isinstance(job, Run) or (result := job.state.result) is None:
            return
        for callback in list(self._callbacks):
            try:
                callback(result)
            except Exception as exc:
                log.exception("on_result callback %r failed", callback)
                self._error.show(RuntimeError(f"on_result callback {callback!r} failed: {exc}"))

    def on_result(self, callback: Callable[[Result], Any], remove: bool = False) -> None:
        """Call ``callback(result)`` after each successful run (``remove=True`` stops it); it runs on the engine's
        notifier thread once the panel shows the result: keep it short (start more work with ``client.start``)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    @property
    def runs(self) -> list[Result]:
        """This panel's results, oldest first."""
        return [result for _, result, _ in self._history]
