"""The engine's threads: one private asyncio loop that runs all network work, and one that delivers states.

Why a thread and not nest_asyncio: a notebook cell already runs inside the
kernel's event loop, so ``asyncio.run`` fails there; patching the loop to be
re-entrant (nest_asyncio) is unmaintained and breaks newer Pythons (see
``docs/async.md``). Instead every coroutine runs on this loop, and callers wait
on a `concurrent.futures.Future`: the same code path in a cell, a script, a
widget callback on a kernel subshell thread, or a test.

The second thread, the notifier, calls the front doors' callbacks (`Run.subscribe`)
in order, each in the `contextvars.Context` of the code that subscribed: a
renderer may draw thumbnails there without holding up the engine loop, and
ipykernel's parent header (kept in a context variable) sends its output to the
cell that started the run. This module is private to the engine: front doors
use `Run` and the clients, never these threads.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["EngineLoop", "Notifier", "engine_loop", "notifier"]

T = TypeVar("T")
log = logging.getLogger("seedream_widgets")


class EngineLoop:
    """An asyncio loop running forever in a daemon thread.

    >>> async def answer() -> int:
    ...     return 42
    >>> engine_loop().run(answer())
    42
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="seedream-engine", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def in_engine_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine on the engine loop; returns at once (safe from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call_soon(self, fn: Callable[[], Any]) -> None:
        self._loop.call_soon_threadsafe(fn)

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run a short coroutine (one request) on the engine loop and wait for it on the calling thread.

        A KeyboardInterrupt cancels the coroutine, lets its cleanup start, and propagates.
        Generations are `Run`s, whose `Run.wait` has the full interrupt handling.
        """
        if self.in_engine_thread():
            coro.close()
            raise RuntimeError("EngineLoop.run called from the engine thread itself; await the coroutine instead")
        future = self.submit(coro)
        try:
            return future.result(timeout=timeout)
        except KeyboardInterrupt:
            future.cancel()
            delivered = threading.Event()
            self._loop.call_soon_threadsafe(delivered.set)  # runs after the cancel reached the task
            with contextlib.suppress(BaseException):
                delivered.wait(timeout=1)
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


class Notifier:
    """A daemon thread that runs callbacks one at a time, in order, each in its own context."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[contextvars.Context, Callable[[], None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="seedream-notify", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            context, callback = item
            try:
                context.run(callback)
            except Exception:  # a broken renderer must not stop the others (nor the run)
                log.exception("a seedream state callback failed")

    def call(self, callback: Callable[[], None], context: contextvars.Context | None = None) -> None:
        """Run ``callback`` on the notifier thread, after everything queued before it."""
        self._queue.put((context or contextvars.copy_context(), callback))

    def in_notifier_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)


_ENGINE: EngineLoop | None = None
_NOTIFIER: Notifier | None = None
_LOCK = threading.Lock()


def engine_loop() -> EngineLoop:
    """The process-wide engine loop, started on first use."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = EngineLoop()
            atexit.register(_ENGINE.close)
        return _ENGINE


def notifier() -> Notifier:
    """The process-wide notifier thread, started on first use."""
    global _NOTIFIER
    with _LOCK:
        if _NOTIFIER is None:
            _NOTIFIER = Notifier()
            atexit.register(_NOTIFIER.close)
        return _NOTIFIER
