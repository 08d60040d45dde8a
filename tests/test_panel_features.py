"""`SeedreamPanel`'s features of issues 15-17 and 19-21, headless, end to end against the demo backend.

Models and cost (15), metadata in the files and restoring from an image (16), a history that
remembers and the static copy (17), problems at their field, input images and the preview (19),
Resume after an output could not be stored (20), and varying a word of the prompt (21).
"""

from __future__ import annotations

import copy
import html
import io
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from _panels import wait_until
from PIL import Image, PngImagePlugin

from seedream_widgets import OutputError, Seedream
from seedream_widgets.demo import DemoServer
from seedream_widgets.images import to_image_uri
from seedream_widgets.models import output_pixels, snapshot_document
from seedream_widgets.panel import SeedreamPanel
from seedream_widgets.panel.compare import alternatives, prompt_words, varied
from seedream_widgets.panel.layout import descendants
from seedream_widgets.provenance import read_generation

WAIT = 30.0
FOUR, FOUR_FIVE, FIVE_LITE = (f"bytedance/seedream-{v}" for v in ("4", "4.5", "5-lite"))


def png_bytes(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48),
              text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def upload(panel: SeedreamPanel, *files: tuple[str, bytes]) -> None:
    """What the browser sends when files are chosen in the FileUpload."""
    panel.uploader.set_state({"value": [
        {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data), "last_modified": 0}
        for name, data in files]})


def click(box: Any, description: str) -> None:
    """Click the one button labelled ``description`` under ``box``."""
    buttons = [w for w in descendants(box) if isinstance(w, widgets.Button) and w.description == description]
    assert len(buttons) == 1, [w.description for w in descendants(box) if isinstance(w, widgets.Button)]
    buttons[0].click()


def text_of(value: str) -> str:
    """An HTML value as the text a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


def settle(panel: SeedreamPanel, job: Any) -> Any:
    """The job's outcome once the panel has drawn it."""
    outcome = job.wait(WAIT)
    wait_until(lambda: not panel.running, what="the panel to draw the outcome")
    return outcome


def painter_document() -> dict[str, Any]:
    """A model the package does not know, shaped like a real Cog version's schema."""
    return {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}, "paths": {}, "components": {"schemas": {
        "Input": {"type": "object", "title": "Input", "required": ["prompt"], "properties": {
            "prompt": {"type": "string", "title": "Prompt", "description": "What to paint", "x-order": 0},
            "steps": {"type": "integer", "title": "Steps", "description": "How many brush passes", "default": 20,
                      "minimum": 1, "maximum": 50, "x-order": 1},
            "style": {"allOf": [{"$ref": "#/components/schemas/style"}], "default": "oil",
                      "description": "The painting style", "x-order": 2},
            "negative_prompt": {"type": "string", "title": "Negative prompt", "description": "What to leave out",
                                "x-order": 3},
            "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Seed",
                     "description": "Fix it to repeat a painting (empty: random)", "x-order": 4}}},
        "style": {"type": "string", "title": "style", "enum": ["oil", "watercolour", "ink"]},
        "Output": {"type": "array", "items": {"type": "string", "format": "uri"}}}}}


def lite_with_a_new_field() -> dict[str, Any]:
    """seedream-5-lite as a service might serve it next month: one field more than the package's snapshot."""
    document = copy.deepcopy(snapshot_document(FIVE_LITE))
    assert document is not None
    document["components"]["schemas"]["Input"]["properties"]["seed"] = {
        "type": "integer", "title": "Seed", "minimum": 0, "maximum": 2147483647,
        "description": "Random seed; the same seed and prompt repeat an image", "x-order": 9}
    return document


# -- 15: a model choice, a model the package does not know, cost, compare models ------------------------------


