"""`SeedreamPanel`: the widget that ties the form, its views and one `Run` at a time together."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from ..client import Seedream
from ..display import COLORS, FONT, MONO, MUTED, badge, demo_badge, error_html, esc, short_path, status_html
from ..errors import ValidationError
from ..result import Result
from ..run import Run, RunState
from ..schema import SeedreamInput
from .controls import ControlsView
from .inputs import InputsView
from .layout import descendants, heading
from .preview import PreviewView
from .results import GalleryView, HistoryView
from .state import Form, InputImage, load_image, source_label

log = logging.getLogger("seedream_widgets")
_LIVE: dict[str, tuple[str, weakref.WeakSet[SeedreamPanel]]] = {}  # cellId -> (request, the panels it made)
_LIVE_LOCK = threading.Lock()


def _cell_identity() -> tuple[str, str] | None:
    """(cellId, request id) of the cell being executed, when the front end sends a cellId."""
    from IPython import get_ipython

    get_parent = getattr(getattr(get_ipython(), "kernel", None), "get_parent", None)
    try:
        parent = (get_parent("shell") if get_parent is not None else None) or {}
    except Exception:
        return None
    header, metadata = parent.get("header") or {}, parent.get("metadata") or {}
    cell_id, msg_id = metadata.get("cellId"), header.get("msg_id")
    ok = header.get("msg_type") == "execute_request" and cell_id and msg_id
    return (str(cell_id), str(msg_id)) if ok else None


def _register(panel: SeedreamPanel, identity: tuple[str, str] | None) -> None:
    """Remember which cell made ``panel``: re-running that cell closes the panels its last run made (and so
    cancels their runs). Panels are known by the front end's ``cellId`` and the request that made them."""
    if identity is None:
        return
    cell, request = identity
    with _LIVE_LOCK:
        previous = _LIVE.get(cell)
        stale = list(previous[1]) if previous is not None and previous[0] != request else []
        if previous is None or previous[0] != request:
            _LIVE[cell] = (request, weakref.WeakSet())
        _LIVE[cell][1].add(panel)
    for old in stale:
        old.close()


