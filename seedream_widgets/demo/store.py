"""Predictions of a demo backend and their life cycle, computed lazily from timestamps.

No thread runs per prediction: a `Plan` fixed at creation says when the
prediction starts, when each image appears and whether it fails, and
`state_at` derives status, output count, logs and error for any moment. A
cancel only records when it happened. Waiting (``Prefer: wait``) sleeps on one
condition that cancels and shutdown wake.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..models import ModelSchema
from .render import input_aspect, input_digest
from .settings import DemoSettings

Status = Literal["starting", "processing", "succeeded", "failed", "canceled", "aborted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "aborted"})

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # lowercase alphanumerics, as Replicate's ids
_FAIL = re.compile(r"\[demo:fail(?:=([^\]]*))?\]")
_SLOW = re.compile(r"\[demo:slow=([0-9]*\.?[0-9]+)\]")
DEFAULT_FAIL_MESSAGE = "The demo backend failed this prediction on purpose ([demo:fail] in the prompt)."
WAKE_MARGIN = 0.0001
"""Seconds past a prediction's end that a waiting create or stream sleeps (then checks it has ended)."""


@dataclass(frozen=True)
class Plan:
    """Everything a prediction will do, decided when it is created."""

    count: int
    width: int
    height: int
    size_label: str
    ratio_label: str
    seed: int
    digest: str
    """sha256 of the canonical input: renders are cached and identical per digest."""
    image_format: str
    start: float
    """Seconds after creation when processing starts."""
    first_image: float
    """Seconds after creation when image 1 appears; image k appears ``(k - 1) * per_image`` later."""
    per_image: float
    fail_message: str | None = None
    fail_logs: str = ""
    """Extra log text written when the prediction fails (the ``html`` fault puts HTML here)."""

    def image_time(self, k: int) -> float:
        """Seconds after creation when image k (1-based) appears."""
        return self.first_image + (k - 1) * self.per_image

    @property
    def fail_time(self) -> float:
        # A failing prediction fails after it started processing and before its first image.
        return self.first_image - self.per_image

    @property
    def end_time(self) -> float:
        return self.fail_time if self.fail_message is not None else self.image_time(self.count)


def plan_prediction(payload: Mapping[str, Any], settings: DemoSettings, schema: ModelSchema, *,
                    fail_message: str | None = None, fail_logs: str = "") -> Plan:
    """The `Plan` for a valid input of ``schema``'s model under the current settings (and prompt directives)."""
    values = {**schema.defaults, **payload}
    size, ratio = str(values.get("size") or "2K"), str(values.get("aspect_ratio") or "1:1")
    aspect = input_aspect(payload.get("image_input"))
    # A model of no known family renders at 1024 px square (its sizes mean nothing to the demo).
    width, height = schema.pixels(payload, aspect) or (1024, 1024)
    count = schema.expected_images(payload)
    output_format = values.get("output_format")
    image_format = output_format if output_format in ("png", "jpeg", "webp") else settings.image_format
    # The log names the shape actually made: custom and matched sizes as their reduced ratio.
    if ratio == "match_input_image" and aspect is None and size != "custom":
        ratio = "1:1"
    elif size == "custom" or ratio == "match_input_image":
        divisor = math.gcd(width, height)
        ratio = f"{width // divisor}:{height // divisor}"
    prompt = str(payload.get("prompt", ""))
    slow = _SLOW.search(prompt)
    fail = _FAIL.search(prompt)
    if fail_message is None and fail is not None:
        fail_message = fail.group(1) or DEFAULT_FAIL_MESSAGE
    digest = input_digest(payload)
    start = settings.start_seconds
    base = settings.base_seconds + (float(slow.group(1)) if slow else 0.0)
    per_image = settings.per_image_seconds
    return Plan(count=count, width=width, height=height, size_label=size, ratio_label=ratio,
                seed=int(digest[:8], 16) % 2**31, digest=digest, image_format=image_format,
                start=start, first_image=start + base + per_image, per_image=per_image,
                fail_message=fail_message, fail_logs=fail_logs)


@dataclass
class PredictionRecord:
    """One prediction as stored: its input, plan and the few things that happen to it later."""

    id: str
    seq: int
    input: dict[str, Any]
    plan: Plan
    created_wall: float
    created_mono: float
    model: str = ""
    version: str = ""
    canceled_at: float | None = None
    """Seconds after creation when it was canceled (only ever set while it was running)."""
    cancel_after: float | None = None
    """The create's ``Cancel-After`` deadline, in seconds after creation: the service ends the prediction
    then, as ``aborted`` when it never started, else as ``canceled``."""
    expired: bool = False
    """Forced expiry (the ``expire`` fault): outputs 404 and ``data_removed`` from now on."""
    hostile_urls: bool = False
    """The ``output_scheme`` fault: output URLs are replaced by file:/javascript: URLs."""


