"""`Handle`: what `Run` and `Batch` share, a state that renderers follow and an outcome to wait for.

>>> unsubscribe = run.subscribe(print)              # every new state, on the notifier thread   # doctest: +SKIP
>>> result = run.wait(timeout=60, on_state=print)   # on this thread instead                    # doctest: +SKIP
>>> async for state in run: ...                     # on the iterating loop                     # doctest: +SKIP

Delivery of states (`Handle.subscribe`): by default on the engine's notifier thread, in the
context of the code that subscribed, latest state first (a slow renderer skips intermediate
states, never the last one); ``deliver="direct"`` calls on the handle's loop (it must be quick);
any callable schedules delivery itself (``loop.call_soon_threadsafe``, ``queue.put``...).
`Handle.wait` delivers on the waiting thread instead, and `async for` on the iterating loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .engine import notifier
from .errors import WaitTimeout

__all__ = ["CANCEL_GRACE", "Deliver", "Handle"]

log = logging.getLogger("seedream_widgets")

CANCEL_GRACE = 10.0
"""How long `Handle.cancel` and an interrupted `Handle.wait` wait for the cleanup (the cancel request)."""

Deliver = Literal["notifier", "direct"] | Callable[[Callable[[], None]], Any]
S = TypeVar("S")
T = TypeVar("T")


@dataclass(eq=False)
class _Subscriber:
    callback: Callable[[Any], Any]
    deliver: Deliver
    context: contextvars.Context
    scheduled: bool = False
    last: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handle(Generic[S, T]):
    """What `Run` and `Batch` share: a state of type ``S`` that subscribers follow, and an outcome ``T``.

    Subclasses set ``_loop`` and implement `state`, `result` and `_request_cancel`, publish with
    `_changed`, and call `_finish` once, on their loop, when they have ended.
    """

    _loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._on_finish: list[Callable[[], None]] = []

    @property
    def state(self) -> S:
        raise NotImplementedError

    def result(self) -> T:
        raise NotImplementedError

    def _request_cancel(self) -> None:
        raise NotImplementedError

    def done(self) -> bool:
        """True once it has ended (and its cleanup is over)."""
        return self._finished.is_set()

    # -- subscribing -------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[S], Any], *, deliver: Deliver = "notifier") -> Callable[[], None]:
        """Call ``callback(state)`` with each new state (the current one first); returns an unsubscribe function.

        ``deliver``: ``"notifier"`` (default: the engine's notifier thread, in the caller's
        context), ``"direct"`` (on the loop that runs it; must be quick), or a callable that
        schedules a zero-argument function wherever the caller wants it run. A slow callback
        skips intermediate states, never the last one.
        """
        subscriber = _Subscriber(callback, deliver, contextvars.copy_context())
        with self._lock:
            self._subscribers.append(subscriber)
        self._schedule(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def _schedule(self, subscriber: _Subscriber) -> None:
        with subscriber.lock:
            if subscriber.scheduled:
                return  # a delivery is pending: it will read the newest state
            subscriber.scheduled = True
        deliver = functools.partial(self._deliver, subscriber)
        if subscriber.deliver == "notifier":
            notifier().call(deliver, subscriber.context)
        elif subscriber.deliver == "direct":
            if self._in_loop_thread() or self._loop.is_closed():
                deliver()
            else:  # the first delivery of a subscriber made on another thread: still on the loop
                self._loop.call_soon_threadsafe(deliver)
        else:
            subscriber.deliver(deliver)

    def _deliver(self, subscriber: _Subscriber) -> None:
        with subscriber.lock:
            subscriber.scheduled = False  # before reading: a state published from now on schedules again
        state = self.state
        if state is subscriber.last:
            return
        subscriber.last = state
        try:
            subscriber.callback(state)
        except Exception:  # a broken renderer must not break (or orphan) the generation
            log.exception("a seedream state callback failed")

    def _changed(self) -> None:
        """Hand the current state to every subscriber."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            self._schedule(subscriber)

    async def __aiter__(self) -> AsyncIterator[S]:
        """Each new state as it comes (latest first when the loop is busy), ending with the final one."""
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        unsubscribe = self.subscribe(lambda _: ready.set(), deliver=loop.call_soon_threadsafe)
        seen: Any = None
        try:
            while True:
                await ready.wait()
                ready.clear()
                state = self.state
                if state is not seen:
                    seen = state
                    yield state
                if self.done() and state is self.state:
                    return
        finally:
            unsubscribe()

    # -- finishing and waiting ------------------------------------------------------------------

    def add_done_callback(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(self)`` once it has ended (on the notifier thread, in the caller's context)."""
        context = contextvars.copy_context()
        self._when_finished(lambda: notifier().call(functools.partial(callback, self), context))

    def _when_finished(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._finished.is_set():
                self._on_finish.append(callback)
                return
        callback()

    def _finish(self) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self._finished.set()
            callbacks, self._on_finish = self._on_finish, []
        self._changed()
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("a done callback failed")

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def wait(self, timeout: float | None = None, *, on_state: Callable[[S], Any] | None = None,
             every: float | None = None) -> T:
        """Block until it ends and return its outcome (or raise its error).

        ``on_state`` is called on this thread with each new state while waiting (so a display it
        makes lands where this thread's output goes), and with the current state at least every
        ``every`` seconds (a status line's clock). ``timeout`` stops waiting (`WaitTimeout`); the
        work goes on. KeyboardInterrupt cancels on the service, waits for that cleanup, then
        propagates.
        """
        if self._in_loop_thread():
            raise RuntimeError("wait() called on the loop that runs it; use `await` there")
        states: queue.SimpleQueue[S] = queue.SimpleQueue()
        unsubscribe = self.subscribe(states.put, deliver="direct") if on_state is not None else None
        deadline = None if timeout is None else time.monotonic() + timeout
        shown: Any = None
        last_call = time.monotonic()

        def show(state: S) -> None:
            nonlocal shown, last_call
            shown, last_call = state, time.monotonic()
            if on_state is not None:
                try:
                    on_state(state)
                except Exception:
                    log.exception("on_state callback failed")

        def drain(final: bool = False) -> None:
            # Every state, in order: on_update callbacks see each event (the queue holds them all).
            while True:
                try:
                    state = states.get_nowait()
                except queue.Empty:
                    break
                if state is not shown:
                    show(state)
            if final and shown is not self.state:
                show(self.state)

        try:
            while not self._finished.is_set():
                step = 0.05 if on_state is not None else 0.2
                if deadline is not None:
                    step = max(0.0, min(step, deadline - time.monotonic()))
                self._finished.wait(step)
                if on_state is not None:
                    drain()
                    if every is not None and time.monotonic() - last_call >= every and not self._finished.is_set():
                        show(self.state)
                if deadline is not None and time.monotonic() >= deadline and not self._finished.is_set():
                    raise WaitTimeout(f"stopped waiting after {timeout:g} s; it goes on (wait() again, or cancel())")
            if on_state is not None:
                drain(final=True)
        except KeyboardInterrupt:
            self.cancel(wait=True)
            if on_state is not None:
                drain(final=True)
            raise
        finally:
            if unsubscribe is not None:
                unsubscribe()
        return self.result()

    def __await__(self) -> Generator[Any, None, T]:
        return self._wait_async().__await__()

    async def _wait_async(self) -> T:
        """Await the end on any loop; cancelling the awaiting task cancels it (and waits for its cleanup)."""
        loop = asyncio.get_running_loop()
        try:
            await self._finished_future(loop)
        except asyncio.CancelledError:
            self._request_cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._finished_future(loop))
            raise
        return self.result()

    def _finished_future(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        def schedule() -> None:
            loop.call_soon_threadsafe(wake)

        self._when_finished(schedule)
        return future

    def cancel(self, *, wait: bool = True, timeout: float = CANCEL_GRACE) -> None:
        """Cancel; with ``wait``, return once the cancel requests reached the service and cleanup finished.

        What already ended is left as it is. On its own loop it never waits (``await acancel()`` there).
        """
        self._request_cancel()
        if wait and not self._in_loop_thread():
            self._finished.wait(timeout)

    async def acancel(self) -> None:
        """`cancel` for async code: returns once the cleanup has finished."""
        self._request_cancel()
        if not self.done():
            await asyncio.shield(self._finished_future(asyncio.get_running_loop()))