class SeedreamPanel(widgets.VBox):  # type: ignore[misc]
    """Prompt, every model control, input images, Generate / Cancel, status, gallery and history.

    >>> panel = SeedreamPanel(prompt="a lighthouse at dusk", size="1K", aspect_ratio="16:9")  # doctest: +SKIP
    >>> panel.generate().wait().paths  # like clicking Generate, then waiting for the run      # doctest: +SKIP

    ``client`` defaults to ``Seedream(output_dir=output_dir)`` (demo backend without a token);
    keyword ``fields`` preset any model field by schema name (``image_input`` takes paths, URLs,
    bytes, PIL images or a `Result`). ``value`` is the current `SeedreamInput` (None while invalid,
    the reasons in ``problems``), ``result`` the latest `Result`.
    """

    value = traitlets.Instance(SeedreamInput, allow_none=True, read_only=True,
                               help="The current input, rebuilt on every change; None while invalid.")
    problems = traitlets.Tuple(read_only=True, help="The InvalidField entries that stop Generate (empty when valid).")
    running = traitlets.Bool(False, read_only=True, help="True while this panel's generation is in flight.")
    result = traitlets.Instance(Result, allow_none=True, read_only=True, help="The latest finished run's result.")

    def __init__(self, client: Seedream | None = None, *, output_dir: str | os.PathLike[str] | None = None,
                 **fields: Any) -> None:
        self._closed = True  # until built: Widget.__del__ calls close() even when __init__ raised
        if client is not None and output_dir is not None:
            raise TypeError("pass output_dir either to SeedreamPanel or to Seedream(...), not both")
        self._owns_client = client is None
        self.client: Seedream = client or Seedream(output_dir=None if output_dir is None else Path(output_dir))
        images = fields.pop("image_input", None)
        if images is not None and (isinstance(images, (str, bytes, Path)) or not isinstance(images, Sequence)):
            images = [images]  # one image is fine without a list, as in Seedream.generate
        # (a client of our own opens no connection before its first request: nothing to close if these raise)
        presets = [load_image(item, source_label(item), self.client.image_uri) for item in images or ()]
        self._form = Form.of(self.client.schema, presets, **fields)
        self._run: Run | None = None
        self._run_form, self._canceling = self._form, False  # the form the run started from (for the history)
        self._history: list[tuple[int, Result, Form]] = []
        self._callbacks: list[Callable[[Result], Any]] = []
        self._hold = 0
        self._status_lock = threading.Lock()  # the notifier, a click and a clock tick all draw the status line
        self._controls = ControlsView(self.client.schema)
        self.controls: dict[str, Any] = self._controls.controls
        """The control of each model field by schema name (the input images have their own section)."""
        spec = self.client.schema.get("image_input")
        self._inputs = InputsView(spec.help if spec else "", on_files=self._add_inputs, on_add=self.add_input,
                                  on_remove=self.remove_input)
        self.uploader, self.url_box, self.add_url_button = self._inputs.parts[0].children
        self.generate_button = widgets.Button(description="Generate", button_style="primary", icon="play",
                                              tooltip="Start a generation (the kernel stays free)",
                                              layout=widgets.Layout(width="120px"))
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Cancel the running generation on the service",
                                            layout=widgets.Layout(width="100px"))
        self.generate_button.on_click(lambda _: self.generate() if self.value is not None else self._refresh())
        self.cancel_button.on_click(lambda _: self.cancel())
        self._reason, self._problems_box, self.error = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self._preview = PreviewView()
        settings = self.client.settings
        mark = (f'{demo_badge()}<span style="{MUTED}">local demo backend, nothing is billed · set SEEDREAM_API_TOKEN '
                'for the real service</span>' if settings.demo else f'{badge(settings.model, COLORS["badge_model"])}'
                f'<span style="{MUTED}">{esc(settings.public_base_url)}</span>')
        self.badge = widgets.HTML(f'<div style="{FONT}display:flex;align-items:center;gap:8px" title="Output folder: '
                                  f'{esc(settings.output_dir)}"><b style="font-size:14px">Seedream 4</b>{mark}</div>')
        self.status = widgets.HTML(self._status_box(f'<span style="{MUTED}">Ready. Images appear here; every run is '
                                                    f'saved in {esc(short_path(settings.output_dir))}.</span>'))
        # A front-end timer (stock ipywidgets, no thread of ours): while a run is in flight its ticks redraw the
        # status line, so the seconds move between the run's own states.
        self._clock = widgets.Play(interval=500, max=10**9, repeat=True, layout=widgets.Layout(display="none"))
        self._clock.observe(lambda _: self._show_live(), names="value")
        self._gallery, self._history_view = GalleryView(self.use_as_input), HistoryView(self.restore)
        self.gallery, self.history = self._gallery.box, self._history_view.box
        super().__init__(children=self._layout(), layout=widgets.Layout(width="100%", padding="4px"))
        self.add_class("seedream-panel")
        self._controls.set(self._form.values)
        self._refresh()
        for control in self.controls.values():
            control.observe(lambda _: self._refresh(), names="value")
        self._closed = False
        _register(self, _cell_identity())

    def _layout(self) -> list[Any]:
        left = widgets.VBox(
            [self.controls["prompt"], *self._controls.rows,
             widgets.HBox([widgets.HTML(heading("Input images", "8px 8px 0 0")), self._inputs.title],
                          layout=widgets.Layout(align_items="baseline")), *self._inputs.parts,
             widgets.HBox([self.generate_button, self.cancel_button, self._reason],
                          layout=widgets.Layout(align_items="center", margin="10px 0 4px 0")),
             self._problems_box, self._preview.accordion],
            layout=widgets.Layout(flex="1 1 440px", min_width="340px", padding="0 12px 0 0"))
        right = widgets.VBox(
            [self.status, self._clock, self.error, self._gallery.title, self.gallery, self._history_view.title,
             self.history], layout=widgets.Layout(flex="1 1 440px", min_width="300px", padding="0 0 0 12px",
                                                  border_left=f"1px solid {COLORS['border']}"))
        return [self.badge, widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap", width="100%",
                                                                               align_items="flex-start"))]

    @property
    def input(self) -> SeedreamInput:
        """The current `SeedreamInput`; raises `ValidationError` (naming every field) while invalid."""
        if self._form.input is None:
            raise ValidationError(self._form.problems)
        return self._form.input

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input images as sent (URLs and data URIs), in order."""
        return tuple(image.uri for image in self._form.inputs)

    def _refresh(self) -> None:
        """Read the controls into a new `Form` and draw everything derived from it."""
        if self._hold:
            return
        self._hold += 1
        try:
            self._controls.limit(self._form)  # may clamp max images: read the values after it
            form = self._form = Form(self._form.schema, self._controls.values(), self._form.inputs)
            self._controls.show(form)
            self._inputs.show(form)
            self._gallery.enable(form.room > 0)
            self._preview.show(form, self.client.settings)
            self.set_trait("problems", form.problems)
            self.set_trait("value", form.input)
            problems = () if form.incomplete else form.problems
            items = "".join(f"<li>{esc(problem)}</li>" for problem in problems)
            self._reason.value = (f'<span style="{FONT}{MUTED}">Type a prompt to generate.</span>' if form.incomplete
                                  else f'<span style="{FONT}color:{COLORS["warn"]}">Fix {len(problems)} field'
                                  f'{"s" * (len(problems) > 1)} to generate (see below).</span>' if problems else "")
            self._problems_box.value = (
                f'<div class="seedream-problems" style="{FONT}border-left:3px solid {COLORS["warn"]};background:'
                f'{COLORS["warn_surface"]};color:{COLORS["text"]};padding:4px 10px"><b>Cannot generate yet:</b>'
                f'<ul style="margin:2px 0;padding-left:18px">{items}</ul></div>' if problems else "")
            self._buttons()
        finally:
            self._hold -= 1

    def _buttons(self) -> None:
        self.generate_button.disabled = self.running or bool(self.problems)
        self.generate_button.description = "Running…" if self.running else "Generate"
        self.cancel_button.disabled = not self.running

    def add_input(self, source: Any, label: str | None = None) -> bool:
        """Append an input image (path, URL, data URI, bytes, PIL image or `Result`); False (saying why) if unusable."""
        if isinstance(source, str):
            source = source.strip()
            if not source:
                self._inputs.say("Type an image URL or a file path first.")
                return False
        added = self._add_inputs([(source, label or source_label(source))])
        if added and isinstance(source, str) and source == self.url_box.value.strip():
            self.url_box.value = ""
        return bool(added)

    def _add_inputs(self, items: Sequence[tuple[Any, str]], messages: Sequence[str] = ()) -> int:
        """Add what can be added; say why the rest could not (after ``messages``) under the images."""
        notes, skipped, new = list(messages), [], list[InputImage]()
        for source, label in items:
            if len(new) >= self._form.room:
                skipped.append(label)
                continue
            try:
                new.append(load_image(source, label, self.client.image_uri))
            except ValidationError as exc:
                notes.append(f"{label}: " + "; ".join(p.description for p in exc.invalid_fields))
        if skipped:
            notes.append(f"At most {self._form.max_inputs} input images: skipped {', '.join(skipped)}.")
        if new:
            self._set_inputs([*self._form.inputs, *new])
        self._inputs.say(" ".join(notes))
        return len(new)

    def remove_input(self, index: int) -> None:
        """Remove the input image at ``index``."""
        self._set_inputs([image for i, image in enumerate(self._form.inputs) if i != index])

    def clear_inputs(self) -> None:
        self._set_inputs([])

    def _set_inputs(self, inputs: Sequence[Any]) -> None:
        self._form = replace(self._form, inputs=tuple(inputs))
        self._refresh()

    def use_as_input(self, path: str | os.PathLike[str]) -> bool:
        """Append a stored output image as an input (the iterative editing loop)."""
        return self.add_input(Path(path), Path(path).name)

    def generate(self) -> Run:
        """Start a generation, like clicking Generate; returns its `Run` at once (while one is in flight: that one).

        The panel draws the outcome as the run ends, then calls the ``on_result`` callbacks. Invalid
        settings raise `ValidationError` naming every field, and nothing is sent.
        """
        if self._closed:
            raise RuntimeError("this panel is closed; make a new SeedreamPanel")
        if self._run is not None and self.running:
            return self._run
        run = self._run = self.client.start(self.input)
        self._run_form, self._canceling = self._form, False
        self.set_trait("running", True)
        self.error.value = ""
        self._buttons()
        self._clock.playing = True
        run.subscribe(lambda state: self._show(run, state))
        run.add_done_callback(self._finished)
        return run

    def cancel(self) -> None:
        """Cancel the run in flight (the service gets a cancel request); returns at once."""
        if self._run is not None and self.running and not self._canceling:
            self._canceling = True
            self._show_live()
            self._run.cancel(wait=False)

    def _show_live(self) -> None:
        """The status line of a run in flight: its state, the images saved so far, the log lines before the last."""
        run = self._run
        if run is None or run.state.done or self._closed:
            return
        tail = run.state.log_tail(4).splitlines()[:-1]  # the last line is in the status line
        shown = self._status_box(status_html(run.state), "canceling…" if self._canceling else "", log="\n".join(tail))
        with self._status_lock:
            if not run.state.done:  # once it is, its outcome is (about to be) drawn: never draw over that
                self.status.value = shown

    @staticmethod
    def _status_box(status: str, *notes: str, log: str = "") -> str:
        """The status line (`display.status_html`), muted notes and a log tail, readably spaced."""
        extra = "".join(f'<div style="{MUTED}">{esc(note)}</div>' for note in notes if note)
        if log:
            extra += f'<pre style="{MONO}{MUTED}margin:2px 0 0 0">{esc(log)}</pre>'
        return f'<div style="{FONT}min-height:36px">{status}{extra}</div>'

    def _show(self, run: Run, state: RunState) -> None:
        """Draw a state of the run (on the notifier thread, where thumbnails may be made): the status, the outcome."""
        if run is not self._run:
            return
        if self._closed or not state.done:
            self._show_live()
            if state.done:
                self.set_trait("running", False)
            return
        result = state.result
        notes = [f"{f'{result.sizes[0][0]}×{result.sizes[0][1]} px · ' if result.sizes else ''}saved in "
                 f"{short_path(result.folder)}"] if result is not None else []
        with self._status_lock:
            self.status.value = self._status_box(status_html(state, thumbnails=False), *notes)
        if result is not None:
            self._history.append((len(self._history) + 1, result, self._run_form))
            self._gallery.show(len(self._history), result)
            self._history_view.show([(number, result) for number, result, _ in self._history])
            self.set_trait("result", result)
        elif state.error is not None:
            self.error.value = error_html(state.error)
        self._clock.playing = False
        self.set_trait("running", False)
        self._buttons()

    def _finished(self, run: Run) -> None:
        """After a run ended and the panel drew it (notifier thread): the ``on_result`` callbacks."""
        if (result := run.state.result) is None:
            return
        for callback in list(self._callbacks):
            try:
                callback(result)
            except Exception as exc:
                log.exception("on_result callback %r failed", callback)
                self.error.value = error_html(RuntimeError(f"on_result callback {callback!r} failed: {exc}"))

    def restore(self, number: int) -> None:
        """Restore run ``number`` of this session (settings, input images, its gallery), like its history button."""
        found = [(result, form) for n, result, form in self._history if n == number]
        if not found:
            raise KeyError(f"no run #{number} in this panel's history (it has {len(self._history)})")
        self._hold += 1  # many controls change: one refresh after them all
        try:
            self._form = replace(self._form, inputs=found[0][1].inputs)
            self._controls.set(found[0][1].values)
        finally:
            self._hold -= 1
        self._refresh()
        self._gallery.show(number, found[0][0])
        self._inputs.say("")

    def on_result(self, callback: Callable[[Result], Any], remove: bool = False) -> None:
        """Call ``callback(result)`` after each successful run (``remove=True`` stops it); it runs on the engine's
        notifier thread once the panel shows the result: keep it short (start more work with ``client.start``)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    @property
    def runs(self) -> list[Result]:
        """This session's results, oldest first."""
        return [result for _, result, _ in self._history]

    def close(self) -> None:
        """Cancel any run in flight and close the panel and all its widgets (its own client after the run)."""
        if self._closed:
            return
        self._closed = True
        run, client = self._run, self.client
        if run is not None:
            run.cancel(wait=False)
        if self._owns_client:  # its connection pool closes once the run's cleanup (the cancel request) is over
            run.add_done_callback(lambda _: client.close()) if run is not None else client.close()
        for widget in list(descendants(self))[1:]:  # (itself first)
            widget.close()
        super().close()

    def __repr__(self) -> str:
        state = "running" if self.running else ("ready" if self.value is not None else "incomplete")
        return f"<SeedreamPanel {state}, {len(self._history)} runs, client={self.client!r}>"
