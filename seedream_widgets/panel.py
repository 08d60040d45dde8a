"""`SeedreamPanel`: the ipywidgets panel for exploring prompts and editing images iteratively.

>>> from seedream_widgets import SeedreamPanel
>>> panel = SeedreamPanel(prompt="a red fox in the snow", size="1K")   # doctest: +SKIP
>>> panel                                                               # doctest: +SKIP

Stock ipywidgets 8 only (no front-end code of its own), so it works in
JupyterLab, Notebook 7, VS Code, Colab and Voila. The panel is thin: its
controls are generated from the schema's field table (`schema.FIELDS`), the
input is built and validated by the client (`Seedream.build_input`, whose
`ValidationError` supplies every message), and the engine does all network and
file work. The panel only translates between widgets and `SeedreamInput`.

Decisions worth knowing:

- **What goes into the payload.** The prompt, the input images, and every
  setting whose control differs from the model's default, except settings that
  would be ignored (width/height unless size is custom, aspect ratio when it is,
  max images unless sequential generation is auto). So the payload is a pure
  function of what the controls show, the service's defaults apply to the rest
  (model versions differ, see `seedream_widgets.schema`), and the "Request
  preview" shows exactly what is sent.
- **Threads.** A click hands the generation to the engine loop
  (`engine_loop().submit`) and returns at once, so the kernel stays free and
  callbacks on a kernel subshell thread never block. Progress updates set widget
  traits from the engine thread; nothing prints or displays from there.
  `on_result` callbacks run on a worker thread (so they may call the sync client).
- **The token** never becomes a widget value: there is no token field. Set
  ``SEEDREAM_API_TOKEN`` (or ``REPLICATE_API_TOKEN``) or pass
  ``client=Seedream(token=...)``. The curl/Python views reference the variable.
- **Widget state holds thumbnails only** (at most 512 px JPEG data URIs). The
  full-size input images live in Python only; uploads are cleared from the
  `FileUpload` as soon as they are read; outputs are linked from the local
  files the engine stored, by paths relative to the kernel's folder, inside
  `Output` widgets so the notebook's rendermime resolves them (JupyterLab and
  Notebook 7: "open full size" opens the file in a tab, "download" downloads it;
  elsewhere the thumbnails and the "saved in" folder still show).
- **Re-running the cell** that made a panel closes the old panel (cancelling its
  run): panels are registered by the front end's ``cellId`` (sent by JupyterLab,
  Notebook 7 and VS Code) and the request that made them. ``panel.close()`` also
  cancels; so does ``panel.cancel()``, without closing.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import io
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import ipywidgets as widgets
import traitlets

from . import protocol, snippets
from .client import Seedream, Update
from .config import DEFAULT_MODEL
from .display import error_html, esc, status_html, thumbnail_data_uri
from .engine import engine_loop
from .errors import InvalidField, PredictionError, SeedreamError, ValidationError
from .images import MAX_INPUT_BYTES, describe_uri, thumbnail, to_image_uri
from .prediction import Prediction
from .result import Result
from .schema import (
    FIELD,
    FIELDS,
    MAX_INPUT_IMAGES,
    MAX_TOTAL_IMAGES,
    FieldSpec,
    SeedreamInput,
    check_payload,
    output_pixels,
)

__all__ = ["SeedreamPanel"]

log = logging.getLogger("seedream_widgets")

GALLERY_PX = 512
"""Largest side of a gallery thumbnail kept in widget state."""
INPUT_PX = 192
"""Largest side of an input-image thumbnail kept in widget state."""
HISTORY_PX = 96

_FONT = "font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 12px; line-height: 1.45;"
"""Inline style of the panel's text (an HTML widget's own line height is a whole widget row)."""
_MUTED = "color: var(--jp-ui-font-color2, #666);"
_MONO = "font-family: var(--jp-code-font-family, monospace); font-size: 11px; white-space: pre-wrap;"
_NOTE = "color: var(--jp-ui-font-color2, #666); white-space: nowrap;"
_LABEL_WIDTH = "120px"

_LABELS = {
    "sequential_image_generation": "Sequential",
    "max_images": "Max images",
    "aspect_ratio": "Aspect ratio",
    "enhance_prompt": "Enhance prompt",
    "image_input": "Input images",
}
"""Short display labels; the tooltip of each control carries the schema's help."""

_ACTIVE_WHEN: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "aspect_ratio": lambda v: v.get("size") != "custom",
    "width": lambda v: v.get("size") == "custom",
    "height": lambda v: v.get("size") == "custom",
    "max_images": lambda v: v.get("sequential_image_generation") == "auto",
}
"""When a setting takes effect; an inactive control is disabled and left out of the payload."""

_INACTIVE_NOTE = {
    "aspect_ratio": "ignored with a custom size",
    "width": "only for a custom size",
    "height": "only for a custom size",
    "max_images": "only when Sequential is auto",
}


def _label(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " ").capitalize())


# -- input images ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _InputImage:
    """One input image: what is sent (Python side only) and what the widgets show."""

    uri: str
    """An http(s) URL or a data URI of the original: never put into widget state."""
    label: str
    preview: str
    """``src`` of the shown thumbnail: a small JPEG data URI, or the http(s) URL itself."""
    short: str
    """How the request preview shows it (data URIs shortened to type, size and hash)."""
    aspect: float | None = None
    """width / height of the original, when known (for ``match_input_image``)."""
    origin: str = ""
    """The path or URL it came from, for the "copy as Python" view ("" for uploads and bytes)."""


