"""``%%seedream`` and ``%seedream``: a cell's text becomes the prompt, its options the model's fields.

>>> %load_ext seedream_widgets                                     # doctest: +SKIP
>>> %%seedream --size 2K --aspect-ratio 4:3 -n 2 -o fox            # doctest: +SKIP
... a red fox in the snow, watercolour

The options are generated from the schema's one field table (`seedream_widgets.schema.FIELDS`),
so ``%%seedream?`` always lists every model field. The magic is a thin front door: it turns
options into keyword arguments for the engine (which validates them and raises `ValidationError`
naming every bad field), runs the engine, and renders. It never talks HTTP and never writes files.

How it behaves, and why:

- **Waiting (default).** One status line is shown with a display handle and updated in place
  from callbacks that run on the cell's own thread (the engine hands them over through
  `EngineLoop.run`'s event queue), then replaced by the result's grid and caption. Waiting is
  the default so "Run All" and nbclient see the images.
- **Interrupts** (the stop button) cancel the prediction on the service; the status line says
  "canceled" once the engine's cleanup (the cancel request) has finished, then the
  KeyboardInterrupt is re-raised, shortened to one line: the person pressed stop, so "Run All"
  must stop too instead of starting the next generation.
- **Errors** from the engine show as a short styled message in place of the status line (plain
  text in a terminal). The exception is then raised with a one-line rendering instead of a
  traceback (``_render_traceback_``, the IPython hook ipyparallel uses), so the cell is marked
  failed and "Run All"/nbclient/papermill stop, like IPython's own ``%%bash`` does by default.
  ``--debug`` keeps the full traceback. Malformed options raise `UsageError` (one line).
- **``--no-wait``** returns at once; the engine loop runs the generation and the same display
  handle is filled in place when it is done (output from background work goes through the
  handle, never through bare print/display, which would land in whatever cell ran last).
  Drawing happens on one small painter thread, never on the engine loop.
- The cell returns None: the result is already on screen (returning it would show it twice as
  ``Out[]``). It is stored in ``_seedream`` and, with ``-o VAR``, in ``VAR``.
- In a terminal IPython (no Jupyter front end) status lines are printed as text and results as
  file paths, like ``tqdm.notebook``'s fallback. ``%config SeedreamMagics.display_mode`` forces
  ``html`` or ``text``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import itertools
import json
import logging
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, magics_class
from IPython.display import display
from traitlets import CaselessStrEnum

from ._magic_args import (
    LINE_PARSER,
    argument,
    argument_group,
    cell_magic,
    check_identifier,
    field_options,
    line_magic,
    magic_arguments,
    parse_axes,
)
from .config import DEFAULT_BASE_URL, DEFAULT_MODEL, ENV_BASE_URL, mask, resolve_settings, scrub
from .display import error_html, esc, shorten, status_html, status_text, thumbnail_data_uri
from .engine import engine_loop
from .errors import InvalidField, SeedreamError, SeedreamWarning, ValidationError
from .prediction import Prediction
from .schema import FIELDS, SeedreamInput

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .client import Seedream, Update
    from .gallery import RunRecord
    from .result import Comparison, Result

__all__ = ["SeedreamMagics", "load_ipython_extension", "unload_ipython_extension"]

log = logging.getLogger("seedream_widgets")
T = TypeVar("T")

LAST_RESULT = "_seedream"
"""The user-namespace name that always holds the last finished result."""
MAGIC_WAIT = 1.0
"""``Prefer: wait`` seconds for the magic's clients. Short on purpose: a create held for the whole
run (up to 60 s) would leave the live status line without status or log lines until the end; with
a short hold the engine polls, so the line shows them (at the cost of at most one poll interval)."""
TICK_SECONDS = 1.0
"""How often the status line's elapsed seconds are refreshed while nothing else happens."""
CANCEL_GRACE = 5.0
"""How long an interrupted cell waits for the engine's cleanup (the cancel request)."""
DRY_RUN_WAIT = 60
"""The ``Prefer: wait`` the dry run's samples use: one request answers with the finished prediction."""

Dispatch = Callable[[Callable[[], None]], None]
"""Hands one drawing step to the thread that draws (the waiting cell, or the painter thread)."""


# -- what the user sees: one status line per run ----------------------------------------------


