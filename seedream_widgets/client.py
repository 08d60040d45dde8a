"""The predictions client: `AsyncSeedream` (the one implementation) and `Seedream` (its sync facade).

`AsyncSeedream` holds every piece of protocol logic: create with ``Prefer: wait``,
poll, cancel, retries, resolving ambiguous creates, downloads and storing runs.
`Seedream` runs those same coroutines on the private engine loop thread
(`seedream_widgets.engine`) and waits for them, so it behaves the same in a
notebook cell (where a loop is already running), a script and a widget callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import queue
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx

from . import protocol
from ._version import __version__
from .config import Settings, resolve_settings, scrub
from .engine import engine_loop
from .errors import (
    APIError,
    DeadlineExceeded,
    InvalidField,
    NetworkError,
    NotFoundError,
    OutputError,
    PredictionCanceled,
    PredictionFailed,
    SeedreamError,
    ValidationError,
)
from .gallery import Gallery, RunRecord, redact_input
from .images import MAX_OUTPUT_BYTES, SavedImage, TransientOutputError, download_image, to_image_uri
from .netbackend import fast_transport
from .prediction import Prediction
from .result import Comparison, Result
from .schema import FIELD, SeedreamInput

__all__ = ["AsyncSeedream", "Seedream", "Update"]

log = logging.getLogger("seedream_widgets")

_CLAIMED: set[str] = set()
"""Prediction ids taken by any client of this process. Shared, not per client: two panels (each with its
own client) sending the same input must not adopt each other's prediction after an ambiguous create."""

Item = str | SeedreamInput | Mapping[str, Any]
Outcome = Result | SeedreamError


@dataclass(frozen=True)
class Update:
    """A progress event of one generation, handed to ``on_update`` callbacks.

    ``event`` is one of: ``created`` (the service has an id), ``status``, ``logs``,
    ``output`` (a new output URL appeared), ``image`` (an image was saved to disk;
    see ``image``), ``done`` (the result is stored).
    """

    event: Literal["created", "status", "logs", "output", "image", "done"]
    prediction: Prediction
    elapsed: float
    images: tuple[Path, ...] = ()
    """The images saved to disk so far, in output order."""
    image: SavedImage | None = None


OnUpdate = Callable[[Update], None]


class _AmbiguousCreate(Exception):
    """A create request went out but no usable answer came back: a prediction may exist."""