def test_choosing_a_model_rebuilds_the_controls_keeping_what_still_applies(
        make_panel: Callable[..., SeedreamPanel], demo_server: DemoServer) -> None:
    panel = make_panel(prompt="a lighthouse at dusk", size="1K", aspect_ratio="16:9", enhance_prompt=False)
    old_size = panel.controls["size"]
    panel._model.dropdown.value = FIVE_LITE  # what the browser sends when the model is picked
    assert panel.model == FIVE_LITE and panel.controls["size"] is not old_size and old_size.comm is None
    assert [value for _, value in panel.controls["size"].options] == ["2K", "3K"]
    assert "output_format" in panel.controls
    assert "width" not in panel.controls and "enhance_prompt" not in panel.controls
    assert panel.controls["prompt"].value == "a lighthouse at dusk"  # the same box: what was typed stays
    assert panel.controls["aspect_ratio"].value == "16:9" and panel.controls["size"].value == "2K"
    note = text_of(panel._model.note.value)
    assert "dropped: size='1K' (bytedance/seedream-5-lite takes 2K, 3K)" in note
    assert "enhance_prompt=False (bytedance/seedream-5-lite has no enhance_prompt)" in note
    assert "sequential" not in note and "max_images" not in note  # at their defaults: nothing of the user's
    assert "Seedream 5 lite" in panel.badge.value
    panel.controls["size"].value = "3K"
    assert panel.value is not None and panel.value.pixels == (3840, 2160)
    run = panel.generate()
    result = settle(panel, run)
    sent = demo_server.prediction(result.id)
    assert sent["model"] == FIVE_LITE and sent["input"] == {"prompt": "a lighthouse at dusk", "size": "3K",
                                                            "aspect_ratio": "16:9"}
    panel._model.dropdown.value = "other"
    panel._model.typed.value = "seedream-4.5"  # typed without its owner: ByteDance's
    assert panel.model == FOUR_FIVE
    assert panel.controls["size"].value == "2K" and "size='3K'" in text_of(panel._model.note.value)
    assert "disable_safety_checker" in panel.controls and panel.controls["aspect_ratio"].value == "16:9"


def test_a_model_typed_in_is_read_in_the_background_and_runs_with_its_own_fields(tmp_path: Path) -> None:
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1, models={"acme/painter": painter_document()}) as server, \
            Seedream(base_url=server.base_url, output_dir=tmp_path) as client:
        panel = SeedreamPanel(client, prompt="a harbour at night")
        try:
            panel._model.dropdown.value = "other"
            assert panel._model.typed.layout.display == ""
            started = time.perf_counter()
            panel._model.typed.value = "acme/painter"  # Enter in the box
            assert time.perf_counter() - started < 0.2, "choosing a model waited for the network"
            wait_until(lambda: panel.model == "acme/painter", what="the schema to arrive")
            assert server.stats.requests.get("model", 0) >= 1
            steps, style, seed = panel.controls["steps"], panel.controls["style"], panel.controls["seed"]
            assert isinstance(steps, widgets.IntSlider) and (steps.min, steps.max, steps.value) == (1, 50, 20)
            assert steps.tooltip == "How many brush passes" and "How many brush passes" in panel._controls.notes[
                "steps"].value  # its own help text, beside it (the package has no table for this model)
            assert [v for _, v in style.options] == ["oil", "watercolour", "ink"] and style.value == "oil"
            assert isinstance(seed, widgets.Text) and seed.value == ""  # empty: not set, not sent
            assert "size" not in panel.controls and panel._form.max_inputs == 0  # no input images for it
            steps.value, style.value, seed.value = 35, "ink", "7"
            panel.controls["negative_prompt"].value = "boats"
            assert panel.value is not None
            assert panel.value.to_payload() == {"prompt": "a harbour at night", "steps": 35, "style": "ink",
                                                "negative_prompt": "boats", "seed": 7}
            steps.value = 50
            seed.value = ""
            result = settle(panel, panel.generate())
            assert server.prediction(result.id)["model"] == "acme/painter"
            assert server.prediction(result.id)["input"] == {"prompt": "a harbour at night", "steps": 50,
                                                             "style": "ink", "negative_prompt": "boats"}
            assert "acme/painter" in [value for _, value in panel._model.dropdown.options]
            assert "acme/painter" in panel._compare.models()
            # A model the service does not have: said beside the choice, the panel keeps its model.
            panel._model.dropdown.value = "other"
            panel._model.typed.value = "acme/nothing-here"
            wait_until(lambda: "seedream-notice" in panel._model.note.value, what="the refusal")
            assert panel.model == "acme/painter" and "seedream-notice" in panel._model.note.value
            panel._model.typed.value = "not a model"
            assert "is not a model name" in text_of(panel._model.note.value)
        finally:
            panel.close()


