"""The engine end to end against the demo backend over real sockets: protocol, errors, retries, gallery."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _stored import stored_as_sent
from PIL import Image

from seedream_widgets import (
    AsyncSeedream,
    AuthenticationError,
    ConfigurationError,
    DeadlineExceeded,
    NetworkError,
    NotFoundError,
    OutputError,
    OutputExpired,
    PredictionCanceled,
    PredictionFailed,
    RateLimitError,
    Result,
    Seedream,
    SeedreamError,
    ValidationError,
)
from seedream_widgets.client import Update
from seedream_widgets.demo import DemoServer

SENTINEL = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed


@pytest.fixture
def client(demo: DemoServer, tmp_path: Path) -> Any:
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path / "out") as c:
        yield c


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# -- configuration and modes -----------------------------------------------------------


def test_demo_mode_needs_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEEDREAM_OUTPUT_DIR")  # the default: ./seedream-outputs
    with Seedream() as client:
        assert client.settings.demo
        result = client.generate("a red fox in the snow", size="1K", aspect_ratio="16:9")
    assert result.demo and "DEMO" in repr(result)
    assert result.folder.is_relative_to(tmp_path / "seedream-outputs")
    assert result.sizes == [(1280, 720)]
    with Image.open(result.paths[0]) as image:
        assert image.size == (1280, 720)


def test_no_token_is_never_sent_to_a_remote_service() -> None:
    with pytest.raises(ConfigurationError, match="SEEDREAM_API_TOKEN"):
        Seedream(base_url="https://api.replicate.com/v1")


def test_environment_configures_the_client(demo: DemoServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", SENTINEL)
    monkeypatch.setenv("SEEDREAM_BASE_URL", demo.base_url)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "env-out"))
    client = AsyncSeedream()
    assert client.settings.token_source == "REPLICATE_API_TOKEN"
    assert client.settings.base_url == demo.base_url
    assert client.settings.output_dir == tmp_path / "env-out"
    assert not client.settings.demo
    assert SENTINEL not in repr(client) and SENTINEL not in repr(client.settings)


@pytest.mark.parametrize("shape", ["/v1", "/replicate/v1"])
def test_replicate_and_quickrouter_shaped_bases(demo: DemoServer, tmp_path: Path, shape: str) -> None:
    with Seedream(token=SENTINEL, base_url=demo.url + shape, output_dir=tmp_path) as client:
        result = client.generate("a lighthouse", size="1K")
    assert demo.prediction(result.id)["status"] == "succeeded"
    assert result.paths[0].is_file()


# -- the protocol ------------------------------------------------------------------------


def test_prefer_wait_finishes_within_the_wait_without_polling(client: Seedream, demo: DemoServer) -> None:
    result = client.generate("quick", size="1K")
    stats = demo.stats
    assert stats.creates == 1
    assert stats.requests.get("get", 0) == 0, "a prediction done within Prefer: wait needs no poll"
    assert stats.requests.get("file") == 1
    assert result.prediction.status == "succeeded"


def test_polling_path_when_the_prediction_outlasts_the_wait(demo: DemoServer, tmp_path: Path) -> None:
    demo.configure(base_seconds=1.8)
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1, stream=False) as client:
        result = client.generate("slow one", size="1K")
    assert result.prediction.status == "succeeded"
    assert demo.stats.requests.get("get", 0) >= 1 and demo.stats.requests.get("stream", 0) == 0
    assert demo.stats.creates == 1


def test_progressive_outputs_reach_on_update_in_order(demo: DemoServer, client: Seedream) -> None:
    demo.configure(base_seconds=0.3, per_image_seconds=0.5)
    updates: list[Update] = []
    caller = threading.current_thread()
    threads: set[threading.Thread] = set()

    def on_update(update: Update) -> None:
        threads.add(threading.current_thread())
        updates.append(update)

    result = client.generate("a story in three panels", size="1K", sequential_image_generation="auto",
                             max_images=3, on_update=on_update)
    assert len(result.paths) == 3
    assert threads == {caller}, "the facade runs callbacks on the waiting thread"
    outputs = [len(u.prediction.output) for u in updates if u.event == "output"]
    assert outputs == sorted(outputs) and outputs[-1] == 3
    image_events = [u for u in updates if u.event == "image"]
    assert [len(u.images) for u in image_events] == [1, 2, 3]
    assert image_events[0].prediction.status == "processing", "the first image is saved before the set ends"
    named = [u for u in updates if u.id]
    assert updates[0].phase in ("queued", "submitting") and not updates[0].id  # shown before the service answers
    assert named[0].event == "created" and updates[-1].event == "done"
    assert list(updates[-1].images) == result.paths


def test_cancel_by_cancelling_the_task(demo: DemoServer, tmp_path: Path) -> None:
    async def main() -> str:
        async with AsyncSeedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1) as client:
            task = asyncio.create_task(client.generate("[demo:slow=20] never mind", size="1K"))
            while not demo.stats.prediction_ids:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # now past the create: it is polling
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert client.in_flight() == []
            return demo.stats.prediction_ids[0]

    prediction_id = asyncio.run(main())
    assert demo.stats.cancels == 1
    assert demo.prediction(prediction_id)["status"] == "canceled"
    assert files_under(tmp_path) == []


def test_cancel_while_the_create_is_held_by_prefer_wait(demo: DemoServer, tmp_path: Path) -> None:
    """The id is unknown while Prefer: wait holds the create; the client finds it and cancels it."""
    async def main() -> None:
        async with AsyncSeedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path) as client:
            task = asyncio.create_task(client.generate("[demo:slow=20] held", size="1K"))
            while not demo.stats.prediction_ids:
                await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert demo.stats.cancels == 1
    assert demo.prediction(demo.stats.prediction_ids[0])["status"] == "canceled"


def test_low_level_create_get_cancel(client: Seedream, demo: DemoServer) -> None:
    prediction = client.create("[demo:slow=10] low level", wait=0, size="1K")
    assert prediction.status == "starting"
    assert client.get(prediction.id).id == prediction.id
    assert client.cancel(prediction.id).status == "canceled"
    assert demo.stats.cancels == 1


# -- errors: one exception class per server answer ----------------------------------------


def test_authentication_error(demo: DemoServer, tmp_path: Path) -> None:
    demo.configure(token="the-right-token-123456")
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path) as client, \
            pytest.raises(AuthenticationError) as info:
        client.generate("x", size="1K")
    assert info.value.status == 401
    assert "SEEDREAM_API_TOKEN" in str(info.value)
    assert SENTINEL not in str(info.value)


def test_not_found_model(demo: DemoServer, tmp_path: Path) -> None:
    with Seedream(token=SENTINEL, base_url=demo.base_url, model="nobody/nothing", output_dir=tmp_path) as client, \
            pytest.raises(NotFoundError, match="404"):
        client.generate("x", size="1K")


def test_the_family_may_be_named_without_its_owner(demo: DemoServer, tmp_path: Path) -> None:
    """``seedream-5-lite`` means ``bytedance/seedream-5-lite`` everywhere a model is named: the client's own
    model, a run's model and a comparison's model axis; a name that is no model name is refused before sending."""
    with Seedream(token=SENTINEL, base_url=demo.base_url, model="seedream-4.5", output_dir=tmp_path) as client:
        assert client.settings.model == "bytedance/seedream-4.5" and client.schema.model == "bytedance/seedream-4.5"
        lite = client.generate("a fox", model="seedream-5-lite", size="3K")
        assert lite.model == "bytedance/seedream-5-lite"
        grid = client.compare("an owl", model=["seedream-4", "seedream-5-lite"], aspect_ratio=["1:1"])
        assert [r.model for r in grid.results] == ["bytedance/seedream-4", "bytedance/seedream-5-lite"]
        before = demo.stats.creates
        with pytest.raises(ValidationError, match="'foo' is not a model name"):
            client.generate("x", model="foo")
        assert demo.stats.creates == before


def test_not_found_prediction(client: Seedream) -> None:
    with pytest.raises(NotFoundError):
        client.get("doesnotexist0000000000000")


def test_local_validation_sends_nothing(client: Seedream, demo: DemoServer) -> None:
    with pytest.raises(ValidationError) as info:
        client.generate("  ", size="3K", max_images=99, aspect="4:3")
    assert set(info.value.fields) == {"prompt", "size", "max_images", "aspect"}
    message = str(info.value)
    assert "1K, 2K, 4K, custom" in message and "did you mean 'aspect_ratio'" in message
    assert demo.stats.total_requests == 0


def test_rate_limit_error_after_retries(demo: DemoServer, tmp_path: Path) -> None:
    demo.inject("429", route="create", times=10, params={"retry_after": 0})
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, max_retries=2) as client, \
            pytest.raises(RateLimitError) as info:
        client.generate("x", size="1K")
    assert info.value.status == 429
    assert demo.stats.creates == 0


def test_server_error_after_retries(demo: DemoServer, tmp_path: Path) -> None:
    demo.inject("500", route="get", times=10)
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, max_retries=2) as client, \
            pytest.raises(SeedreamError, match="500"):
        client.get(client.create("x", wait=0, size="1K").id)


def test_network_error_names_the_base_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    with Seedream(token=SENTINEL, base_url=base, output_dir=tmp_path, max_retries=1) as client, \
            pytest.raises(NetworkError, match=f"127.0.0.1:{port}"):
        client.generate("x", size="1K")


def test_failed_prediction_carries_error_and_logs(client: Seedream, tmp_path: Path) -> None:
    with pytest.raises(PredictionFailed) as info:
        client.generate("[demo:fail=the model ran out of paint] x", size="1K")
    assert "the model ran out of paint" in str(info.value)
    assert info.value.prediction is not None and info.value.prediction.status == "failed"
    assert files_under(tmp_path) == [], "nothing half-written, no journal left"


def test_cancel_from_elsewhere(demo: DemoServer, tmp_path: Path) -> None:
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1) as client:
        timer = threading.Timer(1.3, lambda: demo.cancel_from_elsewhere(demo.stats.prediction_ids[0]))
        timer.start()
        try:
            with pytest.raises(PredictionCanceled):
                client.generate("[demo:slow=10] x", size="1K")
        finally:
            timer.cancel()
    assert files_under(tmp_path) == []


def test_a_deadline_is_sent_as_cancel_after_and_the_service_ends_the_prediction(demo: DemoServer,
                                                                                 tmp_path: Path) -> None:
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1) as client:
        with pytest.raises(DeadlineExceeded) as info:
            client.generate("[demo:slow=3] patience", size="1K", timeout=1.2)
        prediction_id = info.value.prediction.id  # type: ignore[union-attr]
        assert "Cancel-After" in str(info.value) and prediction_id in str(info.value)
        time.sleep(1.0)  # the service's deadline is the timeout rounded up to whole seconds: 2 s
        assert demo.prediction(prediction_id)["status"] == "canceled"
        assert demo.stats.cancels == 0, "ended by the service's own deadline, not by a cancel request"
        # Resuming it (e.g. after a restart) says so and clears the journal entry.
        with pytest.raises(PredictionCanceled):
            client.resume(prediction_id)
        assert client.in_flight() == []


def test_deadline_then_resume_after_a_restart(demo: DemoServer, tmp_path: Path) -> None:
    # A service that ignores Cancel-After (a proxy) may still finish the prediction after the client's deadline.
    demo.configure(cancel_after=False)
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1) as first:
        with pytest.raises(DeadlineExceeded) as info:
            first.generate("[demo:slow=2] patience", size="1K", timeout=1.2)
        prediction_id = info.value.prediction.id  # type: ignore[union-attr]
        assert "resume(" in str(info.value)
    # A new client (as after a kernel restart) finds the journal and finishes the run.
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path) as second:
        assert [entry["id"] for entry in second.in_flight()] == [prediction_id]
        result = second.resume(prediction_id)
        assert result.paths[0].is_file()
        assert second.in_flight() == []
        before = demo.stats.total_requests
        again = second.resume(prediction_id)  # stored whole: served from disk, no request
        assert again.paths == result.paths
        assert demo.stats.total_requests == before
        assert [run.id for run in second.history()] == [prediction_id]


# -- retries: every transient fault survived, never a duplicate create ----------------------


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "504", "drop", "drop_after", "malformed", "latency"])
@pytest.mark.parametrize("route", ["create", "get", "file"])
def test_transient_faults_are_survived_without_duplicate_creates(demo: DemoServer, tmp_path: Path, kind: str,
                                                                 route: str) -> None:
    demo.configure(base_seconds=0.4)
    demo.inject(kind, route=route, params={"retry_after": 0, "seconds": 0.3})
    # Faults on reads need reads: that case polls (a followed stream that ends well needs no read at all).
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1 if route != "get" else 0,
                  create_grace=0.6, stream=route != "get") as client:
        result = client.generate(f"fault {kind} on {route}", size="1K")
    assert demo.stats.faults_injected.get(kind) == 1, "the fault really happened"
    assert demo.stats.creates == 1, "never bill twice"
    assert result.paths[0].is_file()
    with Image.open(result.paths[0]) as image:
        assert image.size == (1024, 1024)


def test_ambiguous_create_adopts_the_prediction_it_made(demo: DemoServer, tmp_path: Path) -> None:
    """The answer to a create is lost after the prediction was made: the client finds it instead of re-creating."""
    demo.inject("drop_after", route="create")
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, create_grace=0.5) as client:
        result = client.generate("made once", size="1K")
    assert demo.stats.requests.get("create") == 1 and demo.stats.creates == 1
    assert demo.stats.requests.get("list", 0) >= 1
    assert result.id == demo.stats.prediction_ids[0]


# -- outputs: expired and hostile ------------------------------------------------------------


def test_expired_output(client: Seedream, demo: DemoServer, tmp_path: Path) -> None:
    demo.inject("expire", route="file")
    with pytest.raises(OutputExpired) as info:
        client.generate("gone", size="1K")
    assert info.value.prediction_id and info.value.url.startswith("http")
    assert "hour" in str(info.value)
    assert files_under(tmp_path) == []


def test_outputs_inlined_as_data_uris_are_saved_like_downloads(client: Seedream, demo: DemoServer) -> None:
    """Replicate's sync mode may answer a finished ``Prefer: wait`` create with ``data:`` URIs (the official
    client reads them too): they are decoded, verified and stored, and no file request is made."""
    demo.configure(inline_outputs=True)
    result = client.generate("inline please", size="1K")
    assert demo.stats.requests.get("file", 0) == 0 and demo.stats.requests.get("create") == 1
    assert stored_as_sent(result.paths[0], demo.output_bytes(result.id, 0))
    sidecar_text = (result.folder / "prediction.json").read_text()
    url = json.loads(sidecar_text)["images"][0]["url"]
    assert url.startswith("data:image/jpeg;sha256=") and ";bytes=" in url, url
    assert len(sidecar_text) < 4000, "the sidecar names the inline image, it does not carry it"


def test_the_journal_entry_is_written_while_the_service_holds_the_create(demo: DemoServer, client: Seedream,
                                                                         tmp_path: Path) -> None:
    """The entry (input, no id yet) and the staging folder exist before the held create answers; the id is
    added after it; a stored run leaves neither behind."""
    root = tmp_path / "out"
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(result=client.generate("[demo:slow=1.5] held", size="1K")))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not list(root.glob(".journal/*.pending")) and time.monotonic() < deadline:
            time.sleep(0.01)
        # The entry is written once the request is sent, which can be a moment before the server has read it.
        while demo.stats.creates < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        (pending,) = root.glob(".journal/*.pending")
        entry = json.loads(pending.read_text())
        assert demo.stats.creates == 1 and "id" not in entry and entry["input"]["prompt"] == "[demo:slow=1.5] held"
        assert (root / entry["staging"]).is_dir() and entry["staging"].startswith(".partial-")
        assert not list(root.glob(".journal/*.json")), "no id yet: the service has not answered"
    finally:
        worker.join(30)
    result = box["result"]
    assert result.paths[0].is_file()
    assert [p.relative_to(root).as_posix() for p in root.rglob("*") if ".journal" in p.parts or
            p.name.startswith(".partial-")] == [".journal"], "the entry and the staging folder were used up"


@pytest.mark.parametrize(("kind", "params", "match"), [
    ("output_scheme", {}, "only http"),
    ("oversize", {"bytes": 3_000_000}, "limit"),
    ("not_image", {}, "not an image"),
    ("bomb", {}, "huge"),
])
def test_hostile_outputs_are_refused_and_nothing_is_left(demo: DemoServer, tmp_path: Path, kind: str,
                                                         params: dict[str, Any], match: str) -> None:
    demo.inject(kind, params=params)
    with Seedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path,
                  max_output_bytes=2_000_000) as client, pytest.raises(OutputError, match=match):
        client.generate("hostile", size="1K")
    assert files_under(tmp_path) == []


# -- gallery, sidecars, many --------------------------------------------------------------------


def test_gallery_layout_and_sidecar_never_holds_the_token(client: Seedream, tmp_path: Path) -> None:
    png = tmp_path / "in.png"
    Image.new("RGB", (300, 200), "teal").save(png)
    result = client.generate("edit this", image_input=[png], size="1K")
    day = result.prediction.created_at.strftime("%Y-%m-%d")  # type: ignore[union-attr]
    assert result.folder == tmp_path / "out" / day / result.id
    sidecar = json.loads((result.folder / "prediction.json").read_text())
    assert sidecar["id"] == result.id and sidecar["model"] == "bytedance/seedream-4"
    assert sidecar["input"]["image_input"][0].startswith("data:image/png;sha256=")
    assert sidecar["images"][0]["file"] == result.paths[0].name
    # match_input_image follows the 3:2 input at the area of 1K: 1248x832
    assert (sidecar["images"][0]["width"], sidecar["images"][0]["height"]) == (1248, 832)
    assert sidecar["timings"]["client_seconds"] > 0
    for path in files_under(tmp_path / "out"):
        assert SENTINEL.encode() not in path.read_bytes()
    assert SENTINEL not in repr(result) and SENTINEL not in result._repr_html_()


def test_generate_many_keeps_order_and_isolates_failures(client: Seedream, demo: DemoServer) -> None:
    prompts = ["one", "", "[demo:fail=broken] three", "four"]
    outcomes = client.generate_many(prompts, concurrency=3, size="1K", progress=False)
    assert [type(o).__name__ for o in outcomes] == ["Result", "ValidationError", "PredictionFailed", "Result"]
    assert isinstance(outcomes[0], Result) and outcomes[0].prompt == "one"
    assert isinstance(outcomes[3], Result) and outcomes[3].prompt == "four"
    assert demo.stats.creates == 3


def test_compare_runs_the_product_of_axes(client: Seedream) -> None:
    grid = client.compare("a lighthouse", size=["1K", "2K"], aspect_ratio=["1:1", "16:9"], progress=False)
    assert len(grid) == 4 and not grid.errors
    sizes = {(s["size"], s["aspect_ratio"]): r.sizes[0] for s, r in grid.cells if isinstance(r, Result)}
    assert sizes[("1K", "16:9")] == (1280, 720) and sizes[("2K", "1:1")] == (2048, 2048)
    assert grid._repr_html_().count("<img") == 4


# -- the facade everywhere -------------------------------------------------------------------


def test_sync_facade_inside_a_running_event_loop(client: Seedream) -> None:
    async def cell() -> Result:  # a notebook cell: a loop is already running on this thread
        asyncio.get_running_loop()
        return client.generate("inside a loop", size="1K")

    assert asyncio.run(cell()).paths[0].is_file()


def test_agenerate_leaves_the_callers_loop_free(client: Seedream) -> None:
    async def cell() -> tuple[Result, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await client.agenerate("awaited", size="1K")
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(cell())
    assert result.paths[0].is_file()
    assert ticks > 5, "the caller's loop kept running while the engine worked"


def test_sync_facade_under_nest_asyncio(demo: DemoServer, tmp_path: Path) -> None:
    """Many notebooks call nest_asyncio.apply(); it patches asyncio process-wide, so this runs in its own process."""
    import subprocess
    import sys

    script = f"""
