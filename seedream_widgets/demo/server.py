"""`DemoServer`: the life cycle and Python-side controls of one demo backend, and the embedded one.

It binds a loopback port, serves on a background thread, and exposes what
tests, benchmarks and notebooks steer it with: ``configure``, ``inject``,
``set_fault_rate``, ``stats``, ``prediction``, ``output_bytes`` and
``cancel_from_elsewhere``. The same controls are reachable over HTTP under
``/_demo/`` for a server in another process.
"""

from __future__ import annotations

import atexit
import ipaddress
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .api import DemoApp
from .catalog import demo_models
from .faults import TRANSIENT_KINDS
from .settings import DemoSettings
from .stats import DemoStats
from .transport import DemoHTTPServer


class DemoServer:
    """A local Replicate-compatible backend for the Seedream family (and any model given by its OpenAPI document).

    >>> with DemoServer(base_seconds=0.1) as server:  # doctest: +SKIP
    ...     client = SeedreamClient(token="demo", base_url=server.base_url)

    ``url`` is ``http://127.0.0.1:PORT``; ``base_url`` (``url + "/v1"``) is what a
    client uses as its base URL. Any non-empty bearer token is accepted unless
    ``token`` is given. ``models`` adds models (``owner/name`` -> OpenAPI document) to
    the three Seedream models; ``options`` are further settings (`DemoSettings`:
    ``stream``, ``minimal_create``, ``models_route``, ``files_route``, ``create_rate``,
    ``create_burst``). See `seedream_widgets.demo` for routes, faults and prompt directives.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None,
                 start_seconds: float = 0.05, base_seconds: float = 0.4, per_image_seconds: float = 0.2,
                 output_ttl: float = 3600.0, image_format: str = "jpeg", page_size: int = 50,
                 fault_rate: float = 0.0, fault_kinds: tuple[str, ...] = TRANSIENT_KINDS, seed: int = 0,
                 inline_outputs: bool = False, models: Mapping[str, Mapping[str, Any]] | None = None,
                 **options: Any) -> None:
        self.host = host
        self.port = port
        settings = DemoSettings()
        settings.update(token=token, start_seconds=start_seconds, base_seconds=base_seconds,
                        per_image_seconds=per_image_seconds, output_ttl=output_ttl, image_format=image_format,
                        page_size=page_size, inline_outputs=inline_outputs, **options)
        self._app = DemoApp(settings, demo_models(models))
        self._app.faults.set_rate(fault_rate, fault_kinds, seed)
        self._httpd: DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._url = ""

    # -- life cycle ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash); only once started."""
        if not self._url:
            raise RuntimeError("the demo server is not running; call start() or use it as a context manager")
        return self._url

    @property
    def base_url(self) -> str:
        """``url + "/v1"``: the base URL a client is given (``SEEDREAM_BASE_URL``)."""
        return self.url + "/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> DemoServer:
        """Bind and serve on a background thread; returns self. Starting twice is an error."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the demo server is already running")
            ipv6 = ":" in self.host
            httpd = DemoHTTPServer((self.host, self.port), self._app, ipv6=ipv6)
            port = int(httpd.server_address[1])
            shown = f"[{self.host}]" if ipv6 else self.host
            if self.host in ("0.0.0.0", "::"):
                shown = "127.0.0.1" if not ipv6 else "[::1]"  # a wildcard is not an address to connect to
            self._url = f"http://{shown}:{port}"
            self._app.origin = self._url
            self._app.store.reopen()
            self._httpd = httpd
            # A short poll interval makes stop() quick: shutdown() waits for the next poll.
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"seedream-demo-{port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every socket and join the threads; safe to call twice."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None or thread is None:
            return
        self._app.store.close()  # wakes Prefer: wait holds, latency faults and event streams
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        thread.join()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._url or "not running"
        return f"<DemoServer {where}>"

    # -- controls --------------------------------------------------------------------

    def configure(self, **settings: Any) -> None:
        """Change settings at run time: start_seconds, base_seconds, per_image_seconds (for new
        predictions), output_ttl and token (at once), image_format, page_size, inline_outputs, stream,
        minimal_create, models_route, files_route, create_rate, create_burst."""
        self._app.settings.update(**settings)

    def inject(self, kind: str, *, route: str = "any", times: int = 1, **params: object) -> None:
        """Queue fault ``kind`` for the next ``times`` requests on ``route`` it applies to.

        >>> server.inject("429", route="create", retry_after=2)  # doctest: +SKIP
        """
        self._app.faults.inject(kind, route=route, times=times, params=params)

    def set_fault_rate(self, rate: float, kinds: tuple[str, ...] | None = None, seed: int = 0) -> None:
        """Random faults from ``kinds`` (default: the transient ones) on about ``rate`` of requests."""
        self._app.faults.set_rate(rate, kinds, seed)

    def clear_faults(self) -> None:
        """Forget queued faults and stop random ones."""
        self._app.faults.clear()

    @property
    def stats(self) -> DemoStats:
        """A snapshot of the counters (requests per route, creates, connections, faults, ids)."""
        return self._app.snapshot()

    def reset_stats(self) -> None:
        self._app.stats.reset()

    # -- looking inside ----------------------------------------------------------------

    def prediction(self, prediction_id: str) -> dict[str, Any]:
        """The prediction JSON as ``GET /v1/predictions/{id}`` would return it; KeyError if unknown."""
        return self._app.prediction(prediction_id)

    def output_bytes(self, prediction_id: str, index: int) -> bytes:
        """The exact bytes of output ``index`` (0-based, as in ``output[index]``), for hash checks."""
        return self._app.output_bytes(prediction_id, index)

    def uploaded(self, file_id: str) -> bytes:
        """The bytes of a file uploaded with ``POST /v1/files``; KeyError if unknown."""
        stored = self._app.files.get(file_id)
        if stored is None:
            raise KeyError(f"no uploaded file {file_id!r}")
        return stored.data

    def cancel_from_elsewhere(self, prediction_id: str) -> None:
        """Cancel as if someone pressed Cancel on the web UI (not counted in ``stats.cancels``)."""
        self._app.cancel_from_elsewhere(prediction_id)


def start_demo_server(**kwargs: Any) -> DemoServer:
    """A `DemoServer` constructed with ``kwargs`` and started."""
    return DemoServer(**kwargs).start()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts served without ``--allow-remote``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


EMBEDDED_START_SECONDS, EMBEDDED_BASE_SECONDS, EMBEDDED_PER_IMAGE_SECONDS = 0.2, 1.0, 0.5
"""Demo-mode timings: quick, yet slow enough that live status and progressive output show."""

_embedded: DemoServer | None = None
_embedded_lock = threading.Lock()


def embedded_server() -> DemoServer:
    """The process-wide demo backend the client's demo mode talks to; started on first use.

    It listens on 127.0.0.1 and a free port, accepts any bearer token, and stops at exit.
    """
    global _embedded
    with _embedded_lock:
        if _embedded is None or not _embedded.running:
            _embedded = DemoServer(start_seconds=EMBEDDED_START_SECONDS, base_seconds=EMBEDDED_BASE_SECONDS,
                                   per_image_seconds=EMBEDDED_PER_IMAGE_SECONDS).start()
            atexit.register(_embedded.stop)
        return _embedded
