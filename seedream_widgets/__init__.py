"""seedream-widgets: ByteDance's Seedream image models (4, 4.5, 5-lite, via Replicate's predictions API) in Jupyter.

>>> from seedream_widgets import Seedream
>>> result = Seedream().generate("a red fox in the snow", size="1K")   # doctest: +SKIP

Three front doors over one engine: the ``%%seedream`` magic (``%load_ext
seedream_widgets``), the `SeedreamPanel` widget (and `SeedreamGallery`, which
browses what was made), and the `Seedream` / `AsyncSeedream` clients; plus the ``seedream`` command line. With no token
configured everything runs against a local demo backend.

Heavy modules (httpx, Pillow, ipywidgets) load on first use, so importing this
package is fast and works without a notebook front end.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import display as _display  # noqa: F401  (registers the renderers of results and runs: _present)
from ._version import __version__
from .errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    CostLimitExceeded,
    DeadlineExceeded,
    InvalidField,
    NetworkError,
    NotFoundError,
    OutputError,
    OutputExpired,
    PaymentRequiredError,
    PredictionCanceled,
    PredictionError,
    PredictionFailed,
    RateLimitError,
    SeedreamError,
    SeedreamWarning,
    ValidationError,
    WaitTimeout,
)
from .models import KNOWN_MODELS, Estimate, FieldSpec, ModelSchema
from .schema import FIELDS, SeedreamInput, output_pixels

if TYPE_CHECKING:
    from .batch import Batch, BatchState
    from .browse import SeedreamGallery
    from .client import AsyncSeedream, Seedream, Update
    from .demo import DemoServer, start_demo_server
    from .panel import SeedreamPanel
    from .prediction import Prediction
    from .provenance import ForeignRecord, GenerationRecord, read_generation
    from .result import Comparison, Result
    from .run import Run, RunState

__all__ = [
    "FIELDS",
    "KNOWN_MODELS",
    "APIError",
    "AsyncSeedream",
    "AuthenticationError",
    "Batch",
    "BatchState",
    "Comparison",
    "ConfigurationError",
    "CostLimitExceeded",
    "DeadlineExceeded",
    "DemoServer",
    "Estimate",
    "FieldSpec",
    "ForeignRecord",
    "GenerationRecord",
    "InvalidField",
    "ModelSchema",
    "NetworkError",
    "NotFoundError",
    "OutputError",
    "OutputExpired",
    "PaymentRequiredError",
    "Prediction",
    "PredictionCanceled",
    "PredictionError",
    "PredictionFailed",
    "RateLimitError",
    "Result",
    "Run",
    "RunState",
    "Seedream",
    "SeedreamError",
    "SeedreamGallery",
    "SeedreamInput",
    "SeedreamPanel",
    "SeedreamWarning",
    "Update",
    "ValidationError",
    "WaitTimeout",
    "__version__",
    "load_ipython_extension",
    "output_pixels",
    "read_generation",
    "start_demo_server",
    "unload_ipython_extension",
]

_LAZY = {
    "Batch": "batch",
    "BatchState": "batch",
    "Run": "run",
    "RunState": "run",
    "AsyncSeedream": "client",
    "Seedream": "client",
    "Update": "client",
    "Prediction": "prediction",
    "read_generation": "provenance",
    "GenerationRecord": "provenance",
    "ForeignRecord": "provenance",
    "Result": "result",
    "Comparison": "result",
    "SeedreamPanel": "panel",
    "SeedreamGallery": "browse",
    "DemoServer": "demo",
    "start_demo_server": "demo",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seedream_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext seedream_widgets``: registers ``%%seedream`` and ``%seedream``."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext seedream_widgets``."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
