"""``%%seedream`` and ``%seedream``: a cell's text becomes the prompt, its options the model's fields.

>>> %load_ext seedream_widgets                                     # doctest: +SKIP
>>> %%seedream --size 2K --aspect-ratio 4:3 -n 2 -o fox            # doctest: +SKIP
... a red fox in the snow, watercolour

A thin front door: the options are `seedream_widgets.options`' (the command line's words), the
engine validates and runs them (`Seedream.start`, `start_compare`, `resume_run`), and
`seedream_widgets.display` draws each `RunState` or `BatchState`, then the `Result` or
`Comparison`. It talks no HTTP, starts no threads and writes no files.

How it behaves, and why:

- **Waiting (default).** One status line (a display handle) is updated in place by
  `Run.wait(on_state=...)` on the cell's own thread, then replaced by the result. Waiting is
  the default so "Run All" and nbclient see the images.
- **Interrupts** (the stop button): `Run.wait` cancels on the service and waits for that
  cleanup; the line says "canceled" and the KeyboardInterrupt is re-raised, shortened to one
  line: the person pressed stop, so "Run All" must stop too.
- **Errors** show as a short styled message in place of the status line (plain text in a
  terminal), invalid fields named as the options that set them. The exception is raised with
  a one-line rendering (``_render_traceback_``, the hook ipyparallel uses), so the cell is
  marked failed and Run All, nbclient and papermill stop. ``--debug`` keeps the traceback.
  Malformed options raise `UsageError` (one line).
- **``--no-wait``** returns at once; the states reach the same display handle through
  `Run.subscribe`, which calls back on the engine's notifier thread in this cell's context,
  so the output stays with this cell (never bare print/display from another thread).
- The cell returns None: the result is already on screen (returning it would show it twice
  as ``Out[]``). It is stored in ``_seedream`` and, with ``-o VAR``, in ``VAR``.
- In a terminal IPython status lines are printed as text and results as file paths, like
  ``tqdm.notebook``'s fallback. ``%config SeedreamMagics.display_mode`` forces ``html`` or ``text``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NoReturn, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, magics_class
from IPython.display import display
from traitlets import CaselessStrEnum

from . import snippets
from ._magic_args import CELL_PARSER, LINE_PARSER, cell_magic, check_identifier, line_magic, parse
from .batch import Batch, BatchState
from .config import DEFAULT_MODEL, ENV_BASE_URL, mask, resolve_settings, scrub
from .display import (
    batch_html,
    batch_text,
    error_html,
    error_text,
    esc,
    in_notebook,
    note_html,
    result_text,
    shorten,
    status_html,
    status_text,
    thumbnail_data_uri,
)
from .errors import InvalidField, SeedreamError, ValidationError
from .options import OptionError, caveat_notes, field_values, imply_sequential, parse_axes, problem_lines
from .result import Result
from .run import Run, RunState

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .client import Seedream
    from .gallery import RunRecord
    from .models import ModelSchema
    from .schema import SeedreamInput

__all__ = ["SeedreamMagics", "load_ipython_extension", "unload_ipython_extension"]

log = logging.getLogger("seedream_widgets")

LAST_RESULT = "_seedream"
"""The user-namespace name that always holds the last finished result."""
TICK_SECONDS = 1.0
"""How often the status line's elapsed seconds are refreshed while nothing else happens."""
DRY_RUN_WAIT = 60
"""The ``Prefer: wait`` the dry run's samples use: one request answers with the finished prediction."""
PAINT_GRACE = 5.0
"""How long ``%seedream wait`` gives a finished background run to draw its outcome."""
_CLOCK = re.compile(r" · \d+\.\d s")


# -- what the user sees: one status line per cell ---------------------------------------------


