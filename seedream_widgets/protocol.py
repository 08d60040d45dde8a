"""Pure pieces of the Replicate predictions protocol: paths, headers, retry rules and backoff.

No I/O here, so every rule is unit-testable and the client's request loop stays small.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = [
    "MAX_WAIT_SECONDS",
    "RETRYABLE_STATUSES",
    "SSEDecoder",
    "ServerSentEvent",
    "backoff_delay",
    "create_path",
    "is_network_fault",
    "is_surely_unsent",
    "poll_interval",
    "prefer_header",
    "retry_after_seconds",
    "stream_url",
]

MAX_WAIT_SECONDS = 60
"""The service holds a ``Prefer: wait=N`` request at most this long."""
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try for reads and cancels."""
CREATE_RETRYABLE_STATUSES = frozenset({429, 503})
"""A create is retried on these only: the service says it did not take the request."""
AMBIGUOUS_CREATE_STATUSES = frozenset({500, 502, 504})
"""On a create these leave it unknown whether a prediction was made (a gateway may have forwarded it)."""


def create_path(model: str) -> str:
    """``models/{owner}/{name}/predictions``, or ``predictions`` when a version id is pinned.

    >>> create_path("bytedance/seedream-4")
    'models/bytedance/seedream-4/predictions'
    """
    if ":" in model:
        return "predictions"
    owner, name = model.split("/", 1)
    return f"models/{owner}/{name}/predictions"


def create_body(model: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The create request's JSON: ``{"input": ...}`` plus ``version`` when one is pinned."""
    body: dict[str, Any] = {"input": dict(payload)}
    if ":" in model:
        body["version"] = model.split(":", 1)[1]
    return body


def prefer_header(wait_seconds: float) -> dict[str, str]:
    """``Prefer: wait=N`` (clamped to 1..60), or nothing for ``wait_seconds <= 0``."""
    if wait_seconds <= 0:
        return {}
    return {"Prefer": f"wait={max(1, min(MAX_WAIT_SECONDS, round(wait_seconds)))}"}


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None.

    >>> retry_after_seconds("3")
    3.0
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(attempt: int, *, retry_after: float | None = None, base: float = 0.25, cap: float = 8.0,
                  rng: random.Random | None = None) -> float:
    """How long to sleep before try ``attempt + 1`` (attempt counts from 0).

    Capped exponential backoff with full jitter; a server's ``Retry-After`` wins,
    but never beyond ``cap`` times four (a misbehaving proxy must not stall a notebook).
    """
    if retry_after is not None:
        return min(retry_after, cap * 4)
    ceiling = min(cap, base * (2 ** attempt))
    return (rng or random).uniform(ceiling / 2, ceiling)


def poll_interval(attempt: int, *, first: float = 0.25, factor: float = 1.5, cap: float = 2.0) -> float:
    """The pause before poll number ``attempt``: short at first, growing to ``cap``."""
    return min(cap, first * factor ** attempt)


def is_network_fault(exc: BaseException) -> bool:
    """Whether an exception is a fault of the connection (worth the retry and ambiguous-create paths).

    Everything else (a request that cannot be encoded, a bug) is raised as it is: retrying it
    would send nothing new, and an ambiguous-create search would look for a prediction that
    was never made.
    """
    return isinstance(exc, httpx.TransportError)


def is_surely_unsent(exc: BaseException) -> bool:
    """The request never reached the server, so even a create may be sent again."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def stream_url(urls: Mapping[str, str], base_url: str) -> tuple[str, bool] | None:
    """(the prediction's server-sent events URL, whether to send the token with it), or None.

    Replicate's stream URLs live on another host and are readable without the token (its
    JavaScript client follows them without one): the token goes only to the API's own origin.
    """
    url = urls.get("stream")
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    here, there = urlsplit(base_url), urlsplit(url)
    same_origin = (here.scheme, here.netloc) == (there.scheme, there.netloc)
    return url, same_origin


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of a ``text/event-stream``: Replicate sends ``output``, ``logs``, ``error`` and ``done``."""

    event: str
    data: str
    id: str = ""


class SSEDecoder:
    """Lines of a ``text/event-stream`` in, events out (the WHATWG rules a Replicate stream needs).

    >>> decoder = SSEDecoder()
    >>> [e for line in ["event: logs", "data: step 1", "", "event: done", "data: {}", ""]
    ...  for e in decoder.feed(line)]
    [ServerSentEvent(event='logs', data='step 1', id=''), ServerSentEvent(event='done', data='{}', id='')]
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id = ""

    def feed(self, line: str) -> Iterator[ServerSentEvent]:
        line = line.rstrip("\r\n")
        if not line:
            if self._data or self._event:
                yield ServerSentEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return
        if line.startswith(":"):
            return  # a comment (keep-alive)
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
