"""The anywidget pieces headless: `Lightbox` (slides, keys as methods, images sent on demand over the comm, never into
state) and `DropZone` (files and Ctrl+Enter arriving as the view's custom messages)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _stored_runs import write_runs

from seedream_widgets import Seedream
from seedream_widgets.demo import DemoServer
from seedream_widgets.frontend import DroppedFile, DropZone, Lightbox, Slide
from seedream_widgets.frontend.drop import MAX_BYTES
from seedream_widgets.frontend.lightbox import run_details
from seedream_widgets.gallery import Gallery


def message(widget: Any, buffers: list[bytes] | None = None, **content: Any) -> None:
    """A custom message from the widget's view."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                        "buffers": [memoryview(b) for b in buffers or []]})


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], list[bytes]]]:
    """What widgets send to their views."""
    log: list[tuple[dict[str, Any], list[bytes]]] = []
    monkeypatch.setattr(Lightbox, "send",
                        lambda self, content, buffers=None: log.append((content, list(buffers or []))))
    return log


def slides(tmp_path: Path, runs: int = 3, images: int = 2) -> list[Slide]:
    write_runs(tmp_path, runs, images=images, px=48)
    gallery = Gallery(tmp_path)
    return [Slide.from_record(r, i, gallery) for r in gallery.history(None) for i in range(len(r.files))]


def test_show_step_and_hide(tmp_path: Path) -> None:
    box = Lightbox()
    assert box.index == -1 and box.current is None and box.slides == []
    items = slides(tmp_path)
    box.show(items, 1)
    assert box.index == 1 and box.current is items[1] and box.epoch == 1 and len(box.slides) == 6
    assert box.slides[1]["number"] == 2 and box.slides[1]["count"] == 2 and box.slides[1]["name"].endswith("_2.jpg")
    box.step(1)
    assert box.index == 2
    box.step_run(1)
    assert box.index == 4  # the third run's first image
    box.step_run(-1)
    assert box.index == 2  # the previous run's first image
    box.step_run(-1)
    assert box.index == 0
    box.step(-1)
    assert box.index == 0  # nothing before, nobody asked: stays
    edges: list[int] = []
    box.on_edge(edges.append)
    box.step(-1)
    box.index = 5
    box.step(1)
    box.step_run(1)
    assert edges == [-1, 1, 1] and box.index == 5
    box.hide()
    assert box.index == -1 and box.current is None


def test_images_go_over_the_comm_on_request_never_into_state(tmp_path: Path,
                                                             sent: list[tuple[dict[str, Any], list[bytes]]]) -> None:
    items = slides(tmp_path)
    box = Lightbox(items, 0)
    state = json.dumps({k: v for k, v in box.get_state().items() if k not in ("_esm", "_css")})  # (the view's code)
    assert str(tmp_path) not in state and len(state) < 8_000
    message(box, kind="load", epoch=box.epoch, index=3, part="image", request=5)
    content, buffers = sent[-1]
    assert content == {"kind": "image", "epoch": 1, "index": 3, "part": "image", "request": 5, "mime": "image/jpeg",
                       "bytes": items[3].path.stat().st_size}
    assert buffers == [items[3].path.read_bytes()]
    message(box, kind="load", epoch=0, index=3, part="image", request=6)  # about an earlier set: dropped
    message(box, kind="load", epoch=box.epoch, index=99, part="image", request=7)  # no such slide: dropped
    assert len(sent) == 1
    message(box, kind="load", epoch=box.epoch, index=0, part="before", request=8)  # not an edit
    assert sent[-1][0]["missing"] is True and sent[-1][1] == []
    items[2].path.unlink()
    message(box, kind="load", epoch=box.epoch, index=2, part="image", request=9)
    assert sent[-1][0]["missing"] is True


def test_an_edits_before_image_a_url_or_a_file(tmp_path: Path, sent: list[tuple[dict[str, Any], list[bytes]]]) -> None:
    made = tmp_path / "in.png"
    made.write_bytes(b"\x89PNG fake")
    box = Lightbox([Slide(made, "a.png", before=lambda: "https://example.com/in.png"),
                    Slide(made, "b.png", before=lambda: made)], 0)
    assert box.slides[0]["edit"] is True
    message(box, kind="load", epoch=box.epoch, index=0, part="before", request=1)
    assert sent[-1][0]["url"] == "https://example.com/in.png" and sent[-1][1] == []
    message(box, kind="load", epoch=box.epoch, index=1, part="before", request=2)
    assert sent[-1][0]["mime"] == "image/png" and sent[-1][1] == [b"\x89PNG fake"]


