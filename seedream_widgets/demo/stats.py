"""Request, connection and fault counters of a demo backend, and their frozen snapshot."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DemoStats:
    """What a demo backend has seen since it started (or since ``reset_stats``).

    >>> server.stats.requests.get("create", 0), server.stats.connections  # doctest: +SKIP
    (1, 1)

    Admin requests (``/_demo/...``) are not counted.
    """

    requests: dict[str, int]
    """Requests per route name: create, get, cancel, list, file, model (and unknown)."""
    total_requests: int
    creates: int
    """Predictions really created (a ``drop_after`` create counts: the prediction exists)."""
    cancels: int
    """Cancel requests that reached the cancel route (not ``cancel_from_elsewhere``)."""
    connections: int
    """TCP connections accepted (admin ones too): a keep-alive client makes one for many requests."""
    faults_injected: dict[str, int]
    """Faults applied, per kind."""
    prediction_ids: tuple[str, ...]
    """Ids of the predictions created, oldest first."""
    throttled: int = 0
    """Creates answered 429 by the rate limit (``create_rate``), not by injected faults."""
    create_times: tuple[float, ...] = ()
    """``time.monotonic()`` of each accepted create (rates are measured from these)."""
    uploads: int = 0
    """Files received by ``POST /v1/files``."""
    request_bytes: dict[str, int] | None = None
    """Request body bytes received per route (what a client sent: a create with inline images is large)."""

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON for ``GET /_demo/stats``."""
        data = asdict(self)
        data["prediction_ids"] = list(self.prediction_ids)
        data["create_times"] = list(self.create_times)
        return data


class StatsRecorder:
    """Thread-safe counters behind `DemoStats`; every handler thread writes here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._creates = 0
        self._cancels = 0
        self._connections = 0
        self._ids: list[str] = []
        self._throttled = 0
        self._create_times: list[float] = []
        self._uploads = 0

    def request(self, route: str, body_bytes: int = 0) -> None:
        with self._lock:
            self._requests[route] += 1
            self._bytes[route] += body_bytes

    def created(self, prediction_id: str) -> None:
        with self._lock:
            self._creates += 1
            self._ids.append(prediction_id)
            self._create_times.append(time.monotonic())

    def throttled(self) -> None:
        with self._lock:
            self._throttled += 1

    def uploaded(self) -> None:
        with self._lock:
            self._uploads += 1

    def canceled(self) -> None:
        with self._lock:
            self._cancels += 1

    def connection(self) -> None:
        with self._lock:
            self._connections += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> DemoStats:
        with self._lock:
            return DemoStats(
                requests=dict(self._requests),
                total_requests=sum(self._requests.values()),
                creates=self._creates,
                cancels=self._cancels,
                connections=self._connections,
                faults_injected=dict(self._faults),
                prediction_ids=tuple(self._ids),
                throttled=self._throttled,
                create_times=tuple(self._create_times),
                uploads=self._uploads,
                request_bytes=dict(self._bytes),
            )

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._bytes.clear()
            self._faults.clear()
            self._creates = self._cancels = self._connections = self._throttled = self._uploads = 0
            self._ids.clear()
            self._create_times.clear()
