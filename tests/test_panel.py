"""`SeedreamPanel` headless: widgets without a front end, clicks and trait changes, the demo backend on a socket."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from _panels import wait_until
from PIL import Image

from seedream_widgets import PredictionCanceled, PredictionFailed, Result, Seedream, SeedreamInput, ValidationError
from seedream_widgets.demo import DemoServer
from seedream_widgets.images import to_image_uri
from seedream_widgets.panel import SeedreamPanel
from seedream_widgets.panel import widget as panel_module
from seedream_widgets.panel.layout import descendants
from seedream_widgets.panel.results import GALLERY_PX
from seedream_widgets.run import Run
from seedream_widgets.schema import FIELDS, MAX_INPUT_IMAGES, output_pixels

SENTINEL = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
WAIT = 20.0


def png_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(panel: SeedreamPanel, *files: tuple[str, bytes]) -> None:
    """What the browser sends when files are chosen in the FileUpload."""
    panel.uploader.set_state({"value": [
        {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data), "last_modified": 0}
        for name, data in files]})


def state_text(widget: Any) -> str:
    """Every synced trait of every widget under ``widget``, as one string."""
    parts = []
    for w in descendants(widget):
        state = w.get_state()
        parts.append(json.dumps(state, default=lambda v: base64.b64encode(bytes(v)).decode("ascii")))
    return "\n".join(parts)


def pre_text(value: str) -> str:
    """The text a snippet's ``<pre>`` shows (what its Copy button copies)."""
    found = re.search(r"<pre[^>]*>(.*?)</pre>", value, re.DOTALL)
    assert found, value
    return html.unescape(found.group(1))


def data_uri_images(text: str) -> list[tuple[int, int]]:
    sizes = []
    for match in re.finditer(r"data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)", text):
        with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as image:
            sizes.append(image.size)
    return sizes


def click(box: Any, description: str) -> None:
    """Click the button labelled ``description`` somewhere under ``box``."""
    buttons = [w for w in descendants(box) if isinstance(w, widgets.Button) and w.description == description]
    assert len(buttons) == 1, [w.description for w in descendants(box) if isinstance(w, widgets.Button)]
    buttons[0].click()


def finished(panel: SeedreamPanel, run: Run) -> Result:
    """The run's result once the panel has drawn it (it draws the outcome on the notifier thread as the run ends)."""
    result = run.wait(WAIT)
    wait_until(lambda: not panel.running, what="the panel to draw the outcome")
    return result


def run(panel: SeedreamPanel) -> Result:
    return finished(panel, panel.generate())


# -- the controls come from the field table -----------------------------------------------------


def test_every_field_has_a_control_built_from_the_table(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel()
    kinds = {"str": widgets.Textarea, "bool": widgets.Checkbox}
    for spec in FIELDS:
        if spec.kind == "uris":
            assert spec.name not in panel.controls
            continue
        control = panel.controls[spec.name]
        assert control.tooltip == spec.help
        if spec.kind in kinds:
            assert isinstance(control, kinds[spec.kind])
        if spec.kind == "enum":
            assert [value for _, value in control.options] == list(spec.choices)
            assert control.value == spec.default
        if spec.kind == "int":
            assert control.value == spec.default
            if isinstance(control, widgets.IntSlider):
                assert (control.min, control.max) == (spec.low, spec.high)
    assert isinstance(panel.controls["max_images"], widgets.IntSlider)
    assert isinstance(panel.controls["size"], widgets.ToggleButtons)
    assert isinstance(panel.controls["aspect_ratio"], widgets.Dropdown)
    assert panel.uploader.accept == "image/*" and panel.uploader.multiple


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, {}),
    ({"size": "1K"}, {"size": "1K"}),
    ({"size": "1K", "aspect_ratio": "16:9"}, {"size": "1K", "aspect_ratio": "16:9"}),
    ({"size": "custom", "width": 1024, "height": 1536}, {"size": "custom", "width": 1024, "height": 1536}),
    ({"size": "1K", "sequential_image_generation": "auto", "max_images": 2},
     {"size": "1K", "sequential_image_generation": "auto", "max_images": 2}),
    ({"size": "1K", "enhance_prompt": False}, {"size": "1K", "enhance_prompt": False}),
    # Defaults and settings that would be ignored stay out of the payload.
    ({"size": "2K", "enhance_prompt": True, "max_images": 1}, {}),
    ({"size": "1K", "width": 3000, "max_images": 5}, {"size": "1K"}),
    ({"size": "custom", "aspect_ratio": "4:3", "width": 1536}, {"size": "custom", "width": 1536}),
])
def test_each_control_maps_to_the_payload_and_to_what_the_backend_received(
        make_panel: Callable[..., SeedreamPanel], demo_server: DemoServer, changes: dict[str, Any],
        expected: dict[str, Any]) -> None:
    panel = make_panel(prompt="a lighthouse at dusk")
    for name, value in changes.items():
        panel.controls[name].value = value
    payload = {"prompt": "a lighthouse at dusk", **expected}
    assert panel.value is not None and panel.value.to_payload() == payload
    assert panel.value == SeedreamInput.from_payload(payload)
    assert json.loads(pre_text(panel._preview.json.value)) == {"input": payload}
    if changes.get("size", "2K") != "2K":  # (2K renders slowly in the demo; the mapping above is what matters)
        result = run(panel)
        assert demo_server.prediction(result.id)["input"] == payload


