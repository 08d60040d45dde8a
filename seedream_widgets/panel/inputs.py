"""The input images: upload, drop or paste, add from a URL or a path (Enter adds it), thumbnails to reorder or
remove, notices."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..display import COLORS, FONT, MUTED, esc, shorten
from ..errors import ValidationError
from ..frontend import DropZone
from ..models import MAX_TOTAL_IMAGES
from .base import PanelBase
from .layout import notice_html, replace_children
from .restore import image_record
from .state import UPLOAD_LIMIT, Form, InputImage, load_image, refusal, source_label

_EPOCH = datetime.fromtimestamp(0, timezone.utc)
def sets_shape(form: Form) -> bool:
    """The first input image decides the output's shape (aspect ratio match_input_image, in effect)."""
    return bool(form.inputs) and form.values.get("aspect_ratio") == "match_input_image" \
        and form.active.get("aspect_ratio", False)


class InputsView:
    """The section's widgets (``title``, then ``parts``). It reports uploads, drops and pastes as (bytes, name)
    pairs with the messages about files refused already, URLs (Add, or Enter in the box), and Remove / move
    clicks by index. ``drop`` (a `frontend.DropZone`) also reports Ctrl+Enter to ``on_submit``."""

    def __init__(self, help_text: str, *, on_files: Callable[[list[tuple[Any, str]], list[str]], Any],
                 on_add: Callable[[str], Any], on_remove: Callable[[int], Any],
                 on_move: Callable[[int, int], Any], on_submit: Callable[[], Any]) -> None:
        self.uploader = widgets.FileUpload(accept="image/*", multiple=True, description="Upload",
                                           tooltip=f"{help_text} At most {UPLOAD_LIMIT // 2**20} MB each.",
                                           layout=widgets.Layout(width="110px", flex="0 0 auto"))
        self.url_box = widgets.Text(placeholder="https://… image URL, or a file path (Enter adds it)",
                                    continuous_update=False,  # its value arrives on Enter (or leaving the box)
                                    layout=widgets.Layout(flex="1 1 160px", width="auto", min_width="120px"))
        add = widgets.Button(description="Add", icon="plus", tooltip="Add this image as an input",
                             layout=widgets.Layout(width="70px", flex="0 0 auto"))
        self.title, self.notice, self.hint = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        row = widgets.HBox([self.uploader, self.url_box, add], layout=widgets.Layout(
            width="100%", align_items="center", flex_flow="row wrap"))
        self.drop = DropZone(label="Drop or paste images here", layout=widgets.Layout(width="100%"))
        self.drop.on_files(lambda files: on_files([(f.data, f.name) for f in files], []))
        self.drop.on_submit(on_submit)
        self.parts = [row, self.drop, self.notice, self.hint, self.box]
        self._on_files, self._on_add, self._on_remove, self._on_move = on_files, on_add, on_remove, on_move
        self._shown: tuple[Any, ...] = ()
        self.uploader.observe(self._upload, names="value")
        self.url_box.observe(lambda change: change["new"].strip() and on_add(change["new"]), names="value")
        add.on_click(lambda _: self.url_box.value.strip() and on_add(self.url_box.value))

    def show(self, form: Form) -> None:
        full, first = form.room == 0, sets_shape(form)
        for widget in self.parts[0].children:
            widget.disabled = full
        self.drop.disabled = full
        self.title.value = (f'<span style="{FONT}{MUTED}">{len(form.inputs)}/{form.max_inputs}{" (full)" * full}'
                            f' · inputs + max images ≤ {MAX_TOTAL_IMAGES}</span>')
        many = len(form.inputs) > 1
        self.hint.value = (f'<div class="seedream-hint" style="{FONT}{MUTED}">The first image sets the shape '
                           '(aspect ratio: match input image): move another one first to follow its shape.</div>'
                           if first and many else "")
        key = (form.inputs, first)
        if key != self._shown:  # new cells only when the images changed, not on every keystroke
            self._shown = key
            replace_children(self.box, [self._cell(i, image, len(form.inputs), first)
                                        for i, image in enumerate(form.inputs)])
            uploaded = tuple({"name": image.label, "type": "", "size": 0, "content": memoryview(b""),
                              "last_modified": _EPOCH} for image in form.inputs if image.uploaded)
            if len(uploaded) != len(self.uploader.value):  # "Upload (n)" counts the uploaded images still used
                self.uploader.value = uploaded

    def say(self, message: str) -> None:
        self.notice.value = notice_html(message)

    def _cell(self, index: int, image: InputImage, count: int, first: bool) -> Any:
        mark = "1st · sets the shape" if index == 0 and first else f"#{index + 1}"
        url = image.preview.startswith(("http://", "https://"))
        # The user's own URL: the kernel never fetches it, only the browser can tell it does not load; then the
        # panel's page script (`styles`) shows this note in place of a broken-image icon.
        missing = (f'<div class="seedream-input-missing" style="display:none;{MUTED}width:92px;height:72px;'
                   f'border:1px dashed {COLORS["border"]};border-radius:3px;padding:2px;overflow:hidden;'
                   'white-space:normal;font-size:11px">could not load this URL here (expired, private or not '
                   'an image)</div>') if url else ""
        picture = widgets.HTML(
            f'<div class="seedream-input" style="{FONT}width:96px;text-align:center" title="{esc(image.label)}">'
            f'<img src="{esc(image.preview)}" class="{"seedream-url-image" * url}" alt="{"(could not load)" * url}" '
            f'style="max-width:96px;max-height:96px;border-radius:3px;display:block;margin:auto;overflow:hidden;'
            f'font-size:11px"/>{missing}'
            f'<div style="{MUTED}overflow:hidden;white-space:nowrap;text-overflow:ellipsis">{esc(mark)} · '
            f'{esc(shorten(image.label, 18))}</div></div>')
        remove = widgets.Button(description="Remove", icon="times", tooltip=f"Remove {image.label}",
                                layout=widgets.Layout(width="96px", height="26px"))
        remove.on_click(lambda _: self._on_remove(index))
        earlier = widgets.Button(icon="arrow-left", tooltip="Move earlier", disabled=index == 0,
                                 layout=widgets.Layout(width="46px", height="24px"))
        later = widgets.Button(icon="arrow-right", tooltip="Move later", disabled=index == count - 1,
                               layout=widgets.Layout(width="46px", height="24px"))
        earlier.on_click(lambda _: self._on_move(index, -1))
        later.on_click(lambda _: self._on_move(index, 1))
        cell = widgets.VBox([picture, remove, widgets.HBox([earlier, later])] if count > 1 else [picture, remove],
                            layout=widgets.Layout(width="100px", align_items="center", margin="0 6px 6px 0"))
        cell.add_class("seedream-input-cell")
        return cell

    def _upload(self, change: Mapping[str, Any]) -> None:
        files: Sequence[Mapping[str, Any]] = change["new"]
        if not any(item.get("content") for item in files):
            return  # empty, or the stand-ins of images already added (set by `show`)
        items, too_big = [], []
        for item in files:
            name, content = str(item.get("name") or "upload"), item.get("content") or b""
            if len(content) > UPLOAD_LIMIT:
                too_big.append(f"{name} ({len(content) / 2**20:.1f} MB)")
            else:
                items.append((bytes(content), name))
        # The originals must not stay in widget state (it is saved into the notebook): `show` puts stand-ins back.
        self.uploader.value = ()
        self._shown = ()
        self._on_files(items, [f"Too large: {', '.join(too_big)}. Images over {UPLOAD_LIMIT // 2**20} MB can fail over "
                               "the notebook's connection; resize them, or host them and add the URL."] * bool(too_big))


