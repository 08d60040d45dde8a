"""`SeedreamPanel`: the widget that ties the form, its views and one job at a time (a run or a grid) together."""

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
from ..display import COLORS, FONT, MUTED, badge, demo_badge, esc, short_path
from ..errors import SeedreamError, ValidationError
from ..frontend import Lightbox
from ..models import ModelSchema
from ..result import Comparison, Result
from ..schema import SeedreamInput
from .ask import AskBar
from .compare import CompareView
from .controls import ControlsView, make_prompt
from .failure import ErrorView
from .fallback import companion_html, fallback_text, widget_html
from .inputs import InputImages, InputsView
from .layout import descendants, heading
from .model import ModelChoice, ModelView, model_title
from .preview import PreviewView
from .restore import Restoring
from .results import GalleryView, HistoryView, Viewing
from .running import Running
from .state import Form, load_image, source_label
from .status import Job, StatusView
from .styles import panel_class

log = logging.getLogger("seedream_widgets")
_LIVE: dict[str, tuple[str, weakref.WeakSet[SeedreamPanel]]] = {}  # cellId -> (request, the panels it made)
_LIVE_LOCK = threading.Lock()
METADATA = (("full record", "full"), ("AI label only", "label"), ("nothing", "off"))


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


class SeedreamPanel(InputImages, ModelChoice, Running, Restoring, Viewing, widgets.VBox):  # type: ignore[misc]
    """Model, prompt, every model control, input images, Generate / Cancel, status, gallery, history,
    comparisons (models, a word varied) and the request preview.

    >>> panel = SeedreamPanel(prompt="a lighthouse at dusk", size="1K", aspect_ratio="16:9")  # doctest: +SKIP
    >>> panel.generate().wait().paths  # like clicking Generate, then waiting for the run      # doctest: +SKIP

    ``client`` defaults to ``Seedream(output_dir=output_dir)`` (demo backend without a token);
    ``model`` is any ``owner/name[:version]`` (default: the client's); keyword ``fields`` preset
    that model's fields by schema name (``image_input`` takes paths, URLs, bytes, PIL images or a
    `Result`). ``value`` is the current `SeedreamInput` (None while invalid, the reasons in
    ``problems``), ``result`` the latest `Result`.

    For front-end pieces (drag and drop, paste, keyboard): `add_files` takes dropped or pasted
    files like an upload, `generate` is Generate, and `attach` places a widget under the inputs.
    """

    value = traitlets.Instance(SeedreamInput, allow_none=True, read_only=True,
                               help="The current input, rebuilt on every change; None while invalid.")
    problems = traitlets.Tuple(read_only=True, help="The InvalidField entries that stop Generate (empty when valid).")
    running = traitlets.Bool(False, read_only=True, help="True while this panel's generation or grid is in flight.")
    result = traitlets.Instance(Result, allow_none=True, read_only=True, help="The latest finished run's result.")
    model = traitlets.Unicode(read_only=True, help="The model in use (owner/name, or owner/name:version).")
    comparison = traitlets.Instance(Comparison, allow_none=True, read_only=True,
                                    help="The latest comparison made here (compare models, vary a word).")

    def __init__(self, client: Seedream | None = None, *, output_dir: str | os.PathLike[str] | None = None,
                 model: str | None = None, **fields: Any) -> None:
        self._closed = True  # until built: Widget.__del__ calls close() even when __init__ raised
        if client is not None and output_dir is not None:
            raise TypeError("pass output_dir either to SeedreamPanel or to Seedream(...), not both")
        self._owns_client = client is None
        self.client: Seedream = client or Seedream(output_dir=None if output_dir is None else Path(output_dir))
        images = fields.pop("image_input", None)
        if images is not None and (isinstance(images, (str, bytes, Path)) or not isinstance(images, Sequence)):
            images = [images]  # one image is fine without a list, as in Seedream.generate
        # (a client of our own opens no connection before its first request: nothing to close if these raise)
        schema = self.client.schema_for(model) if model else self.client.schema  # a short read for a new model
        presets = [load_image(item, source_label(item), self.client.image_uri) for item in images or ()]
        self._form = Form.of(schema, presets, **fields)
        self._lock = threading.RLock()  # a click, a keystroke and the notifier (a schema, a result) all redraw
        self._job: Job | None = None
        self._run_form = self._form  # the form the run started from (for the history)
        self._what = ""  # what the grid in flight compares
        self._history: list[tuple[int, Result, Form]] = []
        self._callbacks: list[Callable[[Result], Any]] = []
        self._hold = 0
        self._wanted = schema.label
        self._undo: Form | None = None
        self._twins: dict[str, Seedream] = {}
        self._fallbacks: list[Any] = []
        self._notes_seen = len(self.client.core.catalog.notes)
        self._pending = 0  # schema reads in flight
        self._build(schema)
        self._closed = False
        self._refresh()
        self.set_trait("model", schema.label)
        self._show_history()
        _register(self, _cell_identity())

    # -- building -------------------------------------------------------------------------------------

    def _build(self, schema: ModelSchema) -> None:
        self._prompt, self._prompt_note = make_prompt(schema.field("prompt")), widgets.HTML()
        self._prompt.observe(lambda _: self._refresh(), names="value")
        self._controls = ControlsView(schema, self._prompt, self._prompt_note)
        self._model = ModelView(schema.label, self.choose_model)
        settings = self.client.settings
        self.metadata = widgets.Dropdown(
            options=METADATA, value=settings.embed_metadata, layout=widgets.Layout(width="200px"),
            tooltip="What each image file this panel stores carries: its generation record (prompt, model, "
                    "settings) and the AI label, the AI label alone, or nothing (the bytes as received)")
        self._metadata_row = widgets.HBox([widgets.HTML(
            f'<div style="{FONT}font-size:13px;text-align:right;padding-right:10px">Metadata</div>',
            layout=widgets.Layout(width="110px", min_width="110px")), self.metadata],
            layout=widgets.Layout(align_items="center", flex_flow="row wrap", width="100%"))
        self._settings = widgets.VBox(layout=widgets.Layout(width="100%"))
        spec = schema.get("image_input")
        self._inputs = InputsView(spec.help if spec else "", on_files=self._add_files, on_add=self.add_input,
                                  on_remove=self.remove_input, on_move=self.move_input, on_submit=self._submit)
        self.uploader, self.url_box, self.add_url_button = self._inputs.parts[0].children
        self.extras = widgets.VBox()
        """Where `attach` puts front-end pieces (a drop zone, a paste target)."""
        self.generate_button = widgets.Button(description="Generate", button_style="primary", icon="play",
                                              tooltip="Start a generation (the kernel stays free)",
                                              layout=widgets.Layout(width="120px"))
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Cancel the running generation on the service",
                                            layout=widgets.Layout(width="100px"))
        self.generate_button.on_click(lambda _: self._click(self.generate) if self.value is not None
                                      else self._refresh())
        self.cancel_button.on_click(lambda _: self.cancel())
        self._reason, self._cost, self._problems_box = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self._ask = AskBar()
        self._preview = PreviewView()
        self._compare = CompareView(lambda models: self._click(lambda: self.compare_models(models)),
                                    lambda prompts: self._click(lambda: self.vary(prompts)))
        self.badge = widgets.HTML()
        self._status = StatusView(f"Ready. Images appear here; every run is saved in "
                                  f"{short_path(settings.output_dir)}.")
        self.status, self._clock = self._status.html, self._status.clock
        self._error = ErrorView(self.resume)
        self.error = self._error.html
        self._gallery, self._history_view = GalleryView(self.use_as_input, self.view), HistoryView(self._ask_restore)
        self.lightbox = Lightbox()
        """The images large (View): zoom, arrow keys across the run and the history, details, a download."""
        self.lightbox.on_use(self.use_as_input)
        self.gallery, self.history = self._gallery.box, self._history_view.box
        super().__init__(children=self._layout(), layout=widgets.Layout(width="100%", padding="4px"))
        self.add_class("seedream-panel")
        self.add_class(panel_class(self.model_id))
        self._inputs.drop.scope = f".{panel_class(self.model_id)}"  # Ctrl+Enter and pastes anywhere in the panel
        self._adopt_schema(schema, fresh=False)
        self._controls.set(self._form.values)
        self.metadata.observe(lambda _: self._refresh(), names="value")

    def _layout(self) -> list[Any]:
        left = widgets.VBox(
            [self._model.row, self._prompt, self._prompt_note, self._ask.box, self._settings,
             widgets.HBox([widgets.HTML(heading("Input images", "8px 8px 0 0")), self._inputs.title],
                          layout=widgets.Layout(align_items="baseline", flex_flow="row wrap")),
             *self._inputs.parts, self.extras,
             widgets.HBox([self.generate_button, self.cancel_button, self._reason, self._cost],
                          layout=widgets.Layout(align_items="center", margin="10px 0 4px 0", flex_flow="row wrap")),
             self._problems_box, self._compare.accordion, self._preview.accordion],
            layout=widgets.Layout(flex="1 1 440px", min_width="0", padding="0 12px 0 0"))
        right = widgets.VBox(
            [self.status, self._clock, self._error.box, self._compare.title, self._compare.grid, self._gallery.title,
             self._gallery.sources, self.gallery, self._gallery.details, self._history_view.title, self.history],
            layout=widgets.Layout(flex="1 1 440px", min_width="0", padding="0 0 0 12px",
                                  border_left=f"1px solid {COLORS['border']}"))
        return [self.badge, widgets.HBox([left, right], layout=widgets.Layout(
            flex_flow="row wrap", width="100%", align_items="flex-start")), self.lightbox]

    def _adopt_schema(self, schema: ModelSchema, *, fresh: bool = True) -> None:
        """Show ``schema``'s controls (``fresh``: new ones; the caller sets their values) and name its model."""
        old = self._controls
        if fresh:
            self._controls = ControlsView(schema, self._prompt, self._prompt_note)
        for name, control in self._controls.controls.items():
            if name != "prompt":
                control.observe(lambda _: self._refresh(), names="value")
        self._settings.children = (*self._controls.rows, self._metadata_row)
        if old is not self._controls:
            old.close()
        self._model.show(schema.label)
        settings = self.client.settings
        mark = (f'{demo_badge()}<span style="{MUTED}">local demo backend, nothing is billed · set SEEDREAM_API_TOKEN '
                'for the real service</span>' if settings.demo else f'{badge(schema.label, COLORS["badge_model"])}'
                f'<span style="{MUTED}">{esc(settings.public_base_url)}</span>')
        self.badge.value = (f'<div style="{FONT}color:{COLORS["text"]};display:flex;align-items:center;gap:8px;'
                            f'flex-wrap:wrap" title="Output folder: {esc(settings.output_dir)}"><b style="font-size:'
                            f'14px">{esc(model_title(schema.label))}</b>{mark}</div>')

    @property
    def controls(self) -> dict[str, Any]:
        """The control of each field of the model in use, by schema name (the input images have their own
        section; a change of model makes new ones)."""
        return self._controls.controls

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

    # -- drawing the form ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Read the controls into a new `Form` and draw everything derived from it.

        Under the lock, so a change made on another thread (a keystroke while a new model's controls
        are set up on the notifier thread) waits its turn instead of being dropped; the thread that
        holds the form (``_hold``) skips the refreshes its own changes trigger."""
        with self._lock:
            if self._hold or self._closed:
                return
            self._hold += 1
            try:
                self._draw()
            finally:
                self._hold -= 1

    def _draw(self) -> None:
        self._controls.limit(self._form)  # may clamp max images: read the values after it
        form = self._form = Form(self._form.schema, self._controls.values(), self._form.inputs)
        self._controls.show(form)
        self._inputs.show(form)
        self._gallery.enable(form.room > 0)
        estimate, over = self._estimate(form)
        self._preview.show(form, self.client.settings, estimate)
        self.set_trait("problems", form.problems)
        self.set_trait("value", form.input)
        problems = () if form.incomplete else form.problems
        items = "".join(f"<li>{esc(problem)}</li>" for problem in problems)
        self._reason.value = (f'<span style="{FONT}{MUTED}">Type a prompt to generate.</span>' if form.incomplete
                              else f'<span style="{FONT}color:{COLORS["warn"]}">Fix {len(problems)} field'
                              f'{"s" * (len(problems) > 1)} to generate (marked above).</span>' if problems else "")
        self._cost.value = (f'<span class="seedream-cost" style="{FONT}{MUTED}">{esc(estimate)}</span>'
                            if form.input is not None and not over else "")
        items += f"<li>{esc(over)}</li>" if over else ""
        self._problems_box.value = (
            f'<div class="seedream-problems" style="{FONT}border-left:3px solid {COLORS["warn_edge"]};'
            f'color:{COLORS["text"]};padding:4px 10px"><b>Cannot generate yet:</b>'
            f'<ul style="margin:2px 0;padding-left:18px">{items}</ul></div>' if items else "")
        self._compare.show(form, form.input is not None and not self.running and not over)
        self._buttons(bool(over))

    def _estimate(self, form: Form) -> tuple[str, str]:
        """(images and price at most, in words; why it is over ``max_cost``, or "")."""
        if form.input is None:
            return "", ""
        estimate = self.client.estimate(form.input)
        try:
            self.client.core.check_cost(estimate)
        except SeedreamError as exc:
            return estimate.describe(), str(exc)
        return estimate.describe(), ""

    def _submit(self) -> None:
        """Ctrl+Enter in the panel: what a click on Generate does, when it may be clicked."""
        if not self.generate_button.disabled:
            self._click(self.generate)

    def _buttons(self, over: bool = False) -> None:
        self.generate_button.disabled = self.running or bool(self.problems) or over
        self.generate_button.description = "Running…" if self.running else "Generate"
        self.cancel_button.disabled = not self.running

    def _set_form(self, form: Form) -> None:
        """Show ``form`` (another model's: new controls) and draw it once."""
        with self._lock:
            self._hold += 1  # many controls change: one refresh after them all
            try:
                if form.schema.label != self._form.schema.label or form.schema.fields != self._form.schema.fields:
                    self._form = replace(self._form, schema=form.schema)
                    self._adopt_schema(form.schema)
                self._form = form
                self._controls.set(form.values)
            finally:
                self._hold -= 1
            self._refresh()
            self.set_trait("model", form.schema.label)  # last: whoever waits for it finds the new controls drawn

    # -- the static copy ---------------------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget view, and as ``text/html`` the last result (shown by viewers that do not run widgets)."""
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = widget_html(self._gallery.result, self.model_id)
        return bundle

    def _ipython_display_(self) -> None:
        """Display the widget, and beside it its static copy (hidden while the widget shows; see `fallback`)."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[no-untyped-call]
        handle = display(self._fallback_bundle(), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        if handle is not None:
            self._fallbacks.append(handle)

    def _fallback_bundle(self) -> dict[str, str]:
        result = self._gallery.result
        return {"text/html": companion_html(result, self.model_id), "text/plain": fallback_text(result)}

    def _update_fallback(self) -> None:
        for handle in self._fallbacks:
            handle.update(self._fallback_bundle(), raw=True)

    # -- life cycle ------------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this panel is closed; make a new SeedreamPanel")

    def close(self) -> None:
        """Cancel any run in flight and close the panel and all its widgets (its own client after the run)."""
        if self._closed:
            return
        self._closed = True
        job = self._job
        if job is not None:
            job.cancel(wait=False)
            job.add_done_callback(lambda _: self._release())
        self._release()
        for widget in list(descendants(self))[1:]:  # (itself first)
            widget.close()
        super().close()

    def _release(self) -> None:
        """Close a client of the panel's own once the panel is closed and nothing of it still uses the client
        (a run's cleanup, the cancel request; a schema being read): a request after that would open a new pool."""
        if self._closed and self._owns_client and not self._pending and (self._job is None or self._job.done()):
            self.client.close()

    def __repr__(self) -> str:
        state = "running" if self.running else ("ready" if self.value is not None else "incomplete")
        return f"<SeedreamPanel {state}, {self.model}, {len(self._history)} runs, client={self.client!r}>"
