"""`SeedreamGallery` headless: paging, filters, star, delete and undo, use as input, the lightbox, a panel with a
run's settings; through the real `Gallery` of a temporary output folder (written in the real layout, or by real
runs of the demo backend). The view's clicks are simulated as the custom messages it sends."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stored_runs import MODELS, write_runs

import seedream_widgets
from seedream_widgets import Seedream
from seedream_widgets.browse import SeedreamGallery
from seedream_widgets.browse.filters import Filters
from seedream_widgets.browse.gallery import THUMB_PX
from seedream_widgets.demo import DemoServer
from seedream_widgets.gallery import Gallery

END = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
COUNT = 60  # run i: model MODELS[i % 3], demo when i % 5 == 0, starred when i % 50 == 0; one a day up to END


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    write_runs(root, COUNT, days=COUNT, px=96, end=END)
    return root


@pytest.fixture
def gallery(folder: Path) -> Iterator[SeedreamGallery]:
    widget = SeedreamGallery(folder, page_size=10)
    yield widget
    widget.close()


def click(widget: Any, **message: Any) -> None:
    """What the view sends when something is clicked (a custom message over the comm)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": message}}, "buffers": []})


def prompts(gallery: SeedreamGallery) -> list[str]:
    return [run["prompt"] for run in gallery.grid.runs]


def test_the_first_page_is_the_newest_runs_with_small_thumbnails_only(gallery: SeedreamGallery,
                                                                      folder: Path) -> None:
    assert (gallery.total, gallery.pages, gallery.page) == (COUNT, 6, 0)
    assert prompts(gallery)[0].endswith(f"#{COUNT - 1}") and prompts(gallery)[-1].endswith(f"#{COUNT - 10}")
    run = gallery.grid.runs[0]
    assert run["model"] == MODELS[(COUNT - 1) % 3].rsplit("/", 1)[-1]
    assert run["when"].startswith("2026-11-29") and run["name"].endswith(".jpg") and run["images"] == 1
    assert all(r["thumb"].startswith("data:image/jpeg;base64,") for r in gallery.grid.runs)
    jpeg = base64.b64decode(run["thumb"].partition(",")[2])
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) < 20_000
    state = json.dumps(gallery.grid.get_state())
    assert len(gallery.grid.runs) == 10 and len(state) < 10 * 20_000 + 60_000  # the page's thumbnails, no more
    assert str(folder) not in state.replace(os.path.basename(folder), "")  # no file paths in the state
    assert "Seedream gallery" in gallery.children[0].value
    assert repr(gallery).startswith(f"<SeedreamGallery {folder}: 60 runs, page 1 of 6")
    # Thumbnails are made once, by the engine, beside the index (front doors write no file).
    assert len(list((folder / ".index" / "thumbs").rglob(f"*_1_{THUMB_PX}.jpg"))) == 10