def test_use_as_input_and_the_edge_from_the_view(tmp_path: Path) -> None:
    items = slides(tmp_path, runs=1, images=2)
    box = Lightbox(items, 0)
    used: list[Path] = []
    edges: list[int] = []
    box.on_use(used.append)
    box.on_edge(edges.append)
    assert box.can_use
    message(box, kind="use", epoch=box.epoch, index=1)
    message(box, kind="edge", epoch=box.epoch, direction=-1)
    assert used == [items[1].path] and edges == [-1]
    box.on_use(used.append, remove=True)
    assert not box.can_use


def test_details_of_a_run() -> None:
    rows = dict(run_details("bytedance/seedream-4", {"prompt": "p", "size": "2K", "image_input": ["x", "y"]}, "abc",
                            "2026-12-01T10:20:30.123Z", 0.06, False, (2048, 1536)))
    assert rows == {"Model": "bytedance/seedream-4", "Settings": "size=2K", "Input images": "2",
                    "Size": "2048×1536 px", "Id": "abc", "Created": "2026-12-01 10:20:30 UTC", "Cost": "$0.060"}
    demo = dict(run_details("", {}, "x", "", None, True, (0, 0)))
    assert demo["Cost"] == "nothing (demo backend)" and demo["Model"] == "unknown" and "Size" not in demo
    assert "Cost" not in dict(run_details("m", {}, "x", "", None, False, (1, 1)))  # unknown cost: not shown


def test_slides_of_a_result(demo_server: DemoServer, tmp_path: Path) -> None:
    with Seedream(base_url=demo_server.base_url, output_dir=tmp_path) as client:
        result = client.generate("two foxes", size="1K", sequential_image_generation="auto", max_images=2)
    made = [Slide.from_result(result, i) for i in range(len(result.paths))]
    assert [s.path for s in made] == result.paths and made[1].name.endswith("_two-foxes_2.jpg")
    assert made[0].run == result.id and made[0].demo and dict(made[0].details)["Size"] == "1024×1024 px"
    record = Gallery(tmp_path).find(result.id)
    assert record is not None and Slide.from_record(record, 1).name == made[1].name


def test_drop_zone_takes_files_and_ctrl_enter_from_the_view() -> None:
    zone = DropZone(scope=".seedream-panel")
    batches: list[list[DroppedFile]] = []
    submits: list[int] = []
    zone.on_files(batches.append)
    zone.on_submit(lambda: submits.append(1))
    message(zone, [b"png-bytes", b"jpeg-bytes"], kind="files", how="paste",
            files=[{"name": "pasted image", "type": "image/png", "size": 9},
                   {"name": "b.jpg", "type": "image/jpeg", "size": 10}])
    assert batches == [[DroppedFile("pasted image", "image/png", b"png-bytes", "paste"),
                        DroppedFile("b.jpg", "image/jpeg", b"jpeg-bytes", "paste")]]
    assert zone.received == 2
    message(zone, kind="submit")
    assert submits == [1] and zone.submitted == 1
    zone.max_bytes = 4  # a file over the limit that got through anyway is refused here too
    message(zone, [b"too large"], kind="files", files=[{"name": "big.png", "type": "image/png"}])
    zone.disabled = True
    zone.max_bytes = MAX_BYTES
    message(zone, [b"x"], kind="files", files=[{"name": "c.png", "type": "image/png"}])
    assert len(batches) == 1 and zone.received == 2
    message(zone, kind="submit")  # still submits while disabled
    assert submits == [1, 1]
    assert "png-bytes" not in json.dumps(zone.get_state())  # nothing of the files stays in the state


def test_a_failing_callback_is_said_in_the_zone() -> None:
    zone = DropZone()

    def broken(files: list[DroppedFile]) -> None:
        raise ValueError("no room")

    zone.on_files(broken)
    assert zone.receive([DroppedFile("a.png", "image/png", b"x")]) == 1
    assert zone.message == "could not take the files: no room"
    zone.on_files(broken, remove=True)
    assert zone.receive([]) == 0
