"""The predictions client: `AsyncSeedream` (the one implementation) and `Seedream` (its sync facade).

`AsyncSeedream` holds the protocol: create with ``Prefer: wait``, read, cancel, retries,
resolving ambiguous creates, following a prediction's event stream, downloads; and it starts
`Run`s and `Batch`es (`seedream_widgets.run`, `seedream_widgets.batch`), which drive one
generation each. `Seedream` starts the same runs on the private engine loop thread
(`seedream_widgets.engine`) and waits for them, so it behaves the same in a notebook cell
(where a loop is already running), a script and a widget callback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import httpx

from . import _present, protocol
from ._version import __version__
from .batch import Batch, BatchState, Outcome
from .catalog import FETCH_TIMEOUT, SchemaCatalog
from .config import ENV_MAX_COST, Settings, cache_dir, full_model_name, resolve_settings, scrub
from .engine import engine_loop
from .errors import (
    APIError,
    CostLimitExceeded,
    InvalidField,
    NetworkError,
    NotFoundError,
    OutputError,
    SeedreamError,
    ValidationError,
)
from .gallery import Gallery, RunRecord
from .grid import CompareCells, caveats_once, compare_axes, expand, template_placeholders
from .images import MAX_OUTPUT_BYTES, SavedImage, TransientOutputError, decoded_size, download_image, to_image_uri
from .models import KNOWN_MODELS, Estimate, ModelSchema
from .prediction import Prediction
from .result import Comparison, Result
from .run import FIRST_HOLD, Run, RunState
from .schema import SeedreamInput

__all__ = ["AsyncSeedream", "Item", "Outcome", "Seedream", "Update"]

log = logging.getLogger("seedream_widgets")

_CLAIMED: set[str] = set()
"""Prediction ids taken by any client of this process. Shared, not per client: two panels (each with its
own client) sending the same input must not adopt each other's prediction after an ambiguous create."""

Item = str | SeedreamInput | Mapping[str, Any]
"""One item of a batch: a prompt, an input, or a mapping of fields with a ``prompt``."""
Update = RunState
"""What ``on_update`` callbacks receive (kept for code written against earlier versions)."""
OnUpdate = Callable[[RunState], Any]


UPLOAD_THRESHOLD = 1_000_000
"""Local input images above this many bytes are uploaded (Replicate recommends data URIs only below about 1 MB)."""
_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


class _AmbiguousCreate(Exception):
    """A create request went out but no usable answer came back: a prediction may exist."""


KEEPALIVE_SECONDS = 30.0
"""How long an idle connection is kept for the next request."""
STREAM_END_WAIT = 0.05
"""Seconds a stream's end is awaited after its ``done`` event (the service ends it right after)."""


async def _read_to_end(lines: AsyncIterator[str]) -> None:
    """Read what follows ``done`` (the stream's end) so its connection goes back to the pool: a response closed
    before its end takes its connection with it, and the next request pays for a new one."""
    async def drain() -> None:
        async for _ in lines:
            pass

    with contextlib.suppress(asyncio.TimeoutError, httpx.HTTPError):
        await asyncio.wait_for(drain(), STREAM_END_WAIT)


