"""Interrupts and restarts in real kernels: the stop button cancels at once; a killed kernel loses nothing.

Builds on ``tests/test_magic_kernel.py`` (which interrupts a cell that is polling):
here the interrupt lands while the create is still held by ``Prefer: wait`` (the
prediction's id is not known yet) and after the first image of a set is already
staged, and the kernel is then asked what is left running on its engine loop.
Then a kernel is killed in the middle of a set, and a new kernel finds the
prediction in the journal (``Seedream().in_flight()``) and ``resume``s it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _stored import stored_as_sent

from seedream_widgets.demo import DemoServer
from seedream_widgets.gallery import Gallery

from .conftest import SENTINEL, Figures, demo_server, journal_ids, leftovers
from .kernels import ENGINE_STATE, Kernel

pytestmark = pytest.mark.kernel

CANCEL_WITHIN = 1.0


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def backend() -> Iterator[DemoServer]:
    with demo_server() as server:
        yield server


@pytest.fixture(scope="module")
def kernel(backend: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    root = tmp_path_factory.mktemp("interrupts")
    with Kernel(root, SEEDREAM_BASE_URL=backend.base_url, SEEDREAM_API_TOKEN=SENTINEL,
                SEEDREAM_OUTPUT_DIR=str(root / "out")) as started:
        started.root = root / "out"  # type: ignore[attr-defined]
        assert started.run("%load_ext seedream_widgets").ok
        yield started


@pytest.mark.parametrize(("moment", "cell"), [
    ("while the create is held by Prefer: wait", "%%seedream -s 1K -o held\n[demo:slow=20] a fox held open"),
    ("after image 1 of 3 is staged", "%%seedream -s 1K -n 3 -o story\na story the stop button ends"),
])
def test_interrupt_cancels_within_a_second_and_leaves_nothing_running(moment: str, cell: str, kernel: Kernel,
                                                                      backend: DemoServer, figures: Figures) -> None:
    root: Path = kernel.root  # type: ignore[attr-defined]
    backend.configure(per_image_seconds=1.5 if "-n 3" in cell else 0.02)
    before = backend.stats
    msg_id = kernel.submit(cell)
    wait_for(lambda: backend.stats.creates > before.creates, 20, "the create")
    if "-n 3" in cell:
        wait_for(lambda: any(root.glob(".partial-*/1.*")), 20, "image 1 in the staging folder")
    else:
        time.sleep(0.2)  # well inside the 1 s hold: the client has no id yet
        assert backend.stats.requests.get("get", 0) == before.requests.get("get", 0)
    sent = time.monotonic()
    kernel.km.interrupt_kernel()
    wait_for(lambda: backend.stats.cancels > before.cancels, 5, "the cancel request")
    latency = time.monotonic() - sent
    reply = kernel.collect(msg_id, timeout=15)
    assert reply.reply["content"]["status"] == "error" and reply.reply["content"]["ename"] == "KeyboardInterrupt"
    pid = backend.stats.prediction_ids[-1]
    assert backend.prediction(pid)["status"] == "canceled"
    assert backend.stats.cancels == before.cancels + 1, "one cancel, for the prediction of this cell"
    assert latency < CANCEL_WITHIN, f"the cancel reached the service {latency:.2f} s after the interrupt"

    state = kernel.run(ENGINE_STATE).json()
    assert state["tasks"] == [], f"left running on the engine loop: {state['tasks']}"
    assert state["in_flight"] == [] and state["names"] == []
    assert leftovers(root) == [], "nothing of a canceled run on disk: no image, staging folder or journal entry"
    assert kernel.run("1 + 1").ok, "the kernel lives on"
    figures.note(f"interrupt {moment}", f"cancel reached the service after {latency * 1000:.0f} ms")
    figures.refuse("interrupts")


@pytest.mark.parametrize("when", ["while it still runs", "after it finished"])
def test_a_killed_kernel_then_resume_in_a_new_kernel_recovers_the_images(when: str, tmp_path: Path,
                                                                        figures: Figures) -> None:
    root = tmp_path / "out"
    env = {"SEEDREAM_API_TOKEN": SENTINEL, "SEEDREAM_OUTPUT_DIR": str(root)}
    # Images 1.5 s apart: the kill lands well before the set ends, even on a busy machine.
    with demo_server(per_image_seconds=1.5) as server:
        env["SEEDREAM_BASE_URL"] = server.base_url
        first = Kernel(tmp_path, **env)
        try:
            loaded = first.run("%load_ext seedream_widgets")
            assert loaded.ok, loaded.everything()
            first.submit("%%seedream -s 1K -n 3 -o story\na story interrupted by a crash")
            wait_for(lambda: any(root.glob(".partial-*/1.*")), 20, "image 1 in the staging folder")
            pid = server.stats.prediction_ids[-1]
        finally:
            first.km.shutdown_kernel(now=True)  # killed: no cleanup code runs
            first.kc.stop_channels()
        assert not first.km.is_alive()
        left = leftovers(root)
        assert f".journal/{pid}.json" in left, f"the journal remembers the run: {left}"
        staging = Gallery(root).staging_for(pid).name
        assert staging.startswith(".partial-") and any(p.startswith(f"{staging}/") for p in left), \
            f"the kill left the staging folder its journal entry names: {left}"
        assert not (root.exists() and any(root.glob(f"*/{pid}/prediction.json"))), "nothing stored yet"
        if when == "after it finished":
            wait_for(lambda: server.prediction(pid)["status"] == "succeeded", 15, "the prediction to finish")
        assert server.prediction(pid)["status"] in ("processing", "succeeded")

        with Kernel(tmp_path, **env) as second:
            reply = second.run(
                "import json\n"
                "from seedream_widgets import Seedream\n"
                "client = Seedream()\n"
                "ids = [entry['id'] for entry in client.in_flight()]\n"
                "results = [client.resume(i, timeout=30) for i in ids]\n"
                "print(json.dumps({'ids': ids, 'paths': [[str(p) for p in r.paths] for r in results],\n"
                "                  'left': [entry['id'] for entry in client.in_flight()]}))", timeout=60)
            assert reply.ok, reply.everything()
            found = reply.json()
        assert server.stats.creates == 1, "resumed, not generated again"

    assert found["ids"] == [pid] and found["left"] == [], found
    paths = [Path(p) for p in found["paths"][0]]
    assert len(paths) == 3
    for index, path in enumerate(paths):
        assert stored_as_sent(path, server.output_bytes(pid, index))
    assert journal_ids(root) == []
    assert not [p for p in leftovers(root) if ".partial" in p], "the stale staging folder was used up"
    figures.finished()
    figures.note(f"kill then resume ({when})", "3 of 3 images recovered, hashes equal, journal empty")