def test_width_height_only_for_custom_and_max_images_only_for_auto(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="x")
    c = panel.controls
    assert c["width"].disabled and c["height"].disabled and c["max_images"].disabled
    assert not c["aspect_ratio"].disabled
    assert "only when size is custom" in panel._controls.notes["width"].value  # the schema's words
    c["size"].value = "custom"
    assert not c["width"].disabled and not c["height"].disabled
    assert c["aspect_ratio"].disabled and "ignored" in panel._controls.notes["aspect_ratio"].value
    assert "2048×2048" in panel._controls.notes["height"].value
    c["sequential_image_generation"].value = "auto"
    assert not c["max_images"].disabled and panel._controls.notes["max_images"].value == ""
    c["size"].value = "1K"
    c["aspect_ratio"].value = "16:9"
    assert "1280×720" in panel._controls.notes["aspect_ratio"].value


def test_invalid_input_disables_generate_and_says_why(make_panel: Callable[..., SeedreamPanel],
                                                      demo: DemoServer, tmp_path: Path) -> None:
    panel = make_panel()
    assert panel.generate_button.disabled and panel.value is None
    assert "Type a prompt" in panel._reason.value and panel._problems_box.value == ""
    panel.controls["prompt"].value = "a fox"
    assert not panel.generate_button.disabled and panel._reason.value == ""
    panel.controls["size"].value = "custom"
    panel.controls["width"].value = 5000
    assert panel.generate_button.disabled and panel.value is None
    assert [p.field for p in panel.problems] == ["width"]
    assert "width: got 5000; must be at most 4096" in panel._problems_box.value
    assert "Fix 1 field" in panel._reason.value
    with pytest.raises(ValidationError, match="width"):
        _ = panel.input
    with Seedream(base_url=demo.base_url, output_dir=tmp_path) as own:
        with pytest.raises(ValidationError, match="width: got 5000"):
            make_panel(own, prompt="a fox", size="custom", width=5000)
        strict = make_panel(own, prompt="a fox", size="custom")
        strict.controls["width"].value = 5000
        strict.generate_button.click()  # a click on a disabled button (possible in Python) sends nothing
        with pytest.raises(ValidationError):
            strict.generate()
        assert demo.stats.creates == 0 and not strict.running
    panel.controls["width"].value = 4096
    assert not panel.generate_button.disabled and panel._problems_box.value == ""