class _Surface:
    """Where one run draws: a display handle in a notebook, printed lines in a terminal.

    In text mode a background run (``--no-wait``) stays silent: printing from another thread
    would garble the terminal; ``%seedream wait`` reports its outcome instead.
    """

    def __init__(self, rich: bool, *, quiet: bool = False) -> None:
        self.rich = rich
        self.quiet = quiet
        self.handle: Any = None
        self._last_line = ""

    def draw(self, html: Callable[[], str], text: str, *, key: object = None) -> None:
        if self.rich:
            # Both forms: text/plain is what nbconvert, nbclient's text checks and plain front ends show.
            bundle = {"text/plain": text, "text/html": html()}
            if self.handle is None:
                self.handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
            else:
                self.handle.update(bundle, raw=True)
            return
        line = text if key is None else repr(key)
        if not self.quiet and line != self._last_line:
            self._last_line = line
            print(text, flush=True)

    def show(self, value: Any, text: str) -> None:
        """Replace the status line with a finished value (its rich display), or print its text."""
        if self.rich:
            if self.handle is None:
                self.handle = display(value, display_id=True)  # type: ignore[no-untyped-call]
            else:
                self.handle.update(value)
        elif not self.quiet:
            print(text, flush=True)

    def error(self, exc: BaseException) -> None:
        if self.rich:
            self.draw(lambda: error_html(exc), f"{type(exc).__name__}: {exc}")


def _safe(step: Callable[[], None]) -> Callable[[], None]:
    """A drawing step that never raises: a broken display must not break (or orphan) the generation."""

    def run() -> None:
        try:
            step()
        except Exception:
            log.exception("the %%seedream display failed")

    return run


class _RunView:
    """The live status line of one generation (or resume), then its result."""

    def __init__(self, surface: _Surface, demo: bool) -> None:
        self.surface = surface
        self.demo = demo
        self.started = time.monotonic()
        self.prediction: Prediction | None = None
        self.images: tuple[Path, ...] = ()
        self.final = False
        self.drawn = 0.0

    def update(self, update: Update) -> None:
        self.prediction, self.images = update.prediction, update.images
        if not self.final:
            self._draw()

    def tick(self) -> None:
        # Once thumbnails are on the line, a redraw re-sends them all: refresh the seconds less often then.
        if not self.final and time.monotonic() - self.drawn >= (5 * TICK_SECONDS if self.images else 0):
            self._draw()

    def _draw(self, prediction: Prediction | None = None) -> None:
        self.drawn = time.monotonic()
        shown = prediction or self.prediction
        elapsed = time.monotonic() - self.started
        count = len(self.images)

        def html() -> str:
            # Images of a set arrive in a staging folder that is moved when the run is stored; skip moved ones.
            thumbs = [path for path in self.images if path.is_file()]
            try:
                return status_html(shown, elapsed, count, demo=self.demo, thumbnails=thumbs)
            except OSError:
                return status_html(shown, elapsed, count, demo=self.demo)

        last_log = shown.last_log_line if shown else ""
        self.surface.draw(html, status_text(shown, elapsed, count, demo=self.demo),
                          key=(shown.status if shown else None, count, last_log))

    def done(self, result: Result) -> None:
        self.final = True
        lines = [result.caption(), *(f"  {path}" for path in result.paths)]
        self.surface.show(result, "\n".join(lines))

    def failed(self, exc: BaseException) -> None:
        self.final = True
        self.surface.error(exc)

    def canceled(self) -> None:
        self.final = True
        shown = replace(self.prediction, status="canceled") if self.prediction else Prediction("", "canceled")
        self._draw(shown)


class _CompareView:
    """The progress line of a ``--compare`` run, then its grid."""

    def __init__(self, surface: _Surface, total: int, demo: bool) -> None:
        self.surface = surface
        self.total = total
        self.demo = demo
        self.done_count = self.failed_count = 0
        self.started = time.monotonic()
        self.final = False
        self.state = "running"

    def progress(self, index: int, outcome: object) -> None:
        self.done_count += 1
        self.failed_count += isinstance(outcome, BaseException)
        if not self.final:
            self._draw()

    def tick(self) -> None:
        if not self.final:
            self._draw()

    def _text(self) -> str:
        failed = f" · {self.failed_count} failed" if self.failed_count else ""
        demo = "DEMO · " if self.demo else ""
        return (f"{demo}compare {self.state} · {self.done_count}/{self.total} done{failed} · "
                f"{time.monotonic() - self.started:.1f} s")

    def _draw(self) -> None:
        text = self._text()
        self.surface.draw(lambda: f'<div class="seedream-status" style="font-size:12px">{esc(text)}</div>', text,
                          key=(self.state, self.done_count, self.failed_count))

    def done(self, comparison: Comparison) -> None:
        self.final = True
        self.surface.show(comparison, repr(comparison))

    def failed(self, exc: BaseException) -> None:
        self.final = True
        self.surface.error(exc)

    def canceled(self) -> None:
        self.final = True
        self.state = "canceled"
        self._draw()