def test_a_field_the_live_schema_adds_gets_a_control_with_its_help(tmp_path: Path) -> None:
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1, models={FIVE_LITE: lite_with_a_new_field()}) as server, \
            Seedream(base_url=server.base_url, output_dir=tmp_path) as client:
        panel = SeedreamPanel(client, prompt="a red fox")
        try:
            panel._model.dropdown.value = FIVE_LITE  # the built-in snapshot at once, the service's a moment later
            wait_until(lambda: "seed" in panel._controls.notes and panel._controls.notes["seed"].value,
                       what="the service's schema, drawn")
            seed = panel.controls["seed"]
            assert seed.tooltip == "Random seed; the same seed and prompt repeat an image"
            assert "the same seed and prompt" in panel._controls.notes["seed"].value
            assert "aspect_ratio" not in panel._controls._own_help  # the snapshot's fields show no help line
            seed.value = "42"
            result = settle(panel, panel.generate())
            assert server.prediction(result.id)["input"]["seed"] == 42
        finally:
            panel.close()


def test_the_estimate_is_shown_and_max_cost_stops_generate(demo: DemoServer, tmp_path: Path,
                                                           make_panel: Callable[..., SeedreamPanel]) -> None:
    demo_panel = make_panel(prompt="a fox", size="1K")
    assert "nothing is billed" in demo_panel._preview.accordion.titles[0]
    assert "at most 1 image" in demo_panel._cost.value
    token = "r8_" + "0" * 8 + "x" * 24
    with Seedream(token=token, base_url=demo.base_url, output_dir=tmp_path, max_cost=0.1) as real:
        panel = make_panel(real, prompt="a fox", size="1K", sequential_image_generation="auto", max_images=3)
        assert "at most 3 images, at most $0.090" in panel._preview.accordion.titles[0]
        assert not panel.generate_button.disabled
        panel.controls["max_images"].value = 4
        assert panel.generate_button.disabled and "over max_cost" in panel._problems_box.value
        assert panel._cost.value == ""
        panel._model.dropdown.value = FIVE_LITE
        panel.controls["max_images"].value = 2
        assert "at most 2 images, at most $0.070" in panel._preview.accordion.titles[0]
        assert not panel.generate_button.disabled
        wait_until(lambda: not panel._pending, what="the service's schema (before the client closes)")
    assert demo.stats.creates == 0


def test_compare_models_runs_the_prompt_on_each_as_a_grid(make_panel: Callable[..., SeedreamPanel],
                                                          demo_server: DemoServer) -> None:
    panel = make_panel(prompt="a paper crane", size="4K", aspect_ratio="1:1")
    compare = panel._compare
    assert compare.models() == [FOUR, FOUR_FIVE, FIVE_LITE] and not compare.compare_button.disabled
    compare.compare_button.click()
    assert panel.running and panel.generate_button.disabled
    wait_until(lambda: not panel.running, what="the grid")
    comparison = panel.comparison
    assert comparison is not None and list(comparison.axes) == ["model"] and len(comparison.results) == 3
    models = {demo_server.prediction(r.id)["model"]: demo_server.prediction(r.id)["input"] for r in comparison.results}
    assert models == {FOUR: {"prompt": "a paper crane", "aspect_ratio": "1:1"},  # 4K is left out: 5-lite lacks it
                      FOUR_FIVE: {"prompt": "a paper crane", "aspect_ratio": "1:1"},
                      FIVE_LITE: {"prompt": "a paper crane", "aspect_ratio": "1:1"}}
    assert "size (Seedream 5 lite does not take '4K')" in text_of(compare.note.value)
    grid = panel._compare.grid.value
    assert "seedream-compare" in grid and grid.count("<img") == 3 and "model=bytedance/seedream-4.5" in grid
    assert "Comparison of 3 models" in panel._compare.title.value
    assert "3/3 done" in text_of(panel.status.value)
    assert len(panel.history.children) == 3  # each cell is a stored run
    for box in compare.checks.children[1:]:
        box.value = False
    assert compare.compare_button.disabled  # one model is no comparison