def test_presets_by_schema_name_and_their_errors(client: Seedream, tmp_path: Path,
                                                 make_panel: Callable[..., SeedreamPanel]) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes())
    panel = make_panel(prompt="p", size="4K", aspect_ratio="3:2", sequential_image_generation="auto",
                       max_images=4, enhance_prompt=False, image_input=image)
    assert panel.value is not None
    assert panel.value.to_payload() == {"prompt": "p", "image_input": [to_image_uri(image)], "size": "4K",
                                        "aspect_ratio": "3:2", "sequential_image_generation": "auto",
                                        "max_images": 4, "enhance_prompt": False}
    with pytest.raises(ValidationError, match="did you mean 'aspect_ratio'"):
        SeedreamPanel(client, aspect="16:9")
    with pytest.raises(ValidationError, match="size"):
        SeedreamPanel(client, size="8K")
    with pytest.raises(ValidationError, match="ftp"):
        SeedreamPanel(client, image_input=["ftp://example.com/a.png"])
    with pytest.raises(ValidationError, match="at most 10"):
        SeedreamPanel(client, image_input=[image] * 11)
    with pytest.raises(ValidationError, match="inputs plus outputs may be at most 15"):
        SeedreamPanel(client, image_input=[image] * 2, sequential_image_generation="auto", max_images=15)
    with pytest.raises(TypeError, match="output_dir"):
        SeedreamPanel(client, output_dir=tmp_path)
    own = make_panel(None, output_dir=tmp_path / "own")
    assert own.client.settings.output_dir == (tmp_path / "own").absolute()


def test_badge_says_demo_or_names_the_service(make_panel: Callable[..., SeedreamPanel], demo: DemoServer,
                                              tmp_path: Path) -> None:
    assert "DEMO" in make_panel().badge.value
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path) as real:
        badge = make_panel(real).badge.value
    assert "DEMO" not in badge and demo.base_url in badge and "bytedance/seedream-4" in badge


# -- input images --------------------------------------------------------------------------------


def test_upload_keeps_thumbnails_only_and_clears_the_uploader(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="edit these")
    big = png_bytes(1600, 900, (10, 120, 200))
    upload(panel, ("a.png", big), ("b.png", png_bytes()))
    assert len(panel.inputs) == 2 and panel.inputs[0] == to_image_uri(big)
    # The originals left widget state at once; the button counts the uploaded images in use ("Upload (2)").
    assert [(f["name"], bytes(f["content"])) for f in panel.uploader.value] == [("a.png", b""), ("b.png", b"")]
    assert panel.value is not None and panel.value.image_input == panel.inputs
    sizes = data_uri_images(state_text(panel))
    assert sizes and max(max(s) for s in sizes) <= 192
    assert to_image_uri(big) not in state_text(panel)
    assert "1600×900" not in panel._controls.notes["aspect_ratio"].value
    w, h = output_pixels("2K", "match_input_image", input_aspect=1600 / 900)  # follows the first input's shape
    assert f"{w}×{h}" in panel._controls.notes["aspect_ratio"].value
    assert "2/10" in panel._inputs.title.value
    panel._inputs.box.children[0].children[1].click()  # remove a.png
    assert list(panel.inputs) == [to_image_uri(png_bytes())]
    assert [f["name"] for f in panel.uploader.value] == ["b.png"]  # "Upload (1)"


def test_refuses_large_and_non_image_uploads_with_a_message(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="x")
    huge = b"\x89PNG\r\n\x1a\n" + bytes(11 * 1024 * 1024)
    upload(panel, ("huge.png", huge), ("notes.txt", b"hello"), ("ok.png", png_bytes()))
    assert len(panel.inputs) == 1
    notice = panel._inputs.notice.value
    assert "huge.png (11.0 MB)" in notice and "10 MB" in notice and "resize" in notice
    assert "notes.txt" in notice and "not an image" in notice
    assert [(f["name"], bytes(f["content"])) for f in panel.uploader.value] == [("ok.png", b"")]


def test_at_most_ten_inputs_and_the_fifteen_image_rule_live(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="x", sequential_image_generation="auto", max_images=15)
    slider = panel.controls["max_images"]
    upload(panel, *[(f"{i}.png", png_bytes(color=(i * 20, 0, 0))) for i in range(3)])
    assert slider.max == 12 and slider.value == 12
    assert panel.value is not None and panel.value.max_images == 12
    upload(panel, *[(f"more{i}.png", png_bytes(color=(0, 10 + i * 20, 0))) for i in range(9)])
    assert len(panel.inputs) == MAX_INPUT_IMAGES and slider.max == 5
    assert "skipped more7.png, more8.png" in panel._inputs.notice.value
    assert panel.uploader.disabled and panel.add_url_button.disabled and panel.url_box.disabled
    assert "10/10 (full)" in panel._inputs.title.value
    assert panel.add_input("https://example.com/one-more.png") is False
    assert panel.value is not None and len(panel.value.image_input) + panel.value.max_images == 15
    panel.remove_input(0)
    assert not panel.uploader.disabled and slider.max == 6