View = _RunView | _CompareView


# -- running on the engine loop -------------------------------------------------------------------


@dataclass
class _Tracker:
    """Whether the engine-side coroutine started and when it has finished unwinding (cleanup included).

    A cancelled `concurrent.futures.Future` reports "cancelled" at once, before the task on
    the engine loop has even seen the cancel; ``finished`` tells when the coroutine's own
    cleanup (the cancel request to the service) is over. Background runs are cancelled
    through their future (``%seedream wait`` interrupted, ``%unload_ext``), so they need it;
    `EngineLoop.run` does the same wait for waiting cells, where this is a cheap second check.
    """

    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def wait_cleanup(self) -> None:
        if self.started.is_set():
            self.finished.wait(CANCEL_GRACE)


async def _tracked(coro: Coroutine[Any, Any, T], tracker: _Tracker, tick: Callable[[], None] | None) -> T:
    tracker.started.set()
    ticker: asyncio.Future[None] | None = None
    if tick is not None:
        async def ticking() -> None:
            while True:
                await asyncio.sleep(TICK_SECONDS)
                tick()

        ticker = asyncio.ensure_future(ticking())
    try:
        return await coro
    finally:
        if ticker is not None:
            ticker.cancel()
        tracker.finished.set()


@dataclass
class _Background:
    """A ``--no-wait`` run: the engine's future, and an event set once its outcome is drawn."""

    label: str
    future: concurrent.futures.Future[Any]
    tracker: _Tracker
    painted: threading.Event = field(default_factory=threading.Event)
    outcome: str = "running"


_painter_pool: concurrent.futures.ThreadPoolExecutor | None = None
_painter_lock = threading.Lock()


def _painter() -> concurrent.futures.ThreadPoolExecutor:
    """One thread that draws for background runs, in order (thumbnails are not made on the engine loop)."""
    global _painter_pool
    with _painter_lock:
        if _painter_pool is None:
            _painter_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="seedream-paint")
        return _painter_pool


def _interrupted(message: str) -> KeyboardInterrupt:
    """A KeyboardInterrupt shown as one line rather than a traceback through the engine."""
    exc = KeyboardInterrupt(message)
    exc._render_traceback_ = lambda: [f"KeyboardInterrupt: {message}"]  # type: ignore[attr-defined]
    return exc


# -- the magics --------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What one ``%%seedream`` cell asks for, after parsing and validation."""

    client: Seedream
    prompt: str
    fields: dict[str, Any]
    """Keyword fields for the engine (``image_input`` already as URIs)."""
    axes: dict[str, list[Any]]
    inputs: list[SeedreamInput]
    """The validated input of every run (one, or one per --compare combination)."""
    combos: list[dict[str, Any]]
    image_labels: list[str]
    notes: list[str]


