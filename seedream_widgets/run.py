"""`Run`: the one handle of one generation, and `RunState`, the snapshots every front door renders.

>>> run = Seedream().start("a red fox in the snow", size="1K")     # doctest: +SKIP
>>> run.state.phase, run.state.id                                 # doctest: +SKIP
('processing', 'jgphg58vscwhgj1j3nw69jk2t9')
>>> result = run.wait()                                           # doctest: +SKIP

A run is driven by one coroutine on its client's loop (the engine loop for `Seedream`): create
with a short ``Prefer: wait`` hold (a quick prediction answers at once), then follow it (its
server-sent events when the service offers a stream, else polls), download each output as it
appears, store the run, and publish a new frozen `RunState` at each step. Renderers subscribe;
they never poll the service, start threads, or touch files.

How states are delivered to renderers (`Run.subscribe`, `Run.wait`, ``async for``) is `handle`'s.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import protocol
from ._version import __version__
from .config import scrub
from .errors import (
    DeadlineExceeded,
    NotFoundError,
    OutputError,
    PredictionCanceled,
    PredictionFailed,
    SeedreamError,
)
from .gallery import redact_input
from .handle import Handle
from .images import SavedImage, thumbnail
from .models import PRICES
from .prediction import Prediction
from .provenance import GenerationRecord, embed
from .result import Result
from .schema import SeedreamInput

if TYPE_CHECKING:
    from .client import AsyncSeedream

__all__ = ["TERMINAL_PHASES", "Phase", "Run", "RunState"]

log = logging.getLogger("seedream_widgets")

Phase = Literal["queued", "submitting", "starting", "processing", "saving", "succeeded", "failed", "canceled",
                "aborted", "timed_out"]
"""Where a run is: waiting its turn (a batch), creating, on the service, storing, or ended."""
TERMINAL_PHASES: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "aborted", "timed_out"})
Event = Literal["queued", "submitting", "created", "status", "logs", "output", "image", "saving", "done", "error",
                "note"]

FIRST_HOLD = 1.0
"""Seconds the create is held by ``Prefer: wait``: a quick prediction answers whole, a longer one is
followed from then on, so every door shows its id, status and logs within about a second."""


@dataclass(frozen=True)
class RunState:
    """A snapshot of one generation: what every renderer draws.

    ``event`` says what changed last (``created``, ``status``, ``logs``, ``output``, ``image``,
    ``done``, ...); ``images`` are the files saved so far, in output order (moved into the run's
    folder once it is stored: ``result.paths`` then).
    """

    input: SeedreamInput | None
    phase: Phase = "queued"
    event: Event = "queued"
    prediction: Prediction | None = None
    started: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the run left the queue."""
    ended: float | None = None
    images: tuple[Path, ...] = ()
    image: SavedImage | None = None
    """The image saved by the latest ``image`` event."""
    error: BaseException | None = None
    result: Result | None = None
    note: str = ""
    """A short remark for the status line (waiting for the rate limit, resuming...)."""
    demo: bool = False
    label: str = ""
    """What a batch calls this item (``line 4``, ``size=2K``)."""
    model: str = ""

    @property
    def id(self) -> str:
        """The prediction id, once the service has named it ("" before)."""
        return self.prediction.id if self.prediction else ""

    @property
    def status(self) -> str:
        """The service's status when known, else the phase."""
        if self.phase in TERMINAL_PHASES or self.prediction is None:
            return self.phase
        return self.prediction.status

    @property
    def done(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def elapsed(self) -> float:
        """Seconds since the run left the queue (frozen once it ended)."""
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def logs(self) -> str:
        return self.prediction.logs if self.prediction else ""

    @property
    def last_log_line(self) -> str:
        return self.prediction.last_log_line if self.prediction else ""

    def log_tail(self, lines: int = 5) -> str:
        return self.prediction.log_tail(lines) if self.prediction else ""

    @property
    def expected_images(self) -> int:
        return self.input.expected_images if self.input is not None else max(1, len(self.images))


class Run(Handle[RunState, Result]):
    """One generation: its live `state`, `subscribe`, `wait`, `cancel` and `result`.

    Made by ``client.start(...)`` (`Seedream.start`, `AsyncSeedream.start`); ``generate`` is
    ``start(...).wait()``, and ``await run`` gives the `Result` without blocking a loop.
    """

    def __init__(self, client: AsyncSeedream, loop: asyncio.AbstractEventLoop, *, input: SeedreamInput | None = None,
                 resume_id: str = "", timeout: float | None = None, label: str = "",
                 gate: asyncio.Semaphore | None = None, stored: Result | None = None,
                 error: SeedreamError | None = None, group: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self._client = client
        self._loop = loop
        self._resume_id = resume_id
        self._gate = gate
        self._state = RunState(input, demo=client.settings.demo, label=label,
                               model=input.model if input is not None else client.settings.model)
        self._task: asyncio.Task[Result] | None = None
        self._cancel_requested = False
        self._stored = stored
        self._group = dict(group) if group else None
        """The comparison this run is a cell of (``{"id", "cell"}``), written to its sidecar."""
        self._create_if_gone = bool(resume_id) and input is not None
        """A batch item matched to a journaled prediction: made afresh if that one is gone, failed or expired."""
        self._provisional = self._create_if_gone
        """While True a terminal state does not end the run (the resume may fall back to a create)."""
        self._deadline_seconds = client.deadline_seconds(timeout) if error is None else None
        if error is not None:  # an item that could not even start (invalid input): ended at once
            self._state = replace(self._state, phase="failed", event="error", error=error, ended=time.monotonic())
            self._finished.set()

    # -- reading -----------------------------------------------------------------------------

    @property
    def state(self) -> RunState:
        """The latest snapshot (safe to read from any thread)."""
        return self._state

    @property
    def id(self) -> str:
        """The prediction id once known, else ""."""
        return self._state.id or self._resume_id

    @property
    def input(self) -> SeedreamInput | None:
        return self._state.input

    def result(self) -> Result:
        """The `Result` of a finished run; raises its error (`PredictionCanceled` when canceled).

        Raises `RuntimeError` while it is still running (`wait` for it).
        """
        if not self.done():
            raise RuntimeError(f"run {self.id or '(not created yet)'} is still {self._state.phase}; wait() for it")
        state = self._state
        if state.result is not None:
            return state.result
        if state.error is not None:
            raise state.error
        raise PredictionCanceled(f"prediction {self.id or '(not created yet)'} was canceled before it finished; "
                                 "nothing was saved", state.prediction)

    def outcome(self) -> Result | SeedreamError:
        """The `Result`, or the `SeedreamError` it ended with (batches collect these)."""
        try:
            return self.result()
        except SeedreamError as exc:
            return exc

    def __repr__(self) -> str:
        state = self._state
        what = state.id or "(not created yet)"
        return f"<Run {what} {state.status} · {state.elapsed:.1f} s · {len(state.images)} images>"

    def _publish(self, **changes: Any) -> RunState:
        """A new state (on the run's loop), handed to every subscriber.

        A terminal state is published only once the run's cleanup is over, so the run counts as
        done before anyone sees it: a subscriber given the final state may call ``result()``.
        """
        self._state = replace(self._state, **changes)
        if self._state.done and not self._provisional:
            self._finish()  # marks it done, runs the done callbacks, then hands the state out
        else:
            self._changed()
        return self._state

    # -- canceling and driving ----------------------------------------------------------------

    def _request_cancel(self) -> None:
        if self.done():
            return

        def cancel() -> None:
            self._cancel_requested = True
            if self._task is not None:
                self._task.cancel()

        if self._in_loop_thread():
            cancel()
        else:
            self._loop.call_soon_threadsafe(cancel)

    # -- the driver --------------------------------------------------------------------------------

    def _launch(self) -> None:
        """Start the driver (called on the run's loop)."""
        if self._cancel_requested:
            self._publish(phase="canceled", event="done", ended=time.monotonic())
            self._finish()
            return
        self._task = self._loop.create_task(self._drive())
        self._task.add_done_callback(self._on_task_done)

    def _on_task_done(self, task: asyncio.Task[Result]) -> None:
        if not self._state.done:  # cancelled before its first step, or a bug: still end in a terminal state
            if task.cancelled():
                self._publish(phase="canceled", event="done", ended=time.monotonic())
            else:
                self._publish(phase="failed", event="error", error=task.exception(), ended=time.monotonic())
        if not task.cancelled():
            task.exception()  # retrieved: the outcome is in the state
        self._finish()

    async def _drive(self) -> Result:
        if self._stored is not None:  # a batch item already stored earlier: nothing to run
            return self._end_stored(self._stored, "done earlier")
        if self._gate is not None:
            async with self._gate:
                return await self._run()
        return await self._run()

    def _end_stored(self, result: Result, note: str) -> Result:
        self._publish(phase="succeeded", event="done", prediction=result.prediction, result=result,
                      images=tuple(result.paths), note=note, ended=time.monotonic())
        return result

    async def _run(self) -> Result:
        started = time.monotonic()
        deadline = None if self._deadline_seconds is None else started + self._deadline_seconds
        if self._resume_id:
            try:
                result = await self._resume(started, deadline)
                self._provisional = False
                self._finish()
                return result
            except DeadlineExceeded:
                raise  # still running: creating it again would pay twice
            except SeedreamError as exc:
                if not self._create_if_gone:
                    raise
                # A batch item whose journaled prediction is gone, failed or expired: make it afresh.
                log.info("resuming %s failed (%s); creating it again", self._resume_id, exc)
                self._resume_id = ""
                self._provisional = False
                self._publish(phase="queued", event="note", error=None, ended=None, prediction=None, images=(),
                              note="")
        prediction, staging = await self._create(started, deadline)
        return await self._follow(prediction, staging, started, deadline)

    async def _resume(self, started: float, deadline: float | None) -> Result:
        client = self._client
        self._publish(phase="starting", event="submitting", started=started, note="resuming")
        stored = client.gallery.find(self._resume_id)
        if stored is not None and stored.complete:
            return self._end_stored(Result.from_record(stored), "stored earlier")
        prediction = await client.get(self._resume_id)
        client.claim(prediction.id)
        staging = client.gallery.staging_for(prediction.id)
        try:
            staging.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _output_failure(prediction.id, client.settings.output_dir, exc) from None
        if self._state.input is None:
            self._publish(input=_input_of(prediction, client))
        return await self._follow(prediction, staging, started, deadline)

    async def _create(self, started: float, deadline: float | None) -> tuple[Prediction, Path]:
        client = self._client
        inp = self._state.input
        assert inp is not None

        def note(text: str) -> None:
            self._publish(event="note", note=text)

        probe = await client.pace(note, batch=self._gate is not None)
        try:
            self._publish(phase="submitting", event="submitting", started=started, note="")
            inp = await client.upload_inputs(inp, note)
            # A batch's first create is the pacer's probe: sent without a hold, so its rate-limit headers come at
            # once and the others follow at the service's rate; a single run keeps the hold (a quick one answers whole).
            hold = 0 if probe else client.wait
            if deadline is not None and hold > 0:
                # Prefer: wait counts whole seconds (at least 1): a deadline inside the first second is not held.
                hold = min(hold, deadline - started) if deadline - started >= 1 else 0
            # The journal entry and the staging folder are written while the service holds the create open
            # (on_sent), not between its answer and the download: only the id is added after the answer.
            journal = client.gallery.pending({
                "model": inp.model, "base_url": client.settings.public_base_url,
                "input": redact_input(inp.to_payload()), "journaled_at": datetime.now(timezone.utc).isoformat()})
            try:
                prediction = await client.create(inp, wait=hold, on_sent=journal.prepare_quietly,
                                                 deadline=self._deadline_seconds)
            except BaseException:
                journal.abandon()
                raise
        finally:
            if probe:  # answered: probing is over; lost, refused or canceled: the next create probes
                client.probe_ended()
        try:
            journal.confirm(prediction.id)
        except OSError as exc:  # the output folder is not writable: nothing could be saved
            journal.abandon()
            if not prediction.done:
                await client.cancel_quietly(prediction.id)
            then = ("it was canceled" if not prediction.done else
                    f"it finished: once the folder is writable, resume({prediction.id!r}) saves its images")
            raise OutputError(f"cannot write to the output folder {client.settings.output_dir} "
                              f"({exc.strerror or exc}); prediction {prediction.id}: {then}",
                              prediction_id=prediction.id) from None
        client.refresh_in_background(inp.schema.label, prediction.version)
        return prediction, journal.staging

    async def _follow(self, prediction: Prediction, staging: Path, started: float,
                      deadline: float | None) -> Result:
        """Follow a created prediction to its end, download its outputs into ``staging`` as they appear, store it."""
        client = self._client
        downloads: dict[int, asyncio.Task[SavedImage]] = {}
        saved: dict[int, SavedImage] = {}
        current = prediction

        def images() -> tuple[Path, ...]:
            return tuple(saved[i].path for i in sorted(saved))

        def seen(new: Prediction, event: Event) -> None:
            nonlocal current
            current = new
            phase: Phase = "processing" if new.status == "processing" or new.output else "starting"
            if new.status == "succeeded":
                phase = "saving"
            self._publish(prediction=new, phase=phase, event=event)
            start_downloads()

        def start_downloads() -> None:
            for index, url in enumerate(current.output):
                if index not in downloads:
                    task = asyncio.ensure_future(client.download(url, staging / f"{index + 1}", current.id))
                    task.add_done_callback(functools.partial(on_saved, index))
                    downloads[index] = task

        def on_saved(index: int, task: asyncio.Task[SavedImage]) -> None:
            if not task.cancelled() and task.exception() is None and not self._state.done:
                saved[index] = task.result()
                self._publish(event="image", images=images(), image=saved[index])

        try:
            seen(prediction, "created")
            if not prediction.done:
                current = await self._until_done(current, deadline, seen)
            if current.status == "failed":
                tail = current.log_tail(3)
                error = scrub(current.error or "no error text", client.settings.token)
                raise PredictionFailed(
                    f"prediction {current.id} failed: {error}"
                    + (f"\nlast log lines:\n{scrub(tail, client.settings.token)}" if tail else "")
                    + "\nChange the prompt or settings and try again.", current)
            if current.status in ("canceled", "aborted") and deadline is not None \
                    and time.monotonic() >= deadline - 0.05 and not self._cancel_requested:
                what = "aborted before it started" if current.status == "aborted" else "canceled"
                raise DeadlineExceeded(
                    f"prediction {current.id} was {what} by the service at the {self._deadline_seconds:g} s deadline "
                    "(timeout=, sent as Cancel-After); nothing was saved. Raise timeout= for longer runs.", current)
            if current.status == "aborted":
                raise PredictionCanceled(f"prediction {current.id} was aborted by the service before it started "
                                         "(its Cancel-After deadline passed); nothing was billed or saved", current)
            if current.status == "canceled":
                raise PredictionCanceled(f"prediction {current.id} was canceled before it finished; nothing was saved",
                                         current)
            self._publish(phase="saving", event="saving")
            start_downloads()
            if not downloads:
                raise PredictionFailed(f"prediction {current.id} succeeded but returned no images", current)
            results = await asyncio.gather(*(downloads[i] for i in sorted(downloads)))
            # Provenance goes into each file before the run is published: off the loop when there are megabytes
            # to rewrite (a 4K PNG) or input images to shrink, on it for a small single image (about 1 ms, less
            # than the two thread hops).
            inp = self._state.input
            if len(results) == 1 and results[0].bytes <= INLINE_FINISH_BYTES and not (inp and inp.image_input):
                marks = _finish_files(client, current, results, inp, staging)
            else:
                marks = await asyncio.to_thread(_finish_files, client, current, results, inp, staging)
            elapsed = time.monotonic() - started
            cost = _cost(client, inp, current, len(results))
            # An OSError here (no space for the sidecar, a folder that vanished) is handled below like one while
            # downloading: the journal entry stays, so resume() stores the run once the cause is gone.
            folder = client.gallery.store(current.id, current.created_at, staging,
                                          _sidecar(client, current, results, elapsed, cost, inp,
                                                   self._group, marks))
            result = Result(
                prediction=current, paths=[folder / image.path.name for image in results], folder=folder,
                input=redact_input(dict(current.input)), base_url=client.settings.public_base_url,
                demo=client.settings.demo, elapsed=elapsed, sizes=[(i.width, i.height) for i in results],
                cost=None if cost is None else cost["usd"])
            self._publish(phase="succeeded", event="done", result=result, images=tuple(result.paths),
                          ended=time.monotonic())
            return result
        except asyncio.CancelledError:
            await _cancel_all(downloads)
            client.gallery.discard(staging)
            if not current.done:
                await client.cancel_quietly(current.id)
                client.gallery.unjournal(current.id)
            self._publish(phase="canceled", event="done", ended=time.monotonic(),
                          prediction=replace(current, status="canceled") if not current.done else current)
            raise
        except DeadlineExceeded as exc:
            await _cancel_all(downloads)
            client.gallery.discard(staging)
            if current.done:  # the service ended it at the deadline: nothing left to resume
                client.gallery.unjournal(current.id)
            # else the journal entry stays: a service that ignored Cancel-After may still finish it
            self._publish(phase="timed_out", event="error", error=exc, ended=time.monotonic())
            raise
        except OSError as exc:  # no space, no permission, a vanished folder while downloading
            await _cancel_all(downloads)
            client.gallery.discard(staging)  # the journal entry stays: resume() finishes it once the cause is gone
            failure = _output_failure(current.id, client.settings.output_dir, exc)
            self._publish(phase="failed", event="error", error=failure, ended=time.monotonic())
            raise failure from None
        except BaseException as exc:
            await _cancel_all(downloads)
            client.gallery.discard(staging)
            if current.done or isinstance(exc, NotFoundError):  # nothing left to resume
                client.gallery.unjournal(current.id)
            if isinstance(exc, OutputError) and not current.done:
                await client.cancel_quietly(current.id)
            phase: Phase = "canceled" if isinstance(exc, PredictionCanceled) and current.status == "canceled" else (
                "aborted" if current.status == "aborted" else "failed")
            self._publish(phase=phase, event="error", error=exc, ended=time.monotonic())
            raise

    async def _until_done(self, prediction: Prediction, deadline: float | None,
                          seen: Callable[[Prediction, Event], None]) -> Prediction:
        """Follow the prediction until it is terminal: its event stream when offered, else polls."""

        def expired(current: Prediction) -> DeadlineExceeded:
            limit = self._deadline_seconds or 0
            return DeadlineExceeded(
                f"prediction {current.id} is still {current.status} after the {limit:g} s deadline (timeout=); "
                "the service was asked to end it then (Cancel-After), so it is not billed further. A service that "
                f"ignores that may still finish it: resume({current.id!r}) saves its images then.", current)

        latest = [prediction]

        def note(new: Prediction, event: Event) -> None:
            latest[0] = new
            seen(new, event)

        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            return await asyncio.wait_for(self._follow_events(prediction, note), remaining)
        except asyncio.TimeoutError:
            raise expired(latest[0]) from None

    async def _follow_events(self, prediction: Prediction,
                             seen: Callable[[Prediction, Event], None]) -> Prediction:
        client = self._client
        stream = protocol.stream_url(prediction.urls, client.settings.base_url) if client.use_stream else None
        if stream is not None:
            followed = await self._stream(prediction, stream[0], stream[1], seen)
            if followed is not None:
                return followed
        current = prediction
        expected = client.expected_seconds(self._state.input)
        created = time.monotonic() - _age(prediction)
        for _ in itertools.count():
            await asyncio.sleep(protocol.poll_pause(time.monotonic() - created, expected))
            previous, current = current, await client.get(current.id)
            if current.status != previous.status or current.output != previous.output:
                seen(current, "status" if current.status != previous.status else "output")
            elif current.logs != previous.logs:
                seen(current, "logs")
            if current.done:
                return current
        raise AssertionError("unreachable")

    async def _stream(self, prediction: Prediction, url: str, with_token: bool,
                      seen: Callable[[Prediction, Event], None]) -> Prediction | None:
        """Follow the server-sent events; the final state comes from one GET after ``done``.

        Returns None when the stream could not be followed to its end (the caller polls instead).
        """
        client = self._client
        current = prediction
        outputs = list(prediction.output)
        initial, streamed = prediction.logs, ""
        reason = "unknown"
        try:
            # aclosing: leaving the loop early (on "done", or an error) closes the stream's connection now, not
            # whenever the abandoned generator is collected (a socket left open until then).
            async with contextlib.aclosing(client.stream_events(url, with_token=with_token)) as events:
                async for event in events:
                    if event.event == "output":
                        if event.data and event.data not in outputs:
                            outputs.append(event.data)
                            current = replace(current, status="processing", output=tuple(outputs))
                            seen(current, "output")
                    elif event.event == "logs":
                        streamed += f"{event.data}\n"
                        if initial.startswith(streamed):
                            continue  # the stream replays lines the create's answer already had
                        logs = streamed if streamed.startswith(initial) else initial + streamed
                        current = replace(current, status="processing", logs=scrub(logs, client.settings.token))
                        seen(current, "logs")
                    elif event.event == "done":
                        reason = _done_reason(event.data)
                        break
                else:
                    return None  # the stream ended without "done": poll for the rest
        except (SeedreamError, ValueError) as exc:
            log.debug("following %s's event stream failed (%r); polling instead", prediction.id, exc)
            return None
        if not reason and outputs:
            # Succeeded, and every output came as an event: the stream said all a GET would, but the service's
            # metrics. Not asking saves a request on the path from the end to the files (measured: 1 to 3 ms
            # of a run's overhead, as it competed with the downloads). The end is dated by this run's clock.
            ended = datetime.now(timezone.utc)
            if current.created_at is not None and not _age(current):  # the service's clock is not comparable to ours
                ended = current.created_at + timedelta(seconds=time.monotonic() - self._state.started)
            final = replace(current, status="succeeded", output=tuple(outputs), completed_at=ended)
        else:
            final = await client.get(prediction.id)  # failed, canceled or no outputs streamed: the service says
        seen(final, "status")
        return final


def _done_reason(data: str) -> str:
    """Why a stream's ``done`` came: "" for success, else "canceled", "error", ... (unreadable data: "unknown")."""
    try:
        document = json.loads(data) if data.strip() else {}
    except ValueError:
        return "unknown"
    return str(document.get("reason") or "") if isinstance(document, dict) else "unknown"


def _age(prediction: Prediction) -> float:
    """Seconds since the service created the prediction (0 when its clock is not comparable to ours)."""
    if prediction.created_at is None:
        return 0.0
    age = datetime.now(timezone.utc).timestamp() - prediction.created_at.timestamp()
    return age if 0 <= age < 3600 else 0.0


def _input_of(prediction: Prediction, client: AsyncSeedream) -> SeedreamInput | None:
    """The input of a prediction read back from the service (None when it no longer validates)."""
    import warnings

    from .errors import SeedreamWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeedreamWarning)
            return SeedreamInput.from_payload(dict(prediction.input), schema=client.schema)
    except (SeedreamError, TypeError):
        return None


def _output_failure(prediction_id: str, output_dir: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(
        f"could not write the images of prediction {prediction_id} to {output_dir} ({reason}). The service keeps "
        f"its outputs for about an hour: free the space or fix the folder, then resume({prediction_id!r}) saves "
        "them (it is listed by in_flight()).", prediction_id=prediction_id)


def _cost(client: AsyncSeedream, inp: SeedreamInput | None, prediction: Prediction,
          images: int) -> dict[str, Any] | None:
    """What a finished run cost: images made times the model's price per image (0 in demo mode)."""
    if client.settings.demo:
        return {"usd": 0.0, "images": images, "usd_per_image": 0.0, "note": "demo backend: nothing is billed"}
    model = prediction.model.split(":", 1)[0] or (inp.model if inp is not None else client.settings.model)
    price = inp.schema.price if inp is not None and inp.model == model else PRICES.get(model)
    if price is None:
        return None
    return {"usd": round(images * price.usd_per_image, 6), "images": images, "usd_per_image": price.usd_per_image,
            "price_source": price.source, "price_as_of": price.as_of}


def _embed_all(client: AsyncSeedream, prediction: Prediction, images: list[SavedImage],
               inp: SeedreamInput | None) -> list[dict[str, Any]]:
    """Write the generation record into each staged image (`seedream_widgets.provenance`), in place.

    Returns, per image, what the sidecar keeps: the hash of the stored file (the hash as received is
    the download's) and what was written, or why nothing was. With ``embed_metadata="off"`` the
    files stay exactly as received.
    """
    settings = client.settings
    if settings.embed_metadata == "off":
        return [{"sha256": image.sha256, "metadata": {"mode": "off"}} for image in images]
    marks = []
    for number, image in enumerate(images, 1):
        data = image.path.read_bytes()
        record = GenerationRecord.create(
            model=prediction.model or (inp.model if inp is not None else settings.model),
            version=prediction.version, prediction_id=prediction.id,
            created_at=prediction.created_at, logs=prediction.logs, input=dict(prediction.input),
            size=(image.width, image.height), index=number, count=len(images), demo=settings.demo,
            base_url=settings.public_base_url, secrets=[settings.token])
        out = embed(data, record, "label" if settings.embed_metadata == "label" else "full")
        if out.changed:
            partial = image.path.with_name(f".{image.path.name}.embedding")
            partial.write_bytes(out.data)
            os.replace(partial, image.path)
        marks.append({"sha256": out.sha256, "metadata": {
            "mode": settings.embed_metadata, "written": list(out.written), "skipped": out.skipped,
            "notes": list(out.notes)}})
    return marks


def _finish_files(client: AsyncSeedream, prediction: Prediction, images: list[SavedImage], inp: SeedreamInput | None,
                  staging: Path) -> list[dict[str, Any]]:
    """The file work between the last download and the store, in one trip off the loop: provenance, inputs."""
    marks = _embed_all(client, prediction, images, inp)
    _keep_inputs(inp, staging)
    return marks


INLINE_FINISH_BYTES = 1_000_000
"""A single output up to this size gets its provenance on the loop thread (else on a worker thread)."""

INPUTS_FOLDER = "inputs"
"""Where a run keeps small copies of its local input images (an edit is shown beside its source)."""


def _keep_inputs(inp: SeedreamInput | None, staging: Path) -> None:
    """Save a 512 px JPEG of each inline input image into ``staging/inputs/`` (a URL input is only named)."""
    if inp is None or not inp.image_input:
        return
    folder = staging / INPUTS_FOLDER
    for number, uri in enumerate(inp.image_input, 1):
        if not uri.startswith("data:"):
            continue
        try:
            data, _ = thumbnail(io.BytesIO(base64.b64decode(uri.partition(",")[2])))
        except (OSError, ValueError):  # an input the service accepted but Pillow cannot read: nothing to show
            continue
        folder.mkdir(exist_ok=True)
        (folder / f"{number}.jpg").write_bytes(data)


def _sidecar(client: AsyncSeedream, prediction: Prediction, images: list[SavedImage], elapsed: float,
             cost: dict[str, Any] | None, inp: SeedreamInput | None,
             group: Mapping[str, Any] | None = None, marks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What is stored next to the images: everything about the run except the token."""
    settings = client.settings
    data = prediction.to_json()
    data.update(
        model=prediction.model or (inp.model if inp is not None else settings.model),
        cost=cost,
        input=redact_input(dict(prediction.input)),
        base_url=settings.public_base_url,
        demo=settings.demo,
        logs=scrub(prediction.logs, settings.token),
        timings={"client_seconds": round(elapsed, 4), "predict_time": prediction.predict_time},
        images=[{"file": i.path.name, "url": i.url, "mime": i.mime, "width": i.width, "height": i.height,
                 "received_sha256": i.sha256, "bytes": i.bytes, **(marks[n] if marks else {"sha256": i.sha256})}
                for n, i in enumerate(images)],
        package=f"seedream-widgets {__version__}",
    )
    if group:
        data["group"] = dict(group)
    data.pop("output", None)
    json.dumps(data, default=str)  # fails here, before the store, if anything is not JSON-ready
    return data


async def _cancel_all(tasks: dict[int, asyncio.Task[Any]]) -> None:
    pending = [t for t in tasks.values() if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks.values():  # retrieve exceptions so asyncio does not log "never retrieved"
        if task.done() and not task.cancelled():
            task.exception()