def test_add_from_url_or_path(make_panel: Callable[..., SeedreamPanel], tmp_path: Path) -> None:
    panel = make_panel(prompt="x")
    panel.url_box.value = "https://example.com/cat.png"
    panel.add_url_button.click()
    assert panel.inputs == ("https://example.com/cat.png",) and panel.url_box.value == ""
    assert "shape of the first input image" in panel._controls.notes["aspect_ratio"].value
    path = tmp_path / "dog.png"
    path.write_bytes(png_bytes())
    panel.url_box.value = str(path)
    panel.add_url_button.click()
    assert list(panel.inputs)[1:] == [to_image_uri(path)]
    panel.url_box.value = "ftp://example.com/x.png"
    panel.add_url_button.click()
    assert len(panel.inputs) == 2 and "ftp:" in panel._inputs.notice.value
    assert str(path) in panel._preview.python.value


# -- running --------------------------------------------------------------------------------------


def test_generate_fills_gallery_disk_history_and_callbacks(make_panel: Callable[..., SeedreamPanel],
                                                           demo_server: DemoServer, tmp_path: Path,
                                                           client: Seedream) -> None:
    panel = make_panel(prompt="a red fox", size="1K", sequential_image_generation="auto", max_images=2)
    seen: list[Result] = []
    panel.on_result(seen.append)
    payload = panel.value.to_payload() if panel.value else {}
    panel.generate_button.click()
    assert panel.running and panel.generate_button.disabled and not panel.cancel_button.disabled
    started = panel.generate()  # while running, generate() returns the run in flight (the click's)
    assert panel.generate() is started
    result = finished(panel, started)
    wait_until(lambda: seen, what="the on_result callback")
    assert not panel.running and panel.result is result and seen == [result]
    assert demo_server.prediction(result.id)["input"] == payload
    assert len(result.paths) == 2 and all(p.is_file() for p in result.paths)
    assert result.folder.is_relative_to(tmp_path / "out")
    assert len(panel.gallery.children) == 2
    html = panel.gallery.children[0].children[0].outputs[0]["data"]["text/html"]
    record = client.gallery.find(result.id)
    assert record is not None and record.file_name(0).endswith("_a-red-fox_1" + result.paths[0].suffix)
    assert f'download="{record.file_name(0)}"' in html and "open full size" in html  # a descriptive name
    link = re.search(r'<a href="([^"]+)" download', html)
    assert link and (Path.cwd() / link.group(1).replace("%20", " ")).resolve() == result.paths[0].resolve()
    assert all(max(size) <= GALLERY_PX for size in data_uri_images(state_text(panel)))
    assert "succeeded" in panel.status.value and result.id in panel.status.value
    assert "Run #1" in panel._gallery.title.value and len(panel.history.children) == 1
    assert panel.runs == [result] and panel.error.value == ""
    assert not panel.generate_button.disabled and panel.cancel_button.disabled


@pytest.mark.parametrize("fields", [{}, {"sequential_image_generation": "auto", "max_images": 2}],
                         ids=["one image", "a set"])
