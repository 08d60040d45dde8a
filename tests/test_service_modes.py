"""Issue 18 end to end, over real sockets: the bases a client meets, and what it sends to each.

- a base that answers a create at once with only ``{"id", "status"}`` (the seed page's example:
  no urls, no hold, no stream) is followed to the end by polling;
- a local input above 1 MB goes through ``POST /v1/files`` once per client and the create carries
  its URL (the create's body stays under 64 KB); a base without ``/files`` gets it inline, with one note.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from _images import noise_png
from PIL import Image

from seedream_widgets import Result, Seedream
from seedream_widgets.demo import DemoServer

TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed


@pytest.fixture(scope="module")
def large_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 MB PNG of noise (incompressible): what a photo from a phone weighs."""
    path = tmp_path_factory.mktemp("inputs") / "photo.png"
    path.write_bytes(noise_png())
    assert 3_000_000 < path.stat().st_size < 3_400_000
    return path


@pytest.mark.parametrize("stream", [True, False], ids=["stream on", "stream off"])
def test_a_base_answering_id_and_status_only_is_followed_to_the_end(tmp_path: Path, stream: bool) -> None:
    with DemoServer(minimal_create=True, base_seconds=1.2, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path, stream=stream) as client:
        result = client.generate("a red fox", size="1K")
        stats = server.stats
    assert isinstance(result, Result) and result.paths[0].is_file()
    assert result.prediction.status == "succeeded"
    assert stats.requests.get("create") == 1 and stats.requests.get("get", 0) >= 1
    assert stats.requests.get("stream", 0) == 0, "the answer offered no stream URL"
    assert stats.requests.get("get", 0) <= 20, stats.requests


def test_a_large_input_is_uploaded_once_and_the_create_carries_its_url(tmp_path: Path, large_png: Path) -> None:
    with DemoServer(base_seconds=0.2, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path) as client:
        first = client.generate("the same scene at night", image_input=[large_png], size="1K")
        create_bytes = (server.stats.request_bytes or {}).get("create", 0)
        second = client.generate("the same scene in the rain", image_input=[large_png], size="1K")
        stats = server.stats
        sent = server.prediction(first.id)["input"]["image_input"]
    assert stats.uploads == 1, "the same bytes are uploaded once per client"
    assert 0 < create_bytes < 64 * 1024, f"the create's body was {create_bytes} bytes"
    assert sent[0].startswith(server.url) and sent[0].endswith("/download"), sent
    assert first.paths[0].is_file() and second.paths[0].is_file()


def test_a_base_without_files_gets_the_input_inline_with_one_note(tmp_path: Path, large_png: Path) -> None:
    with DemoServer(files_route=False, base_seconds=0.2, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path) as client:
        first = client.generate("the same scene at night", image_input=[large_png], size="1K")
        second = client.generate("the same scene in the rain", image_input=[large_png], size="1K")
        stats = server.stats
        sent = server.prediction(first.id)["input"]["image_input"]
        notes = list(client.core.catalog.notes)
    assert first.paths[0].is_file() and second.paths[0].is_file()
    assert sent[0].startswith("data:image/png;base64,")
    assert (stats.request_bytes or {}).get("create", 0) > 2 * 4_000_000, "both creates carried the image inline"
    assert stats.requests.get("upload") == 1 and stats.uploads == 0, "asked once, then never again"
    assert [n for n in notes if "Files API" in n] == [
        "the service has no Files API (/files): input images above 1 MB are sent inline as data URIs"]


def test_a_small_input_stays_inline(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(small)
    with DemoServer(base_seconds=0.1, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path / "out") as client:
        result = client.generate("a blue square, as a mosaic", image_input=[small], size="1K")
        stats = server.stats
        sent = server.prediction(result.id)["input"]["image_input"]
    assert stats.uploads == 0 and stats.requests.get("upload", 0) == 0
    assert sent[0].startswith("data:image/png;base64,")
