"""The engine loop: one private asyncio loop in a daemon thread that runs all network work.

Why a thread and not nest_asyncio: a notebook cell already runs inside the
kernel's event loop, so ``asyncio.run`` fails there; patching the loop to be
re-entrant (nest_asyncio) is unmaintained and breaks newer Pythons (see
``docs/async.md``). Instead every coroutine runs on this loop, and callers wait
on a `concurrent.futures.Future`: the same code path in a cell, a script, a
widget callback on a kernel subshell thread, or a test.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["EngineLoop", "engine_loop"]

T = TypeVar("T")


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

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None,
            events: queue.SimpleQueue[Callable[[], None]] | None = None) -> T:
        """Run a coroutine on the engine loop and wait for it on the calling thread.

        ``events`` is a queue of callables that the engine side fills (progress
        displays); they run here, on the waiting thread, so their output lands in
        the cell that is waiting. A KeyboardInterrupt (the kernel's stop button)
        cancels the coroutine, waits briefly for its cleanup (e.g. sending a
        cancel to the service), then propagates.
        """
        if self.in_engine_thread():
            coro.close()
            raise RuntimeError("EngineLoop.run called from the engine thread itself; await the coroutine instead")
        started, finished = threading.Event(), threading.Event()

        async def tracked() -> T:
            started.set()
            try:
                return await coro
            finally:
                finished.set()

        future = self.submit(tracked())
        try:
            while True:
                if events is not None:
                    _drain(events)
                try:
                    return future.result(timeout=0.05 if events is not None else timeout)
                except concurrent.futures.TimeoutError:
                    if events is None:
                        raise
        except KeyboardInterrupt:
            future.cancel()
            # Let the coroutine's cleanup (the cancel request) finish, but not forever. (The future itself
            # reports "cancelled" at once, before the task on the engine loop has even seen the cancel.)
            delivered = threading.Event()
            self._loop.call_soon_threadsafe(delivered.set)  # runs after the cancel reached the task
            with contextlib.suppress(BaseException):
                delivered.wait(timeout=1)
                if started.is_set():
                    finished.wait(timeout=5)
                else:  # cancelled before it ever ran: nothing to clean up
                    coro.close()
            raise
        finally:
            if events is not None:
                _drain(events)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def _drain(events: queue.SimpleQueue[Callable[[], None]]) -> None:
    while True:
        try:
            callback = events.get_nowait()
        except queue.Empty:
            return
        callback()


_ENGINE: EngineLoop | None = None
_ENGINE_LOCK = threading.Lock()


def engine_loop() -> EngineLoop:
    """The process-wide engine loop, started on first use."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = EngineLoop()
            atexit.register(_ENGINE.close)
        return _ENGINE
