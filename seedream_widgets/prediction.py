"""The typed view of a Replicate prediction object, and the one set of terminal statuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["TERMINAL_STATUSES", "Prediction", "Status"]

Status = Literal["starting", "processing", "succeeded", "failed", "canceled", "aborted"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "aborted"})
"""Once a prediction reaches one of these it never changes again."""


def _time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Prediction:
    """One prediction as the service last described it.

    >>> p = Prediction.from_json({"id": "abc", "status": "succeeded", "output": ["https://x/1.jpg"]})
    >>> p.done, p.output
    (True, ('https://x/1.jpg',))
    """

    id: str
    status: str
    model: str = ""
    version: str = ""
    input: Mapping[str, Any] = field(default_factory=dict)
    output: tuple[str, ...] = ()
    """Output image URLs; grows while a sequential set is processing."""
    logs: str = ""
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    urls: Mapping[str, str] = field(default_factory=dict)
    data_removed: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        """Parse the service's JSON; unknown keys are ignored, odd shapes degrade to empty values."""
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise ValueError("not a prediction object (no id)")
        raw_output = data.get("output")
        if isinstance(raw_output, str):
            output: tuple[str, ...] = (raw_output,)
        elif isinstance(raw_output, list):
            output = tuple(item for item in raw_output if isinstance(item, str))
        else:
            output = ()
        error = data.get("error")
        return cls(
            id=data["id"],
            status=str(data.get("status") or "starting"),
            model=str(data.get("model") or ""),
            version=str(data.get("version") or ""),
            input=dict(data.get("input") or {}),
            output=output,
            logs=str(data.get("logs") or ""),
            error=None if error is None else str(error),
            created_at=_time(data.get("created_at")),
            started_at=_time(data.get("started_at")),
            completed_at=_time(data.get("completed_at")),
            metrics=dict(data.get("metrics") or {}),
            urls={k: v for k, v in (data.get("urls") or {}).items() if isinstance(v, str)},
            data_removed=bool(data.get("data_removed")),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict in the service's own shape (for sidecars and ``--json``)."""
        def iso(t: datetime | None) -> str | None:
            return t.isoformat().replace("+00:00", "Z") if t else None

        return {
            "id": self.id, "model": self.model, "version": self.version, "status": self.status,
            "input": dict(self.input), "output": list(self.output), "logs": self.logs, "error": self.error,
            "created_at": iso(self.created_at), "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at), "metrics": dict(self.metrics), "urls": dict(self.urls),
            "data_removed": self.data_removed,
        }

    @property
    def done(self) -> bool:
        """True once the status is terminal."""
        return self.status in TERMINAL_STATUSES

    @property
    def predict_time(self) -> float | None:
        """Seconds the model ran, as the service measured it."""
        value = self.metrics.get("predict_time")
        return float(value) if isinstance(value, (int, float)) else None

    def log_tail(self, lines: int = 5) -> str:
        """The last few log lines (where a failure usually explains itself)."""
        return "\n".join(self.logs.rstrip().splitlines()[-lines:])

    @property
    def last_log_line(self) -> str:
        return self.log_tail(1)