class AsyncSeedream:
    """The async Seedream client.

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
        wait: float = FIRST_HOLD,
        timeout: float | None = 600,
        max_retries: int = 6,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
        create_grace: float = 2.0,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
        stream: bool = True,
        max_cost: float | None = None,
        upload_threshold: int | None = UPLOAD_THRESHOLD,
        embed_metadata: bool | str | None = None,
    ) -> None:
        settings = resolve_settings(token, base_url, model, output_dir, max_cost, embed_metadata)
        if settings.demo and not settings.base_url:
            from .demo import embedded_server

            settings = replace(settings, base_url=embedded_server().base_url)
        self.settings: Settings = replace(settings, output_dir=settings.output_dir.absolute())
        self.gallery = Gallery(self.settings.output_dir)
        self.catalog = SchemaCatalog(cache_dir(self.settings.base_url))
        """The schema of each model this client runs (fetched, cached or built in)."""
        self.wait = wait
        """Seconds a create may be held open by ``Prefer: wait`` before the run is followed (0: never)."""
        self.timeout = timeout
        """Default deadline in seconds for one generation (None: no deadline)."""
        self.max_retries = max_retries
        self.create_grace = create_grace
        """How long to look for a prediction made by an ambiguous create before creating again."""
        self.max_output_bytes = max_output_bytes
        self.use_stream = stream
        """Follow a prediction's server-sent events when it offers them (else poll)."""
        # Idle connections are kept 30 s, not httpx's 5: a notebook makes a run every few seconds to minutes, and a
        # run that is followed needs two at once (its event stream and a download), so with 5 s the second one
        # was usually gone by the next run. A connection the server closed meanwhile is dropped, not reused.
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                                    keepalive_expiry=KEEPALIVE_SECONDS)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._claimed = _CLAIMED
        self._throttled_until = 0.0
        self._rng = random.Random()
        self._pacer = protocol.RatePacer()
        self._background: set[asyncio.Future[Any]] = set()
        """Work of this client that no run waits for (schema refreshes): `aclose` lets it end first."""
        self.upload_threshold = upload_threshold
        """Inline input images larger than this many bytes go through the Files API (None: never)."""
        self._uploads: dict[str, str] = {}
        self._files_missing = False

    def __repr__(self) -> str:
        mode = "demo" if self.settings.demo else "real"
        return (f"{type(self).__name__}(base_url={self.settings.base_url!r}, model={self.settings.model!r}, "
                f"mode={mode!r}, token={self.settings.masked_token!r})")

    @property
    def schema(self) -> ModelSchema:
        """The input schema of this client's model (see `schema_for`)."""
        return self.schema_for(self.settings.model)

    def schema_for(self, model: str | None = None) -> ModelSchema:
        """The schema known now for ``owner/name[:version]`` (default: the client's model): fetched from
        the service earlier, cached on disk, or built in. Sends nothing.

        Raises `ValidationError` for a model with no schema yet: ``await client.load_schema(model)``
        reads it (`Seedream` does that by itself).
        """
        name = self._model_name(model)
        found = self.catalog.get(name)
        if found is None:
            raise ValidationError([InvalidField(
                "model", f"{name!r}: its schema has not been read from the service yet (await "
                         f"client.load_schema({name!r}) first)", "unknown_model", name,
                "a model of the service at " + self.settings.public_base_url)])
        return found

    async def load_schema(self, model: str | None = None, *, refresh: bool = False) -> ModelSchema:
        """Read a model's schema from the service (``GET /models/...``) unless it is known; returns it.

        ``refresh`` reads it again even when known. A base without ``/models`` keeps the built-in
        snapshot (see ``catalog.notes``); an unknown model raises `NotFoundError`.
        """
        name = self._model_name(model)
        known = self.catalog.get(name)
        if known is None or refresh:
            try:
                fetched = await asyncio.wait_for(self.catalog.fetch(name, self._get_json), FETCH_TIMEOUT)
            except asyncio.TimeoutError:
                fetched = None
                self.catalog.note(f"reading {name}'s schema took over {FETCH_TIMEOUT:g} s; gave up")
            known = fetched or self.catalog.get(name)
        if known is None:
            raise ValidationError([InvalidField(
                "model", f"{name!r}: the service at {self.settings.public_base_url} serves no schema for it (no "
                         "/models route?); the package knows only the Seedream family's", "unknown_model", name,
                ", ".join(KNOWN_MODELS))])
        return known

    def _model_name(self, model: str | None) -> str:
        """``owner/name[:version]`` of ``model`` (a Seedream may be named without ``bytedance/``), else the client's."""
        name = full_model_name(model) if model else self.settings.model
        owner, slash, short = name.partition(":")[0].partition("/")
        if not (owner and slash and short) or "/" in short:
            raise ValidationError([InvalidField("model", f"{name!r} is not a model name", "bad_model", name,
                                                f"owner/name[:version], e.g. {', '.join(KNOWN_MODELS)}")])
        return name

    async def _get_json(self, path: str) -> Any:
        return await self._request("GET", path)

    def refresh_in_background(self, model: str, reported_version: str = "") -> None:
        """After a create: read the model's schema again when the service reports another version, or
        the cached copy is a day old. Never delays the run; failures only leave a note."""
        if not self.catalog.needs_refresh(model, reported_version):
            return
        task = asyncio.ensure_future(self.catalog.fetch(model, self._get_json))
        task.add_done_callback(_quiet)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- life cycle -------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        # The pool belongs to the loop it was made on; a new loop (a second asyncio.run) gets a new pool.
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                transport=self._transport or httpx.AsyncHTTPTransport(limits=self._limits),
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
        if self._background:
            # A schema refresh still under way finishes first (briefly): closing the pool under a request that
            # is still connecting would leave its new connection open, owned by nobody.
            await asyncio.wait(list(self._background), timeout=2.0)
            for task in list(self._background):
                task.cancel()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self.gallery.close()

    async def __aenter__(self) -> AsyncSeedream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- one HTTP exchange, with retries ------------------------------------------

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.settings.base_url}/{path}"

    async def _request(self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None,
                       timeout: float | None = None, kind: Literal["read", "create", "cancel"] = "read",
                       on_sent: Callable[[], None] | None = None, files: Any = None,
                       data: Mapping[str, str] | None = None) -> Any:
        """Send one API request; returns the decoded JSON body.

        Reads and cancels are retried on 429/5xx, connection errors and malformed
        bodies. A create is retried only when it surely never arrived (connect
        errors) or the service refused it (429/503); any other failure after
        sending (a dropped connection, a malformed body, a 500/502/504 that a
        proxy may have answered after forwarding) raises `_AmbiguousCreate` for
        the caller to resolve. Anything that is not a fault of the connection (a
        body that cannot be encoded, a bug) is raised as it is, never retried.
        ``on_sent`` is called once the whole request is on its way (httpcore's
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
                response = await self._client().request(method, url, json=json, headers=send_headers, files=files,
                                                         data=data, timeout=request_timeout, extensions=extensions)
            except httpx.TransportError as exc:
                log.debug("%s %s failed: %r", method, path, exc)
                if kind == "create" and not protocol.is_surely_unsent(exc):
                    raise _AmbiguousCreate(repr(exc)) from exc
                if attempt >= self.max_retries:
                    raise NetworkError(f"could not reach {self.settings.public_base_url} ({type(exc).__name__}) after "
                                       f"{attempt + 1} tries; check the connection and the base URL") from None
                await asyncio.sleep(protocol.backoff_delay(attempt, rng=self._rng))
                continue
            log.debug("%s %s -> %s", method, path, response.status_code)
            if kind == "create" and response.status_code != 429:
                self._pacer.accepted(response.headers, time.monotonic())
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
            if kind == "create" and response.status_code == 429:
                self._pacer.throttled(retry_after, response.headers, time.monotonic())
            if kind == "create" and response.status_code in protocol.AMBIGUOUS_CREATE_STATUSES:
                raise _AmbiguousCreate(f"{response.status_code} on create")
            if response.status_code in retry_statuses and attempt < self.max_retries:
                delay = protocol.backoff_delay(attempt, retry_after=retry_after, rng=self._rng)
                if response.status_code == 429 and kind == "create":
                    await self.pace(lambda _: None)  # the pacer knows when creates may go again
                    continue
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
                     on_sent: Callable[[], None] | None = None, deadline: float | None = None) -> Prediction:
        """Create a prediction (held open up to ``wait`` seconds by ``Prefer: wait``).

        An ambiguous failure (sent, no answer) never creates twice: recent
        predictions are searched for one with the same input made after the
        request was sent, and only if none turns up within ``create_grace``
        seconds is the create sent again. ``on_sent`` runs each time the
        request has been sent, while the service holds it (it must not raise).
        """
        payload = inp.to_payload()
        model = inp.schema.label
        body = protocol.create_body(model, payload)
        wait_s = self.wait if wait is None else wait
        headers = {**protocol.prefer_header(wait_s), **protocol.cancel_after_header(deadline)}
        path = protocol.create_path(model)
        for _ in range(self.max_retries + 1):
            sent_at = datetime.now(timezone.utc)
            # Errors are classified here, once: only a request that went out without a usable answer is
            # ambiguous. Anything else (a 422, a body that cannot be encoded, a bug) is raised as it is,
            # never retried and never searched for.
            try:
                data = await self._request("POST", path, json=body, headers=headers, timeout=wait_s + 30,
                                           kind="create", on_sent=on_sent)
                try:
                    prediction = self._prediction(data)
                except ValueError as exc:  # an answer that is not a prediction (no id): one may have been made
                    raise _AmbiguousCreate(f"the create answered without a prediction ({exc})") from None
            except _AmbiguousCreate as exc:
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
                    await self.cancel_quietly(found.id)
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
            for raw in (data.get("results") if isinstance(data, dict) else None) or []:
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

    def claim(self, prediction_id: str) -> None:
        """Mark a prediction as followed by this process (an ambiguous create never adopts it)."""
        self._claimed.add(prediction_id)

    async def get(self, prediction_id: str) -> Prediction:
        """The prediction's current state."""
        return self._prediction(await self._request("GET", f"predictions/{prediction_id}"))

    async def cancel(self, prediction_id: str) -> Prediction:
        """Ask the service to cancel a prediction; returns its state after the request."""
        return self._prediction(await self._request("POST", f"predictions/{prediction_id}/cancel",
                                                        kind="cancel"))

    async def cancel_quietly(self, prediction_id: str) -> None:
        """`cancel`, for cleanup: errors are logged, never raised, and it gives up after 5 s."""
        with contextlib.suppress(SeedreamError, ValueError, asyncio.TimeoutError):
            await asyncio.wait_for(self.cancel(prediction_id), timeout=5)

    async def list_predictions(self) -> list[Prediction]:
        """The first page of this account's predictions, newest first."""
        data = await self._request("GET", "predictions")
        return [self._prediction(raw) for raw in data.get("results") or []]

    async def stream_events(self, url: str, *, with_token: bool) -> AsyncGenerator[protocol.ServerSentEvent, None]:
        """The server-sent events of a prediction's stream URL, as they come.

        The token is sent only to the API's own origin (``with_token``). Raises `APIError` for an
        error answer and `NetworkError` when the connection fails; the caller polls instead.
        """
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if with_token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        decoder = protocol.SSEDecoder()
        try:
            async with self._client().stream("GET", url, headers=headers,
                                             timeout=httpx.Timeout(30.0, connect=10.0, read=None)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self._error(response, None)
                lines = response.aiter_lines()
                async for line in lines:
                    for event in decoder.feed(line):
                        if event.event == "done":
                            await _read_to_end(lines)
                        yield event
        except httpx.TransportError as exc:
            raise NetworkError(f"the event stream of {url} broke ({type(exc).__name__})") from None

    async def download(self, url: str, dest: Path, prediction_id: str) -> SavedImage:
        """Download one output to ``dest`` (extension from its type), verified, with retries."""
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

    # -- what runs use -----------------------------------------------------------------

    def expected_seconds(self, inp: SeedreamInput | None) -> float:
        """How long a run like ``inp`` usually takes from create to end: past runs of the same model, size and
        number of images in the output folder, else a default by size."""
        if inp is None:
            return protocol.expected_seconds("2K", 1)
        size = str(inp.values.get("size") or "")
        images = inp.expected_images
        past = self.gallery.durations(inp.model, size, images)
        return protocol.expected_seconds(size, images, past)

    async def pace(self, note: Callable[[str], Any], *, batch: bool = False) -> bool:
        """Wait for this client's turn to create (`protocol.RatePacer`); ``note`` says why it waits.

        Every create of this client goes through here, so a batch is sent at the rate the service
        accepts instead of bouncing off 429s. Returns True for the pacer's probe (a batch's first
        create, to be sent without a ``Prefer: wait`` hold so its rate-limit headers come at once).
        """
        said = False
        while True:
            now = time.monotonic()
            pause = self._pacer.delay(now)
            if pause <= 0:
                probe = self._pacer.take(now, probe=batch)
                if said:
                    note("")
                return probe
            if pause > 0.5 and not said:
                note(f"waiting for the rate limit ({pause:.1f} s)")
                said = True
            await asyncio.sleep(pause)

    def probe_ended(self) -> None:
        """The create `pace` called the probe is over, answered or not (see `protocol.RatePacer.probe_ended`)."""
        self._pacer.probe_ended()

    async def upload_inputs(self, inp: SeedreamInput, note: Callable[[str], Any]) -> SeedreamInput:
        """``inp`` with each inline image above ``upload_threshold`` bytes uploaded (Files API) and passed by URL.

        The same bytes are uploaded once per client. A base without ``/files`` keeps data URIs (one note).
        """
        threshold = self.upload_threshold
        images = list(inp.image_input)
        large = [i for i, uri in enumerate(images) if threshold is not None and uri.startswith("data:")
                 and decoded_size(uri) > threshold]
        if not large or self._files_missing:
            return inp
        note(f"uploading {len(large)} input image{'s' if len(large) != 1 else ''}")
        for index in large:
            url = await self._upload(images[index])
            if url is None:
                break
            images[index] = url
        note("")
        return inp.replace(image_input=images) if images != list(inp.image_input) else inp

    async def _upload(self, uri: str) -> str | None:
        digest = hashlib.sha256(uri.encode("ascii", "replace")).hexdigest()
        if digest in self._uploads:
            return self._uploads[digest]
        head, _, encoded = uri.partition(",")
        mime = head[5:].split(";", 1)[0] or "application/octet-stream"
        data = base64.b64decode(encoded)
        name = f"input-{digest[:12]}{_SUFFIXES.get(mime, '')}"
        try:
            answer = await self._request("POST", "files", files={"content": (name, data, mime)},
                                         data={"filename": name, "type": mime,
                                               "metadata": json.dumps({"sha256": hashlib.sha256(data).hexdigest()})})
        except NotFoundError:
            self._files_missing = True
            self.catalog.note("the service has no Files API (/files): input images above "
                                      f"{(self.upload_threshold or 0) / 1e6:g} MB are sent inline as data URIs")
            return None
        url = (answer.get("urls") or {}).get("get") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NetworkError("the Files API answered without a download URL (urls.get); the input was not sent")
        self._uploads[digest] = url
        return url

    def deadline_seconds(self, timeout: float | None) -> float | None:
        """The deadline of a run in seconds (``timeout``, else the client's); checked before anything is sent."""
        limit = self.timeout if timeout is None else timeout
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0):
            # Checked before the create: a NaN or negative deadline would bill a prediction and abandon it.
            raise ValidationError([InvalidField("timeout", f"must be a number of seconds above 0, got {limit!r}",
                                                "type", limit, "a number of seconds above 0, or None for none")])
        return None if limit is None else float(limit)

    # -- inputs ------------------------------------------------------------------------------

    def build_input(self, prompt: str | SeedreamInput, *, model: str | None = None, **fields: Any) -> SeedreamInput:
        """A validated `SeedreamInput` for ``model`` (default: the client's); local images become data URIs.

        Raises `ValidationError` naming every invalid field (with what that model allows).
        """
        if "image_input" in fields:
            images = fields["image_input"]
            if images is None:
                images = []
            elif isinstance(images, (str, bytes, Path)) or not isinstance(images, Sequence):
                images = [images]  # one image is fine without a list
            fields["image_input"] = [to_image_uri(image) for image in images]
        if isinstance(prompt, SeedreamInput):
            pinned = self.settings.model if model is None and ":" in self.settings.model \
                and prompt.model == self.settings.model.split(":", 1)[0] else None
            target = model or pinned  # an input of the client's model runs on the version the client pins
            if target is not None and target != prompt.schema.label:
                prompt, _ = prompt.for_model(self.schema_for(target))
            return prompt.replace(**fields) if fields else prompt
        return SeedreamInput(prompt, schema=self.schema_for(model), **fields)

    def image_uri(self, source: Any) -> str:
        """An input image as the service takes it: URLs and data URIs as they are, files, bytes and PIL
        images as data URIs. Raises `ValidationError` (on ``image_input``) with the reason."""
        return to_image_uri(source)

    def item_inputs(self, items: Iterable[Item], **fields: Any) -> list[SeedreamInput | SeedreamError]:
        """Each batch item's validated input, or the error that stops it (nothing is sent).

        Keyword ``fields`` apply to every item (an item's own fields win); each distinct
        caveat warns once.
        """
        inputs: list[SeedreamInput | SeedreamError] = []
        with caveats_once():
            for item in items:
                try:
                    inputs.append(self._item_input(item, fields))
                except SeedreamError as exc:
                    inputs.append(exc)
        return inputs

    def _item_input(self, item: Item, shared: Mapping[str, Any]) -> SeedreamInput:
        if isinstance(item, SeedreamInput):
            extra = {k: v for k, v in shared.items() if k not in item.explicit}
            return self.build_input(item, **extra)
        if isinstance(item, Mapping):
            merged = {**shared, **item}
            prompt = merged.pop("prompt", None)
            if prompt is None:
                raise ValidationError([InvalidField("prompt", "is required", "required", None,
                                                    self.schema.field("prompt").allowed)])
            return self.build_input(prompt, **merged)
        return self.build_input(item, **shared)

    # -- starting runs -------------------------------------------------------------------------

    def _spawn(self, loop: asyncio.AbstractEventLoop, **options: Any) -> Run:
        """A new `Run` on ``loop``, started there."""
        run = Run(self, loop, **options)
        if run.done():
            return run
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            run._launch()
        else:
            loop.call_soon_threadsafe(run._launch)
        return run

    def _spawn_batch(self, loop: asyncio.AbstractEventLoop, items: Iterable[Item], *, concurrency: int,
                     timeout: float | None, skip_stored: bool, labels: Sequence[str] | None,
                     shared: Mapping[str, Any]) -> list[Run]:
        return self._spawn_inputs(loop, self.item_inputs(items, **shared), concurrency=concurrency, timeout=timeout,
                                  skip_stored=skip_stored, labels=labels)

    def _spawn_inputs(self, loop: asyncio.AbstractEventLoop, inputs: Sequence[SeedreamInput | SeedreamError], *,
                      concurrency: int, timeout: float | None, skip_stored: bool,
                      labels: Sequence[str] | None, groups: Sequence[Mapping[str, Any]] | None = None) -> list[Run]:
        """One run per input, at most ``concurrency`` creating at once; an error in place of an input ends at once.

        Refused as a whole (`CostLimitExceeded`, nothing sent) when its price at most is over ``max_cost``.
        """
        matches = self.match_stored(inputs) if skip_stored else {}
        self.check_cost(self.estimate_inputs([inp for i, inp in enumerate(inputs)
                                              if isinstance(inp, SeedreamInput) and i not in matches]))
        gate = asyncio.Semaphore(max(1, concurrency))
        runs = []
        for index, inp in enumerate(inputs):
            label = labels[index] if labels is not None and index < len(labels) else ""
            if isinstance(inp, SeedreamError):
                runs.append(Run(self, loop, error=inp, label=label))
                continue
            found = matches.get(index)
            if isinstance(found, Result):
                runs.append(self._spawn(loop, input=inp, stored=found, label=label))
            else:
                runs.append(self._spawn(loop, input=inp, timeout=timeout, label=label, gate=gate,
                                        resume_id=found or "", group=groups[index] if groups else None))
        return runs

    # -- cost ------------------------------------------------------------------------------------

    def estimate_inputs(self, inputs: Iterable[SeedreamInput]) -> Estimate:
        """Images and price at most of these inputs together (nothing is billed in demo mode)."""
        total = Estimate(0, 0.0, runs=0, demo=self.settings.demo)
        for inp in inputs:
            total = total + inp.estimate(demo=self.settings.demo)
        return total

    def estimate(self, what: Item | Sequence[Item], **fields_and_axes: Any) -> Estimate:
        """The most images and the highest price of a run, a set, a batch or a grid, before anything is sent.

        >>> client.estimate("a fox", max_images=4, sequential_image_generation="auto").describe()  # doctest: +SKIP
        'at most 4 images, at most $0.120'
        >>> client.estimate("a fox", model=["bytedance/seedream-4", "bytedance/seedream-5-lite"])   # doctest: +SKIP

        ``what`` is a prompt (list-valued keywords are compare axes, as in `compare`) or a list of
        batch items (as in `generate_many`). Invalid items count nothing; their errors show when run.
        """
        if isinstance(what, list) and all(isinstance(p, str) for p in what) and compare_axes(fields_and_axes):
            return self.estimate_inputs(self._compare_cells(what, fields_and_axes).inputs)
        if isinstance(what, (str, SeedreamInput, Mapping)):
            if isinstance(what, str) and (compare_axes(fields_and_axes) or template_placeholders(what)):
                return self.estimate_inputs(self._compare_cells(what, fields_and_axes).inputs)
            return self.estimate_inputs([self._item_input(what, fields_and_axes)])
        return self.estimate_inputs([i for i in self.item_inputs(what, **fields_and_axes)
                                     if isinstance(i, SeedreamInput)])

    def check_cost(self, estimate: Estimate) -> None:
        """Raise `CostLimitExceeded` (nothing is sent) when ``estimate`` is over the client's ``max_cost``."""
        limit = self.settings.max_cost
        if limit is not None and estimate.usd > limit + 1e-9:
            raise CostLimitExceeded(
                f"this would cost up to ${estimate.usd:.3f} ({estimate.describe()}), over max_cost ${limit:g} "
                f"({ENV_MAX_COST} or max_cost=); nothing was sent. Ask for fewer images or runs, or raise the limit.",
                estimate=estimate, limit=limit)

    def match_stored(self, inputs: Sequence[SeedreamInput | SeedreamError]) -> dict[int, Result | str]:
        """For each valid input (by position): a run already stored with it (a `Result`), else the id of a
        journaled prediction to resume (a killed run's), else nothing. Sends no request.

        Stored runs match on model, mode (demo or real) and the input as stored; each stored run
        and each journal entry is used once, oldest first, so N identical items need N stored runs.
        """
        stored = self.gallery.stored_by_input(self.settings.model, demo=self.settings.demo)
        journaled = self.gallery.journaled_by_input(self.settings.model)
        found: dict[int, Result | str] = {}
        for index, inp in enumerate(inputs):
            if not isinstance(inp, SeedreamInput):
                continue
            key = self.gallery.input_key(inp.to_payload())
            if stored.get(key):
                found[index] = Result.from_record(stored[key].pop(0))
            elif journaled.get(key):
                found[index] = journaled[key].pop(0)
        return found

    def start(self, prompt: str | SeedreamInput, *, timeout: float | None = None, label: str = "",
              **fields: Any) -> Run:
        """Start a generation on the running loop and return its `Run` at once.

        >>> run = client.start("a red fox", size="1K")     # doctest: +SKIP
        >>> result = await run                             # doctest: +SKIP

        Invalid fields raise `ValidationError` here, before anything is sent.
        """
        inp = self.build_input(prompt, **fields)
        self.check_cost(self.estimate_inputs([inp]))
        return self._spawn(asyncio.get_running_loop(), input=inp, timeout=timeout, label=label)

    async def generate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                       timeout: float | None = None, **fields: Any) -> Result:
        """Generate images and return them stored on disk: ``await start(...)``.

        >>> result = await client.generate("a red fox", size="1K", aspect_ratio="16:9")  # doctest: +SKIP

        ``fields`` are the model's inputs by their schema names (``size``,
        ``aspect_ratio``, ``image_input`` as paths/bytes/PIL/URLs, ...); invalid
        ones raise `ValidationError` before any request. ``on_update`` receives
        each `RunState` (on this loop); ``timeout`` is the deadline in seconds
        (default: the client's). Cancelling the awaiting task cancels the prediction.
        """
        run = self.start(prompt, timeout=timeout, **fields)
        if on_update is not None:
            loop = asyncio.get_running_loop()
            run.subscribe(on_update, deliver=loop.call_soon_threadsafe)
        return await run

    def start_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                   skip_stored: bool = False, labels: Sequence[str] | None = None,
                   **fields: Any) -> Batch[list[Outcome]]:
        """Start many generations (prompts, inputs or dicts of fields) on the running loop; returns a `Batch`.

        Keyword ``fields`` apply to every item (an item's own fields win). With ``skip_stored``,
        items already stored in the output folder are not run again, and predictions a killed
        run left running are resumed instead of created again.
        """
        loop = asyncio.get_running_loop()
        runs = self._spawn_batch(loop, items, concurrency=concurrency, timeout=timeout, skip_stored=skip_stored,
                                 labels=labels, shared=fields)
        return Batch(runs, loop, list)

    async def generate_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                            on_progress: Callable[[BatchState], Any] | None = None,
                            **fields: Any) -> list[Outcome]:
        """Generate for many prompts (or `SeedreamInput`s, or dicts of fields) with bounded concurrency.

        >>> outcomes = await client.generate_many(["a fox", "an owl"], size="1K")  # doctest: +SKIP

        The list comes back in input order, holding each `Result` or, for an item
        that failed, its exception: one failure never loses the others.
        """
        batch = self.start_many(items, concurrency=concurrency, timeout=timeout, **fields)
        if on_progress is not None:
            batch.subscribe(on_progress, deliver=asyncio.get_running_loop().call_soon_threadsafe)
        return await batch

    def start_compare(self, prompt: str | Sequence[str], *, concurrency: int = 8, timeout: float | None = None,
                      **axes_and_fields: Any) -> Batch[Comparison]:
        """Start a prompt (a list of prompts, or a template) across every combination of some settings;
        ``wait()`` gives a `Comparison`.

        Keyword arguments with a list value are axes; the others apply to every cell. Every
        cell is validated before anything is sent (all problems at once).
        """
        loop = asyncio.get_running_loop()
        return self._compare_batch(loop, prompt, concurrency, timeout, axes_and_fields)

    def _compare_cells(self, prompt: str | Sequence[str], axes_and_fields: Mapping[str, Any]) -> CompareCells:
        """Every cell of a comparison, validated (see `grid.expand`)."""
        return expand(prompt, axes_and_fields, default_model=self.settings.model, schema_for=self.schema_for,
                      build_input=self.build_input)

    def _compare_batch(self, loop: asyncio.AbstractEventLoop, prompt: str | Sequence[str], concurrency: int,
                       timeout: float | None, axes_and_fields: Mapping[str, Any]) -> Batch[Comparison]:
        cells = self._compare_cells(prompt, axes_and_fields)
        labels = [", ".join(f"{k}={v}" for k, v in combo.items()) for combo in cells.combos]
        self.check_cost(self.estimate_inputs(cells.inputs))  # before the group is kept: a refused grid leaves nothing
        group = self.gallery.save_group({
            "kind": "compare", "prompt": cells.prompt, "axes": cells.axes, "combos": cells.combos,
            "notes": cells.notes, "model": self.settings.model, "demo": self.settings.demo})
        runs = self._spawn_inputs(loop, cells.inputs, concurrency=concurrency, timeout=timeout, skip_stored=False,
                                  labels=labels, groups=[{"id": group, "cell": i} for i in range(len(cells.inputs))])

        def collect(outcomes: list[Outcome]) -> Comparison:
            return Comparison(prompt=cells.prompt, axes=cells.axes, notes=cells.notes, group=group,
                              cells=list(zip(cells.combos, outcomes, strict=True)))

        return Batch(runs, loop, collect, label="compare")

    def comparison(self, group: str) -> Comparison:
        """A comparison stored earlier, as the same grid (its cells read from the output folder; sends nothing)."""
        manifest = self.gallery.load_group(group)
        records = {int(r.sidecar.get("group", {}).get("cell", -1)): r for r in self.gallery.search(group=group,
                                                                                                 limit=None)}
        cells: list[tuple[dict[str, Any], Outcome]] = []
        for index, combo in enumerate(manifest["combos"]):
            record = records.get(index)
            outcome: Outcome = Result.from_record(record) if record is not None and record.complete else OutputError(
                f"cell {index + 1} of comparison {group} is not stored (it failed, was canceled, or was deleted)")
            cells.append((dict(combo), outcome))
        return Comparison(prompt=str(manifest.get("prompt", "")), axes=dict(manifest["axes"]), cells=cells,
                          notes=list(manifest.get("notes") or [""] * len(cells)), group=group)

    async def compare(self, prompt: str | Sequence[str], *, concurrency: int = 8, timeout: float | None = None,
                      on_progress: Callable[[BatchState], Any] | None = None,
                      **axes_and_fields: Any) -> Comparison:
        """One prompt across every combination of some settings, as a labelled grid.

        >>> await client.compare("a lighthouse", size=["1K", "2K"], aspect_ratio=["1:1", "16:9"])  # doctest: +SKIP
        """
        batch = self.start_compare(prompt, concurrency=concurrency, timeout=timeout, **axes_and_fields)
        if on_progress is not None:
            batch.subscribe(on_progress, deliver=asyncio.get_running_loop().call_soon_threadsafe)
        return await batch

    # -- history and resume --------------------------------------------------------------

    def history(self, limit: int | None = 20) -> list[RunRecord]:
        """Stored runs in the output folder, newest first."""
        return self.gallery.history(limit)

    def resume_run(self, prediction_id: str, *, timeout: float | None = None) -> Run:
        """A `Run` that finishes a prediction started earlier (see `resume`)."""
        return self._spawn(asyncio.get_running_loop(), resume_id=prediction_id, timeout=timeout)

    async def resume(self, prediction_id: str, *, on_update: OnUpdate | None = None,
                     timeout: float | None = None) -> Result:
        """Finish a run after a restart: waits for it if still running, downloads and stores it.

        A run already stored whole is returned from disk without any request.
        """
        run = self.resume_run(prediction_id, timeout=timeout)
        if on_update is not None:
            run.subscribe(on_update, deliver=asyncio.get_running_loop().call_soon_threadsafe)
        return await run

    def in_flight(self) -> list[dict[str, Any]]:
        """Journal entries of runs started and never stored (candidates for `resume`)."""
        return self.gallery.in_flight()