class AsyncSeedream:
    """The async Seedream 4 client.

    >>> async with AsyncSeedream() as client:                    # doctest: +SKIP
    ...     result = await client.generate("a red fox", size="1K")

    Settings come from the arguments, else ``SEEDREAM_API_TOKEN`` /
    ``REPLICATE_API_TOKEN``, ``SEEDREAM_BASE_URL``, ``SEEDREAM_MODEL`` and
    ``SEEDREAM_OUTPUT_DIR``, else the defaults (Replicate, bytedance/seedream-4,
    ``./seedream-outputs``). With no token and no base URL it runs in demo mode
    against the embedded local backend.
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        output_dir: str | Path | None = None,
        *,
        wait: float = 60,
        timeout: float | None = 600,
        max_retries: int = 6,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
        create_grace: float = 2.0,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        settings = resolve_settings(token, base_url, model, output_dir)
        if settings.demo and not settings.base_url:
            from .demo import embedded_server

            settings = replace(settings, base_url=embedded_server().base_url)
        self.settings: Settings = replace(settings, output_dir=settings.output_dir.absolute())
        self.gallery = Gallery(self.settings.output_dir)
        self.wait = wait
        """Seconds a create may be held open by ``Prefer: wait`` (1 to 60; 0 to poll only)."""
        self.timeout = timeout
        """Default deadline in seconds for one generation (None: no deadline)."""
        self.max_retries = max_retries
        self.create_grace = create_grace
        """How long to look for a prediction made by an ambiguous create before creating again."""
        self.max_output_bytes = max_output_bytes
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._claimed = _CLAIMED
        self._throttled_until = 0.0
        self._rng = random.Random()

    def __repr__(self) -> str:
        mode = "demo" if self.settings.demo else "real"
        return (f"{type(self).__name__}(base_url={self.settings.base_url!r}, model={self.settings.model!r}, "
                f"mode={mode!r}, token={self.settings.masked_token!r})")

    # -- life cycle -------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        # The pool belongs to the loop it was made on; a new loop (a second asyncio.run) gets a new pool.
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                # The asyncio-native network backend: the same httpx and httpcore, without anyio's wrappers
                # around every socket read and write (about 0.15-0.3 ms per generation; benchmarks/README.md).
                transport=self._transport or fast_transport(limits=self._limits),
                timeout=httpx.Timeout(30.0, connect=10.0),
                headers={"User-Agent": f"seedream-widgets/{__version__} httpx/{httpx.__version__}",
                         "Accept": "application/json"},
                follow_redirects=True,
            )
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool (the client stays usable: its next request opens a new one).

        An `AsyncSeedream` used under ``asyncio.run`` should be closed before that loop ends
        (``async with client:``); `Seedream` needs none of this, its loop never ends.
        """
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncSeedream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- one HTTP exchange, with retries ------------------------------------------

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.settings.base_url}/{path}"

    async def _request(self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None,
                       timeout: float | None = None, kind: Literal["read", "create", "cancel"] = "read",
                       on_sent: Callable[[], None] | None = None) -> Any:
        """Send one API request; returns the decoded JSON body.

        Reads and cancels are retried on 429/5xx, connection errors and malformed
        bodies. A create is retried only when it surely never arrived (connect
        errors) or the service refused it (429/503); any other failure after
        sending (a dropped connection, a malformed body, a 500/502/504 that a
        proxy may have answered after forwarding) raises `_AmbiguousCreate` for
        the caller to resolve. ``on_sent`` is called once the whole request is on its way (httpcore's
        ``trace`` extension), while the service is working on it; it must not raise.
        """
        url = self._url(path)
        extensions = {"trace": _sent_tracer(on_sent)} if on_sent is not None else None
        retry_statuses = protocol.CREATE_RETRYABLE_STATUSES if kind == "create" else protocol.RETRYABLE_STATUSES
        send_headers = {"Authorization": f"Bearer {self.settings.token}", **(headers or {})}
        request_timeout = httpx.Timeout(30.0, connect=10.0, read=timeout) if timeout else httpx.USE_CLIENT_DEFAULT
        for attempt in itertools.count():
            await self._respect_throttle()
            try:
                response = await self._client().request(method, url, json=json, headers=send_headers,
                                                         timeout=request_timeout, extensions=extensions)
            except httpx.TransportError as exc:
                log.debug("%s %s failed: %r", method, path, exc)
                if kind == "create" and not protocol.is_surely_unsent(exc):
                    raise _AmbiguousCreate(repr(exc)) from exc
                if attempt >= self.max_retries:
                    raise NetworkError(f"could not reach {self.settings.base_url} ({type(exc).__name__}) after "
                                       f"{attempt + 1} tries; check the connection and the base URL") from None
                await asyncio.sleep(protocol.backoff_delay(attempt, rng=self._rng))
                continue
            log.debug("%s %s -> %s", method, path, response.status_code)
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    if kind == "create":
                        raise _AmbiguousCreate("malformed JSON in the create answer") from None
                    if attempt >= self.max_retries:
                        raise NetworkError(f"{method} {path}: the service kept answering with malformed JSON") \
                            from None
                    await asyncio.sleep(protocol.backoff_delay(attempt, rng=self._rng))
                    continue
            retry_after = protocol.retry_after_seconds(response.headers.get("Retry-After"))
            if kind == "create" and response.status_code in protocol.AMBIGUOUS_CREATE_STATUSES:
                raise _AmbiguousCreate(f"{response.status_code} on create")
            if response.status_code in retry_statuses and attempt < self.max_retries:
                delay = protocol.backoff_delay(attempt, retry_after=retry_after, rng=self._rng)
                if response.status_code == 429:  # every request of this client waits, not just this one
                    self._throttled_until = max(self._throttled_until, time.monotonic() + delay)
                await asyncio.sleep(delay)
                continue
            raise self._error(response, retry_after)
        raise AssertionError("unreachable")

    async def _respect_throttle(self) -> None:
        pause = self._throttled_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)

    def _error(self, response: httpx.Response, retry_after: float | None) -> SeedreamError:
        try:
            body = response.json()
        except ValueError:
            body = {"title": response.reason_phrase or "Error", "detail": response.text[:300]}
        if not isinstance(body, dict):
            body = {"detail": str(body)[:300]}
        # Anything a server echoes is scrubbed of the token before it becomes a message.
        token = self.settings.token
        clean = {k: scrub(v, token) if isinstance(v, str) else v for k, v in body.items()}
        if isinstance(clean.get("invalid_fields"), list):
            clean["invalid_fields"] = [
                {k: scrub(v, token) if isinstance(v, str) else v for k, v in item.items()}
                for item in clean["invalid_fields"] if isinstance(item, dict)]
        return APIError.from_response(response.status_code, clean, retry_after=retry_after)

    # -- the prediction resource ------------------------------------------------------

    async def create(self, inp: SeedreamInput, *, wait: float | None = None,
                     on_sent: Callable[[], None] | None = None) -> Prediction:
        """Create a prediction (held open up to ``wait`` seconds by ``Prefer: wait``).

        An ambiguous failure (sent, no answer) never creates twice: recent
        predictions are searched for one with the same input made after the
        request was sent, and only if none turns up within ``create_grace``
        seconds is the create sent again. ``on_sent`` runs each time the
        request has been sent, while the service holds it (it must not raise).
        """
        payload = inp.to_payload()
        body = protocol.create_body(self.settings.model, payload)
        wait_s = self.wait if wait is None else wait
        headers = protocol.prefer_header(wait_s)
        path = protocol.create_path(self.settings.model)
        for _ in range(self.max_retries + 1):
            sent_at = datetime.now(timezone.utc)
            try:
                data = await self._request("POST", path, json=body, headers=headers, timeout=wait_s + 30,
                                           kind="create", on_sent=on_sent)
                prediction = self._prediction(data)
            except ValidationError:
                raise  # a 422 is a clear answer (and a ValueError): never resolved as ambiguous nor re-sent
            except (_AmbiguousCreate, ValueError) as exc:
                log.info("create was ambiguous (%s); looking for the prediction it may have made", exc)
                found = await self._find_created(payload, sent_at, grace=self.create_grace)
                if found is not None:
                    return found
                continue
            except asyncio.CancelledError:
                # Interrupted while the create was in flight (e.g. held by Prefer: wait): the prediction
                # may exist with an id we never saw. Find it and cancel it, so nothing runs on unseen.
                found = await self._find_created(payload, sent_at, grace=1.0, running_only=True)
                if found is not None:
                    await self._cancel_quietly(found.id)
                raise
            if prediction.id in self._claimed:
                # A concurrent create of the same input lost its answer and adopted this prediction while our
                # answer was on the way (listed, not yet claimed). Take the one that create made, or create again.
                log.info("prediction %s was adopted by a concurrent ambiguous create; resolving", prediction.id)
                found = await self._find_created(payload, sent_at, grace=self.create_grace)
                if found is not None:
                    return found
                continue
            self._claimed.add(prediction.id)
            return prediction
        raise NetworkError("the create request kept failing without an answer; nothing was created twice. "
                           "Check the connection and try again.")

    async def _find_created(self, payload: Mapping[str, Any], sent_at: datetime, *, grace: float,
                            running_only: bool = False) -> Prediction | None:
        """The unclaimed prediction with this input created after ``sent_at`` (minus clock skew), if any.

        Candidates created after ``sent_at`` by the service's clock win over those only inside the skew
        allowance (an identical earlier request, perhaps from another process); among equals, the oldest.
        ``running_only`` skips finished ones (to cancel what an interrupted create started).
        """
        deadline = time.monotonic() + grace
        skew = 5.0
        for attempt in itertools.count():
            try:
                data = await self._request("GET", "predictions")
            except SeedreamError as exc:
                log.info("could not list predictions to resolve an ambiguous create: %s", exc)
                data = {}
            candidates = []
            for raw in data.get("results") or []:
                try:
                    p = self._prediction(raw)
                except ValueError:
                    continue
                if (p.id not in self._claimed and dict(p.input) == dict(payload) and not (running_only and p.done)
                        and (p.created_at is None or p.created_at.timestamp() >= sent_at.timestamp() - skew)):
                    candidates.append(p)
            if candidates:
                def rank(p: Prediction) -> tuple[bool, float]:
                    created = p.created_at.timestamp() if p.created_at else sent_at.timestamp()
                    return created < sent_at.timestamp(), created

                found = min(candidates, key=rank)
                self._claimed.add(found.id)
                log.info("found prediction %s made by the ambiguous create", found.id)
                return found
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(min(0.5 * (attempt + 1), max(0.0, deadline - time.monotonic())))
        return None

    def _prediction(self, data: Any) -> Prediction:
        """Parse a prediction, scrubbing the token from the text a service wrote (error, logs)."""
        prediction = Prediction.from_json(data)
        token = self.settings.token
        if token in (prediction.error or "") or token in prediction.logs:
            prediction = replace(prediction, error=None if prediction.error is None else scrub(prediction.error, token),
                                 logs=scrub(prediction.logs, token))
        return prediction

    async def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state."""
        return self._prediction(await self._request("GET", f"predictions/{prediction_id}"))

    async def cancel(self, prediction_id: str) -> Prediction:
        """Ask the service to cancel a prediction; returns its state after the request."""
        return self._prediction(await self._request("POST", f"predictions/{prediction_id}/cancel",
                                                        kind="cancel"))

    async def _cancel_quietly(self, prediction_id: str) -> None:
        with contextlib.suppress(SeedreamError, ValueError, asyncio.TimeoutError):
            await asyncio.wait_for(self.cancel(prediction_id), timeout=5)

    async def list_predictions(self) -> list[Prediction]:
        """The first page of this account's predictions, newest first."""
        data = await self._request("GET", "predictions")
        return [self._prediction(raw) for raw in data.get("results") or []]

    # -- generate: the one submit-wait-download path ----------------------------------------

    def build_input(self, prompt: str | SeedreamInput, **fields: Any) -> SeedreamInput:
        """A validated `SeedreamInput`; local input images become data URIs. Raises `ValidationError`."""
        if "image_input" in fields:
            images = fields["image_input"]
            if images is None:
                images = []
            elif isinstance(images, (str, bytes, Path)) or not isinstance(images, Sequence):
                images = [images]  # one image is fine without a list
            fields["image_input"] = [to_image_uri(image) for image in images]
        if isinstance(prompt, SeedreamInput):
            return prompt.replace(**fields) if fields else prompt
        return SeedreamInput.from_payload({"prompt": prompt, **fields})

    async def generate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                       timeout: float | None = None, **fields: Any) -> Result:
        """Generate images and return them stored on disk.

        >>> result = await client.generate("a red fox", size="1K", aspect_ratio="16:9")  # doctest: +SKIP

        ``fields`` are the model's inputs by their schema names (``size``,
        ``aspect_ratio``, ``image_input`` as paths/bytes/PIL/URLs, ...); invalid
        ones raise `ValidationError` before any request. ``on_update`` receives
        each `Update`; ``timeout`` is the deadline in seconds (default: the
        client's). Cancelling the awaiting task cancels the prediction.
        """
        inp = self.build_input(prompt, **fields)
        started = time.monotonic()
        deadline = self._deadline(started, timeout)
        # A listener wants each image of a set as it appears: create without holding, and poll briskly.
        progressive = on_update is not None and inp.expected_images > 1
        wait = 1 if progressive else self.wait
        if deadline is not None and wait > 0:
            wait = max(1, min(wait, deadline - started))
        # The journal entry and the staging folder are written while the service holds the create open
        # (on_sent), not between its answer and the download: only the id is added after the answer.
        run = self.gallery.pending({
            "model": self.settings.model, "base_url": self.settings.public_base_url,
            "input": redact_input(inp.to_payload()), "journaled_at": datetime.now(timezone.utc).isoformat()})
        try:
            prediction = await self.create(inp, wait=wait, on_sent=run.prepare_quietly)
        except BaseException:
            run.abandon()
            raise
        try:
            run.confirm(prediction.id)
        except OSError as exc:  # the output folder is not writable: nothing could be saved
            run.abandon()
            if not prediction.done:
                await self._cancel_quietly(prediction.id)
            then = ("it was canceled" if not prediction.done else
                    f"it finished: once the folder is writable, resume({prediction.id!r}) saves its images")
            raise OutputError(f"cannot write to the output folder {self.settings.output_dir} ({exc.strerror or exc}); "
                              f"prediction {prediction.id}: {then}", prediction_id=prediction.id) from None
        return await self._finish(prediction, run.staging, started=started, deadline=deadline, on_update=on_update,
                                  progressive=progressive)

    def _deadline(self, started: float, timeout: float | None) -> float | None:
        limit = self.timeout if timeout is None else timeout
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0):
            # Checked before the create: a NaN or negative deadline would bill a prediction and abandon it.
            raise ValidationError([InvalidField("timeout", f"must be a number of seconds above 0, got {limit!r}",
                                                "type", limit, "a number of seconds above 0, or None for none")])
        return None if limit is None else started + limit

    async def _finish(self, prediction: Prediction, staging: Path, *, started: float, deadline: float | None,
                      on_update: OnUpdate | None, progressive: bool) -> Result:
        """Follow a created prediction to the end, download its outputs into ``staging`` (an existing
        folder) as they appear, store the run."""
        downloads: dict[int, asyncio.Task[SavedImage]] = {}
        saved: dict[int, SavedImage] = {}

        def emit(event: Any, image: SavedImage | None = None) -> None:
            if on_update is None:
                return
            paths = tuple(saved[i].path for i in sorted(saved))
            try:
                on_update(Update(event, prediction, time.monotonic() - started, paths, image))
            except Exception:  # a broken display must not break the generation
                log.exception("on_update callback failed")

        def start_downloads() -> None:
            for index, url in enumerate(prediction.output):
                if index not in downloads:
                    task = asyncio.ensure_future(self._download(url, staging / f"{index + 1}", prediction.id))
                    downloads[index] = task
                    if on_update is not None:
                        task.add_done_callback(functools.partial(_saved, index))
                    emit("output")

        def _saved(index: int, task: asyncio.Task[SavedImage]) -> None:
            if not task.cancelled() and task.exception() is None:
                saved[index] = task.result()
                emit("image", saved[index])

        try:
            emit("created")
            if prediction.status not in ("starting",) or prediction.output:
                start_downloads()
            poll = 0
            while not prediction.done:
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineExceeded(
                        f"prediction {prediction.id} is still {prediction.status} after the "
                        f"{deadline - started:g} s deadline; it may still finish: call resume({prediction.id!r}) "
                        "later, or raise timeout=", prediction)
                pause = protocol.poll_interval(poll, cap=0.5 if progressive else 2.0)
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - time.monotonic()))
                await asyncio.sleep(pause)
                poll += 1
                previous, prediction = prediction, await self.get(prediction.id)
                if prediction.status != previous.status:
                    emit("status")
                if prediction.logs != previous.logs:
                    emit("logs")
                start_downloads()
            if prediction.status == "failed":
                tail = prediction.log_tail(3)
                error = scrub(prediction.error or "no error text", self.settings.token)
                raise PredictionFailed(
                    f"prediction {prediction.id} failed: {error}"
                    + (f"\nlast log lines:\n{scrub(tail, self.settings.token)}" if tail else "")
                    + "\nChange the prompt or settings and try again.", prediction)
            if prediction.status in ("canceled", "aborted"):
                raise PredictionCanceled(f"prediction {prediction.id} was canceled before it finished; "
                                         "nothing was saved", prediction)
            emit("status")
            start_downloads()
            if not downloads:
                raise PredictionFailed(f"prediction {prediction.id} succeeded but returned no images", prediction)
            results = await asyncio.gather(*(downloads[i] for i in sorted(downloads)))
            elapsed = time.monotonic() - started
            folder = self.gallery.store(prediction.id, prediction.created_at, staging,
                                        self._sidecar(prediction, results, elapsed))
            result = Result(
                prediction=prediction, paths=[folder / image.path.name for image in results], folder=folder,
                input=redact_input(dict(prediction.input)), base_url=self.settings.public_base_url,
                demo=self.settings.demo, elapsed=elapsed, sizes=[(i.width, i.height) for i in results])
            for index, (image, path) in enumerate(zip(results, result.paths, strict=True)):
                saved[index] = replace(image, path=path)  # the "done" update shows the stored files
            emit("done")
            return result
        except asyncio.CancelledError:
            await _cancel_all(downloads)
            self.gallery.discard(staging)
            if not prediction.done:
                await self._cancel_quietly(prediction.id)
                self.gallery.unjournal(prediction.id)
            raise
        except DeadlineExceeded:
            await _cancel_all(downloads)
            self.gallery.discard(staging)  # the journal entry stays: resume() can finish it later
            raise
        except BaseException as exc:
            await _cancel_all(downloads)
            self.gallery.discard(staging)
            if prediction.done or isinstance(exc, NotFoundError):  # nothing left to resume
                self.gallery.unjournal(prediction.id)
            raise

    async def _download(self, url: str, dest: Path, prediction_id: str) -> SavedImage:
        for attempt in itertools.count():
            try:
                return await download_image(self._client(), url, dest, prediction_id=prediction_id,
                                            max_bytes=self.max_output_bytes)
            except TransientOutputError as exc:
                if attempt >= self.max_retries:
                    raise OutputError(f"{exc}; gave up after {attempt + 1} tries", url=url,
                                      prediction_id=prediction_id) from None
                await asyncio.sleep(protocol.backoff_delay(attempt, retry_after=exc.retry_after, rng=self._rng))
        raise AssertionError("unreachable")

    def _sidecar(self, prediction: Prediction, images: Sequence[SavedImage], elapsed: float) -> dict[str, Any]:
        """What is stored next to the images: everything about the run except the token."""
        data = prediction.to_json()
        data.update(
            input=redact_input(dict(prediction.input)),
            base_url=self.settings.public_base_url,
            demo=self.settings.demo,
            logs=scrub(prediction.logs, self.settings.token),
            timings={"client_seconds": round(elapsed, 4), "predict_time": prediction.predict_time},
            images=[{"file": i.path.name, "url": i.url, "mime": i.mime, "width": i.width, "height": i.height,
                     "sha256": i.sha256, "bytes": i.bytes} for i in images],
            package=f"seedream-widgets {__version__}",
        )
        data.pop("output", None)
        return data

    # -- many at once --------------------------------------------------------------------

    async def generate_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                            on_progress: Callable[[int, Outcome], None] | None = None,
                            **fields: Any) -> list[Outcome]:
        """Generate for many prompts (or `SeedreamInput`s, or dicts of fields) with bounded concurrency.

        >>> outcomes = await client.generate_many(["a fox", "an owl"], size="1K")  # doctest: +SKIP

        Keyword ``fields`` apply to every item (an item's own fields win). The
        list comes back in input order, holding each `Result` or, for an item
        that failed, its exception: one failure never loses the others.
        """
        todo = list(items)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(index: int, item: Item) -> Outcome:
            async with gate:
                try:
                    outcome: Outcome = await self.generate(self._merge(item, fields), timeout=timeout)
                except SeedreamError as exc:
                    outcome = exc
            if on_progress is not None:
                on_progress(index, outcome)
            return outcome

        tasks = [asyncio.ensure_future(one(i, item)) for i, item in enumerate(todo)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            # gather() gives up at the first failure (a cancel included) while the others run on; wait for
            # every item to finish its own cleanup, so each running prediction gets its cancel request.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def _merge(self, item: Item, shared: Mapping[str, Any]) -> SeedreamInput:
        if isinstance(item, SeedreamInput):
            extra = {k: v for k, v in shared.items() if k not in item.explicit}
            return self.build_input(item, **extra)
        if isinstance(item, Mapping):
            merged = {**shared, **item}
            prompt = merged.pop("prompt", None)
            if prompt is None:
                raise ValidationError([InvalidField("prompt", "is required", "required", None,
                                                    FIELD["prompt"].allowed)])
            return self.build_input(prompt, **merged)
        return self.build_input(item, **shared)

    async def compare(self, prompt: str, *, concurrency: int = 8, timeout: float | None = None,
                      on_progress: Callable[[int, Outcome], None] | None = None,
                      **axes_and_fields: Any) -> Comparison:
        """One prompt across every combination of some settings, as a labelled grid.

        >>> await client.compare("a lighthouse", size=["1K", "2K"], aspect_ratio=["1:1", "16:9"])  # doctest: +SKIP

        Keyword arguments with a list value are axes; the others apply to every cell.
        """
        axes = _axes(axes_and_fields)
        shared = {k: v for k, v in axes_and_fields.items() if k not in axes}
        if not axes:
            raise ValidationError([InvalidField(
                "axes", "compare() needs at least one setting with a list of values, e.g. size=['1K', '2K']",
                "required", None, "a list of values for any field")])
        combos = [dict(zip(axes, values, strict=False)) for values in itertools.product(*axes.values())]
        items: list[Item] = [{"prompt": prompt, **shared, **combo} for combo in combos]
        outcomes = await self.generate_many(items, concurrency=concurrency, timeout=timeout,
                                            on_progress=on_progress)
        return Comparison(prompt=prompt, axes=axes, cells=list(zip(combos, outcomes, strict=False)))

    # -- history and resume --------------------------------------------------------------

    def history(self, limit: int | None = 20) -> list[RunRecord]:
        """Stored runs in the output folder, newest first."""
        return self.gallery.history(limit)

    async def resume(self, prediction_id: str, *, on_update: OnUpdate | None = None,
                     timeout: float | None = None) -> Result:
        """Finish a run after a restart: waits for it if still running, downloads and stores it.

        A run already stored whole is returned from disk without any request.
        """
        record = self.gallery.find(prediction_id)
        if record is not None and record.complete:
            return Result.from_record(record)
        started = time.monotonic()
        prediction = await self.get(prediction_id)
        self._claimed.add(prediction.id)
        staging = self.gallery.staging_for(prediction.id)
        staging.mkdir(parents=True, exist_ok=True)
        return await self._finish(prediction, staging, started=started, deadline=self._deadline(started, timeout),
                                  on_update=on_update, progressive=on_update is not None)

    def in_flight(self) -> list[dict[str, Any]]:
        """Journal entries of runs started and never stored (candidates for `resume`)."""
        return self.gallery.in_flight()


def _sent_tracer(on_sent: Callable[[], None]) -> Callable[[str, Any], Awaitable[None]]:
    """An httpcore ``trace`` callback that calls ``on_sent`` when a request's body has been sent."""
    async def trace(event: str, info: Any) -> None:
        if event.endswith(".send_request_body.complete"):  # http11.… or http2.…
            on_sent()

    return trace


def _axes(axes_and_fields: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The keyword arguments of `compare` that are axes: those given a list of values (image_input is a list
    by nature, never an axis)."""
    return {k: list(v) for k, v in axes_and_fields.items() if isinstance(v, (list, tuple)) and k != "image_input"}


async def _cancel_all(tasks: Mapping[int, asyncio.Task[Any]]) -> None:
    pending = [t for t in tasks.values() if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks.values():  # retrieve exceptions so asyncio does not log "never retrieved"
        if task.done() and not task.cancelled():
            task.exception()


class Seedream:
    """The Seedream 4 client for notebooks and scripts (synchronous).

    >>> from seedream_widgets import Seedream
    >>> client = Seedream()                       # demo backend when no token is set   # doctest: +SKIP
    >>> result = client.generate("a red fox in the snow", size="1K")                   # doctest: +SKIP
    >>> result.paths                                                                   # doctest: +SKIP

    Every call runs the `AsyncSeedream` coroutines on the engine loop thread
    and waits, so it works inside a running notebook loop, in scripts and in
    widget callbacks alike. ``await client.agenerate(...)`` does the same without
    blocking the caller's loop. Interrupting a call cancels the prediction.
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        output_dir: str | Path | None = None,
        **options: Any,
    ) -> None:
        self._engine = engine_loop()
        self._core = AsyncSeedream(token, base_url, model, output_dir, **options)

    @property
    def core(self) -> AsyncSeedream:
        """The async client that does the work (its coroutines run on the engine loop)."""
        return self._core

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def gallery(self) -> Gallery:
        return self._core.gallery

    def __repr__(self) -> str:
        return repr(self._core).replace("AsyncSeedream", "Seedream", 1)

    def _run(self, coro: Awaitable[Any], events: queue.SimpleQueue[Callable[[], None]] | None = None) -> Any:
        return self._engine.run(coro, events=events)  # type: ignore[arg-type]

    def generate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                 timeout: float | None = None, **fields: Any) -> Result:
        """Generate images and return them stored on disk; see `AsyncSeedream.generate`.

        ``on_update`` runs on the calling thread while it waits (so a display it
        makes lands in the cell that is running), not on the engine thread.
        """
        # The input is built and checked here, on the calling thread: reading and encoding input images
        # never holds up the engine loop (other panels' runs), and a ValidationError needs no round trip.
        inp = self._core.build_input(prompt, **fields)
        events, relay = _relay(on_update)
        return self._run(self._core.generate(inp, on_update=relay, timeout=timeout), events)  # type: ignore[no-any-return]

    async def agenerate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                        timeout: float | None = None, **fields: Any) -> Result:
        """``await``-able `generate` that leaves the caller's loop free (the work runs on the engine loop)."""
        future = self._engine.submit(self._core.generate(prompt, on_update=on_update, timeout=timeout, **fields))
        return await asyncio.wrap_future(future)

    def generate_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                      progress: bool = True, **fields: Any) -> list[Outcome]:
        """Many generations at once; see `AsyncSeedream.generate_many`. Shows progress unless ``progress=False``."""
        todo = list(items)
        events, on_progress = _progress_pump(len(todo), progress)
        return self._run(self._core.generate_many(todo, concurrency=concurrency, timeout=timeout,  # type: ignore[no-any-return]
                                                  on_progress=on_progress, **fields), events)

    def compare(self, prompt: str, *, concurrency: int = 8, timeout: float | None = None, progress: bool = True,
                **axes_and_fields: Any) -> Comparison:
        """One prompt across a product of settings; see `AsyncSeedream.compare`."""
        total = math.prod(len(values) for values in _axes(axes_and_fields).values())
        events, on_progress = _progress_pump(total, progress)
        return self._run(self._core.compare(prompt, concurrency=concurrency, timeout=timeout,  # type: ignore[no-any-return]
                                            on_progress=on_progress, **axes_and_fields), events)

    def create(self, prompt: str | SeedreamInput, *, wait: float | None = None, **fields: Any) -> Prediction:
        """Create a prediction without following it (low level)."""
        return self._run(self._core.create(self._core.build_input(prompt, **fields), wait=wait))  # type: ignore[no-any-return]

    def get(self, prediction_id: str) -> Prediction:
        return self._run(self._core.get(prediction_id))  # type: ignore[no-any-return]

    def cancel(self, prediction_id: str) -> Prediction:
        return self._run(self._core.cancel(prediction_id))  # type: ignore[no-any-return]

    def resume(self, prediction_id: str, *, on_update: OnUpdate | None = None, timeout: float | None = None) -> Result:
        """Finish or re-download a run after a kernel restart; see `AsyncSeedream.resume`."""
        events, relay = _relay(on_update)
        return self._run(self._core.resume(prediction_id, on_update=relay, timeout=timeout), events)  # type: ignore[no-any-return]

    def history(self, limit: int | None = 20) -> list[RunRecord]:
        return self._core.history(limit)

    def in_flight(self) -> list[dict[str, Any]]:
        return self._core.in_flight()

    def build_input(self, prompt: str | SeedreamInput, **fields: Any) -> SeedreamInput:
        return self._core.build_input(prompt, **fields)

    def close(self) -> None:
        """Close the connection pool (the engine thread is shared and stays)."""
        self._run(self._core.aclose())

    def __enter__(self) -> Seedream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _relay(on_update: OnUpdate | None) -> tuple[queue.SimpleQueue[Callable[[], None]] | None, OnUpdate | None]:
    """An ``on_update`` for the engine side that hands each update to the waiting thread."""
    if on_update is None:
        return None, None
    events: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    return events, lambda update: events.put(functools.partial(on_update, update))


def _progress_pump(total: int, enabled: bool) -> tuple[queue.SimpleQueue[Callable[[], None]] | None,
                                                       Callable[[int, Outcome], None] | None]:
    """A progress display updated on the waiting thread (so its output lands in the waiting cell)."""
    if not enabled or total < 2:
        return None, None
    from .display import ProgressDisplay

    display = ProgressDisplay(total)
    events: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def on_progress(index: int, outcome: Outcome) -> None:
        ok = isinstance(outcome, Result)
        events.put(lambda: display.advance(ok))

    return events, on_progress