class InputImages(PanelBase):
    """The panel's part that changes its input images: add (checked, each once), remove, move, attach."""

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

    def add_files(self, files: Sequence[tuple[bytes, str]]) -> int:
        """Add files as a browser sends them (bytes, name): an upload, a drop or a paste. An image that carries
        how it was made (its generation record) is also offered for "Restore settings"."""
        return self._add_files(list(files), [])

    def _add_files(self, files: list[tuple[Any, str]], messages: list[str]) -> int:
        added = self._add_inputs(files, messages, uploaded=True)
        for data, name in files:
            record = image_record(data) if isinstance(data, bytes) else None
            if record is not None:
                self._offer_restore(record, name)
        return added

    def _add_inputs(self, items: Sequence[tuple[Any, str]], messages: Sequence[str] = (), *,
                    uploaded: bool = False) -> int:
        """Add what can be added; say why the rest could not (after ``messages``) under the images."""
        notes, skipped, new = list(messages), [], list[InputImage]()
        for source, label in items:
            if len(new) >= self._form.room:
                skipped.append(label)
                continue
            try:
                image = replace(load_image(source, label, self.client.image_uri), uploaded=uploaded)
            except ValidationError as exc:
                notes.append(refusal(label, exc))
                continue
            there = self._form.position(image.uri)
            if there is not None or any(other.uri == image.uri for other in new):
                notes.append(f"{label} is already an input image{f' (#{there + 1})' if there is not None else ''}: "
                             "each image is sent once.")
                continue
            new.append(image)
        if skipped:
            notes.append(f"At most {self._form.max_inputs} input images: skipped {', '.join(skipped)}.")
        self._set_inputs([*self._form.inputs, *new])
        self._inputs.say(" ".join(notes))
        return len(new)

    def remove_input(self, index: int) -> None:
        """Remove the input image at ``index``."""
        self._set_inputs([image for i, image in enumerate(self._form.inputs) if i != index])

    def move_input(self, index: int, step: int) -> None:
        """Move the input image at ``index`` by ``step`` places (-1: earlier); the first one sets the shape with
        aspect ratio ``match_input_image``."""
        images = list(self._form.inputs)
        target = index + step
        if 0 <= index < len(images) and 0 <= target < len(images):
            images.insert(target, images.pop(index))
            self._set_inputs(images)

    def clear_inputs(self) -> None:
        self._set_inputs([])

    def _set_inputs(self, inputs: Sequence[InputImage]) -> None:
        with self._lock:
            self._form = replace(self._form, inputs=tuple(inputs))
            self._refresh()

    def use_as_input(self, path: str | os.PathLike[str]) -> bool:
        """Append a stored output image as an input (the iterative editing loop)."""
        return self.add_input(Path(path), Path(path).name)

    def attach(self, widget: Any) -> None:
        """Place a front-end piece under the input images (a drop zone, a paste target: see `add_files`)."""
        self.extras.children = (*self.extras.children, widget)