import asyncio, nest_asyncio
from seedream_widgets import Seedream

async def cell():
    nest_asyncio.apply()
    asyncio.run(asyncio.sleep(0))           # what nest_asyncio is applied for: re-entrant asyncio.run
    with Seedream(token="x" * 20, base_url={demo.base_url!r}, output_dir={str(tmp_path)!r}) as client:
        return client.generate("patched loop", size="1K")

result = asyncio.new_event_loop().run_until_complete(cell())
print(result.paths[0])
"""
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_file()


def test_async_client_reused_across_event_loops(demo: DemoServer, tmp_path: Path) -> None:
    """One client, two asyncio.run() calls (a script's pattern): each loop gets its own pool, closed with it."""
    client = AsyncSeedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path)

    async def run(prompt: str) -> Result:
        async with client:  # closes the pool before its loop ends; the next use opens a new one
            return await client.generate(prompt, size="1K")

    first = asyncio.run(run("loop one"))
    second = asyncio.run(run("loop two"))
    assert first.id != second.id and demo.stats.creates == 2


def test_elapsed_is_close_to_the_server_time(demo: DemoServer, client: Seedream) -> None:
    demo.configure(start_seconds=0.0, base_seconds=0.5, per_image_seconds=0.0)
    started = time.monotonic()
    result = client.generate("timing", size="1K")
    wall = time.monotonic() - started
    assert result.elapsed is not None and 0.5 <= result.elapsed <= wall


