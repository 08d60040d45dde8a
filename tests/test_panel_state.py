"""`seedream_widgets.panel.state` without widgets: the form's rules come from the schema; input images load once."""

from __future__ import annotations

import ast
import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from seedream_widgets import SeedreamInput, ValidationError
from seedream_widgets.images import to_image_uri
from seedream_widgets.models import ModelSchema, builtin_schema
from seedream_widgets.panel import state
from seedream_widgets.panel.state import INPUT_PX, Form, InputImage, load_image, source_label


def schema(model: str) -> ModelSchema:
    found = builtin_schema(model)
    assert found is not None
    return found


SEEDREAM_4, SEEDREAM_45, SEEDREAM_5_LITE = (schema(f"bytedance/seedream-{v}") for v in ("4", "4.5", "5-lite"))


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def counting(image_uri: Callable[[Any], str] = to_image_uri) -> tuple[Callable[[Any], str], list[Any]]:
    """``image_uri`` that records what it was called with."""
    calls: list[Any] = []

    def uri(source: Any) -> str:
        calls.append(source)
        return image_uri(source)

    return uri, calls


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decoding base64 fails: a local image's thumbnail must come from its bytes, not from its data URI."""
    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a data URI that was just encoded was decoded again")

    monkeypatch.setattr(base64, "b64decode", refuse)  # the module `state` uses


def image(uri: str = "https://example.com/cat.png", aspect: float | None = None) -> InputImage:
    return InputImage(uri, "cat.png", uri, aspect, uri)


# -- presets, and what takes effect --------------------------------------------------------------


