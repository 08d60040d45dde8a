"""The one exception tree for everything a seedream-widgets user can see.

Every error the package raises on purpose derives from `SeedreamError`, so
``except SeedreamError`` catches them all and nothing else::

    SeedreamError
    ├── ValidationError          the input breaks the model's schema (found locally, or a 422)
    ├── ConfigurationError       a setting is missing or wrong (token, base URL, output folder)
    ├── NetworkError             the service could not be reached, even after retries
    ├── APIError                 the service answered with a problem (status, title, detail)
    │   ├── AuthenticationError  401: the token is missing or wrong
    │   ├── PaymentRequiredError 402: the account has no credit
    │   ├── NotFoundError        404: unknown model or prediction id
    │   └── RateLimitError       429: throttled, still after retries (has ``retry_after``)
    ├── PredictionError          a prediction ended without images (has ``prediction``)
    │   ├── PredictionFailed     status "failed": the service's error text and log tail
    │   ├── PredictionCanceled   status "canceled": by you, or from elsewhere
    │   └── DeadlineExceeded     still running when the client's deadline passed
    ├── OutputError              an output could not be downloaded, is not a usable image, or could not
    │   │                        be written (names the prediction: resume(id) saves it later)
    │   └── OutputExpired        the output URL is gone (Replicate keeps them about an hour)
    ├── CostLimitExceeded        the price at most of what was asked is over max_cost (nothing was sent)
    └── WaitTimeout              Run.wait(timeout=...) stopped waiting; the run goes on

Messages say what happened and what to do next. None of them ever contains the
API token: the client scrubs every text that came from the network before it
builds an exception (see `seedream_widgets.config.scrub`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .prediction import Prediction

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "CostLimitExceeded",
    "DeadlineExceeded",
    "InvalidField",
    "NetworkError",
    "NotFoundError",
    "OutputError",
    "OutputExpired",
    "PaymentRequiredError",
    "PredictionCanceled",
    "PredictionError",
    "PredictionFailed",
    "RateLimitError",
    "SeedreamError",
    "SeedreamWarning",
    "ValidationError",
    "WaitTimeout",
]


class SeedreamWarning(UserWarning):
    """Input that is valid but probably not what you meant (e.g. width with size "2K")."""


class SeedreamError(Exception):
    """Base class of every error seedream-widgets raises on purpose."""


@dataclass(frozen=True)
class InvalidField:
    """One violated rule of the input schema.

    ``field`` is the schema name (``max_images``), never the wire path
    (``input.max_images``); ``allowed`` says in words what would be accepted.
    """

    field: str
    description: str
    type: str = "invalid"
    value: Any = None
    allowed: str = ""

    def __str__(self) -> str:
        text = f"{self.field}: {self.description}"
        if self.allowed and self.allowed not in self.description:
            text += f" (allowed: {self.allowed})"
        return text

    def to_wire(self) -> dict[str, str]:
        """The Replicate ``invalid_fields`` entry: ``{type, field: "input.X", description}``."""
        return {"type": self.type, "field": f"input.{self.field}", "description": str(self)[len(self.field) + 2 :]}


class ValidationError(SeedreamError, ValueError):
    """The input breaks the model's schema; ``invalid_fields`` lists every violation.

    Raised before any request when the check is local, and for a 422 answer
    (then ``status`` is 422 and the fields come from the service).
    """

    def __init__(self, invalid_fields: Sequence[InvalidField], *, status: int | None = None) -> None:
        self.invalid_fields: tuple[InvalidField, ...] = tuple(invalid_fields)
        self.status = status
        super().__init__(self._message())

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the invalid fields, in the order they were found."""
        return tuple(f.field for f in self.invalid_fields)

    def _message(self) -> str:
        n = len(self.invalid_fields)
        plural = "s" if n != 1 else ""
        head = (f"The service rejected the input ({n} field{plural})" if self.status == 422
                else f"{n} invalid field{plural} in the Seedream input")
        lines = [head + "; fix these and try again:"]
        lines += [f"  - {f}" for f in self.invalid_fields]
        return "\n".join(lines)


class ConfigurationError(SeedreamError):
    """A setting is missing or wrong: the message names it and where it is read from."""


class NetworkError(SeedreamError):
    """The service could not be reached (connection refused, reset, timed out), even after retries."""