# -- 16: metadata in the files, restore from an image --------------------------------------------------------


@pytest.mark.parametrize(("mode", "carries"), [("full", "record"), ("label", "label"), ("off", "nothing")])
def test_the_metadata_option_decides_what_the_files_carry(make_panel: Callable[..., SeedreamPanel],
                                                          demo_server: DemoServer, mode: str, carries: str) -> None:
    panel = make_panel(prompt="a quiet street", size="1K")
    panel.metadata.value = mode
    result = settle(panel, panel.generate())
    record = read_generation(result.paths[0])
    received = demo_server.output_bytes(result.id, 0)
    if carries == "nothing":
        assert record is None and result.paths[0].read_bytes() == received  # the bytes as received
    elif carries == "label":
        assert record is not None and not getattr(record, "prompt", "")
    else:
        assert record is not None and record.prompt == "a quiet street"
    assert panel.client.settings.embed_metadata == "full"  # the client itself is unchanged


def test_an_uploaded_image_with_a_record_offers_restore_settings(make_panel: Callable[..., SeedreamPanel]) -> None:
    maker = make_panel(prompt="a glass teapot, studio light", aspect_ratio="4:3", model=FIVE_LITE,
                       output_format="png")
    made = settle(maker, maker.generate())
    panel = make_panel(prompt="something else", size="4K")
    upload(panel, ("teapot.png", made.paths[0].read_bytes()))
    assert len(panel.inputs) == 1  # use as input, as an upload always is
    assert panel._ask.topic == "image" and "teapot.png carries how it was made" in text_of(panel._ask.text.value)
    assert 'bytedance/seedream-5-lite: "a glass teapot, studio light"' in text_of(panel._ask.text.value)
    click(panel._ask.box, "Restore settings")
    assert panel.model == FIVE_LITE and panel.controls["prompt"].value == "a glass teapot, studio light"
    assert panel.controls["aspect_ratio"].value == "4:3" and panel.controls["output_format"].value == "png"
    assert not panel.inputs and "Restored the settings teapot.png carries" in panel.status.value
    assert panel.value is not None and panel.value.to_payload() == made.prediction.input
    click(panel._ask.box, "Undo")
    assert panel.model == FOUR and panel.controls["prompt"].value == "something else"
    assert panel.controls["size"].value == "4K" and len(panel.inputs) == 1
    # Keeping it as an input only closes the offer.
    upload(panel, ("again.png", png_bytes((1, 2, 3), text={"parameters": "a castle on a hill\nSteps: 20, "
                                                                          "Size: 1536x1024, Seed: 5"})))
    assert "AUTOMATIC1111" in text_of(panel._ask.text.value)
    click(panel._ask.box, "Keep as input image")
    assert panel._ask.topic == "" and len(panel.inputs) == 2
    upload(panel, ("plain.png", png_bytes((9, 9, 9))))  # says nothing of how it was made: no offer
    assert panel._ask.topic == "" and len(panel.inputs) == 3