def test_thumbnails_over_the_time_budget_follow_when_the_view_asks(folder: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("seedream_widgets.browse.gallery.THUMB_BUDGET", 0.0)
    widget = SeedreamGallery(folder, page_size=5)
    try:
        assert [(r["thumb"], r["pending"]) for r in widget.grid.runs] == [("", True)] * 5
        click(widget.grid, action="thumbs")  # what the view sends once it has drawn the page
        assert all(r["thumb"].startswith("data:image/jpeg") and not r["pending"] for r in widget.grid.runs)
        assert widget.fill_thumbnails() == 0
        widget.view(widget.records[0].id)
        assert widget.lightbox.slides[0]["thumb"] == widget.grid.runs[0]["thumb"]
    finally:
        widget.close()


def test_paging_by_the_views_messages_and_clamped(gallery: SeedreamGallery) -> None:
    click(gallery.grid, action="page", page=1)
    assert gallery.page == 1 and prompts(gallery)[0].endswith(f"#{COUNT - 11}")
    click(gallery.grid, action="page", page=99)
    assert gallery.page == 5 and len(gallery.records) == 10 and prompts(gallery)[-1].endswith("#0")
    gallery.show_page(-3)
    assert gallery.page == 0


@pytest.mark.parametrize(("filters", "expected"), [
    ({"text": "lighthouse"}, [i for i in range(COUNT) if i % 10 == 1]),
    ({"text": "red fox snow"}, [i for i in range(COUNT) if i % 10 == 0 and (i // 10) % 8 == 0]),
    ({"model": MODELS[1]}, [i for i in range(COUNT) if i % 3 == 1]),
    ({"starred": True}, [0, 50]),
    ({"demo": True}, [i for i in range(COUNT) if i % 5 == 0]),
    ({"demo": False, "model": MODELS[0]}, [i for i in range(COUNT) if i % 5 and i % 3 == 0]),
    ({"since": dt.date(2026, 11, 20), "until": dt.date(2026, 11, 22)}, [50, 51, 52]),
])
def test_filters(gallery: SeedreamGallery, filters: dict[str, Any], expected: list[int]) -> None:
    gallery.search(**filters)
    assert gallery.total == len(expected) and gallery.page == 0 and gallery.grid.filtered
    shown = [int(p.rsplit("#", 1)[1]) for p in prompts(gallery)]
    assert shown == sorted(expected, reverse=True)[:10]
    gallery.filters.set(Filters())
    assert gallery.total == COUNT and not gallery.grid.filtered


def test_the_toolbar_drives_the_same_filters(gallery: SeedreamGallery) -> None:
    bar = gallery.filters
    assert [v for _, v in bar.model.options] == ["", *MODELS]
    bar.search.value = "fox"
    assert gallery.total == 6  # runs 0, 10, ..., 50
    bar.model.value = MODELS[0]
    assert gallery.total == 2  # 0 and 30
    bar.mode.value = "real"
    assert gallery.total == 0  # every fox is a demo run
    bar.mode.value = "demo"
    bar.starred.value = True
    assert gallery.total == 1 and prompts(gallery)[0].endswith("#0")
    bar.clear.click()
    assert gallery.total == COUNT and bar.value == Filters()


def test_an_empty_folder(tmp_path: Path) -> None:
    widget = SeedreamGallery(tmp_path / "nothing-yet")
    try:
        assert widget.total == 0 and widget.grid.runs == [] and widget.pages == 1
        assert widget.grid.folder.endswith("nothing-yet") and not widget.grid.filtered
    finally:
        widget.close()


def test_star_and_unstar_write_the_sidecar(gallery: SeedreamGallery) -> None:
    run_id = gallery.records[1].id
    click(gallery.grid, action="star", id=run_id)
    assert gallery.grid.runs[1]["starred"] is True
    sidecar = json.loads((gallery.records[1].folder / "prediction.json").read_text())
    assert sidecar["starred"] is True
    gallery.search(starred=True)
    assert run_id in [r.id for r in gallery.records]
    click(gallery.grid, action="star", id=run_id)
    assert run_id not in [r.id for r in gallery.records]  # unstarred: it leaves the starred view
    assert Gallery(gallery.output_dir).find(run_id).starred is False  # type: ignore[union-attr]


def test_delete_moves_to_the_trash_and_undo_brings_it_back(gallery: SeedreamGallery) -> None:
    first, second = gallery.records[0], gallery.records[1]
    click(gallery.grid, action="delete", id=first.id)
    click(gallery.grid, action="delete", id=second.id)
    assert gallery.total == COUNT - 2 and first.id not in [r.id for r in gallery.records]
    assert not first.folder.exists() and (gallery.output_dir / ".trash" / first.folder.parent.name / first.id).is_dir()
    assert gallery.grid.notice["undo"] is True and "trash" in gallery.grid.notice["text"]
    click(gallery.grid, action="undo")
    assert gallery.total == COUNT - 1 and gallery.records[0].id == second.id
    assert gallery.grid.notice["undo"] is True  # one more to undo
    assert gallery.undo() == first.id
    assert gallery.total == COUNT and gallery.records[0].id == first.id and first.folder.is_dir()
    assert gallery.grid.notice["undo"] is False
    assert gallery.undo() is None and gallery.grid.notice["text"] == "Nothing to undo."


def test_a_failed_action_is_said_over_the_grid(gallery: SeedreamGallery) -> None:
    click(gallery.grid, action="delete", id="no-such-run")
    assert gallery.grid.notice["error"] is True and "no-such-run" in gallery.grid.notice["text"]
    click(gallery.grid, action="explode", id="x")  # not an action: ignored
    assert gallery.total == COUNT


def test_use_as_input_hands_the_path_to_the_registered_callbacks(gallery: SeedreamGallery) -> None:
    used: list[Path] = []
    assert not gallery.grid.can_use and not gallery.lightbox.can_use
    gallery.on_use(used.append)
    assert gallery.grid.can_use and gallery.lightbox.can_use
    click(gallery.grid, action="use", id=gallery.records[2].id)
    assert used == [gallery.records[2].paths[0]] and used[0].is_file()
    gallery.view(gallery.records[3].id)
    click(gallery.lightbox, kind="use", epoch=gallery.lightbox.epoch, index=gallery.lightbox.index)
    assert used[-1] == gallery.records[3].paths[0]
    gallery.on_use(used.append, remove=True)
    assert not gallery.grid.can_use and not gallery.lightbox.can_use


def test_open_shows_the_page_in_the_lightbox_and_its_edges_turn_the_page(gallery: SeedreamGallery) -> None:
    click(gallery.grid, action="open", id=gallery.records[4].id)
    box = gallery.lightbox
    assert box.index == 4 and len(box.slides) == 10 and box.current is not None
    assert box.current.run == gallery.records[4].id and box.slides[4]["thumb"] == gallery.grid.runs[4]["thumb"]
    assert dict(box.slides[4]["details"])["Id"] == gallery.records[4].id
    box.index = 9
    click(box, kind="edge", epoch=box.epoch, direction=1)  # → past the page's last image
    assert gallery.page == 1 and box.index == 0 and box.current.run == gallery.records[0].id
    box.step(-1)  # ← past the first: back to page 1, its last image
    assert gallery.page == 0 and box.index == 9


def test_a_panel_with_the_settings_of_a_real_edit_run(demo_server: DemoServer, tmp_path: Path) -> None:
    with Seedream(base_url=demo_server.base_url, output_dir=tmp_path / "out") as client:
        fox = client.generate("a red fox in the snow", size="1K", aspect_ratio="4:3")
        edit = client.generate("the same fox at night", image_input=[fox.paths[0]], size="1K", aspect_ratio="16:9")
        other = client.generate("a lighthouse", model="bytedance/seedream-5-lite", size="3K")
        widget = SeedreamGallery(client=client)
        try:
            assert [r.id for r in widget.records] == [other.id, edit.id, fox.id]
            assert [r["edit"] for r in widget.grid.runs] == [False, True, False]
            # The edit's input image is found again (the stored output it was made from).
            assert widget.gallery.input_images(widget.records[1]) == [fox.paths[0]]
            click(widget.grid, action="panel", id=edit.id)
            panel = widget.panel
            assert panel is not None and panel.client is client and widget.panel_box.children[-1] is panel
            assert panel.controls["prompt"].value == "the same fox at night"
            assert panel.controls["aspect_ratio"].value == "16:9" and panel.controls["size"].value == "1K"
            assert len(panel.inputs) == 1 and panel.inputs[0].startswith("data:image/jpeg")
            assert panel.value is not None and panel.value.to_payload()["image_input"] == list(panel.inputs)
            # Another model's run: a client for that model, closed with the panel.
            panel2 = widget.open_panel(other.id)
            assert panel.comm is None and widget.panel is panel2  # the earlier panel was closed
            assert panel2.client is not client and panel2.client.settings.model == "bytedance/seedream-5-lite"
            assert panel2.controls["size"].value == "3K"
            widget.close_panel()
            assert widget.panel is None and widget.panel_box.children == ()
            # The lightbox of the edit: its before image is the fox, sent as bytes.
            widget.view(edit.id)
            sent: list[tuple[dict[str, Any], list[bytes]]] = []
            widget.lightbox.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))
            click(widget.lightbox, kind="load", epoch=widget.lightbox.epoch, index=1, part="before", request=7)
            assert sent[0][0]["request"] == 7 and sent[0][1] == [fox.paths[0].read_bytes()]
        finally:
            widget.close()


def test_gallery_engine_thumbnails_are_cached_and_remade_when_the_image_changes(folder: Path) -> None:
    gallery = Gallery(folder)
    record = gallery.history(1)[0]
    first = gallery.thumbnail(record, 0, 64)
    cached = folder / ".index" / "thumbs" / record.id[:2] / f"{record.id}_1_64.jpg"
    assert cached.read_bytes() == first
    cached.write_bytes(b"cached")  # a cached copy newer than its image is used as it is
    assert gallery.thumbnail(record, 0, 64) == b"cached"
    os.utime(cached, (0, 0))  # older than the image: made again
    assert gallery.thumbnail(record, 0, 64) == first
    record.paths[0].unlink()
    with pytest.raises(OSError):
        gallery.thumbnail(record, 0, 64)
    assert gallery.models() == sorted(MODELS)


def test_input_images_keeps_urls_and_says_none_for_what_is_gone(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path)
    write_runs(tmp_path, 2, px=64)
    record = gallery.history(1)[0]
    sidecar = record.folder / "prediction.json"
    data = json.loads(sidecar.read_text())
    data["input"]["image_input"] = ["https://example.com/in.png", "data:image/png;sha256=0123456789abcdef;bytes=9",
                                    "data:image/png;base64,AAAA"]
    sidecar.write_text(json.dumps(data))
    gallery.reindex()
    assert gallery.input_images(gallery.history(1)[0]) == ["https://example.com/in.png", None, None]


def test_exported_lazily_and_a_client_or_a_folder() -> None:
    assert seedream_widgets.SeedreamGallery is SeedreamGallery and "SeedreamGallery" in seedream_widgets.__all__
    with pytest.raises(TypeError, match="either"):
        SeedreamGallery("a", client=object())  # type: ignore[arg-type]


def test_the_default_folder_is_the_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "configured"))
    write_runs(tmp_path / "configured", 3, px=32)
    widget = SeedreamGallery()
    try:
        assert widget.output_dir == tmp_path / "configured" and widget.total == 3
    finally:
        widget.close()
    assert widget.grid.comm is None and widget.lightbox.comm is None