class APIError(SeedreamError):
    """The service answered with a problem document (``title``, ``detail``, ``status``).

    Build one with `APIError.from_response`, which picks the specific subclass.
    """

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        status: int | None = None,
        hint: str = "",
        body: Mapping[str, Any] | None = None,
    ) -> None:
        self.title = title
        self.detail = detail
        self.status = status
        self.hint = hint
        self.body: Mapping[str, Any] = body or {}
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.status} {self.title}" if self.status else self.title
        if self.detail and self.detail != self.title:
            text += f": {self.detail}"
        if self.hint:
            text += f"\n{self.hint}"
        return text

    @staticmethod
    def from_response(status: int, body: Mapping[str, Any] | None, *,
                      retry_after: float | None = None) -> SeedreamError:
        """The right exception for an error answer, from its status and problem JSON.

        >>> APIError.from_response(401, {"title": "Unauthenticated"}).__class__.__name__
        'AuthenticationError'
        """
        body = body or {}
        title = str(body.get("title") or _DEFAULT_TITLES.get(status, "Request failed"))
        detail = str(body.get("detail") or "")
        raw = body.get("invalid_fields") or []
        if status == 422 and raw:  # a 422 without fields (e.g. an unknown version) is a plain APIError
            fields = [
                InvalidField(
                    field=str(item.get("field", "input")).removeprefix("input."),
                    description=str(item.get("description", "")),
                    type=str(item.get("type", "invalid")),
                )
                for item in raw
                if isinstance(item, Mapping)
            ]
            return ValidationError(fields, status=422)
        cls, hint = _BY_STATUS.get(status, (APIError, ""))
        if cls is APIError and status >= 500:
            hint = "The service had a problem; it was retried. Try again in a minute."
        if cls is RateLimitError:
            return RateLimitError(title, detail, status=status, hint=hint, body=body, retry_after=retry_after)
        return cls(title, detail, status=status, hint=hint, body=body)


class AuthenticationError(APIError):
    """401: the token is missing or wrong."""


class PaymentRequiredError(APIError):
    """402: the account behind the token has no credit."""


class NotFoundError(APIError):
    """404: the model or prediction does not exist (or is not visible to this token)."""


class RateLimitError(APIError):
    """429: throttled, and still throttled after the client's retries."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


_DEFAULT_TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    402: "Payment required",
    404: "Not found",
    422: "Input validation failed",
    429: "Too many requests",
}

_BY_STATUS: dict[int, tuple[type[APIError], str]] = {
    401: (
        AuthenticationError,
        "Check the token: set SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN), or pass token=... "
        "Leave both unset to use the local demo backend.",
    ),
    402: (PaymentRequiredError, "Add credit to the account behind this token, then try again."),
    404: (NotFoundError, "Check the model name (owner/name) and the base URL, or the prediction id."),
    429: (RateLimitError, "The service is throttling this token; wait a little or lower the concurrency."),
}


class PredictionError(SeedreamError):
    """A prediction ended without usable images; ``prediction`` is its last known state."""

    def __init__(self, message: str, prediction: Prediction | None = None) -> None:
        self.prediction = prediction
        super().__init__(message)


class PredictionFailed(PredictionError):
    """The prediction's status is "failed": the message carries the service's error and log tail."""


class PredictionCanceled(PredictionError):
    """The prediction was canceled (by this client, or from elsewhere such as the web UI)."""


class DeadlineExceeded(PredictionError):
    """The prediction was still running when the client's deadline passed.

    It may still finish on the service: ``resume(prediction.id)`` picks it up later.
    """


class OutputError(SeedreamError):
    """An output could not be downloaded or is not a usable image; names the URL and prediction."""

    def __init__(self, message: str, *, url: str = "", prediction_id: str = "") -> None:
        self.url = url
        self.prediction_id = prediction_id
        super().__init__(message)


class OutputExpired(OutputError):
    """The output URL answered 404/410: Replicate deletes outputs about an hour after a run."""


class CostLimitExceeded(SeedreamError):
    """What was asked could cost more than ``max_cost`` (``SEEDREAM_MAX_COST``); nothing was sent.

    ``estimate`` is the `seedream_widgets.models.Estimate` that was refused, ``limit`` the limit in USD.
    """

    def __init__(self, message: str, *, estimate: Any = None, limit: float | None = None) -> None:
        self.estimate = estimate
        self.limit = limit
        super().__init__(message)


class WaitTimeout(SeedreamError, TimeoutError):
    """`Run.wait` (or a batch's) stopped waiting after its ``timeout``; the run itself goes on."""