@dataclass(frozen=True)
class PredictionState:
    """A prediction at one moment."""

    status: Status
    ready: int
    """How many outputs exist."""
    started_at: float | None
    """Seconds after creation, or None while starting."""
    completed_at: float | None
    logs: str
    error: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def state_at(record: PredictionRecord, t: float) -> PredictionState:
    """The state of ``record`` at ``t`` seconds after its creation."""
    plan = record.plan
    if record.cancel_after is not None and record.cancel_after < plan.end_time and t >= record.cancel_after:
        never_canceled = record.canceled_at is None or record.canceled_at > record.cancel_after
        if record.cancel_after < plan.start and never_canceled:
            return PredictionState("aborted", 0, None, record.cancel_after, "", None)
        if never_canceled:
            record = replace(record, canceled_at=record.cancel_after)
    canceled = record.canceled_at is not None and t >= record.canceled_at
    moment = min(t, record.canceled_at) if canceled and record.canceled_at is not None else t
    started = plan.start if moment >= plan.start else None
    ready = 0 if started is None else sum(1 for k in range(1, plan.count + 1) if plan.image_time(k) <= moment)
    if plan.fail_message is not None:
        ready = 0
    logs = _logs(plan, ready) if started is not None else ""
    if canceled:
        return PredictionState("canceled", ready, started, record.canceled_at, logs, None)
    if started is None:
        return PredictionState("starting", 0, None, None, "", None)
    if plan.fail_message is not None and t >= plan.fail_time:
        logs += plan.fail_logs
        return PredictionState("failed", 0, started, plan.fail_time, logs, plan.fail_message)
    if ready == plan.count:
        return PredictionState("succeeded", ready, started, plan.image_time(plan.count), logs, None)
    return PredictionState("processing", ready, started, None, logs, None)


def _logs(plan: Plan, ready: int) -> str:
    # The "Generating ..." line is the real model's, word for word.
    lines = [f"Using seed {plan.seed}",
             f"Generating {plan.width}x{plan.height} image with aspect ratio {plan.ratio_label} "
             f"at {plan.size_label} resolution"]
    lines += [f"Generated image {k} of {plan.count}" for k in range(1, ready + 1)]
    return "\n".join(lines) + "\n"


class PredictionStore:
    """All predictions of one demo backend, in creation order; thread-safe."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._records: dict[str, PredictionRecord] = {}
        self._order: list[PredictionRecord] = []
        self._closed = False

    def create(self, payload: dict[str, Any], plan: Plan, *, model: str = "", version: str = "",
               cancel_after: float | None = None) -> PredictionRecord:
        with self._changed:
            while True:
                new_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
                if new_id not in self._records:
                    break
            record = PredictionRecord(new_id, len(self._order), payload, plan, time.time(), time.monotonic(),
                                      model=model, version=version, cancel_after=cancel_after)
            self._records[new_id] = record
            self._order.append(record)
            return record

    def get(self, prediction_id: str) -> PredictionRecord | None:
        with self._changed:
            return self._records.get(prediction_id)

    def require(self, prediction_id: str) -> PredictionRecord:
        """The record, or KeyError naming the id (for the Python-side API)."""
        record = self.get(prediction_id)
        if record is None:
            raise KeyError(f"no demo prediction {prediction_id!r}")
        return record

    @staticmethod
    def age(record: PredictionRecord) -> float:
        return time.monotonic() - record.created_mono

    def state(self, record: PredictionRecord) -> PredictionState:
        with self._changed:
            return state_at(record, self.age(record))

    def cancel(self, record: PredictionRecord) -> None:
        """Cancel now, unless it already ended; wakes anyone waiting on it."""
        with self._changed:
            now = self.age(record)
            if record.canceled_at is None and not state_at(record, now).terminal:
                record.canceled_at = now
            self._changed.notify_all()

    def mark(self, record: PredictionRecord, *, expired: bool = False, hostile_urls: bool = False) -> None:
        with self._changed:
            record.expired = record.expired or expired
            record.hostile_urls = record.hostile_urls or hostile_urls

    def wait(self, record: PredictionRecord, seconds: float) -> None:
        """Block until the prediction ends, ``seconds`` pass, or the store closes."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not self._closed:
                now = self.age(record)
                if state_at(record, now).terminal:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                # Sleep until it would end on its own; a cancel or close wakes us earlier. The margin is small: a
                # wake-up a hair early only goes round once more, while each ms of margin is a ms added to every
                # held create and event stream (what the benchmarks would charge to the client).
                end = record.plan.end_time if record.cancel_after is None else min(record.plan.end_time,
                                                                                   record.cancel_after)
                self._changed.wait(min(left, max(0.0, end - now) + WAKE_MARGIN))

    def page(self, before: int | None, size: int) -> tuple[list[PredictionRecord], int | None]:
        """Up to ``size`` records newest first, older than sequence ``before``; and the next cursor."""
        with self._changed:
            end = len(self._order) if before is None else max(0, min(before, len(self._order)))
            start = max(0, end - size)
            records = list(reversed(self._order[start:end]))
            return records, (start if start > 0 else None)

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` (a latency fault), cut short by shutdown."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while not self._closed and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake every waiter for shutdown."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def reopen(self) -> None:
        """Accept waiters again (a server started after it was stopped)."""
        with self._changed:
            self._closed = False

    def records(self) -> list[PredictionRecord]:
        """Every record, oldest first."""
        with self._changed:
            return list(self._order)

    def __len__(self) -> int:
        with self._changed:
            return len(self._order)
