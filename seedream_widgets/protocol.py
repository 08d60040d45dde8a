"""Pure pieces of the Replicate predictions protocol: paths, headers, retry rules and backoff.

No I/O here, so every rule is unit-testable and the client's request loop stays small.
"""

from __future__ import annotations

import email.utils
import math
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


def cancel_after_header(seconds: float | None) -> dict[str, str]:
    """``Cancel-After: 600s``: the service ends the prediction at the client's deadline, even if the client is gone.

    >>> cancel_after_header(90.2)
    {'Cancel-After': '91s'}
    """
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return {}
    return {"Cancel-After": f"{math.ceil(seconds)}s"}


DEFAULT_SECONDS = {"1K": 6.0, "2K": 14.0, "3K": 20.0, "4K": 30.0}
"""How long one image takes when no past run says otherwise (a real 2K seedream-4 image: about 14 s)."""


def expected_seconds(size: str, images: int, past: list[float] | None = None) -> float:
    """The typical time from create to end: the median of past runs of the same kind, else a default."""
    if past:
        ordered = sorted(past)
        return ordered[len(ordered) // 2]
    return DEFAULT_SECONDS.get(size, 14.0) * (1 + 0.6 * max(0, images - 1))


def poll_pause(elapsed: float, expected: float, *, step: float = 0.5, after: float = 0.2) -> float:
    """The pause before the next poll of a prediction ``elapsed`` seconds old that should end near ``expected``.

    Sparse while the end is far (halving the distance to two seconds before it), then every
    ``step`` seconds timed so that one poll lands just after the expected end, then every
    ``after`` seconds for a few seconds, then slowly sparser. When the expectation is right the
    end is seen within about 50 ms, in about a dozen polls for a 20 s prediction.

    >>> [round(poll_pause(t, 20.0), 2) for t in (1, 10, 18.2, 19.55, 20.06, 40)]
    [5.0, 4.0, 0.46, 0.5, 0.2, 1.3]
    """
    approach = expected - 2.0
    if elapsed < approach:
        return max(step, min(5.0, (approach - elapsed) / 2))
    target = expected + 0.05
    if elapsed < target:
        steps = math.ceil((target - elapsed) / step)
        return max(0.02, (target - elapsed) / steps)
    if elapsed < expected + 4.0:
        return after
    return min(5.0, step + 0.05 * (elapsed - expected - 4.0))


@dataclass
class RatePacer:
    """When the next create may go: a token bucket that starts at the documented limit and learns the real one.

    - It starts at Replicate's documented 600 creates a minute, 10 a second, and lets 16 go at once
      (Replicate allows "short bursts above the default rate limits"; 16 is the connection pool, so a
      batch's first wave is not spread over the first second, which would delay every later wave).
    - A batch's first create is a probe: until its answer comes, no other create goes (so a batch
      never opens with a burst the service refuses); it is sent without a ``Prefer: wait`` hold, so
      the answer, and the rate-limit headers on it, come at once. Single runs never probe (two
      cells started together do not wait for each other).
    - A service that states its limit (``RateLimit-Policy: 5;w=1``, or ``RateLimit-Limit`` with a
      window) is paced at 98 % of it, with a bucket of two so that a late wake-up is made up
      (each 429 under a stated limit slows it 2 % more); the probe's ``RateLimit-Remaining: 0``
      empties the bucket.
    - Without such headers, a 429 halves the rate (once a second at most: the 429s of creates sent
      together are one signal) and ``Retry-After`` holds every create; each accepted create lets
      it grow 5 %, so a stray 429 costs seconds, not the rest of the batch.

    Times are ``time.monotonic()`` seconds, given by the caller (testable without sleeping).

    >>> pacer = RatePacer()
    >>> pacer.delay(now=1.0), pacer.take(now=1.0, probe=True), pacer.delay(now=1.0) > 0   # the probe is out
    (0.0, True, True)
    """

    rate: float = 10.0
    """Creates per second: Replicate documents 600 a minute."""
    burst: float = 16.0
    """Creates that may go at once before a limit is known (a batch's first wave)."""
    floor: float = 0.05
    """Never slower than one create every 20 s (a throttled account still makes progress)."""
    safety: float = 0.98
    """Paced at this share of a stated limit (requests reach the service with some jitter); each 429 under
    a stated limit lowers it by 2 %, down to 80 %."""
    tokens: float = 16.0
    at: float = 0.0
    blocked_until: float = 0.0
    last_cut: float = -1e9
    learned: bool = False
    """True once the service said its limit (headers): then the rate no longer grows by itself."""
    probing: bool = True
    probe_out: bool = False

    def _refill(self, now: float) -> None:
        if self.at == 0.0:
            self.at = now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now

    def _learn(self, stated: float | None) -> None:
        if stated is not None:
            self.rate, self.learned = max(self.floor, stated * self.safety), True
            self.burst = 2.0 if stated >= 2 else 1.0

    def delay(self, now: float) -> float:
        """Seconds to wait before a create may be sent (0: now)."""
        if self.probing and self.probe_out:
            return 0.02  # the probe's answer is on its way: look again shortly
        self._refill(now)
        wait = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate
        return max(wait, self.blocked_until - now, 0.0)

    def take(self, now: float, *, probe: bool = False) -> bool:
        """A create is sent now; returns True when it is the probe (``probe``: it may be, i.e. a batch's)."""
        self._refill(now)
        self.tokens -= 1.0
        if probe and self.probing and not self.probe_out:
            self.probe_out = True
            return True
        return False

    def probe_ended(self) -> None:
        """The probe's create is over. Without an answer (a lost connection, an error, a cancel) no limit was
        learned: the next create probes instead, so the creates waiting behind it are never stranded.

        >>> pacer = RatePacer()
        >>> pacer.take(now=5.0, probe=True), pacer.delay(now=6.0) > 0     # the probe is out: the others wait
        (True, True)
        >>> pacer.probe_ended(); pacer.delay(now=6.0), pacer.take(now=6.0, probe=True)   # lost: the next probes
        (0.0, True)
        """
        if self.probing:
            self.probe_out = False

    def accepted(self, headers: Mapping[str, str], now: float) -> None:
        """A create was answered (not 429): learn from its rate-limit headers, or grow."""
        probe, self.probing = self.probing and self.probe_out, False
        self._learn(_stated_rate(headers))
        remaining = _number_header(headers, "ratelimit-remaining", "x-ratelimit-remaining")
        if probe and remaining is not None and remaining < 1:
            # Only the probe's answer is fresh (sent without a hold): later answers come after their hold
            # and would empty a bucket that has refilled since.
            self._refill(now)
            self.tokens = min(self.tokens, 0.0)
        if not self.learned:
            self.rate *= 1.05

    def throttled(self, retry_after: float | None, headers: Mapping[str, str], now: float) -> None:
        """A create was answered 429: learn the stated limit if any, else slow down (and wait ``Retry-After``).

        >>> pacer = RatePacer()
        >>> for _ in range(5):
        ...     pacer.throttled(None, {}, now=3.0)      # five 429s of creates sent together: one halving
        >>> pacer.rate, pacer.burst
        (5.0, 1.0)
        """
        self.probing = False
        self._refill(now)
        if self.learned:
            self.safety = max(0.8, self.safety - 0.02)
        self._learn(_stated_rate(headers))
        if not self.learned and now - self.last_cut >= 1.0:
            self.rate, self.burst, self.last_cut = max(self.floor, self.rate / 2), 1.0, now
        self.tokens = min(self.tokens, 0.0)
        if retry_after is not None and not self.learned:
            self.blocked_until = max(self.blocked_until, now + retry_after)


def _stated_rate(headers: Mapping[str, str]) -> float | None:
    """Creates per second a service states: ``RateLimit-Policy: q;w=seconds`` (IETF draft), else None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    policy = lowered.get("ratelimit-policy")
    if not policy:
        return None
    first = policy.split(",")[0]
    quota, window = first.split(";")[0].strip(), 1.0
    for part in first.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "w":
            try:
                window = float(value)
            except ValueError:
                return None
    try:
        return float(quota) / window if window > 0 else None
    except ValueError:
        return None


def _number_header(headers: Mapping[str, str], *names: str) -> float | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name)
        if value is None:
            continue
        try:
            return float(value.split(",")[0].split(";")[0].strip())
        except ValueError:
            continue
    return None