def test_cancelling_generate_many_cancels_every_running_prediction(demo: DemoServer, tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncSeedream(token=SENTINEL, base_url=demo.base_url, output_dir=tmp_path, wait=1) as client:
            task = asyncio.create_task(client.generate_many(
                [f"[demo:slow=20] item {i}" for i in range(3)], concurrency=3, size="1K"))
            while len(demo.stats.prediction_ids) < 3:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert demo.stats.cancels == 3
    assert {demo.prediction(i)["status"] for i in demo.stats.prediction_ids} == {"canceled"}


def test_keyboard_interrupt_returns_only_after_the_cancel_was_sent(demo: DemoServer, client: Seedream) -> None:
    """The kernel's stop button: the facade re-raises KeyboardInterrupt once the service has the cancel."""
    import os
    import signal

    # A real SIGINT (as the kernel sends), which also interrupts the blocking wait.
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.generate("[demo:slow=20] stop me", size="1K")
    finally:
        timer.cancel()
    assert demo.stats.cancels == 1, "the cancel reached the service before control came back"
    assert client.in_flight() == []


def test_a_token_echoed_by_the_service_is_scrubbed_from_the_prediction(demo: DemoServer, client: Seedream) -> None:
    with pytest.raises(PredictionFailed) as info:
        client.generate(f"[demo:fail=bad credentials {SENTINEL}] echo", size="1K")
    prediction = info.value.prediction
    assert prediction is not None
    assert SENTINEL not in str(info.value)
    assert SENTINEL not in (prediction.error or "") + prediction.logs  # the input keeps the user's own prompt
    assert "bad credentials r8_…" in (prediction.error or "")