def _input_from(source: Any, label: str) -> _InputImage:
    """An input image from anything `to_image_uri` accepts; raises `ValidationError` with its message."""
    uri = to_image_uri(source)
    if not uri.startswith("data:"):
        return _InputImage(uri, label, uri, uri, origin=uri)
    path = getattr(source, "path", source)
    origin = str(path) if isinstance(path, (str, Path)) and not str(path).startswith("data:") else ""
    data = base64.b64decode(uri.partition(",")[2])
    preview, aspect = _preview(data)
    return _InputImage(uri, label, preview, describe_uri(uri), aspect, origin)


def _preview(data: bytes) -> tuple[str, float | None]:
    """A small JPEG data URI of image bytes, and their aspect ratio."""
    from PIL import Image

    try:
        # PIL opens file objects as well as paths; `thumbnail` is typed for paths.
        thumb, mime = thumbnail(cast(Path, io.BytesIO(data)), max_px=INPUT_PX)
        with Image.open(io.BytesIO(data)) as original:
            width, height = original.size
    except Exception as exc:
        raise ValidationError([InvalidField("image_input", f"could not read the image ({exc})", "format", None,
                                            FIELD["image_input"].allowed)]) from None
    return f"data:{mime};base64,{base64.b64encode(thumb).decode('ascii')}", width / height if height else None


# -- runs and history ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Run:
    """One generation started by this panel (its state lives on the engine thread)."""

    number: int
    input: SeedreamInput
    settings: dict[str, Any]
    inputs: tuple[_InputImage, ...]
    started: float = field(default_factory=time.monotonic)
    future: concurrent.futures.Future[Result] | None = None
    task: asyncio.Task[Any] | None = None
    prediction: Prediction | None = None
    images: tuple[Path, ...] = ()
    progress: dict[Path, str] = field(default_factory=dict)
    cells: dict[Path, tuple[int, Any]] = field(default_factory=dict)
    """The gallery cell shown for each image while the run saves them, with its position."""
    pending: set[asyncio.Future[None]] = field(default_factory=set)
    canceling: bool = False
    ended: bool = False


@dataclass(frozen=True)
class _HistoryEntry:
    number: int
    result: Result
    settings: dict[str, Any]
    inputs: tuple[_InputImage, ...]
    thumbs: tuple[str, ...]
    """Gallery thumbnails (data URIs), kept so a restore needs no disk read."""
    icon: str


# -- cells that made panels (re-running a cell closes its old panels) ------------------------------

_LIVE: dict[str, tuple[str, weakref.WeakSet[SeedreamPanel]]] = {}
_LIVE_LOCK = threading.Lock()


