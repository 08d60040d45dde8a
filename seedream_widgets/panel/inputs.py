"""The input images: upload, add from a URL or a path, thumbnails with Remove, and why an image was refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ..display import COLORS, FONT, MUTED, esc, shorten
from ..models import MAX_TOTAL_IMAGES
from .layout import replace_children
from .state import UPLOAD_LIMIT, Form, InputImage


class InputsView:
    """The section's widgets (``title``, then ``parts``). It reports uploads as (bytes, name) pairs with the
    messages about files refused already, Add clicks with the URL box's text, and Remove clicks by index."""

    def __init__(self, help_text: str, *, on_files: Callable[[list[tuple[Any, str]], list[str]], Any],
                 on_add: Callable[[str], Any], on_remove: Callable[[int], Any]) -> None:
        self.uploader = widgets.FileUpload(accept="image/*", multiple=True, description="Upload",
                                           tooltip=f"{help_text} At most {UPLOAD_LIMIT // 2**20} MB each.",
                                           layout=widgets.Layout(width="110px"))
        self.url_box = widgets.Text(placeholder="https://… image URL, or a file path",
                                    layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="120px"))
        add = widgets.Button(description="Add", icon="plus", tooltip="Add this image as an input",
                             layout=widgets.Layout(width="70px"))
        self.title, self.notice = widgets.HTML(), widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.parts = [widgets.HBox([self.uploader, self.url_box, add],
                                   layout=widgets.Layout(width="100%", align_items="center")), self.notice, self.box]
        self._on_files, self._on_remove = on_files, on_remove
        self._shown: tuple[InputImage, ...] = ()
        self.uploader.observe(self._upload, names="value")
        add.on_click(lambda _: on_add(self.url_box.value))

    def show(self, form: Form) -> None:
        full = form.room == 0
        for widget in self.parts[0].children:
            widget.disabled = full
        self.title.value = (f'<span style="{FONT}{MUTED}">{len(form.inputs)}/{form.max_inputs}{" (full)" * full}'
                            f' · inputs + max images ≤ {MAX_TOTAL_IMAGES}</span>')
        if form.inputs is not self._shown:  # new cells only when the images changed, not on every keystroke
            self._shown = form.inputs
            replace_children(self.box, [self._cell(i, image) for i, image in enumerate(form.inputs)])

    def say(self, message: str) -> None:
        self.notice.value = (f'<div class="seedream-notice" style="{FONT}color:{COLORS["warn"]}">{esc(message)}</div>'
                             if message else "")

    def _cell(self, index: int, image: InputImage) -> Any:
        picture = widgets.HTML(
            f'<div class="seedream-input" style="{FONT}width:96px;text-align:center" title="{esc(image.label)}">'
            f'<img src="{esc(image.preview)}" alt="{esc(image.label)}" style="max-width:96px;max-height:96px;'
            f'border-radius:3px;display:block;margin:auto"/><div style="{MUTED}overflow:hidden;'
            f'white-space:nowrap">{esc(shorten(image.label, 18))}</div></div>')
        remove = widgets.Button(description="Remove", icon="times", tooltip=f"Remove {image.label}",
                                layout=widgets.Layout(width="96px", height="26px"))
        remove.on_click(lambda _: self._on_remove(index))
        cell = widgets.VBox([picture, remove], layout=widgets.Layout(width="100px", align_items="center",
                                                                    margin="0 6px 6px 0"))
        cell.add_class("seedream-input-cell")
        return cell

    def _upload(self, change: Mapping[str, Any]) -> None:
        files: Sequence[Mapping[str, Any]] = change["new"]
        if not files:
            return
        items, too_big = [], []
        for item in files:
            name, content = str(item.get("name") or "upload"), item.get("content") or b""
            if len(content) > UPLOAD_LIMIT:
                too_big.append(f"{name} ({len(content) / 2**20:.1f} MB)")
            else:
                items.append((bytes(content), name))
        self.uploader.value = ()  # the originals must not stay in widget state: it is saved into the notebook
        self._on_files(items, [f"Too large: {', '.join(too_big)}. Images over {UPLOAD_LIMIT // 2**20} MB can fail over "
                               "the notebook's connection; resize them, or host them and add the URL."] * bool(too_big))