class _Surface:
    """Where one cell draws: a display handle in a notebook, printed lines in a terminal.

    In text mode a background run (``--no-wait``) stays silent: printing from another thread
    would garble the terminal; ``%seedream wait`` reports its outcome instead.
    """

    def __init__(self, rich: bool, *, quiet: bool = False) -> None:
        self.rich = rich
        self.quiet = quiet
        self.handle: Any = None
        self._last: object = None
        self._drawn = 0.0

    def _put(self, value: Any, *, raw: bool) -> None:
        if self.handle is None:
            self.handle = display(value, raw=raw, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update(value, raw=raw)

    def state(self, state: RunState | BatchState) -> None:
        """Draw a run's (or a batch's) state: in place in a notebook, a new line in a terminal when it changed."""
        if isinstance(state, RunState) and state.phase == "queued" and not state.note:
            state = replace(state, phase="submitting")  # a lone run never waits in a queue: it is being sent
        text = status_text(state) if isinstance(state, RunState) else batch_text(state)
        if not self.rich:
            key = _CLOCK.sub("", text, count=1)  # a new line when something but the clock changed
            if not self.quiet and key != self._last:
                self._last = key
                print(text, flush=True)
            return
        # Once thumbnails are on the line, a redraw re-sends them all: refresh the clock less often then.
        if state is self._last and isinstance(state, RunState) and state.images \
                and time.monotonic() - self._drawn < 5 * TICK_SECONDS:
            return
        self._last, self._drawn = state, time.monotonic()
        html = status_html(state) if isinstance(state, RunState) else batch_html(state)
        # Both forms: text/plain is what nbconvert, nbclient's text checks and plain front ends show.
        self._put({"text/plain": text, "text/html": html}, raw=True)

    def show(self, value: Any) -> None:
        """Replace the status line with a finished Result or Comparison (its rich display), or print its text."""
        if self.rich:
            self._put(value, raw=False)
        elif not self.quiet:
            print(result_text(value) if isinstance(value, Result) else repr(value), flush=True)

    def error(self, exc: BaseException) -> None:
        if self.rich:
            self._put({"text/plain": error_text(exc), "text/html": error_html(exc)}, raw=True)


def _interrupted(message: str) -> KeyboardInterrupt:
    """A KeyboardInterrupt shown as one line rather than a traceback through the engine."""
    exc = KeyboardInterrupt(message)
    exc._render_traceback_ = lambda: [f"KeyboardInterrupt: {message}"]  # type: ignore[attr-defined]
    return exc


@dataclass
class _Background:
    """A ``--no-wait`` run of this session, and an event set once its outcome is drawn and stored."""

    handle: Run | Batch[Any]
    label: str
    painted: threading.Event = field(default_factory=threading.Event)
    outcome: str = "running"


@dataclass
class _Plan:
    """What one ``%%seedream`` cell asks for, after parsing and validation."""

    client: Seedream
    prompt: str
    fields: dict[str, Any]
    """Keyword fields for the engine (``image_input`` already as URIs)."""
    axes: dict[str, list[Any]]
    combos: list[dict[str, Any]]
    inputs: list[SeedreamInput]
    """The validated input of every run (one, or one per --compare combination)."""
    image_labels: list[str]
    notes: list[str]


# -- the magics --------------------------------------------------------------------------------


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
        self._background: list[_Background] = []

    # -- shared pieces ------------------------------------------------------------------------

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return]

    def _rich(self) -> bool:
        mode = str(self.display_mode).lower()
        return in_notebook() if mode == "auto" else mode == "html"

    def client(self, base_url: str | None = None, model: str | None = None) -> Seedream:
        """The client for these settings (and the current environment), made once and reused across cells."""
        from .client import Seedream

        settings = resolve_settings(None, base_url, model, None)
        key = replace(settings, output_dir=settings.output_dir.absolute())
        if key not in self._clients:
            self._clients[key] = Seedream(base_url=base_url, model=model)
        return self._clients[key]

    def close(self) -> None:
        """Cancel the background runs and close every client's connections (on ``%unload_ext``)."""
        runs, self._background = self._background, []
        for run in runs:
            run.handle.cancel(wait=False)
        for run in runs:
            run.handle.cancel()  # the cancel requests reach the service before the connections close
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                client.close()
            except Exception:
                log.debug("ignored while closing", exc_info=True)

    def _store(self, value: Any, out: str | None) -> None:
        self.user_ns[LAST_RESULT] = value
        if out:
            self.user_ns[out] = value

    def _note(self, notes: Iterable[str], rich: bool) -> None:
        for note in notes:
            if rich:
                display({"text/plain": f"note: {note}", "text/html": note_html(note)}, raw=True)  # type: ignore[no-untyped-call]
            else:
                print(f"note: {note}", flush=True)

    def _stop(self, exc: SeedreamError, surface: _Surface, debug: bool, schema: ModelSchema | None = None) -> NoReturn:
        """Show an engine error briefly (invalid fields named as options) and fail the cell without a traceback."""
        if isinstance(exc, ValidationError):
            head = str(exc).splitlines()[0]
            exc.args = ("\n".join([head, *(f"  - {line}" for line in problem_lines(exc, schema))]),)
        surface.error(exc)
        if not debug:
            lines = ([f"{type(exc).__name__}: see the message above (--debug shows the traceback)"] if surface.rich
                     else error_text(exc).splitlines())
            exc._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
        raise exc

    def _wait(self, handle: Run | Batch[Any], surface: _Surface, debug: bool, schema: ModelSchema) -> Any:
        """Wait on this (the cell's) thread, drawing every state; then show the outcome. An interrupt cancels."""
        try:
            value = handle.wait(on_state=surface.state, every=TICK_SECONDS)
        except KeyboardInterrupt:
            if isinstance(handle, Batch):  # its canceled items count as failed: say why
                surface.state(replace(handle.state, label=f"{handle.state.label} canceled"))
            raise _interrupted("canceled on the service (the stop button also stops Run All)") from None
        except SeedreamError as exc:
            self._stop(exc, surface, debug, schema)
        except Exception as exc:  # not ours: a bug; show it briefly, then the full traceback
            surface.error(exc)
            raise
        surface.show(value)
        return value

    def _in_background(self, handle: Run | Batch[Any], surface: _Surface, out: str | None, label: str) -> None:
        """Follow a ``--no-wait`` run: its states and outcome go to this cell's display handle."""
        run = _Background(handle, label)
        surface.state(handle.state)  # drawn here, on the cell's thread: the line is this cell's from the start

        def draw(state: RunState | BatchState) -> None:
            if not state.done:  # the end is drawn once, by finish
                surface.state(state)

        def finish(_: object) -> None:
            try:
                value = handle.result()
            except SeedreamError as exc:
                run.outcome = f"{label}: {error_text(exc)}"
                if isinstance(handle, Run) and handle.state.phase == "canceled":
                    surface.state(handle.state)
                else:
                    surface.error(exc)
            else:
                self._store(value, out)
                run.outcome = f"{label}: {value.caption() if isinstance(value, Result) else repr(value)}"
                surface.show(value)
            finally:
                run.painted.set()

        handle.subscribe(draw)
        handle.add_done_callback(finish)
        self._background.append(run)

    # -- %%seedream --------------------------------------------------------------------------------

    @cell_magic("seedream")
    def seedream(self, line: str, cell: str) -> None:
        args = parse(CELL_PARSER, line, "%%seedream")
        check_identifier(args.out, "-o/--out")
        if args.timeout is not None and not args.timeout > 0:  # not "<= 0": NaN must fail too
            raise UsageError(f"%%seedream: --timeout must be a positive number of seconds, got {args.timeout}")
        rich = self._rich()
        plan = self._plan(args, cell, rich)
        self._note(plan.notes, rich)
        if args.dry_run:
            self._dry_run(plan, args, rich)
            return None
        surface = _Surface(rich, quiet=args.no_wait)
        client = plan.client
        try:
            with caveat_notes(client.schema):  # said above already
                handle: Run | Batch[Any] = (
                    client.start_compare(plan.prompt, timeout=args.timeout, **{**plan.fields, **plan.axes}) if plan.axes
                    else client.start(plan.inputs[0], timeout=args.timeout))
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug, client.schema)
        if args.no_wait:
            names = " and ".join(f"`{n}`" for n in (args.out, LAST_RESULT) if n)
            if not rich:
                print(f"seedream: running in the background; when it is done the result will be in {names} "
                      "(%seedream wait waits for it)", flush=True)
            self._in_background(handle, surface, args.out, shorten(plan.prompt))
            return None
        self._store(self._wait(handle, surface, args.debug, client.schema), args.out)
        return None  # not the result: it is on screen already and would show twice as Out[]

    def _prompt(self, cell: str, fill: bool) -> str:
        prompt = cell.strip()
        if not fill:
            return prompt

        class Lookup(dict[str, Any]):
            def __missing__(self, name: str) -> Any:
                raise UsageError(f"%%seedream --format: {{{name}}} names no variable of the notebook; define it, "
                                 "or double the braces ({{ }}) for literal ones")

        try:
            return prompt.format_map(Lookup(self.user_ns))
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
            if value[:12].lower().startswith(("http://", "https://", "data:")):
                sources.append(value)
                labels.append(repr(value if len(value) < 80 else value[:60] + "…"))
            elif value.isidentifier() and value in self.user_ns:
                found = self.user_ns[value]
                sources.extend(found if isinstance(found, (list, tuple)) else [found])
                labels.append(value)  # the notebook's own name for it
            elif value.isidentifier() and not os.path.exists(value):
                raise UsageError(f"%%seedream --image {value}: no variable and no file of that name")
            else:
                sources.append(value)
                labels.append(repr(value))
        return sources, labels

    def _plan(self, args: Any, cell: str, rich: bool) -> _Plan:
        prompt = self._prompt(cell, args.format)
        fields = field_values(args)
        sources, labels = self._images(fields.pop("image_input", None) or [])
        surface = _Surface(rich)
        try:
            client = self.client(args.base_url, args.model)
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug)
        schema = client.schema
        try:
            axes = parse_axes(args.compare or [], fields, schema)
        except OptionError as exc:
            raise UsageError(f"%%seedream {exc}") from None
        fields, notes = imply_sequential(fields, axes, schema)
        combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
        try:
            if sources:  # made into URIs once, not again for every run of a comparison
                fields["image_input"] = [client.image_uri(source) for source in sources]
            with caveat_notes(schema) as caveats:  # every cell's problems at once, nothing sent
                checked = client.item_inputs([{"prompt": prompt, **fields, **combo} for combo in combos])
            problems: list[InvalidField] = []
            for item in checked:
                if isinstance(item, ValidationError):
                    problems.extend(p for p in item.invalid_fields if p not in problems)
                elif isinstance(item, SeedreamError):
                    raise item
            if problems:
                raise ValidationError(problems)
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug, schema)
        inputs = cast("list[SeedreamInput]", checked)
        return _Plan(client, prompt, fields, axes, combos if axes else [], inputs, labels, notes + caveats)

    # -- --dry-run ---------------------------------------------------------------------------------

    def _dry_run(self, plan: _Plan, args: Any, rich: bool) -> None:
        settings = plan.client.settings
        bodies = [snippets.create_body(settings, inp.to_payload()) for inp in plan.inputs]
        shown = [_shorten_uris(body) for body in bodies]
        if settings.token_source == "demo":
            auth = "Bearer demo-token (the local demo backend accepts any token)"
        else:
            auth = f"Bearer {mask(settings.token)} (masked; from {settings.token_source})"
        labels = [", ".join(f"{k}={v}" for k, v in combo.items()) for combo in plan.combos] or [""]
        sections = [("request (nothing was sent)", f"POST {snippets.create_url(settings)}\nAuthorization: {auth}\n"
                                                   f"Content-Type: application/json\nPrefer: wait={DRY_RUN_WAIT}")]
        sections += [(f"payload ({label})" if label else "payload", json.dumps(body, indent=2, ensure_ascii=False))
                     for label, body in zip(labels, shown, strict=True)]
        sections.append(("curl", "\n\n".join(snippets.curl_command(settings, body, wait=DRY_RUN_WAIT)
                                              for body in shown)))
        sections.append(("Python (httpx)", snippets.httpx_code(settings, shown, wait=DRY_RUN_WAIT)))
        sections.append(("Python (seedream_widgets)", self._library_call(plan, args)))
        if shown != bodies:
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
        options = []
        base_url = args.base_url or os.environ.get(ENV_BASE_URL)
        if base_url:
            options.append(f"base_url={base_url!r}")
        if plan.client.settings.model != DEFAULT_MODEL:
            options.append(f"model={plan.client.settings.model!r}")
        call = [repr(plan.prompt)]
        for name, value in plan.fields.items():
            call.append(f"image_input=[{', '.join(plan.image_labels)}]" if name == "image_input"
                        else f"{name}={value!r}")
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
        args = parse(LINE_PARSER, line, "%seedream")
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
            self._stop(exc, _Surface(rich), False)
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
            client = self.client()
        except SeedreamError as exc:
            self._stop(exc, _Surface(rich), False)
        records = client.history(count)
        if not records:
            print(f"no stored runs in {client.settings.output_dir}", flush=True)
            return
        text = "\n".join(f"{r.id}  {r.created_at[:19]}  {len(r.paths)} image{'s' if len(r.paths) != 1 else ''}  "
                         f"{shorten(r.prompt, 60)}" for r in records)
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
        surface = _Surface(rich)
        try:
            client = self.client()
            stored = sorted({record.id for record in client.gallery.find_prefix(args.id)})
            if len(stored) > 1 and args.id not in stored:
                raise UsageError(f"%seedream open {args.id}: {len(stored)} stored runs start with it "
                                 f"({', '.join(stored[:5])}); give more of the id")
            run = client.resume_run(stored[0] if len(stored) == 1 else args.id, timeout=args.timeout)
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug)
        self._store(self._wait(run, surface, args.debug, client.schema), args.out)

    def _wait_background(self, timeout: float | None) -> None:
        runs = list(self._background)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for run in runs:
                with contextlib.suppress(SeedreamError):  # a failed run (drawn by itself), or WaitTimeout
                    run.handle.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
                if run.handle.done():
                    run.painted.wait(PAINT_GRACE)  # its outcome is drawn and stored on the notifier thread
        except KeyboardInterrupt:
            for run in runs:  # the interrupted wait canceled its own run; cancel the others too
                run.handle.cancel(wait=False)
            for run in runs:
                run.handle.cancel()
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


# ``%%seedream?`` and ``%seedream?`` show the whole reference.
SeedreamMagics.seedream.__doc__ = CELL_PARSER.format_help()
SeedreamMagics.seedream_line.__doc__ = LINE_PARSER.format_help()


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
    """``%unload_ext seedream_widgets``: removes the magics, cancels their background runs and closes their clients."""
    manager = ipython.magics_manager
    magics = manager.registry.pop("SeedreamMagics", None)
    for kind in ("line", "cell"):
        manager.magics[kind].pop("seedream", None)
    if isinstance(magics, SeedreamMagics):
        magics.close()
        configurables = cast("list[Any]", ipython.configurables)
        if magics in configurables:
            configurables.remove(magics)