def test_status_shows_processing_the_id_and_the_log_line_within_1_5_s(fields: dict[str, Any], tmp_path: Path) -> None:
    """On a backend that takes 6 s, the status line is live at once: "processing", the prediction id and the
    last log line, within 1.5 s of Generate (the create is held 1 s at most, then the run is followed)."""
    with DemoServer(base_seconds=6) as server, Seedream(base_url=server.base_url, output_dir=tmp_path) as client:
        panel = SeedreamPanel(client, prompt="a slow lighthouse", size="1K", **fields)
        try:
            clicked = time.monotonic()
            started = panel.generate()
            seen: dict[str, float] = {}
            while time.monotonic() - clicked < 1.5 and len(seen) < 3:
                value = panel.status.value
                for what, shown in (("processing", "processing" in value), ("id", bool(started.id) and
                                    started.id in value), ("log line", "Generating 1024x1024 image" in value)):
                    if shown:
                        seen.setdefault(what, round(time.monotonic() - clicked, 2))
                time.sleep(0.02)
            assert set(seen) == {"processing", "id", "log line"}, f"1.5 s after Generate: {seen}, {panel.status.value}"
            assert panel.running and not started.done()
            # Between the run's states (none come for seconds here) the front end's clock ticks redraw the line.
            seconds = float(re.findall(r"([0-9.]+) s ·", panel.status.value)[0])
            time.sleep(0.3)
            panel._clock.value += 1  # what the browser's timer sends twice a second
            assert float(re.findall(r"([0-9.]+) s ·", panel.status.value)[0]) >= seconds + 0.2  # (shown to 0.1 s)
        finally:
            panel.cancel()
            wait_until(lambda: not panel.running, what="the cancel")
            panel.close()


def test_failed_run_shows_the_services_message(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="a fox [demo:fail=the model tripped]", size="1K")
    with pytest.raises(PredictionFailed):
        panel.generate().wait(WAIT)
    wait_until(lambda: not panel.running)
    assert "the model tripped" in panel.error.value and "failed" in panel.status.value
    assert panel.result is None and not panel.generate_button.disabled


def test_cancel_reaches_the_service(demo: DemoServer, tmp_path: Path,
                                   make_panel: Callable[..., SeedreamPanel]) -> None:
    with Seedream(base_url=demo.base_url, output_dir=tmp_path) as own:
        panel = make_panel(own, prompt="slow [demo:slow=5]", size="1K")
        started = panel.generate()
        wait_until(lambda: demo.stats.creates == 1, what="the create")
        panel.cancel_button.click()
        assert "canceling" in panel.status.value
        wait_until(lambda: not panel.running, what="the cancel to finish")
        assert started.state.phase == "canceled"
        with pytest.raises(PredictionCanceled):
            started.wait(WAIT)
        assert demo.stats.cancels >= 1
        assert demo.prediction(demo.stats.prediction_ids[0])["status"] == "canceled"
        assert "canceled" in panel.status.value and panel.error.value == ""
        assert not panel.generate_button.disabled and panel.result is None


def test_use_as_input_sends_the_stored_file(make_panel: Callable[..., SeedreamPanel],
                                            demo_server: DemoServer) -> None:
    panel = make_panel(prompt="a cottage", size="1K")
    first = run(panel)
    panel.gallery.children[0].children[1].children[1].click()  # "Use as input"
    assert panel.inputs == (to_image_uri(first.paths[0]),)
    assert len(panel._inputs.box.children) == 1
    assert first.paths[0].name in panel._inputs.box.children[0].children[0].value  # the thumbnail's label
    panel.controls["prompt"].value = "the same cottage in winter"
    second = run(panel)
    assert demo_server.prediction(second.id)["input"]["image_input"] == [to_image_uri(first.paths[0])]
    assert str(first.paths[0]) in panel._preview.python.value


def test_history_restores_settings_inputs_and_gallery(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="first", size="1K", aspect_ratio="16:9")
    upload(panel, ("a.png", png_bytes()))
    first = run(panel)
    panel.clear_inputs()
    panel.controls["prompt"].value = "second"
    panel.controls["aspect_ratio"].value = "1:1"
    run(panel)
    assert [b.children[1].description for b in panel.history.children] == ["#2", "#1"]
    panel.history.children[1].children[1].click()  # restore #1: it asks first, "second" is being written
    assert panel.controls["prompt"].value == "second" and "Replace the prompt" in panel._ask.text.value
    click(panel._ask.box, "Replace")
    assert panel.controls["prompt"].value == "first" and panel.controls["aspect_ratio"].value == "16:9"
    assert "Restored Run #1" in panel.status.value and "succeeded" not in panel.status.value  # the line is reset
    assert panel.inputs == (to_image_uri(png_bytes()),)
    assert panel.value is not None and panel.value.to_payload() == {
        **first.prediction.input, "image_input": [to_image_uri(png_bytes())]}
    assert "Run #1" in panel._gallery.title.value and panel.result is not first
    assert first.paths[0].name in panel.gallery.children[0].children[0].outputs[0]["data"]["text/html"]
    with pytest.raises(KeyError):
        panel.restore(9)
    click(panel._ask.box, "Undo")  # one level: what was there before the restore
    assert panel.controls["prompt"].value == "second" and panel.controls["aspect_ratio"].value == "1:1"
    assert not panel.inputs and "undone" in panel.status.value
    panel.history.children[0].children[1].click()  # the same prompt: nothing to ask
    assert panel._ask.topic == "undo" and panel.controls["aspect_ratio"].value == "1:1"