def _cell_identity() -> tuple[str, str] | None:
    """(cellId, request id) of the cell being executed, when the front end sends a cellId."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    try:
        parent = get_parent("shell") or {}
    except Exception:
        return None
    header, metadata = parent.get("header") or {}, parent.get("metadata") or {}
    cell_id, msg_id = metadata.get("cellId"), header.get("msg_id")
    if header.get("msg_type") != "execute_request" or not cell_id or not msg_id:
        return None
    return str(cell_id), str(msg_id)


def _register(panel: SeedreamPanel, identity: tuple[str, str] | None) -> None:
    if identity is None:
        return
    cell, request = identity
    with _LIVE_LOCK:
        previous = _LIVE.get(cell)
        if previous is None or previous[0] != request:
            stale = list(previous[1]) if previous else []
            _LIVE[cell] = (request, weakref.WeakSet())
        else:
            stale = []
        _LIVE[cell][1].add(panel)
    for old in stale:
        old.close()


def _descendants(widget: Any) -> Iterator[Any]:
    """Every widget reachable from ``widget`` through its traits (children, layout, style), itself first."""
    seen: set[int] = set()
    todo = [widget]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for name in current.keys:
            value = getattr(current, name, None)
            items = value if isinstance(value, (tuple, list)) else (value,)
            todo.extend(item for item in items if isinstance(item, widgets.Widget))


# -- the panel ---------------------------------------------------------------------------------------


class SeedreamPanel(widgets.VBox):  # type: ignore[misc]
    """Prompt, every model control, input images, Generate / Cancel, status, gallery and history.

    >>> panel = SeedreamPanel(prompt="a lighthouse at dusk", size="1K", aspect_ratio="16:9")  # doctest: +SKIP
    >>> panel                      # shows the widget                                          # doctest: +SKIP
    >>> future = panel.generate()  # like clicking Generate; returns at once                   # doctest: +SKIP
    >>> future.result().paths      # (blocking) the stored images                              # doctest: +SKIP

    ``client`` defaults to ``Seedream(output_dir=output_dir)`` (demo backend when no
    token is set); keyword ``fields`` preset any model field by its schema name
    (``image_input`` takes paths, URLs, bytes, PIL images or a `Result`).
    ``panel.value`` is the current `SeedreamInput` (None while invalid, with the
    reasons in ``panel.problems``), ``panel.result`` the latest `Result`;
    ``panel.on_result(callback)`` runs ``callback(result)`` after each run.
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
        images = fields.pop("image_input", None)
        if images is None:
            images = []
        elif isinstance(images, (str, bytes, Path)) or not isinstance(images, Sequence):
            images = [images]  # one image is fine without a list, as in Seedream.generate
        presets = tuple(_input_from(item, _source_label(item)) for item in images)  # raises with the reason
        given = {k: v for k, v in fields.items() if k != "prompt" or v}
        if presets:
            given["image_input"] = [image.uri for image in presets]
        problems = check_payload({"prompt": "-", **given}, ignore_unknown=False)
        if problems:
            raise ValidationError(problems)
        self._owns_client = client is None
        self.client: Seedream = client if client is not None else Seedream(
            output_dir=None if output_dir is None else Path(output_dir))
        self._demo = self.client.settings.demo
        self._lock = threading.RLock()
        self._inputs: tuple[_InputImage, ...] = ()
        self._run: _Run | None = None
        self._history: list[_HistoryEntry] = []
        self._callbacks: list[Callable[[Result], Any]] = []
        self._batch = 0

        self.controls: dict[str, Any] = {}
        """The control of each model field by schema name (``image_input`` is the image section)."""
        self._notes: dict[str, Any] = {}
        for spec in FIELDS:
            if spec.kind != "uris":
                self.controls[spec.name] = self._make_control(spec)
        self._build_image_section()
        self._build_actions()
        self._build_results()
        super().__init__(children=self._layout(), layout=widgets.Layout(width="100%", padding="4px"))
        self.add_class("seedream-panel")

        with self._batched():
            self._set_inputs(presets)
            for name, value in fields.items():
                self.controls[name].value = value
        for control in self.controls.values():
            control.observe(self._on_control, names="value")
        self._closed = False
        _register(self, _cell_identity())

    # -- building the widgets ----------------------------------------------------------------

    def _make_control(self, spec: FieldSpec) -> Any:
        """The widget for one field of the table, from its kind, choices, bounds, default and help.

        Labels are separate (see `_row`), so every row lines up whatever the widget type.
        """
        common: dict[str, Any] = {"tooltip": spec.help}
        if spec.kind == "str":
            return widgets.Textarea(
                value="", placeholder=f"{spec.help} (required)", rows=4, continuous_update=True,
                layout=widgets.Layout(width="100%", height="88px"), **common)
        if spec.kind == "enum":
            options = [(choice.replace("_", " "), choice) for choice in spec.choices]
            if len(spec.choices) <= 4:
                width = f"{24 + 8 * max(len(label) for label, _ in options)}px"
                return widgets.ToggleButtons(options=options, value=spec.default,
                                             tooltips=[spec.help] * len(options), style={"button_width": width},
                                             layout=widgets.Layout(width="auto", flex="0 0 auto"), **common)
            return widgets.Dropdown(options=options, value=spec.default, layout=widgets.Layout(width="200px"),
                                    **common)
        if spec.kind == "int":
            assert spec.low is not None and spec.high is not None
            if spec.high - spec.low <= 50:
                return widgets.IntSlider(value=spec.default, min=spec.low, max=spec.high,
                                         layout=widgets.Layout(width="260px"), **common)
            return widgets.IntText(value=spec.default, layout=widgets.Layout(width="110px"), **common)
        if spec.kind == "bool":
            return widgets.Checkbox(value=spec.default, indent=False, layout=widgets.Layout(width="auto"),
                                    **common)
        raise AssertionError(f"no control for field kind {spec.kind!r}")  # pragma: no cover

    def _row(self, spec: FieldSpec) -> Any:
        """``label | control | note`` for one setting; the label carries the schema's help as its tooltip."""
        label = widgets.HTML(
            f'<div style="{_FONT}font-size:13px;text-align:right;padding-right:10px" title="{esc(spec.help)}">'
            f'{esc(_label(spec.name))}</div>', layout=widgets.Layout(width=_LABEL_WIDTH, min_width=_LABEL_WIDTH))
        note = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px", flex="0 1 auto"))
        self._notes[spec.name] = note
        return widgets.HBox([label, self.controls[spec.name], note], layout=widgets.Layout(align_items="center"))

    def _build_image_section(self) -> None:
        spec = FIELD["image_input"]
        self.uploader = widgets.FileUpload(accept="image/*", multiple=True, description="Upload",
                                           tooltip=f"{spec.help} At most {MAX_INPUT_BYTES // 2**20} MB each.",
                                           layout=widgets.Layout(width="110px"))
        self.uploader.observe(self._on_upload, names="value")
        self.url_box = widgets.Text(placeholder="https://… image URL, or a file path",
                                    layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="120px"))
        self.add_url_button = widgets.Button(description="Add", icon="plus", tooltip="Add this image as an input",
                                             layout=widgets.Layout(width="70px"))
        self.add_url_button.on_click(lambda _: self.add_input(self.url_box.value))
        self._inputs_title = widgets.HTML()
        self._inputs_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._notice = widgets.HTML()

    def _build_actions(self) -> None:
        self.generate_button = widgets.Button(description="Generate", button_style="primary", icon="play",
                                              tooltip="Start a generation (the kernel stays free)",
                                              layout=widgets.Layout(width="120px"))
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Cancel the running generation on the service",
                                            layout=widgets.Layout(width="100px"))
        self.generate_button.on_click(lambda _: self.generate())
        self.cancel_button.on_click(lambda _: self.cancel())
        self._reason = widgets.HTML()
        self._problems_box = widgets.HTML()
        self._payload_view = widgets.HTML()
        self._curl_view = widgets.HTML()
        self._python_view = widgets.HTML()
        tab = widgets.Tab(children=[self._payload_view, self._curl_view, self._python_view],
                          layout=widgets.Layout(width="100%"))
        tab.titles = ("JSON payload", "curl", "Python")
        self._preview = widgets.Accordion(children=[tab], selected_index=None)
        self._preview.titles = ("Request preview",)

    def _build_results(self) -> None:
        settings = self.client.settings
        if self._demo:
            badge = ('<span style="background:#b45309;color:white;border-radius:3px;padding:1px 6px;'
                     'font-weight:600">DEMO</span>'
                     f' <span style="{_MUTED}">local demo backend, nothing is billed · set SEEDREAM_API_TOKEN '
                     'for the real service</span>')
        else:
            badge = ('<span style="background:#1d4ed8;color:white;border-radius:3px;padding:1px 6px;'
                     f'font-weight:600">{esc(settings.model)}</span>'
                     f' <span style="{_MUTED}">{esc(settings.public_base_url)}</span>')
        title = (f'<div style="{_FONT}display:flex;align-items:center;gap:8px" '
                 f'title="Output folder: {esc(settings.output_dir)}">'
                 f'<b style="font-size:14px">Seedream 4</b>{badge}</div>')
        self.badge = widgets.HTML(title)
        self.status = widgets.HTML(self._status_box(
            f'<span style="{_MUTED}">Ready. Images appear here; every run is saved in '
            f'{esc(_shown_path(settings.output_dir))}.</span>'))
        self.error = widgets.HTML()
        self._gallery_title = widgets.HTML()
        self.gallery = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self._history_title = widgets.HTML()
        self.history = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))

    def _layout(self) -> list[Any]:
        c = self.controls
        settings = [self._row(spec) for spec in FIELDS if spec.kind not in ("str", "uris")]
        left = widgets.VBox(
            [c["prompt"], *settings,
             self._section("Input images", self._inputs_title),
             widgets.HBox([self.uploader, self.url_box, self.add_url_button],
                          layout=widgets.Layout(width="100%", align_items="center")),
             self._notice, self._inputs_box,
             widgets.HBox([self.generate_button, self.cancel_button, self._reason],
                          layout=widgets.Layout(align_items="center", margin="10px 0 4px 0")),
             self._problems_box, self._preview],
            layout=widgets.Layout(flex="1 1 440px", min_width="340px", padding="0 12px 0 0"))
        right = widgets.VBox(
            [self.status, self.error, self._gallery_title, self.gallery, self._history_title, self.history],
            layout=widgets.Layout(flex="1 1 440px", min_width="300px", padding="0 0 0 12px",
                                  border_left="1px solid var(--jp-border-color2, #ddd)"))
        body = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap", width="100%",
                                                                  align_items="flex-start"))
        return [self.badge, body]

    def _section(self, title: str, extra: Any) -> Any:
        head = widgets.HTML(f'<div style="{_FONT}font-weight:600;margin:8px 8px 0 0">{esc(title)}</div>')
        return widgets.HBox([head, extra], layout=widgets.Layout(align_items="baseline"))

    # -- state: controls -> SeedreamInput -------------------------------------------------------

    def _field_values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def _payload_fields(self) -> tuple[str, dict[str, Any]]:
        """(prompt, fields): settings that differ from the defaults and take effect, plus input images."""
        values = self._field_values()
        prompt = values.pop("prompt")
        chosen: dict[str, Any] = {}
        for spec in FIELDS:
            if spec.name in values and self._is_active(spec.name, values) and values[spec.name] != spec.default:
                chosen[spec.name] = values[spec.name]
        if self._inputs:
            chosen["image_input"] = [image.uri for image in self._inputs]
        return prompt, chosen

    @staticmethod
    def _is_active(name: str, values: Mapping[str, Any]) -> bool:
        rule = _ACTIVE_WHEN.get(name)
        return rule is None or rule(values)

    @property
    def input(self) -> SeedreamInput:
        """The current `SeedreamInput`; raises `ValidationError` (naming every field) while invalid."""
        prompt, chosen = self._payload_fields()
        return self.client.build_input(prompt, **chosen)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input images as sent (URLs and data URIs), in order."""
        return tuple(image.uri for image in self._inputs)

    @contextlib.contextmanager
    def _batched(self) -> Iterator[None]:
        """Change many controls, then refresh once."""
        with self._lock:
            self._batch += 1
            try:
                yield
            finally:
                self._batch -= 1
            if self._batch == 0:
                self._refresh()

    def _on_control(self, change: Mapping[str, Any]) -> None:
        with self._lock:
            if self._batch == 0:
                self._refresh()

    def _refresh(self) -> None:
        """Recompute everything derived from the controls: enabled states, value, problems, preview."""
        with self._lock:
            values = self._field_values()
            for name, control in self.controls.items():
                active = self._is_active(name, values)
                control.disabled = not active
                note = self._notes.get(name)
                if note is not None:
                    note.value = "" if active else f'<span style="{_FONT}{_NOTE}">{_INACTIVE_NOTE[name]}</span>'
            slider = self.controls["max_images"]
            slider.max = max(slider.min, MAX_TOTAL_IMAGES - len(self._inputs))  # clamps the value too
            # The output size goes next to the control that decides the shape.
            shape = "height" if values["size"] == "custom" else "aspect_ratio"
            self._notes[shape].value = f'<span style="{_FONT}{_NOTE}">{esc(self._pixels_text(values))}</span>'
            full = len(self._inputs) >= MAX_INPUT_IMAGES
            for w in (self.uploader, self.url_box, self.add_url_button):
                w.disabled = full
            self._inputs_title.value = (f'<span style="{_FONT}{_MUTED}">{len(self._inputs)}/{MAX_INPUT_IMAGES}'
                                        f'{" (full)" if full else ""} · inputs + max images ≤ {MAX_TOTAL_IMAGES}'
                                        '</span>')
            for cell in self.gallery.children:
                button = cell.children[-1]
                if isinstance(button, widgets.Button) and not getattr(button, "_seedream_pending", False):
                    button.disabled = full
            try:
                inp: SeedreamInput | None = self.input
                problems: tuple[InvalidField, ...] = ()
            except ValidationError as exc:
                inp, problems = None, exc.invalid_fields
            self.set_trait("problems", problems)
            self.set_trait("value", inp)
            self._show_problems(problems, values)
            self._show_preview(inp)
            self._refresh_buttons()

    def _pixels_text(self, values: Mapping[str, Any]) -> str:
        size, ratio = values["size"], values["aspect_ratio"]
        if size == "custom":
            return f"→ {values['width']}×{values['height']} px"
        aspect = self._inputs[0].aspect if self._inputs else None
        if ratio == "match_input_image" and self._inputs and aspect is None:
            return "→ shape of the first input image"
        w, h = output_pixels(size, ratio, input_aspect=aspect)
        return f"→ {w}×{h} px"

    def _show_problems(self, problems: Sequence[InvalidField], values: Mapping[str, Any]) -> None:
        only_prompt = [p.field for p in problems] == ["prompt"] and not str(values.get("prompt", "")).strip()
        if not problems or only_prompt:
            self._problems_box.value = ""
            self._reason.value = (f'<span style="{_FONT}{_MUTED}">Type a prompt to generate.</span>'
                                  if only_prompt else "")
            return
        n = len(problems)
        self._reason.value = (f'<span style="{_FONT}color:#b45309">Fix {n} field{"s" if n != 1 else ""} '
                              'to generate (see below).</span>')
        items = "".join(f"<li>{esc(p)}</li>" for p in problems)
        self._problems_box.value = (
            f'<div class="seedream-problems" style="{_FONT}border-left:3px solid #d97706;background:#fffbeb;'
            f'color:#78350f;padding:4px 10px"><b>Cannot generate yet:</b><ul style="margin:2px 0;'
            f'padding-left:18px">{items}</ul></div>')

    def _refresh_buttons(self) -> None:
        with self._lock:
            running = self.running
            self.generate_button.disabled = running or bool(self.problems)
            self.generate_button.description = "Running…" if running else "Generate"
            self.cancel_button.disabled = not running

    # -- the request preview -------------------------------------------------------------------------

    def _display_payload(self, inp: SeedreamInput) -> dict[str, Any]:
        payload = inp.to_payload()
        if "image_input" in payload:
            shorts = {image.uri: image.short for image in self._inputs}
            payload["image_input"] = [shorts.get(uri) or describe_uri(uri) for uri in payload["image_input"]]
        return payload

    def _show_preview(self, inp: SeedreamInput | None) -> None:
        if inp is None:
            message = f'<div style="{_FONT}{_MUTED}">(no valid input yet)</div>'
            self._payload_view.value = self._curl_view.value = self._python_view.value = message
            return
        payload = self._display_payload(inp)
        shortened = any(uri.startswith("data:") for uri in inp.image_input)
        note = "# data URIs shortened for display (type, size, hash)\n" if shortened else ""
        text = json.dumps({"input": payload}, indent=2, ensure_ascii=False)
        self._payload_view.value = self._pre(note + text)
        self._curl_view.value = self._pre(note + self._curl(payload))
        self._python_view.value = self._pre(self._python(inp, payload))

    def _pre(self, text: str) -> str:
        return f'<pre style="{_MONO}margin:0;max-height:260px;overflow:auto">{esc(text)}</pre>'

    def _curl(self, payload: Mapping[str, Any]) -> str:
        settings = self.client.settings
        return snippets.curl_command(settings, protocol.create_body(settings.model, payload))

    def _python(self, inp: SeedreamInput, payload: Mapping[str, Any]) -> str:
        settings = self.client.settings
        args = []
        if not settings.demo:
            args.append(f"base_url={settings.public_base_url!r}")
            if settings.model != DEFAULT_MODEL:
                args.append(f"model={settings.model!r}")
        lines = ["from seedream_widgets import Seedream", "",
                 f"client = Seedream({', '.join(args)})  "
                 + ("# no token: the local demo backend" if settings.demo else
                    "# reads SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN)"),
                 "result = client.generate(", f"    {inp.prompt!r},"]
        for name, value in payload.items():
            if name == "prompt":
                continue
            if name == "image_input":
                sources = [image.origin or image.label for image in self._inputs]
                note = ("  # uploads: use their paths" if any(not image.origin for image in self._inputs)
                        else "")
                lines.append(f"    image_input={sources!r},{note}")
            else:
                lines.append(f"    {name}={value!r},")
        lines += [")", "result.paths"]
        return "\n".join(lines)

    # -- input images ------------------------------------------------------------------------------

    def add_input(self, source: Any, label: str | None = None) -> bool:
        """Append an input image (path, http(s) URL, data URI, bytes, PIL image or `Result`).

        Returns False, with the reason shown under the images, if it cannot be used.
        """
        if isinstance(source, str):
            source = source.strip()
            if not source:
                self._say("Type an image URL or a file path first.")
                return False
        added = self._add_inputs([(source, label or _source_label(source))])
        if added and source == self.url_box.value.strip():
            self.url_box.value = ""
        return bool(added)

    def _add_inputs(self, items: Iterable[tuple[Any, str]], messages: Sequence[str] = ()) -> int:
        """Add what can be added; say why the rest could not (plus ``messages``) under the images."""
        messages = list(messages)
        new: list[_InputImage] = []
        with self._lock:
            room = MAX_INPUT_IMAGES - len(self._inputs)
            skipped: list[str] = []
            for source, label in items:
                if len(new) >= room:
                    skipped.append(label)
                    continue
                try:
                    new.append(_input_from(source, label))
                except ValidationError as exc:
                    messages.append(f"{label}: " + "; ".join(p.description for p in exc.invalid_fields))
            if skipped:
                messages.append(f"At most {MAX_INPUT_IMAGES} input images: skipped {', '.join(skipped)}.")
            if new:
                self._set_inputs(self._inputs + tuple(new))
            self._say(" ".join(messages))
        return len(new)

    def remove_input(self, index: int) -> None:
        """Remove the input image at ``index``."""
        with self._lock:
            inputs = list(self._inputs)
            del inputs[index]
            self._set_inputs(tuple(inputs))

    def clear_inputs(self) -> None:
        self._set_inputs(())

    def _set_inputs(self, inputs: tuple[_InputImage, ...]) -> None:
        with self._lock:
            self._inputs = inputs
            old = self._inputs_box.children
            self._inputs_box.children = [self._input_cell(i, image) for i, image in enumerate(inputs)]
            _close_all(old)
            if self._batch == 0:
                self._refresh()

    def _input_cell(self, index: int, image: _InputImage) -> Any:
        label = image.label if len(image.label) <= 18 else image.label[:8] + "…" + image.label[-9:]
        picture = widgets.HTML(
            f'<div class="seedream-input" style="{_FONT}width:96px;text-align:center" title="{esc(image.label)}">'
            f'<img src="{esc(image.preview)}" alt="{esc(image.label)}" style="max-width:96px;max-height:96px;'
            f'border-radius:3px;display:block;margin:auto"/><div style="{_MUTED}overflow:hidden;'
            f'white-space:nowrap">{esc(label)}</div></div>')
        remove = widgets.Button(description="Remove", icon="times", tooltip=f"Remove {image.label}",
                                layout=widgets.Layout(width="96px", height="26px"))
        remove.on_click(lambda _, i=index: self.remove_input(i))
        cell = widgets.VBox([picture, remove], layout=widgets.Layout(width="100px", align_items="center",
                                                                    margin="0 6px 6px 0"))
        cell.add_class("seedream-input-cell")
        return cell

    def _on_upload(self, change: Mapping[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        items: list[tuple[Any, str]] = []
        too_big: list[str] = []
        for item in files:
            name = str(item.get("name") or "upload")
            content = item.get("content") or b""
            size = len(content)
            if size > MAX_INPUT_BYTES:
                too_big.append(f"{name} ({size / 2**20:.1f} MB)")
                continue
            items.append((bytes(content), name))
        # The uploaded originals must not stay in widget state (it is saved into the notebook).
        self.uploader.value = ()
        messages = []
        if too_big:
            messages.append(f"Too large: {', '.join(too_big)}. Images over {MAX_INPUT_BYTES // 2**20} MB can "
                            "fail over the notebook's connection; resize them, or host them and add the URL.")
        self._add_inputs(items, messages)

    def _say(self, message: str) -> None:
        self._notice.value = (f'<div class="seedream-notice" style="{_FONT}color:#92400e">{esc(message)}</div>'
                              if message else "")

    def use_as_input(self, path: str | os.PathLike[str]) -> bool:
        """Append a stored output image as an input (the iterative editing loop)."""
        return self.add_input(Path(path), Path(path).name)

    # -- generate and cancel -------------------------------------------------------------------------

    def generate(self) -> concurrent.futures.Future[Result]:
        """Start a generation with the current settings, like clicking Generate; returns at once.

        The returned future resolves to the `Result` once the gallery shows it
        (or raises the run's `SeedreamError`; it is cancelled by `cancel`).
        While a run is in flight this returns that run's future.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("this panel is closed; make a new SeedreamPanel")
            if self._run is not None and not self._run.ended and self._run.future is not None:
                return self._run.future
            try:
                inp = self.input
            except ValidationError as exc:
                failed: concurrent.futures.Future[Result] = concurrent.futures.Future()
                failed.set_exception(exc)
                self._refresh()
                return failed
            run = _Run(number=len(self._history) + 1, input=inp, settings=self._field_values(), inputs=self._inputs)
            self._run = run
            self.set_trait("running", True)
            self.error.value = ""
            self._show_status(run)
            self._refresh_buttons()
            future = engine_loop().submit(self._drive(run))
            run.future = future
            future.add_done_callback(lambda f: self._on_future_done(run, f))
            return future

    def cancel(self) -> None:
        """Cancel the run in flight (the service gets a cancel request); returns at once."""
        with self._lock:
            run = self._run
            if run is None or run.ended or run.future is None:
                return
            run.canceling = True
            self._show_status(run)
            run.future.cancel()

    def _on_future_done(self, run: _Run, future: concurrent.futures.Future[Result]) -> None:
        if future.cancelled():
            # If the coroutine never started (cancelled at once), nothing else will end the run.
            engine_loop().call_soon(lambda: None if run.task is not None else self._end(run, canceled=True))

    async def _drive(self, run: _Run) -> Result:
        """The run, on the engine loop: generate, keep the status ticking, fill the gallery."""
        run.task = asyncio.current_task()
        ticker = asyncio.ensure_future(self._tick(run))
        try:
            result = await self.client.core.generate(run.input, on_update=lambda u: self._on_update(run, u))
            thumbs = await asyncio.gather(
                *(asyncio.to_thread(thumbnail_data_uri, path, GALLERY_PX) for path in result.paths),
                asyncio.to_thread(_first_thumb, result.paths, HISTORY_PX), return_exceptions=True)
        except asyncio.CancelledError:
            self._end(run, canceled=True)
            raise
        except BaseException as exc:
            self._end(run, error=exc)
            raise
        finally:
            ticker.cancel()
        self._end(run, result=result, thumbs=[t if isinstance(t, str) else "" for t in thumbs])
        for callback in list(self._callbacks):
            try:
                await asyncio.get_running_loop().run_in_executor(None, callback, result)
            except Exception as exc:
                log.exception("on_result callback %r failed", callback)
                self.error.value = error_html(RuntimeError(f"on_result callback {callback!r} failed: {exc}"))
        return result

    async def _tick(self, run: _Run) -> None:
        while not run.ended:
            self._show_status(run)
            await asyncio.sleep(0.5)

    def _on_update(self, run: _Run, update: Update) -> None:
        """Progress from the engine (on the engine thread): status, and images as they are saved."""
        run.prediction, run.images = update.prediction, update.images
        self._show_status(run)
        if update.event == "image" and update.image is not None:
            task = asyncio.ensure_future(self._progress_thumb(run, update.image.path))
            run.pending.add(task)  # keep a reference until it is done
            task.add_done_callback(run.pending.discard)

    async def _progress_thumb(self, run: _Run, path: Path) -> None:
        try:
            run.progress[path] = await asyncio.to_thread(thumbnail_data_uri, path, GALLERY_PX)
        except OSError:  # moved into the run folder meanwhile: the final gallery shows it
            return
        with self._lock:
            if run.ended or self._run is not run:
                return
            # Only a new image (or one whose position moved) gets a new cell: a saved notebook keeps the
            # state of every widget ever shown (nbclient drops none when closed), so rebuilding all cells
            # on each image carried 1 + 2 + ... + n thumbnails of a set (2 MB for 8 images of 2K).
            for i, p in enumerate(run.images, 1):
                if p in run.progress and run.cells.get(p, (0, None))[0] != i:
                    run.cells[p] = (i, self._gallery_cell(p, run.progress[p], i, run.input.expected_images,
                                                          None, pending=True))
            cells = [run.cells[p][1] for p in run.images if p in run.cells]
            self._gallery_title.value = self._heading(f"Run #{run.number} · saving images…")
            old = [c for c in self.gallery.children if not any(c is cell for cell in cells)]
            self.gallery.children = cells
            _close_all(old)

    def _show_status(self, run: _Run) -> None:
        if run.ended:
            return
        elapsed = time.monotonic() - run.started
        tail = run.prediction.log_tail(4).splitlines()[:-1] if run.prediction else []  # the last is in the line
        self.status.value = self._status_box(status_html(run.prediction, elapsed, len(run.images)),
                                             "canceling…" if run.canceling else "", log="\n".join(tail))

    @staticmethod
    def _status_box(status: str, *notes: str, log: str = "") -> str:
        """The engine's status line (`display.status_html`), muted notes and a log tail, readably spaced."""
        extra = "".join(f'<div style="{_MUTED}">{esc(note)}</div>' for note in notes if note)
        if log:
            extra += f'<pre style="{_MONO}{_MUTED}margin:2px 0 0 0">{esc(log)}</pre>'
        return f'<div style="{_FONT}min-height:36px">{status}{extra}</div>'

    def _end(self, run: _Run, *, result: Result | None = None, thumbs: Sequence[str] = (),
             error: BaseException | None = None, canceled: bool = False) -> None:
        """Finish a run (on the engine thread): status, error box, gallery, history, traits."""
        with self._lock:
            if run.ended:
                return
            run.ended = True
            elapsed = time.monotonic() - run.started
            if result is not None:
                size = f"{result.sizes[0][0]}×{result.sizes[0][1]} px · " if result.sizes else ""
                self.status.value = self._status_box(status_html(result.prediction, elapsed, len(result.paths)),
                                                     f"{size}saved in {_shown_path(result.folder)}")
                gallery_thumbs = tuple(thumbs[: len(result.paths)])
                entry = _HistoryEntry(run.number, result, run.settings, run.inputs, gallery_thumbs,
                                      thumbs[len(result.paths)] if len(thumbs) > len(result.paths) else "")
                self._history.append(entry)
                self._show_gallery(entry)
                self._show_history()
                self.set_trait("result", result)
            else:
                prediction = error.prediction if isinstance(error, PredictionError) else None
                prediction = prediction or run.prediction or Prediction(id="", status="starting")
                status = "canceled" if canceled else ("failed" if prediction.status not in ("canceled", "aborted")
                                                      else prediction.status)
                self.status.value = self._status_box(
                    status_html(replace(prediction, status=status), elapsed, len(run.images)))
                if error is not None:
                    shown = error if isinstance(error, SeedreamError) else RuntimeError(
                        f"unexpected {type(error).__name__}: {error}")
                    self.error.value = error_html(shown)
                if run.progress and self._run is run:  # partial images were never stored: drop them
                    self._replace(self.gallery, [])
                    self._gallery_title.value = ""
            if self._run is run:
                self.set_trait("running", False)
            self._refresh_buttons()

    # -- gallery and history -----------------------------------------------------------------------

    def _heading(self, text: str) -> str:
        return f'<div style="{_FONT}font-weight:600;margin:8px 0 4px 0">{esc(text)}</div>'

    def _show_gallery(self, entry: _HistoryEntry) -> None:
        result = entry.result
        prompt = result.prompt if len(result.prompt) <= 80 else result.prompt[:79] + "…"
        self._gallery_title.value = self._heading(f"Run #{entry.number} · {prompt}")
        cells = [self._gallery_cell(path, thumb, i, len(result.paths),
                                    result.sizes[i - 1] if i - 1 < len(result.sizes) else None)
                 for i, (path, thumb) in enumerate(zip(result.paths, entry.thumbs, strict=False), 1)]
        self._replace(self.gallery, cells)

    def _gallery_cell(self, path: Path, thumb: str, index: int, total: int, size: tuple[int, int] | None,
                      *, pending: bool = False) -> Any:
        caption = f"{index} of {total}" + (f" · {size[0]}×{size[1]}" if size else "")
        if pending:
            body = (f'<div style="{_FONT}width:220px"><img src="{thumb}" style="width:220px;border-radius:4px;'
                    f'display:block"/><div style="{_MUTED}">{esc(caption)} · saving…</div></div>')
            button = widgets.Button(description="Use as input", icon="plus", disabled=True,
                                    layout=widgets.Layout(width="220px"))
            button._seedream_pending = True
        else:
            href = esc(_relative_href(path))
            body = (f'<div class="seedream-image" style="{_FONT}width:220px">'
                    f'<a href="{href}" target="_blank" title="Open full size: {esc(path)}">'
                    f'<img src="{thumb}" alt="{esc(caption)}" style="width:220px;border-radius:4px;display:block"/>'
                    f'</a><div style="{_MUTED}margin-top:2px">{esc(caption)}</div>'
                    f'<div><a href="{href}" target="_blank">open full size</a> · '
                    f'<a href="{href}" download="{esc(path.name)}">download</a></div></div>')
            button = widgets.Button(description="Use as input", icon="plus",
                                    tooltip="Append this image to the input images (edit it next)",
                                    disabled=len(self._inputs) >= MAX_INPUT_IMAGES,
                                    layout=widgets.Layout(width="220px"))
            button.on_click(lambda _, p=path: self.use_as_input(p))
        # An Output widget renders through the notebook's rendermime, which resolves relative links
        # to the server's files (JupyterLab, Notebook 7); an HTML widget would not.
        out = widgets.Output(layout=widgets.Layout(width="224px"))
        out.outputs = ({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": body, "text/plain": f"{caption}: {path}"}},)
        cell = widgets.VBox([out, button], layout=widgets.Layout(width="226px", margin="0 10px 10px 0"))
        cell.add_class("seedream-cell")
        return cell

    def _show_history(self) -> None:
        self._history_title.value = self._heading("History (click to restore settings, input and output images)")
        cells = []
        for entry in reversed(self._history[-50:]):
            prompt = entry.result.prompt
            icon = widgets.HTML(
                f'<img src="{entry.icon}" title="{esc(prompt)}" alt="run {entry.number}" '
                'style="width:72px;height:72px;object-fit:cover;border-radius:3px;display:block"/>')
            button = widgets.Button(description=f"#{entry.number}", icon="undo",
                                    tooltip=f"Restore run {entry.number}: {prompt[:200]}",
                                    layout=widgets.Layout(width="72px", height="26px"))
            button.on_click(lambda _, e=entry: self._restore(e))
            cells.append(widgets.VBox([icon, button], layout=widgets.Layout(width="76px", margin="0 6px 6px 0")))
        self._replace(self.history, cells)

    def restore(self, number: int) -> None:
        """Restore run ``number`` of this session (settings, input images, its gallery), like its history button."""
        for entry in self._history:
            if entry.number == number:
                self._restore(entry)
                return
        raise KeyError(f"no run #{number} in this panel's history (it has {len(self._history)})")

    def _restore(self, entry: _HistoryEntry) -> None:
        with self._batched():
            self._set_inputs(entry.inputs)
            for name, value in entry.settings.items():
                if name in self.controls:
                    self.controls[name].value = value
            self._show_gallery(entry)
            self._say("")

    @staticmethod
    def _replace(box: Any, cells: list[Any]) -> None:
        old = box.children
        box.children = cells
        _close_all(old)

    # -- life cycle and the public API ------------------------------------------------------------------

    def on_result(self, callback: Callable[[Result], Any], remove: bool = False) -> None:
        """Call ``callback(result)`` after each successful run (on a worker thread), or stop with ``remove=True``."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    @property
    def runs(self) -> list[Result]:
        """This session's results, oldest first."""
        return [entry.result for entry in self._history]

    def close(self) -> None:
        """Cancel any run in flight and close the panel and all its widgets."""
        if self._closed:
            return
        self._closed = True
        self.cancel()
        run = self._run
        if self._owns_client:
            engine_loop().submit(_close_client_after(self.client, run))
        for widget in list(_descendants(self)):
            if widget is not self:
                widget.close()
        super().close()

    def __repr__(self) -> str:
        state = "running" if self.running else ("ready" if self.value is not None else "incomplete")
        return f"<SeedreamPanel {state}, {len(self._history)} runs, client={self.client!r}>"



async def _close_client_after(client: Seedream, run: _Run | None) -> None:
    """Close a panel's own connection pool once its last run (and its cancel request) is over."""
    if run is not None and run.task is not None and not run.task.done():
        await asyncio.wait([run.task], timeout=15)
    await client.core.aclose()


def _first_thumb(paths: Sequence[Path], max_px: int) -> str:
    return thumbnail_data_uri(paths[0], max_px) if paths else ""


def _close_all(items: Iterable[Any]) -> None:
    for item in items:
        for widget in list(_descendants(item)):
            widget.close()


def _relative_href(path: Path) -> str:
    """The file as a link relative to the kernel's working folder (the notebook's, in Jupyter)."""
    try:
        relative = os.path.relpath(path, os.getcwd())
    except ValueError:  # another drive on Windows
        relative = str(path)
    return quote(Path(relative).as_posix())


def _shown_path(path: Path) -> str:
    """A path relative to the working folder when it is inside it (shorter), else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _source_label(source: Any) -> str:
    if isinstance(source, (str, Path)):
        text = str(source)
        if text.startswith("data:"):
            return "data URI"
        if text.startswith(("http://", "https://")):
            return text
        return text.replace("\\", "/").rsplit("/", 1)[-1] or text
    path = getattr(source, "path", None)
    if isinstance(path, Path):
        return path.name
    return type(source).__name__

