"""A real Jupyter kernel (another process) for the reliability tests, read straight from its channels.

The kernel gets a clean environment: no ``SEEDREAM_*``/``REPLICATE_*`` of the
developer's, plus what the test passes (the demo backend's URL, a sentinel
token, an output folder). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

Message = dict[str, Any]


def kernel_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass
class Reply:
    """What one execute request produced."""

    reply: Message
    messages: list[Message] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.reply["content"]["status"] == "ok")

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    def json(self) -> Any:
        """The last line printed, parsed as JSON (cells report their findings that way)."""
        return json.loads(self.stdout.strip().splitlines()[-1])

    def everything(self) -> str:
        """Every message of the request, serialized: what a front end received."""
        return "\n".join(json.dumps(m["content"], default=str) for m in [*self.messages, self.reply])


class Kernel:
    """One started kernel with a blocking client; a context manager that always shuts it down."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=kernel_env(**env), cwd=str(cwd))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        self.kc.stop_channels()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=True)

    def submit(self, code: str) -> str:
        return str(self.kc.execute(code))

    def collect(self, msg_id: str, timeout: float = 60) -> Reply:
        """This request's iopub messages until the kernel is idle, then its reply."""
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.kc.get_iopub_msg(timeout=max(0.05, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        while True:
            reply: Message = self.kc.get_shell_msg(timeout=max(0.05, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                return Reply(reply, messages)

    def run(self, code: str, timeout: float = 60) -> Reply:
        return self.collect(self.submit(code), timeout)


ENGINE_STATE = """
import asyncio as _asyncio, json as _json, os as _os, threading as _threading
from seedream_widgets.engine import engine_loop as _engine_loop
from seedream_widgets.gallery import Gallery as _Gallery

async def _other_tasks():
    return [repr(t) for t in _asyncio.all_tasks() if t is not _asyncio.current_task()]

print(_json.dumps({
    "tasks": _engine_loop().run(_other_tasks()),
    "in_flight": [e["id"] for e in _Gallery(_os.environ["SEEDREAM_OUTPUT_DIR"]).in_flight()],
    "threads": sorted(t.name for t in _threading.enumerate()),
    "names": sorted(n for n in ("story", "held", "result") if n in dir()),
}))
"""
"""A cell that reports what is still going on in the kernel: engine tasks, journal, threads, variables."""
