"""``%%seedream`` in a real Jupyter kernel (another process), against the demo backend on a socket.

Messages are read straight from the kernel's iopub channel, so display ids and
their later ``update_display_data`` messages are checked as a front end sees them.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from seedream_widgets.demo import DemoServer

pytestmark = pytest.mark.kernel

Message = dict[str, Any]


def start_kernel(server: DemoServer, output_dir: Path) -> tuple[KernelManager, BlockingKernelClient]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
    env.update(SEEDREAM_BASE_URL=server.base_url, SEEDREAM_OUTPUT_DIR=str(output_dir))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(output_dir))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def stop_kernel(km: KernelManager, kc: BlockingKernelClient) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def collect(kc: BlockingKernelClient, msg_id: str, timeout: float = 30) -> list[Message]:
    """This request's iopub messages until the kernel is idle again."""
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while True:
        message = kc.get_iopub_msg(timeout=max(0.05, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def execute(kc: BlockingKernelClient, code: str, timeout: float = 30) -> tuple[Message, list[Message]]:
    msg_id = kc.execute(code)
    messages = collect(kc, msg_id, timeout)
    return reply_to(kc, msg_id, timeout), messages


def reply_to(kc: BlockingKernelClient, msg_id: str, timeout: float = 10) -> Message:
    while True:
        reply: Message = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def of_type(messages: list[Message], *types: str) -> list[Message]:
    return [m for m in messages if m["msg_type"] in types]


def display_id(message: Message) -> str | None:
    return message["content"].get("transient", {}).get("display_id")


@pytest.fixture(scope="module")
def kernel(demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingKernelClient]:
    km, kc = start_kernel(demo_server, tmp_path_factory.mktemp("kernel"))
    kc.km = km  # type: ignore[attr-defined]  # the interrupt test needs the manager
    reply, _ = execute(kc, "%load_ext seedream_widgets")
    assert reply["content"]["status"] == "ok"
    yield kc
    stop_kernel(km, kc)


def test_a_cell_shows_images_and_no_error(kernel: BlockingKernelClient, demo_server: DemoServer) -> None:
    reply, messages = execute(kernel, "%%seedream -s 1K -n 2 -o fox\na red fox in a kernel")
    assert reply["content"]["status"] == "ok"
    assert not of_type(messages, "error", "execute_result")  # no traceback, no Out[] duplicate
    status = [m for m in of_type(messages, "display_data", "update_display_data") if display_id(m)]
    assert status[0]["msg_type"] == "display_data"
    assert {display_id(m) for m in status} == {display_id(status[0])}  # one line, updated in place
    final = status[-1]["content"]["data"]["text/html"]
    assert final.count("<img") == 2 and 'class="seedream-result"' in final
    reply, messages = execute(kernel, "print(fox.id, len(fox.paths), _seedream is fox)")
    printed = "".join(m["content"]["text"] for m in of_type(messages, "stream"))
    pid, count, same = printed.split()
    assert count == "2" and same == "True"
    assert demo_server.prediction(pid)["input"]["max_images"] == 2


def test_no_wait_fills_its_output_later_through_the_display_id(kernel: BlockingKernelClient) -> None:
    msg_id = kernel.execute("%%seedream --no-wait -s 1K -o later\n[demo:slow=1] a patient fox")
    messages = collect(kernel, msg_id)
    assert reply_to(kernel, msg_id)["content"]["status"] == "ok"
    assert not of_type(messages, "error")
    first = of_type(messages, "display_data")
    assert len(first) == 1 and display_id(first[0])
    target = display_id(first[0])
    assert "<img" not in first[0]["content"]["data"]["text/html"]  # returned before the image existed
    deadline = time.monotonic() + 20
    filled = None
    while filled is None and time.monotonic() < deadline:
        try:
            message = kernel.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        if message["msg_type"] == "update_display_data" and display_id(message) == target \
                and "<img" in message["content"]["data"].get("text/html", ""):
            filled = message
    assert filled is not None, "the --no-wait output was never filled in place"
    assert filled["parent_header"].get("msg_id") == msg_id  # it stays with the cell that started it
    # Let the notifier thread finish first: IPython flushes stdout before every display update, so a
    # print racing a background update can be sent under the older cell's header (ipykernel behaviour).
    reply, _ = execute(kernel, "%seedream wait")
    assert reply["content"]["status"] == "ok"
    _, messages = execute(kernel, "print(type(later).__name__, later is _seedream)")
    assert "".join(m["content"]["text"] for m in of_type(messages, "stream")).split() == ["Result", "True"]


def test_interrupt_cancels_on_the_service_and_the_kernel_lives_on(kernel: BlockingKernelClient,
                                                                  demo_server: DemoServer) -> None:
    before = demo_server.stats
    msg_id = kernel.execute("%%seedream -s 1K -o never\n[demo:slow=5] a fox that gets interrupted")
    deadline = time.monotonic() + 15
    while demo_server.stats.creates == before.creates:
        assert time.monotonic() < deadline, "the prediction was never created"
        time.sleep(0.02)
    time.sleep(0.3)
    sent = time.monotonic()
    kernel.km.interrupt_kernel()  # type: ignore[attr-defined]
    while demo_server.stats.cancels == before.cancels:
        assert time.monotonic() - sent < 3, "the service never saw a cancel"
        time.sleep(0.01)
    assert time.monotonic() - sent < 1.0
    messages = collect(kernel, msg_id)
    reply = reply_to(kernel, msg_id)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
    errors = of_type(messages, "error")
    assert len(errors) == 1 and len(errors[0]["content"]["traceback"]) == 1  # one line, no traceback
    last = of_type(messages, "update_display_data")[-1]["content"]["data"]
    assert "canceled" in last["text/plain"]
    pid = demo_server.stats.prediction_ids[-1]
    assert demo_server.prediction(pid)["status"] == "canceled"
    reply, messages = execute(kernel, "1 + 1")  # still alive, nothing left running
    assert reply["content"]["status"] == "ok"
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "2"
    reply, messages = execute(kernel, "print('never' in dir())")
    assert "".join(m["content"]["text"] for m in of_type(messages, "stream")).strip() == "False"


def test_the_magic_works_after_nest_asyncio(demo_server: DemoServer, tmp_path: Path) -> None:
    """Notebooks that applied nest_asyncio (many tutorials do) keep working, even inside asyncio.run()."""
    km, kc = start_kernel(demo_server, tmp_path)
    try:
        reply, _ = execute(kc, "import asyncio, nest_asyncio\nnest_asyncio.apply()\n%load_ext seedream_widgets")
        assert reply["content"]["status"] == "ok"
        reply, messages = execute(kc, "%%seedream -s 1K -o plain\na fox after nest_asyncio")
        assert reply["content"]["status"] == "ok", reply["content"]
        assert "<img" in of_type(messages, "update_display_data")[-1]["content"]["data"]["text/html"]
        code = ("async def main():\n"
                "    assert asyncio.get_running_loop().is_running()\n"
                "    get_ipython().run_cell_magic('seedream', '-s 1K -o nested', 'a fox inside asyncio.run')\n"
                "asyncio.run(main())\n"
                "print(type(nested).__name__, len(nested.paths), nested.id != plain.id)")
        reply, messages = execute(kc, code)
        assert reply["content"]["status"] == "ok", reply["content"]
        printed = "".join(m["content"]["text"] for m in of_type(messages, "stream")).split()
        assert printed == ["Result", "1", "True"]
    finally:
        stop_kernel(km, kc)