def _sent_tracer(on_sent: Callable[[], None]) -> Callable[[str, Any], Awaitable[None]]:
    """An httpcore ``trace`` callback that calls ``on_sent`` when a request's body has been sent."""
    async def trace(event: str, info: Any) -> None:
        if event.endswith(".send_request_body.complete"):  # http11.… or http2.…
            on_sent()

    return trace


def _quiet(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("refreshing a schema failed: %r", task.exception())


class Seedream:
    """The Seedream client for notebooks and scripts (synchronous).

    >>> from seedream_widgets import Seedream
    >>> client = Seedream()                       # demo backend when no token is set   # doctest: +SKIP
    >>> result = client.generate("a red fox in the snow", size="1K")                   # doctest: +SKIP
    >>> result.paths                                                                   # doctest: +SKIP

    Every call starts `AsyncSeedream` runs on the engine loop thread and waits, so it
    works inside a running notebook loop, in scripts and in widget callbacks alike.
    ``start(...)`` returns the `Run` at once instead; ``await client.agenerate(...)`` waits
    without blocking the caller's loop. Interrupting a call cancels the prediction.
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

    @property
    def schema(self) -> ModelSchema:
        """The input schema of this client's model (read from the service first when the model is new to it)."""
        return self.load_schema(missing_only=True)

    def __repr__(self) -> str:
        return repr(self._core).replace("AsyncSeedream", "Seedream", 1)

    def _run(self, coro: Awaitable[Any]) -> Any:
        return self._engine.run(coro)  # type: ignore[arg-type]

    # -- runs ----------------------------------------------------------------------------------

    def start(self, prompt: str | SeedreamInput, *, timeout: float | None = None, label: str = "",
              **fields: Any) -> Run:
        """Start a generation and return its `Run` at once (the work runs on the engine loop).

        >>> run = client.start("a red fox", size="1K")    # doctest: +SKIP
        >>> run.subscribe(print)                          # doctest: +SKIP
        >>> run.wait().paths                              # doctest: +SKIP

        The input is built and checked here, on the calling thread: a `ValidationError` needs
        no round trip, and reading input images never holds up other runs.
        """
        inp = self.build_input(prompt, **fields)
        self._core.check_cost(self._core.estimate_inputs([inp]))
        return self._core._spawn(self._engine.loop, input=inp, timeout=timeout, label=label)

    def generate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                 timeout: float | None = None, **fields: Any) -> Result:
        """Generate images and return them stored on disk: ``start(...).wait()``.

        ``on_update`` is called with each `RunState` on the calling thread while it waits (so
        a display it makes lands in the cell that is running), not on the engine thread.
        """
        return self.start(prompt, timeout=timeout, **fields).wait(on_state=on_update)

    async def agenerate(self, prompt: str | SeedreamInput, *, on_update: OnUpdate | None = None,
                        timeout: float | None = None, **fields: Any) -> Result:
        """``await``-able `generate` that leaves the caller's loop free (the work runs on the engine loop)."""
        run = self.start(prompt, timeout=timeout, **fields)
        if on_update is not None:
            run.subscribe(on_update, deliver=asyncio.get_running_loop().call_soon_threadsafe)
        return await run

    def _preload(self, models: Any, items: Sequence[Any] = ()) -> None:
        """Read the schema of each model not yet known: ``models`` (a name or a list), and batch items' ``model``."""
        names = list(models) if isinstance(models, (list, tuple)) else [models]
        names += [item.get("model") for item in items if isinstance(item, Mapping)]
        for name in dict.fromkeys(names):
            if isinstance(name, str) and name:
                self.load_schema(name, missing_only=True)

    def estimate(self, what: Item | Sequence[Item], **fields_and_axes: Any) -> Estimate:
        """Images and price at most, before anything is sent; see `AsyncSeedream.estimate`."""
        self._preload(fields_and_axes.get("model"), what if isinstance(what, (list, tuple)) else ())
        return self._core.estimate(what, **fields_and_axes)

    def start_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                   skip_stored: bool = False, labels: Sequence[str] | None = None,
                   **fields: Any) -> Batch[list[Outcome]]:
        """Start many generations at once and return their `Batch`; see `AsyncSeedream.start_many`."""
        items = list(items)
        self._preload(fields.get("model"), items)
        runs = self._core._spawn_batch(self._engine.loop, items, concurrency=concurrency, timeout=timeout,
                                       skip_stored=skip_stored, labels=labels, shared=fields)
        return Batch(runs, self._engine.loop, list)

    def generate_many(self, items: Iterable[Item], *, concurrency: int = 8, timeout: float | None = None,
                      progress: bool = True, **fields: Any) -> list[Outcome]:
        """Many generations at once; see `AsyncSeedream.generate_many`. Shows progress unless ``progress=False``."""
        batch = self.start_many(items, concurrency=concurrency, timeout=timeout, **fields)
        return batch.wait(on_state=_progress(progress, len(batch)), every=1.0)

    def start_compare(self, prompt: str | Sequence[str], *, concurrency: int = 8, timeout: float | None = None,
                      **axes_and_fields: Any) -> Batch[Comparison]:
        """Start a comparison and return its `Batch`; see `AsyncSeedream.start_compare`."""
        self._preload(axes_and_fields.get("model"))
        return self._core._compare_batch(self._engine.loop, prompt, concurrency, timeout, axes_and_fields)

    def compare(self, prompt: str | Sequence[str], *, concurrency: int = 8, timeout: float | None = None,
                progress: bool = True, **axes_and_fields: Any) -> Comparison:
        """Prompts or settings across a product of values, as a labelled grid; see `AsyncSeedream.compare`.

        >>> client.compare(["a red fox", "a red fox, watercolour"], size=["1K", "2K"])  # doctest: +SKIP
        >>> client.compare("a {animal} in {weather}", animal=["fox", "owl"], weather=["snow", "rain"])  # doctest: +SKIP
        """
        batch = self.start_compare(prompt, concurrency=concurrency, timeout=timeout, **axes_and_fields)
        return batch.wait(on_state=_progress(progress, len(batch)), every=1.0)

    def comparison(self, group: str) -> Comparison:
        """A comparison stored earlier, as the same grid; see `AsyncSeedream.comparison`."""
        return self._core.comparison(group)

    def compare_cells(self, prompt: str | Sequence[str], **axes_and_fields: Any) -> CompareCells:
        """Every cell of a comparison, validated as `start_compare` does (all problems at once), without starting
        it: for previews (the magic's ``--dry-run``). Sends nothing but a read of a model's schema new to it."""
        self._preload(axes_and_fields.get("model"))
        return self._core._compare_cells(prompt, axes_and_fields)

    def resume_run(self, prediction_id: str, *, timeout: float | None = None) -> Run:
        """A `Run` that finishes a prediction started earlier; see `AsyncSeedream.resume`."""
        return self._core._spawn(self._engine.loop, resume_id=prediction_id, timeout=timeout)

    def resume(self, prediction_id: str, *, on_update: OnUpdate | None = None, timeout: float | None = None) -> Result:
        """Finish or re-download a run after a kernel restart; see `AsyncSeedream.resume`."""
        return self.resume_run(prediction_id, timeout=timeout).wait(on_state=on_update)

    # -- the resource, low level -----------------------------------------------------------------

    def create(self, prompt: str | SeedreamInput, *, wait: float | None = None, **fields: Any) -> Prediction:
        """Create a prediction without following it (low level)."""
        return self._run(self._core.create(self._core.build_input(prompt, **fields), wait=wait))  # type: ignore[no-any-return]

    def get(self, prediction_id: str) -> Prediction:
        return self._run(self._core.get(prediction_id))  # type: ignore[no-any-return]

    def cancel(self, prediction_id: str) -> Prediction:
        return self._run(self._core.cancel(prediction_id))  # type: ignore[no-any-return]

    def history(self, limit: int | None = 20) -> list[RunRecord]:
        return self._core.history(limit)

    def in_flight(self) -> list[dict[str, Any]]:
        return self._core.in_flight()

    def build_input(self, prompt: str | SeedreamInput, *, model: str | None = None, **fields: Any) -> SeedreamInput:
        """A validated `SeedreamInput`; a model never seen has its schema read from the service first."""
        self.load_schema(model, missing_only=True)
        return self._core.build_input(prompt, model=model, **fields)

    def load_schema(self, model: str | None = None, *, refresh: bool = False,
                    missing_only: bool = False) -> ModelSchema:
        """Read a model's schema from the service; see `AsyncSeedream.load_schema`. ``missing_only``
        skips the request when any schema of it is known (built in or cached)."""
        if missing_only and not refresh:
            known = self._core.catalog.get(self._core._model_name(model))
            if known is not None:
                return known
        return self._run(self._core.load_schema(model, refresh=refresh))  # type: ignore[no-any-return]

    def schema_for(self, model: str | None = None) -> ModelSchema:
        """The schema of ``model`` (default: the client's), read from the service first when it is new."""
        return self.load_schema(model, missing_only=True)

    def image_uri(self, source: Any) -> str:
        return self._core.image_uri(source)

    def item_inputs(self, items: Iterable[Item], **fields: Any) -> list[SeedreamInput | SeedreamError]:
        todo = list(items)
        self._preload(fields.get("model") or self.settings.model, todo)
        return self._core.item_inputs(todo, **fields)

    def match_stored(self, inputs: Sequence[SeedreamInput | SeedreamError]) -> dict[int, Result | str]:
        return self._core.match_stored(inputs)

    def close(self) -> None:
        """Close the connection pool (the engine thread is shared and stays)."""
        self._run(self._core.aclose())

    def __enter__(self) -> Seedream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for widgets (the panel, issues 15 and 16): nothing here waits for the network ----------------

    def load_schema_later(self, model: str, callback: Callable[[ModelSchema | Exception], Any], *,
                          refresh: bool = False) -> None:
        """Read ``model``'s schema on the engine loop and call ``callback`` with it, or with the exception that
        stopped it, on the engine's notifier thread in the caller's context. Returns at once (a widget
        callback must never wait for the network); see `load_schema`."""
        import contextvars

        from .engine import notifier

        context = contextvars.copy_context()

        def deliver(done: Any) -> None:
            if not done.cancelled():
                outcome = done.exception() or done.result()
                notifier().call(lambda: callback(outcome), context)

        self._engine.submit(self._core.load_schema(model, refresh=refresh)).add_done_callback(deliver)

    def with_embedding(self, mode: bool | str) -> Seedream:
        """This client storing images with ``embed_metadata=mode`` (``"full"``, ``"label"``, ``"off"``/False).

        It shares everything else with this one (connections, schemas, gallery, pacing): nothing
        to close. ``Seedream().with_embedding("off").generate(...)`` stores the bytes as received.
        """
        import copy

        from .config import metadata_mode

        core = copy.copy(self._core)
        core.settings = replace(self._core.settings, embed_metadata=metadata_mode(mode))
        core._client = self._core._client  # type: ignore[method-assign]  # one connection pool, the original's
        core._http = None  # (so closing the twin closes nothing of the original's)
        twin = copy.copy(self)
        twin._core = core
        return twin


def _progress(enabled: bool, total: int) -> Callable[[BatchState], None] | None:
    """The registered progress view for a blocking batch (`seedream_widgets.display`), if wanted."""
    if not enabled or total < 2:
        return None
    return _present.progress_renderer()