@magics_class
class SeedreamMagics(Magics):
    """``%%seedream`` (generate) and ``%seedream config|history|open|wait``, loaded by ``%load_ext``."""

    display_mode = CaselessStrEnum(
        ("auto", "html", "text"), default_value="auto",
        help="How %%seedream draws: 'html' (status line and images via display handles), 'text' (printed lines "
             "and file paths), or 'auto': html inside a Jupyter kernel, text elsewhere.",
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._clients: dict[object, Seedream] = {}
        self._clients_lock = threading.Lock()
        self._background: list[_Background] = []

    # -- shared pieces ------------------------------------------------------------------------

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return]

    def _rich(self) -> bool:
        mode = str(self.display_mode).lower()
        if mode != "auto":
            return mode == "html"
        # Any Jupyter kernel's shell (JupyterLab, Notebook 7, VS Code, Colab's subclass of it).
        return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(self.shell).__mro__)

    def client(self, base_url: str | None = None, model: str | None = None) -> Seedream:
        """The client for these settings (and the current environment), made once and reused across cells."""
        from .client import Seedream

        settings = resolve_settings(None, base_url, model, None)
        key = replace(settings, output_dir=settings.output_dir.absolute())
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = Seedream(base_url=base_url, model=model, wait=MAGIC_WAIT)
                self._clients[key] = client
            return client

    def close(self) -> None:
        """Cancel the background runs and close every client's connections (on ``%unload_ext``)."""
        runs, self._background = self._background, []
        for run in runs:
            run.future.cancel()
        for run in runs:
            run.tracker.wait_cleanup()  # the cancel requests go out before the connections close
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with _suppress_all():
                client.close()

    def _store(self, value: Any, out: str | None) -> None:
        self.user_ns[LAST_RESULT] = value
        if out:
            self.user_ns[out] = value

    def _note(self, notes: Iterable[str], rich: bool) -> None:
        for note in notes:
            if rich:
                display({"text/plain": f"note: {note}",  # type: ignore[no-untyped-call]
                         "text/html": f'<div class="seedream-note" style="font-size:12px;color:#92400e">note: '
                                      f'{esc(note)}</div>'}, raw=True)
            else:
                print(f"note: {note}", flush=True)

    def _stop(self, exc: SeedreamError, rich: bool, debug: bool, surface: _Surface | None = None) -> NoReturn:
        """Show an engine error briefly and fail the cell without a traceback (unless --debug)."""
        if rich:
            (surface or _Surface(True)).error(exc)
        if not debug:
            if rich:
                lines = [f"{type(exc).__name__}: see the message above (--debug shows the traceback)"]
            else:
                lines = f"{type(exc).__name__}: {exc}".splitlines()
            exc._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
        raise exc

    # -- running -------------------------------------------------------------------------------

    def _wait(self, start: Callable[[Dispatch], Coroutine[Any, Any, T]], view: View, rich: bool) -> T:
        """Run on the engine loop and wait, drawing on this (the cell's) thread; an interrupt cancels."""
        events: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

        def dispatch(step: Callable[[], None]) -> None:
            events.put(_safe(step))

        tracker = _Tracker()
        coro = _tracked(start(dispatch), tracker, (lambda: dispatch(view.tick)) if rich else None)
        try:
            return engine_loop().run(coro, events=events)
        except KeyboardInterrupt:
            tracker.wait_cleanup()
            _safe(view.canceled)()
            raise _interrupted("canceled on the service (the stop button also stops Run All)") from None

    def _submit(self, label: str, start: Callable[[Dispatch], Coroutine[Any, Any, T]], view: View, rich: bool,
                on_result: Callable[[T], None]) -> _Background:
        """Run on the engine loop without waiting; the painter thread draws into the view's display handle."""
        context = contextvars.copy_context()  # the kernel's parent header: messages stay with this cell
        painter = _painter()

        def dispatch(step: Callable[[], None]) -> None:
            painter.submit(context.run, _safe(step))

        tracker = _Tracker()
        future = engine_loop().submit(_tracked(start(dispatch), tracker,
                                               (lambda: dispatch(view.tick)) if rich else None))
        run = _Background(label, future, tracker)

        def finish() -> None:
            try:
                if future.cancelled():
                    run.outcome = f"{label}: canceled"
                    view.canceled()
                    return
                exc = future.exception()
                if exc is not None:
                    run.outcome = f"{label}: {type(exc).__name__}: {exc}"
                    view.failed(exc)
                    if not isinstance(exc, SeedreamError):
                        log.error("%%seedream --no-wait run failed", exc_info=exc)
                    return
                value = future.result()
                on_result(value)
                run.outcome = f"{label}: {getattr(value, 'caption', lambda: repr(value))()}"
                view.done(cast(Any, value))
            finally:
                run.painted.set()

        future.add_done_callback(lambda _: dispatch(finish))
        self._background.append(run)
        return run

    # -- %%seedream --------------------------------------------------------------------------------

    @cell_magic("seedream")
    @magic_arguments("%seedream")  # the usage line's prefix adds one more %
    @field_options
    @argument_group("run options")
    @argument("-o", "--out", metavar="VAR", help="Store the Result (or Comparison) in VAR too; the last one is "
                                                 "always in _seedream.")
    @argument("--no-wait", action="store_true", help="Return at once; the output fills in place when done "
                                                    "(and -o VAR / _seedream are set then).")
    @argument("--dry-run", action="store_true", help="Show the request (payload JSON, curl and Python) with the "
                                                    "token masked; send nothing.")
    @argument("--compare", nargs="+", metavar="FIELD=A,B", help="A grid across settings, e.g. --compare size=1K,2K "
                                                               "aspect_ratio=1:1,16:9 (every combination).")
    @argument("--format", action="store_true", help="Fill {name} placeholders in the prompt from the notebook's "
                                                   "variables (without it braces are literal).")
    @argument("--model", metavar="OWNER/NAME", help=f"Model (or owner/name:version); default {DEFAULT_MODEL} "
                                                    "or SEEDREAM_MODEL.")
    @argument("--base-url", metavar="URL", help=f"API root, e.g. {DEFAULT_BASE_URL}; default SEEDREAM_BASE_URL, "
                                                "or the local demo backend when no token is set.")
    @argument("--timeout", type=float, metavar="SECONDS", help="Deadline for the run (default 600).")
    @argument("--debug", action="store_true", help="Show full tracebacks instead of short messages.")
    def seedream(self, line: str, cell: str) -> None:
        """Generate (or edit) images with Seedream 4: the cell's body is the prompt, the options are the fields.

        Example::

            %%seedream --size 2K --aspect-ratio 4:3 -n 2 -o fox
            a red fox in the snow, watercolour

        While it runs one status line shows status, seconds, images so far and the last log
        line; then the thumbnails and a caption (size, prediction id, time, folder) replace
        it. Interrupting the kernel cancels the prediction on the service. -n above 1 implies
        --sequential auto (say --sequential disabled to keep one image).
        """
        args = self._parse(line)
        rich = self._rich()
        plan = self._plan(args, cell, rich)
        self._note(plan.notes, rich)
        if args.dry_run:
            self._dry_run(plan, args, rich)
            return None
        core = plan.client.core
        demo = plan.client.settings.demo
        surface = _Surface(rich, quiet=args.no_wait)
        view: View
        start: Callable[[Dispatch], Coroutine[Any, Any, Any]]
        if plan.axes:
            grid = view = _CompareView(surface, len(plan.combos), demo)
            start = lambda dispatch: core.compare(  # noqa: E731
                plan.prompt, timeout=args.timeout, **{**plan.fields, **plan.axes},
                on_progress=lambda i, o: dispatch(functools.partial(grid.progress, i, o)))
        else:
            line_view = view = _RunView(surface, demo)
            start = lambda dispatch: core.generate(  # noqa: E731
                plan.inputs[0], timeout=args.timeout,
                on_update=lambda u: dispatch(functools.partial(line_view.update, u)))
        view.tick()  # the status line appears at once
        if args.no_wait:
            names = " and ".join(f"`{n}`" for n in (args.out, LAST_RESULT) if n)
            if not rich:
                print(f"seedream: running in the background; when it is done the result will be in {names} "
                      "(%seedream wait waits for it)", flush=True)
            self._submit(shorten(plan.prompt), start, view, rich, lambda value: self._store(value, args.out))
            return None
        try:
            value: Any = self._wait(start, view, rich)
        except SeedreamError as exc:
            self._stop(exc, rich, args.debug, surface)
        except Exception as exc:  # not ours: a bug; show it briefly, then the full traceback
            _safe(functools.partial(view.failed, exc))()
            raise
        view.done(value)
        self._store(value, args.out)
        # None, not the result: it is on screen already and would show twice as Out[].
        return None

    def _parse(self, line: str) -> Any:
        try:
            args = cast(Any, self.seedream).parser.parse_argstring(line)
        except UsageError as exc:
            text = str(exc)
            if "unrecognized arguments" in text:
                text += _did_you_mean(text, cast(Any, self.seedream).parser)
                text += " (options only on the %%seedream line; the prompt is the cell's body)"
            raise UsageError(f"%%seedream: {text}; see %%seedream?") from None
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"%%seedream: {exc}") from None
        check_identifier(args.out, "-o/--out")
        if args.timeout is not None and not args.timeout > 0:  # not "<= 0": NaN must fail too
            raise UsageError(f"%%seedream: --timeout must be a positive number of seconds, got {args.timeout}")
        return args

    def _prompt(self, cell: str, fill: bool) -> str:
        prompt = cell.strip()
        if not fill:
            return prompt
        namespace = self.user_ns

        class Lookup(dict[str, Any]):
            def __missing__(self, name: str) -> Any:
                raise UsageError(f"%%seedream --format: {{{name}}} names no variable of the notebook; define it, "
                                 "or double the braces ({{ }}) for literal ones")

        try:
            return prompt.format_map(Lookup(namespace))
        except UsageError:
            raise
        except (ValueError, IndexError, AttributeError, KeyError, TypeError) as exc:
            raise UsageError(f"%%seedream --format: cannot fill the prompt's placeholders ({exc}); "
                             "double the braces ({{ }}) for literal ones") from None

    def _images(self, values: Sequence[str]) -> tuple[list[Any], list[str]]:
        """The --image values as sources for the engine (variables resolved), and labels for the dry run."""
        sources: list[Any] = []
        labels: list[str] = []
        for value in values:
            lowered = value[:12].lower()
            if lowered.startswith(("http://", "https://", "data:")):
                sources.append(value)
                labels.append(repr(value if len(value) < 80 else value[:60] + "…"))
            elif value.isidentifier() and value in self.user_ns:
                found = self.user_ns[value]
                items = list(found) if isinstance(found, (list, tuple)) else [found]
                sources.extend(items)
                labels.append(value)  # the notebook's own name for it
            elif value.isidentifier() and not os.path.exists(value):
                raise UsageError(f"%%seedream --image {value}: no variable and no file of that name")
            else:
                sources.append(value)
                labels.append(repr(value))
        return sources, labels

    def _plan(self, args: Any, cell: str, rich: bool) -> _Plan:
        prompt = self._prompt(cell, args.format)
        fields: dict[str, Any] = {spec.name: getattr(args, spec.name) for spec in FIELDS
                                  if spec.flag and getattr(args, spec.name) is not None}
        labels: list[str] = []
        if "image_input" in fields:
            fields["image_input"], labels = self._images(fields["image_input"])
        axes = parse_axes(args.compare or [], fields)
        notes: list[str] = []
        # Values that are not whole numbers are left for the schema to name (and refuse) below.
        counts = [fields.get("max_images", 1), *axes.get("max_images", [])]
        most = max([1, *(v for v in counts if isinstance(v, int) and not isinstance(v, bool))])
        if most > 1 and "sequential_image_generation" not in fields and "sequential_image_generation" not in axes:
            fields["sequential_image_generation"] = "auto"
            notes.append(f"max_images {most} implies --sequential auto (a set of up to {most} images); "
                         "add --sequential disabled for one image")
        try:
            client = self.client(args.base_url, args.model)
            combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] or [{}]
            inputs, warned = self._validate(client, prompt, fields, combos)
        except SeedreamError as exc:
            self._stop(exc, rich, args.debug)
        notes.extend(warned)
        if "image_input" in fields:  # made into URIs once, not again for every run of a comparison
            fields["image_input"] = list(inputs[0].image_input)
        return _Plan(client, prompt, fields, axes, inputs, combos if axes else [], labels, notes)

    @staticmethod
    def _validate(client: Seedream, prompt: str, fields: Mapping[str, Any],
                  combos: Sequence[Mapping[str, Any]]) -> tuple[list[SeedreamInput], list[str]]:
        """Every run's input, validated by the engine (all problems of all combinations at once), and its warnings."""
        inputs: list[SeedreamInput] = []
        problems: list[InvalidField] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeedreamWarning)
            images = fields.get("image_input")
            shared = dict(fields)
            for combo in combos:
                try:
                    inp = client.build_input(prompt, **{**shared, **combo})
                except ValidationError as exc:
                    problems.extend(p for p in exc.invalid_fields if p not in problems)
                    continue
                inputs.append(inp)
                if images is not None:
                    shared["image_input"] = list(inp.image_input)  # converted once
        if problems:
            raise ValidationError(problems)
        notes: list[str] = []
        for warning in caught:
            if issubclass(warning.category, SeedreamWarning):
                if str(warning.message) not in notes:
                    notes.append(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return inputs, notes

    # -- --dry-run ---------------------------------------------------------------------------------

    def _dry_run(self, plan: _Plan, args: Any, rich: bool) -> None:
        from . import protocol, snippets

        settings = plan.client.settings
        url = snippets.create_url(settings)
        bodies = [protocol.create_body(settings.model, inp.to_payload()) for inp in plan.inputs]
        prefer = protocol.prefer_header(DRY_RUN_WAIT)["Prefer"]
        if settings.token_source == "demo":
            shown_auth = "Bearer demo-token (the local demo backend accepts any token)"
        else:
            shown_auth = f"Bearer {mask(settings.token)} (masked; from {settings.token_source})"
        shown = [_shorten_uris(body) for body in bodies]
        labels = [", ".join(f"{k}={v}" for k, v in combo.items()) for combo in plan.combos] or [""]
        sections: list[tuple[str, str]] = []
        request = f"POST {url}\nAuthorization: {shown_auth}\nContent-Type: application/json\nPrefer: {prefer}"
        sections.append(("request (nothing was sent)", request))
        for label, body in zip(labels, shown, strict=True):
            sections.append((f"payload{f' ({label})' if label else ''}", json.dumps(body, indent=2,
                                                                                  ensure_ascii=False)))
        sections.append(("curl", "\n\n".join(snippets.curl_command(settings, body, wait=DRY_RUN_WAIT)
                                              for body in shown)))
        sections.append(("Python (httpx)", snippets.httpx_code(settings, shown, wait=DRY_RUN_WAIT)))
        sections.append(("Python (seedream_widgets)", self._library_call(plan, args)))
        if any(body != original for body, original in zip(shown, bodies, strict=True)):
            sections.append(("note", "data: URIs are shortened here for display; the request carries them whole"))
        if settings.token_source != "demo":
            sections = [(title, scrub(text, settings.token)) for title, text in sections]
        if args.out:
            self.user_ns[args.out] = bodies if plan.axes else bodies[0]
        text = "\n\n".join(f"# {title}\n{body}" for title, body in sections)
        if not rich:
            print(text, flush=True)
            return
        blocks = "".join(f'<div style="margin-top:6px;font-weight:600">{esc(title)}</div>'
                         f'<pre style="margin:2px 0;white-space:pre-wrap">{esc(body)}</pre>'
                         for title, body in sections)
        display({"text/plain": text,  # type: ignore[no-untyped-call]
                 "text/html": f'<div class="seedream-dry-run" style="font-size:12px"><b>dry run</b>'
                              f'{" · DEMO" if settings.demo else ""}{blocks}</div>'}, raw=True)

    @staticmethod
    def _library_call(plan: _Plan, args: Any) -> str:
        settings = plan.client.settings
        options = []
        base_url = args.base_url or os.environ.get(ENV_BASE_URL)
        if base_url:
            options.append(f"base_url={base_url!r}")
        if settings.model != DEFAULT_MODEL:
            options.append(f"model={settings.model!r}")
        call = [repr(plan.prompt)]
        for name, value in plan.fields.items():
            if name == "image_input":
                call.append(f"image_input=[{', '.join(plan.image_labels)}]")
            else:
                call.append(f"{name}={value!r}")
        call += [f"{name}={values!r}" for name, values in plan.axes.items()]
        method = "compare" if plan.axes else "generate"
        return (f"from seedream_widgets import Seedream\n\nclient = Seedream({', '.join(options)})\n"
                f"result = client.{method}({', '.join(call)})")

    # -- %seedream config | history | open | wait ----------------------------------------------------

    @line_magic("seedream")
    def seedream_line(self, line: str) -> None:
        if not line.strip():
            print(LINE_PARSER.format_help(), flush=True)
            return None
        try:
            args = cast(Any, LINE_PARSER).parse_argstring(line)
        except UsageError as exc:
            raise UsageError(f"%seedream: {exc}; see %seedream?") from None
        except ValueError as exc:
            raise UsageError(f"%seedream: {exc}") from None
        rich = self._rich()
        if args.command == "config":
            self._config(args, rich)
        elif args.command == "history":
            self._history(args.count, rich)
        elif args.command == "open":
            self._open(args, rich)
        elif args.command == "wait":
            self._wait_background(args.timeout)
        return None

    def _config(self, args: Any, rich: bool) -> None:
        try:
            client = self.client(args.base_url, args.model)
        except SeedreamError as exc:
            self._stop(exc, rich, False)
        rows = dict(client.settings.describe())
        rows["display"] = "html" if rich else "text"
        rows["background runs"] = str(sum(not run.painted.is_set() for run in self._background))
        width = max(len(k) for k in rows)
        text = "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows.items())
        if not rich:
            print(text, flush=True)
            return
        cells = "".join(f'<tr><th style="text-align:left;padding-right:12px">{esc(k)}</th>'
                        f'<td style="text-align:left">{esc(v)}</td></tr>' for k, v in rows.items())
        display({"text/plain": text,  # type: ignore[no-untyped-call]
                 "text/html": f'<table class="seedream-config" style="font-size:12px">{cells}</table>'}, raw=True)

    def _history(self, count: int, rich: bool) -> None:
        if count < 1:
            raise UsageError(f"%seedream history: N must be at least 1, got {count}")
        try:
            records = self.client().history(count)
        except SeedreamError as exc:
            self._stop(exc, rich, False)
        if not records:
            print(f"no stored runs in {self.client().settings.output_dir}", flush=True)
            return
        lines = [f"{r.id}  {r.created_at[:19]}  {len(r.paths)} image{'s' if len(r.paths) != 1 else ''}  "
                 f"{shorten(r.prompt, 60)}" for r in records]
        text = "\n".join(lines)
        if not rich:
            print(text, flush=True)
            return
        rows = "".join(_history_row(r) for r in records)
        display({"text/plain": text,  # type: ignore[no-untyped-call]
                 "text/html": f'<table class="seedream-history" style="font-size:12px"><tr><th></th><th>id</th>'
                              f'<th>created</th><th>images</th><th style="text-align:left">prompt</th></tr>'
                              f'{rows}</table>'}, raw=True)

    def _open(self, args: Any, rich: bool) -> None:
        check_identifier(args.out, "-o/--out")
        try:
            client = self.client()
        except SeedreamError as exc:
            self._stop(exc, rich, args.debug)
        surface = _Surface(rich)
        view = _RunView(surface, client.settings.demo)

        def start(dispatch: Dispatch) -> Coroutine[Any, Any, Result]:
            return client.core.resume(args.id, timeout=args.timeout,
                                      on_update=lambda u: dispatch(functools.partial(view.update, u)))

        try:
            result = self._wait(start, view, rich)
        except SeedreamError as exc:
            self._stop(exc, rich, args.debug, surface if surface.handle is not None else None)
        view.done(result)
        self._store(result, args.out)

    def _wait_background(self, timeout: float | None) -> None:
        runs = list(self._background)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for run in runs:
                while not run.painted.wait(0.1):
                    if deadline is not None and time.monotonic() >= deadline:
                        break
        except KeyboardInterrupt:
            for run in runs:
                run.future.cancel()
            for run in runs:
                run.tracker.wait_cleanup()
            raise _interrupted("the background runs were canceled on the service") from None
        finished = [run for run in runs if run.painted.is_set()]
        self._background = [run for run in self._background if run not in finished]
        for run in finished:
            print(run.outcome, flush=True)
        still = len(runs) - len(finished)
        if still:
            print(f"{still} run{'s' if still != 1 else ''} still running", flush=True)
        elif not runs:
            print("no background runs", flush=True)


# ``%seedream?`` shows the commands (the cell magic's help is built by magic_arguments).
SeedreamMagics.seedream_line.__doc__ = LINE_PARSER.format_help()


# -- small helpers -----------------------------------------------------------------------------------


class _suppress_all:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        if exc[0] is not None:
            log.debug("ignored while closing", exc_info=True)
        return True


def _did_you_mean(text: str, parser: Any) -> str:
    """The closest real option for each unknown long one in argparse's message, else the known ones."""
    import difflib

    known = sorted({s for action in parser._actions for s in action.option_strings if s.startswith("--")})
    unknown = [word.split("=", 1)[0] for word in text.partition(":")[2].split() if word.startswith("--")]
    hints = []
    for flag in unknown:
        close = difflib.get_close_matches(flag.replace("_", "-"), known, n=1, cutoff=0.6)
        hints.append(f"{flag}: did you mean {close[0]}?" if close else f"{flag}: known options are {', '.join(known)}")
    return f"; {'; '.join(hints)}" if hints else ""


def _shorten_uris(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with long data: URIs cut for display (they can be megabytes)."""
    shown = json.loads(json.dumps(body))
    images = shown.get("input", {}).get("image_input")
    if isinstance(images, list):
        shown["input"]["image_input"] = [
            f"{u[:48]}…({len(u)} characters)" if isinstance(u, str) and u.startswith("data:") and len(u) > 120
            else u for u in images]
    return shown  # type: ignore[no-any-return]


def _history_row(record: RunRecord) -> str:
    thumb = ""
    paths = [p for p in record.paths if p.is_file()]
    if paths:
        try:
            thumb = (f'<img src="{thumbnail_data_uri(paths[0], max_px=96)}" '
                     f'style="max-width:64px;max-height:64px;border-radius:3px"/>')
        except OSError:
            thumb = ""
    return (f'<tr><td>{thumb}</td><td><code>{esc(record.id)}</code></td><td>{esc(record.created_at[:19])}</td>'
            f'<td>{len(record.paths)}</td><td style="text-align:left">{esc(shorten(record.prompt, 100))}</td></tr>')


# -- the extension -------------------------------------------------------------------------------------


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext seedream_widgets``: registers ``%%seedream`` and ``%seedream``."""
    ipython.register_magics(SeedreamMagics(ipython))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext seedream_widgets``: removes the magics and closes their clients."""
    global _painter_pool
    manager = ipython.magics_manager
    magics = manager.registry.pop("SeedreamMagics", None)
    for kind in ("line", "cell"):
        manager.magics[kind].pop("seedream", None)
    if isinstance(magics, SeedreamMagics):
        magics.close()
        configurables = cast("list[Any]", ipython.configurables)
        if magics in configurables:
            configurables.remove(magics)
    with _painter_lock:
        pool, _painter_pool = _painter_pool, None
    if pool is not None:
        pool.shutdown(wait=False)
