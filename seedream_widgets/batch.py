"""`Batch`: many `Run`s as one handle (``start_many``, ``start_compare``), and `BatchState`, its snapshot.

>>> batch = Seedream().start_many(["an owl", "a heron"], size="1K")   # doctest: +SKIP
>>> batch.state.counts                                               # doctest: +SKIP
{'queued': 0, 'running': 2, 'succeeded': 0, 'failed': 0}
>>> outcomes = batch.wait()                                          # doctest: +SKIP

Each item is a `Run` (its own states, renderable one by one); the batch's state is the tuple of
theirs. Items run at most ``concurrency`` at once, paced by the client's rate (`AsyncSeedream.pace`).
An item whose input is invalid ends at once with its `ValidationError` and never stops the
others; ``skip_stored`` matches each valid item against the runs already stored in the output
folder (same model, same mode, same input, each stored run used once) and against journaled
predictions a killed process left running, which are resumed instead of created and paid again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .errors import SeedreamError
from .handle import Handle
from .result import Result
from .run import Run, RunState

__all__ = ["Batch", "BatchState", "Outcome"]

Outcome = Result | SeedreamError
T = TypeVar("T")


@dataclass(frozen=True)
class BatchState:
    """A snapshot of a batch: every item's `RunState`, in input order."""

    items: tuple[RunState, ...]
    started: float
    ended: float | None = None
    label: str = "batch"
    """``batch`` or ``compare``: what a renderer calls it."""

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def counts(self) -> dict[str, int]:
        """How many items are queued, running, succeeded and failed (canceled and timed out count as failed)."""
        counts = {"queued": 0, "running": 0, "succeeded": 0, "failed": 0}
        for item in self.items:
            if item.phase == "queued":
                counts["queued"] += 1
            elif item.phase == "succeeded":
                counts["succeeded"] += 1
            elif item.done:
                counts["failed"] += 1
            else:
                counts["running"] += 1
        return counts

    @property
    def finished(self) -> int:
        """Items that have ended, well or not."""
        return sum(1 for item in self.items if item.done)

    @property
    def done(self) -> bool:
        return self.ended is not None

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def note(self) -> str:
        """The first waiting item's note (``waiting for the rate limit``), if any."""
        return next((item.note for item in self.items if item.note and not item.done), "")

    @property
    def demo(self) -> bool:
        return any(item.demo for item in self.items)


class Batch(Handle[BatchState, T]):
    """Many runs as one: `state` (a `BatchState`), `subscribe`, `wait`, `cancel`, and each `runs[i]`.

    ``wait()`` returns what the batch was made for: the list of outcomes (``start_many``; each a
    `Result` or the `SeedreamError` its item ended with) or a `Comparison` (``start_compare``).
    """

    def __init__(self, runs: Sequence[Run], loop: asyncio.AbstractEventLoop,
                 collect: Callable[[list[Outcome]], T], *, label: str = "batch") -> None:
        super().__init__()
        self._loop = loop
        self.runs: list[Run] = list(runs)
        self._collect = collect
        self._label = label
        self._started = time.monotonic()
        self._ended: float | None = None
        self._cache: tuple[tuple[RunState, ...], float | None, BatchState] | None = None
        self._remaining = len(self.runs)
        for run in self.runs:
            run.subscribe(lambda _: self._changed(), deliver="direct")
            run._when_finished(self._one_finished)  # at once for a run that has already ended
        if not self.runs:
            self._end()

    def _one_finished(self) -> None:
        # Called where each run finishes (its loop); the batch ends with its last run.
        with self._lock:
            self._remaining -= 1
            last = self._remaining == 0
        if last:
            self._end()

    def _end(self) -> None:
        self._ended = time.monotonic()
        self._finish()

    @property
    def state(self) -> BatchState:
        items = tuple(run.state for run in self.runs)
        cached = self._cache
        if cached is not None and cached[1] == self._ended and len(cached[0]) == len(items) \
                and all(a is b for a, b in zip(cached[0], items, strict=True)):
            return cached[2]
        state = BatchState(items, self._started, self._ended, self._label)
        self._cache = (items, self._ended, state)
        return state

    def outcomes(self) -> list[Outcome]:
        """Each item's `Result` or error, in input order (items still running raise `RuntimeError`)."""
        return [run.outcome() for run in self.runs]

    def result(self) -> T:
        if not self.done():
            raise RuntimeError(f"the batch is still running ({self.state.finished}/{self.state.total} done); "
                               "wait() for it")
        return self._collect(self.outcomes())

    def _request_cancel(self) -> None:
        for run in self.runs:
            run._request_cancel()

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        state = self.state
        counts = " · ".join(f"{n} {what}" for what, n in state.counts.items() if n)
        return f"<Batch of {state.total}: {counts} · {state.elapsed:.1f} s>"