def test_restore_image_reads_an_a1111_file(make_panel: Callable[..., SeedreamPanel], tmp_path: Path) -> None:
    path = tmp_path / "a1111.png"
    path.write_bytes(png_bytes(text={"parameters": "a castle on a hill, dusk\nNegative prompt: fog\n"
                                                   "Steps: 20, Sampler: Euler a, Size: 1536x1024, Seed: 5"}))
    panel = make_panel()
    panel.restore_image(path)
    assert panel.controls["prompt"].value == "a castle on a hill, dusk"
    assert panel.controls["size"].value == "custom" and panel.controls["width"].value == 1536
    assert "Negative prompt" in panel.status.value or "negative" in panel.status.value.lower()
    with pytest.raises(Exception, match="no generation record"):
        panel.restore_image(png_bytes())


# -- 17: a history that remembers, the static copy, descriptive names ---------------------------------------------


def test_a_new_panel_shows_earlier_runs_and_restores_them_from_the_index(
        demo_server: DemoServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Seedream(base_url=demo_server.base_url, output_dir=out) as first_kernel:
        old = SeedreamPanel(first_kernel, prompt="an old lighthouse", size="1K", aspect_ratio="3:2",
                            image_input="https://example.com/ref.png")
        first = settle(old, old.generate())
        old.controls["prompt"].value = "a second one"
        second = settle(old, old.generate())
        old.close()
    with Seedream(base_url=demo_server.base_url, output_dir=out) as after_restart:
        panel = SeedreamPanel(after_restart, prompt="")
        try:
            cells = panel.history.children
            assert len(cells) == 2 and [c.children[1].tooltip.split(" ")[1] for c in cells] == [second.id, first.id]
            assert "#" not in cells[0].children[1].description  # not this panel's: dated, not numbered
            cells[1].children[1].click()  # the prompt box is empty: nothing to ask
            assert panel.controls["prompt"].value == "an old lighthouse"
            assert panel.controls["size"].value == "1K" and panel.controls["aspect_ratio"].value == "3:2"
            assert panel.inputs == ("https://example.com/ref.png",)
            assert first.id in panel._gallery.title.value and panel._gallery.result is not None
            assert "Restored Run" in panel.status.value
            mine = settle(panel, panel.generate())
            assert panel.history.children[0].children[1].description == "#1"
            panel.use_as_input(mine.paths[0])  # an edit of it, then a restart: its input image comes back too
            panel.controls["prompt"].value = "the lighthouse at night"
            edit = settle(panel, panel.generate())
            assert "seedream-session" in panel.history.children[0]._dom_classes
            assert mine.id != first.id
        finally:
            panel.close()
    with Seedream(base_url=demo_server.base_url, output_dir=out) as again:
        panel = SeedreamPanel(again)
        try:
            panel.restore(edit.id)
            assert panel.controls["prompt"].value == "the lighthouse at night"
            assert panel.inputs == ("https://example.com/ref.png", to_image_uri(mine.paths[0]))
            assert "could not be found" not in panel.status.value
        finally:
            panel.close()


def test_the_static_copy_shows_the_last_result_where_the_widget_cannot(
        make_panel: Callable[..., SeedreamPanel], monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[dict[str, Any]] = []

    class Handle:
        def update(self, bundle: dict[str, Any], raw: bool = False) -> None:
            shown.append({"update": bundle})

    def display(bundle: dict[str, Any], raw: bool = False, display_id: bool = False) -> Handle | None:
        shown.append(bundle)
        return Handle() if display_id else None

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    panel = make_panel(prompt="a copper kettle", size="1K")
    panel._ipython_display_()
    widget, copy_ = shown
    assert widget["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert "run the cell" in widget["text/html"] and "<img" not in copy_["text/html"]  # nothing to show yet
    assert f"seedream-fallback-{panel.model_id}" in copy_["text/html"]
    hide = f"body:has(.seedream-panel-{panel.model_id}) .seedream-fallback-{panel.model_id}{{display:none"
    assert hide in copy_["text/html"] and f"seedream-panel-{panel.model_id}" in panel._dom_classes  # hidden while live
    assert "navigator.clipboard" in copy_["text/html"]  # the page script: Copy buttons, broken URL images
    result = settle(panel, panel.generate())
    wait_until(lambda: len(shown) == 3, what="the copy's update")
    updated = shown[2]["update"]["text/html"]
    assert "a copper kettle" in updated and "<img" in updated and result.id in updated and "static copy" in updated
    assert "<img" in panel._repr_mimebundle_()["text/html"]


# -- 19: problems at their field, input images, the preview ---------------------------------------------------------


def test_a_problem_is_marked_at_its_field_and_the_size_note_says_nothing(
        make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="x", size="custom")
    assert "2048×2048" in panel._controls.notes["height"].value
    panel.controls["width"].value = 500
    row = panel._controls._rows["width"]
    assert "seedream-invalid" in row._dom_classes and "seedream-invalid" not in panel._controls._rows[
        "height"]._dom_classes
    assert "must be at least 1024" in panel._controls.notes["width"].value
    assert "seedream-field-problem" in panel._controls.notes["width"].value
    assert "px" not in panel._controls.notes["height"].value  # no size for an invalid one
    assert "must be at least 1024" in panel._problems_box.value and "marked above" in panel._reason.value
    panel.controls["prompt"].value = "a fox \ud83e"
    assert "seedream-invalid" in panel.controls["prompt"]._dom_classes
    assert "unpaired surrogate" in panel._prompt_note.value
    panel.controls["prompt"].value = "a fox"
    panel.controls["width"].value = 1536
    assert "seedream-invalid" not in row._dom_classes and panel._prompt_note.value == ""
    assert "1536×2048" in panel._controls.notes["height"].value


def test_input_images_counts_duplicates_order_enter_and_plain_refusals(
        make_panel: Callable[..., SeedreamPanel], tmp_path: Path) -> None:
    panel = make_panel(prompt="x")
    red, blue = png_bytes((200, 0, 0), (40, 40)), png_bytes((0, 0, 200), (80, 40))
    upload(panel, ("red.png", red), ("notes.txt", b"hello"))
    notice = text_of(panel._inputs.notice.value)
    assert "notes.txt is not an image: PNG, JPEG or WebP expected." in notice
    assert [f["name"] for f in panel.uploader.value] == ["red.png"]  # "Upload (1)", not "(0)"
    upload(panel, ("red-again.png", red), ("blue.png", blue))
    assert "red-again.png is already an input image (#1)" in text_of(panel._inputs.notice.value)
    assert panel.inputs == (to_image_uri(red), to_image_uri(blue)) and len(panel.uploader.value) == 2
    assert "The first image sets the shape" in panel._inputs.hint.value
    assert "1st · sets the shape" in panel._inputs.box.children[0].children[0].value
    square, wide = (output_pixels("2K", "match_input_image", input_aspect=a) for a in (1.0, 2.0))
    assert "{}×{}".format(*square) in panel._controls.notes["aspect_ratio"].value  # red (square) is first
    panel._inputs.box.children[1].children[2].children[0].click()  # blue: move earlier
    assert panel.inputs == (to_image_uri(blue), to_image_uri(red))
    assert "{}×{}".format(*wide) in panel._controls.notes["aspect_ratio"].value  # now blue (2:1) sets the shape
    panel.controls["aspect_ratio"].value = "1:1"
    assert panel._inputs.hint.value == ""  # the order no longer matters
    panel.url_box.value = "https://example.com/cat.png"  # Enter in the box (continuous_update is off)
    assert panel.inputs[-1] == "https://example.com/cat.png" and panel.url_box.value == ""
    cell = panel._inputs.box.children[-1].children[0].value
    assert 'class="seedream-url-image"' in cell and "could not load this URL here" in cell and "onerror" not in cell
    panel.url_box.value = "https://example.com/cat.png"
    assert "is already an input image (#3)" in text_of(panel._inputs.notice.value) and len(panel.inputs) == 3
    missing = tmp_path / "gone.png"
    panel.url_box.value = str(missing)
    assert "gone.png cannot be used: cannot read" in text_of(panel._inputs.notice.value)


def view_message(widget: Any, buffers: list[bytes] | None = None, **content: Any) -> None:
    """A custom message from an anywidget's view (what the browser sends)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                        "buffers": [memoryview(b) for b in buffers or []]})


def test_dropped_or_pasted_images_are_inputs_and_ctrl_enter_generates(
        make_panel: Callable[..., SeedreamPanel], demo_server: DemoServer) -> None:
    panel = make_panel(prompt="a lantern", size="1K")
    drop = panel._inputs.drop
    assert drop in panel._inputs.parts and drop.scope == f".seedream-panel-{panel.model_id}"
    red = png_bytes((210, 30, 30))
    view_message(drop, [red, b"not an image"], kind="files", how="drop",
                 files=[{"name": "red.png", "type": "image/png"}, {"name": "notes.txt", "type": "text/plain"}])
    assert panel.inputs == (to_image_uri(red),)
    assert "notes.txt is not an image" in text_of(panel._inputs.notice.value)
    view_message(drop, [red], kind="files", how="paste", files=[{"name": "pasted image", "type": "image/png"}])
    assert len(panel.inputs) == 1 and "already an input image" in text_of(panel._inputs.notice.value)
    view_message(drop, kind="submit")  # Ctrl+Enter anywhere in the panel
    assert panel.running
    wait_until(lambda: not panel.running, what="the run Ctrl+Enter started")
    assert panel.result is not None and demo_server.prediction(panel.result.id)["input"]["image_input"] == [
        to_image_uri(red)]
    panel.controls["prompt"].value = ""
    view_message(drop, kind="submit")  # nothing to generate: nothing happens
    assert not panel.running and len(panel.runs) == 1


def test_view_opens_the_lightbox_on_the_run_then_the_history(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="a pair of owls", size="1K", sequential_image_generation="auto", max_images=2)
    first = settle(panel, panel.generate())
    panel.controls["prompt"].value = "a heron"
    panel.controls["sequential_image_generation"].value = "disabled"
    second = settle(panel, panel.generate())
    panel.gallery.children[0].children[1].children[0].click()  # View on the heron
    box = panel.lightbox
    assert box.index == 0 and [s.run for s in box.items] == [second.id, first.id, first.id]
    assert box.current is not None and box.current.name.endswith("_a-heron.jpg")  # a descriptive download name
    box.step(1)
    assert box.current is not None and box.current.run == first.id and box.current.number == 1
    box.use()  # "Use as input" in the lightbox
    assert panel.inputs == (to_image_uri(first.paths[0]),)


def test_the_preview_points_demo_snippets_at_the_demo_server_with_copy_buttons(
        make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="a bowl of ramen, studio lighting", model=FIVE_LITE)
    for tab in (panel._preview.json, panel._preview.curl, panel._preview.python):
        assert tab.value.count('class="seedream-copy') == 1 and "onclick" not in tab.value  # the page script copies
        assert "word-break:normal" in tab.value and "overflow-wrap:normal" in tab.value
    curl = text_of(panel._preview.curl.value)
    assert "http://127.0.0.1:8765/v1/models/bytedance/seedream-5-lite/predictions" in curl
    assert "seedream demo-server --port 8765" in curl and panel.client.settings.base_url not in curl
    python = text_of(panel._preview.python.value)
    assert "for " not in python and "model='bytedance/seedream-5-lite'" in python
    assert "client = Seedream(model='bytedance/seedream-5-lite')" in python


def test_an_edit_shows_its_inputs_beside_it(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="a cottage", size="1K")
    settle(panel, panel.generate())
    assert panel._gallery.sources.value == ""
    panel.gallery.children[0].children[1].children[1].click()  # use as input
    panel.controls["prompt"].value = "the same cottage in winter"
    settle(panel, panel.generate())
    sources = panel._gallery.sources.value
    assert "made from" in sources and "input 1" in sources and sources.count("<img") == 1
    assert "seedream-details" in panel._gallery.details.value


# -- 20: an output that could not be stored, then Resume ------------------------------------------------------------


def test_an_output_error_offers_resume_which_stores_the_run_once_the_cause_is_gone(
        make_panel: Callable[..., SeedreamPanel], monkeypatch: pytest.MonkeyPatch, demo_server: DemoServer,
        client: Seedream) -> None:
    real = shutil.disk_usage

    def full(path: Any) -> Any:  # the disk as the engine sees it: nothing free
        return real(path)._replace(free=0)

    panel = make_panel(prompt="a lighthouse in a storm", size="1K")
    monkeypatch.setattr(shutil, "disk_usage", full)
    run = panel.generate()
    with pytest.raises(OutputError) as caught:
        run.wait(WAIT)
    wait_until(lambda: not panel.running)
    prediction_id = caught.value.prediction_id
    assert prediction_id and prediction_id in panel.error.value
    assert panel._error.resume_button.layout.display == "" and prediction_id in panel._error.resume_button.tooltip
    assert [entry["id"] for entry in client.in_flight()] == [prediction_id]
    monkeypatch.setattr(shutil, "disk_usage", real)  # space freed
    panel._error.resume_button.click()
    assert panel.running
    wait_until(lambda: not panel.running, what="the resume")
    result = panel.result
    assert result is not None and result.id == prediction_id and result.paths[0].is_file()
    assert result.paths[0].read_bytes() != b"" and panel.error.value == ""
    assert panel._error.resume_button.layout.display == "none"
    assert client.in_flight() == [] and demo_server.stats.creates >= 1
    assert "Run #1" in panel._gallery.title.value


# -- 21: vary a word --------------------------------------------------------------------------------------------------


def test_words_alternatives_and_variants() -> None:
    prompt = "a red fox, in the snow"
    assert [prompt[a:b] for a, b in prompt_words(prompt)] == ["a", "red", "fox", "in", "the", "snow"]
    assert alternatives(" owl,snow leopard ,,\nheron") == ["owl", "snow leopard", "heron"]
    assert varied(prompt, prompt_words(prompt)[2], ["owl", "fox", "heron"]) == [
        "a red fox, in the snow", "a red owl, in the snow", "a red heron, in the snow"]


def test_vary_a_word_generates_the_row_as_a_grid(make_panel: Callable[..., SeedreamPanel],
                                                 demo_server: DemoServer) -> None:
    panel = make_panel(prompt="a red fox in the snow", size="1K")
    compare = panel._compare
    labels = [label for label, _ in compare.word.options]
    assert labels == ["a", "red", "fox", "in", "the", "snow"] and compare.vary_button.disabled
    compare.word.value = labels.index("fox")
    compare.others.value = "owl, snow leopard"
    assert not compare.vary_button.disabled
    panel.controls["prompt"].value = "a small red fox in the snow"
    assert compare.word.label == "fox"  # the chosen word survives typing
    compare.vary_button.click()
    wait_until(lambda: not panel.running, what="the row")
    comparison = panel.comparison
    assert comparison is not None and list(comparison.axes) == ["prompt"]
    prompts = sorted(demo_server.prediction(r.id)["input"]["prompt"] for r in comparison.results)
    assert prompts == ["a small red fox in the snow", "a small red owl in the snow",
                       "a small red snow leopard in the snow"]
    assert all(demo_server.prediction(r.id)["input"]["size"] == "1K" for r in comparison.results)
    grid = compare.grid.value
    assert grid.count("<img") == 3 and "<mark" in grid and "Comparison of 3 prompts" in compare.title.value
    assert panel.client.comparison(comparison.group).prompt == comparison.prompt  # kept as a group