def test_the_state_module_uses_no_widgets() -> None:
    tree = ast.parse(Path(state.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("ipywidgets", "traitlets", "IPython")}


def test_presets_are_checked_by_the_schema_and_a_missing_prompt_is_only_incomplete() -> None:
    for form in (Form.of(SEEDREAM_4), Form.of(SEEDREAM_4, prompt="", size="1K")):
        assert form.incomplete and form.input is None and [p.field for p in form.problems] == ["prompt"]
    with pytest.raises(ValidationError) as caught:
        Form.of(SEEDREAM_4, aspect="16:9", size="8K", width=5000)
    assert set(caught.value.fields) == {"aspect", "size", "width"}  # every one at once
    assert "did you mean 'aspect_ratio'" in str(caught.value)
    with pytest.raises(ValidationError, match="inputs plus outputs may be at most 15"):
        Form.of(SEEDREAM_4, [image(), image()], sequential_image_generation="auto", max_images=15)
    with pytest.raises(ValidationError, match="size"):
        Form.of(SEEDREAM_5_LITE, size="custom")  # each model's own rules
    form = Form.of(SEEDREAM_4, prompt="a fox", size="1K")
    assert not form.incomplete and form.problems == () and form.input == SeedreamInput("a fox", size="1K")


@pytest.mark.parametrize(("values", "inactive"), [
    ({}, {"width", "height", "max_images"}),
    ({"size": "custom"}, {"aspect_ratio", "max_images"}),
    ({"sequential_image_generation": "auto"}, {"width", "height"}),
    ({"size": "custom", "sequential_image_generation": "auto"}, {"aspect_ratio"}),
])
def test_what_takes_effect_and_why_comes_from_the_schema(values: dict[str, Any], inactive: set[str]) -> None:
    form = Form.of(SEEDREAM_4, prompt="x", **values)
    assert {name for name, on in form.active.items() if not on} == inactive
    assert form.active == SEEDREAM_4.active(form.values)
    for name in inactive:
        assert form.notes[name] == SEEDREAM_4.field(name).inactive_note != ""  # the schema's words


@pytest.mark.parametrize(("values", "fields"), [
    ({}, {}),
    ({"size": "1K", "aspect_ratio": "16:9"}, {"size": "1K", "aspect_ratio": "16:9"}),
    ({"size": "custom", "width": 1024, "height": 1536}, {"size": "custom", "width": 1024, "height": 1536}),
    # Defaults, and settings that would be ignored, stay out of the payload.
    ({"size": "2K", "enhance_prompt": True, "max_images": 1}, {}),
    ({"size": "1K", "width": 3000, "max_images": 5}, {"size": "1K"}),
    ({"size": "custom", "aspect_ratio": "4:3", "width": 1536}, {"size": "custom", "width": 1536}),
    ({"sequential_image_generation": "auto", "max_images": 3},
     {"sequential_image_generation": "auto", "max_images": 3}),
])
def test_the_payload_holds_what_takes_effect_and_differs_from_the_default(values: dict[str, Any],
                                                                         fields: dict[str, Any]) -> None:
    form = Form.of(SEEDREAM_4, prompt="a lighthouse", **values)
    assert form.fields == fields
    assert form.input is not None and form.input.to_payload() == {"prompt": "a lighthouse", **fields}


def test_invalid_values_are_problems_not_exceptions() -> None:
    form = Form(SEEDREAM_4, {**Form.of(SEEDREAM_4, prompt="a fox").values, "size": "custom", "width": 5000})
    assert form.input is None and not form.incomplete
    assert [str(p) for p in form.problems] == ["width: got 5000; must be at most 4096 (allowed: a whole number "
                                               "from 1024 to 4096)"]


@pytest.mark.parametrize(("values", "inputs", "notes"), [
    ({"size": "1K", "aspect_ratio": "16:9"}, [], {"aspect_ratio": "→ 1280×720 px"}),
    ({"size": "custom", "width": 1536, "height": 1024}, [], {"height": "→ 1536×1024 px"}),
    ({"size": "2K"}, [image("data:image/png;base64,AAAA", 16 / 9)], {"aspect_ratio": "→ 2736×1536 px"}),
    ({"size": "2K"}, [image()], {"aspect_ratio": "→ shape of the first input image"}),  # a URL: shape unknown
])
def test_the_output_size_is_noted_beside_what_shapes_it(values: dict[str, Any], inputs: list[InputImage],
                                                        notes: dict[str, str]) -> None:
    form = Form.of(SEEDREAM_4, inputs, prompt="x", **values)
    assert {name: note for name, note in form.notes.items() if note.startswith("→")} == notes


def test_room_for_input_images_and_outputs_follows_the_model() -> None:
    form = Form.of(SEEDREAM_4, [image()] * 3, prompt="x")
    assert (form.max_inputs, form.room, form.output_room) == (10, 7, 12)
    assert Form.of(SEEDREAM_45, prompt="x").max_inputs == 14
    assert Form.of(SEEDREAM_4, [image()] * 10, prompt="x").room == 0
    assert "width" not in Form.of(SEEDREAM_5_LITE, prompt="x").values  # its own fields


# -- input images ------------------------------------------------------------------------------------


@dataclass
class Stored:
    """Stands for a `Result`: its ``path`` is its first image's file."""

    path: Path


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize("kind", ["bytes", "path", "str path", "result", "pil"])
def test_a_local_image_is_encoded_once_and_its_thumbnail_made_from_its_bytes(kind: str, tmp_path: Path) -> None:
    data = png_bytes(400, 200)
    file = tmp_path / "wide.png"
    file.write_bytes(data)
    source: Any = {"bytes": data, "path": file, "str path": str(file), "result": Stored(file),
                   "pil": Image.open(io.BytesIO(data))}[kind]
    image_uri, calls = counting()
    loaded = load_image(source, "wide.png", image_uri)
    assert len(calls) == 1 and loaded.uri.startswith("data:image/png;base64,")
    if kind != "pil":
        assert loaded.uri == to_image_uri(data)
    assert loaded.aspect == 2.0 and loaded.label == "wide.png"
    assert loaded.origin == (str(file) if kind in ("path", "str path", "result") else "")
    with Image.open(io.BytesIO(binascii.a2b_base64(loaded.preview.partition(",")[2]))) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= INPUT_PX


def test_urls_are_shown_as_they_are_and_data_uris_given_are_read_for_a_thumbnail() -> None:
    image_uri, calls = counting()
    url = load_image("https://example.com/cat.png", "cat.png", image_uri)
    assert (url.uri, url.preview, url.origin, url.aspect) == ("https://example.com/cat.png",) * 3 + (None,)
    given = load_image(to_image_uri(png_bytes(30, 60)), "data URI", image_uri)
    assert given.aspect == 0.5 and given.preview.startswith("data:image/jpeg;base64,") and given.origin == ""
    assert len(calls) == 2


@pytest.mark.parametrize(("source", "message"), [
    (b"hello", "not an image"),
    ("ftp://example.com/x.png", "ftp:"),
    ("/no/such/file.png", "cannot read"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "could not read the image"),  # sniffed as PNG, yet unreadable
])
def test_unusable_images_raise_validation_errors_with_the_reason(source: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        load_image(source, "x", to_image_uri)
    assert caught.value.fields == ("image_input",)


@pytest.mark.parametrize(("source", "label"), [
    ("/some/folder/cat.png", "cat.png"),
    ("C:\\pictures\\dog.jpg", "dog.jpg"),
    (Path("a/b/owl.webp"), "owl.webp"),
    ("https://example.com/x/cat.png", "https://example.com/x/cat.png"),
    ("data:image/png;base64,AAAA", "data URI"),
    (Stored(Path("/runs/1/1.jpg")), "1.jpg"),
    (b"\x89PNG", "bytes"),
])
def test_source_labels(source: Any, label: str) -> None:
    assert source_label(source) == label