def test_token_never_in_widget_state(demo: DemoServer, tmp_path: Path,
                                     make_panel: Callable[..., SeedreamPanel]) -> None:
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path) as real:
        panel = make_panel(real, prompt="a fox", size="1K")
        upload(panel, ("a.png", png_bytes()))
        run(panel)
        panel._preview.accordion.selected_index = 0
        text = state_text(panel)
        assert SENTINEL not in text
        assert "$SEEDREAM_API_TOKEN" in panel._preview.curl.value and "r8_…" in panel._preview.curl.value
        assert "DEMO" not in panel.badge.value


def test_kernel_stays_responsive_during_a_generation(demo: DemoServer, tmp_path: Path,
                                                     make_panel: Callable[..., SeedreamPanel]) -> None:
    with Seedream(base_url=demo.base_url, output_dir=tmp_path) as own:
        slow = make_panel(own, prompt="[demo:slow=3] a slow fox", size="1K")
        other = make_panel(own, prompt="a quick owl", size="1K")
        started = time.perf_counter()
        slow.generate_button.click()
        click_seconds = time.perf_counter() - started
        assert click_seconds < 0.1, f"the click blocked for {click_seconds:.3f} s"
        assert slow.running
        assert sum(range(1000)) == 499500  # "another cell" runs at once
        owl = other.generate().wait(WAIT)  # and another panel finishes meanwhile
        assert owl.paths and slow.running
        slow.cancel()
        wait_until(lambda: not slow.running)


def test_rerunning_the_cell_closes_the_old_panel(monkeypatch: pytest.MonkeyPatch, demo: DemoServer,
                                                 tmp_path: Path, make_panel: Callable[..., SeedreamPanel]) -> None:
    with Seedream(base_url=demo.base_url, output_dir=tmp_path) as own:
        monkeypatch.setattr(panel_module, "_cell_identity", lambda: ("cell-1", "request-1"))
        old = make_panel(own, prompt="[demo:slow=5] x", size="1K")
        started = old.generate()
        wait_until(lambda: demo.stats.creates == 1)
        sibling = make_panel(own, prompt="made by the same run of the cell")
        monkeypatch.setattr(panel_module, "_cell_identity", lambda: ("cell-1", "request-2"))
        new = make_panel(own, prompt="y")
        assert old._closed and sibling._closed and not new._closed
        with pytest.raises(PredictionCanceled):
            started.wait(WAIT)
        wait_until(lambda: not old.running and demo.stats.cancels >= 1, what="the old run's cancel")
        monkeypatch.setattr(panel_module, "_cell_identity", lambda: ("cell-2", "request-3"))
        make_panel(own, prompt="z")
        assert not new._closed


def test_close_cancels_and_closes_every_widget(demo: DemoServer, tmp_path: Path) -> None:
    with Seedream(base_url=demo.base_url, output_dir=tmp_path) as own:
        panel = SeedreamPanel(own, prompt="[demo:slow=5] x", size="1K")
        everything = list(descendants(panel))
        panel.generate()
        wait_until(lambda: demo.stats.creates == 1)
        panel.close()
        wait_until(lambda: not panel.running and demo.stats.cancels >= 1)
        assert all(w.comm is None for w in everything)
        with pytest.raises(RuntimeError, match="closed"):
            panel.generate()


def test_displays_as_a_widget(make_panel: Callable[..., SeedreamPanel]) -> None:
    panel = make_panel(prompt="x")
    bundle = panel._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert "ready" in repr(panel)
