"""``%%seedream`` and ``%seedream``: a cell's text becomes the prompt, its options the model's fields.

>>> %load_ext seedream_widgets                                     # doctest: +SKIP
>>> %%seedream --size 2K --aspect-ratio 4:3 -n 2 -o fox            # doctest: +SKIP
... a red fox in the snow, watercolour

A thin front door: the options are `seedream_widgets.options`' (the command line's words) for
the schema of the model the line names (``--model``, read first), the engine validates and runs
them (`Seedream.start`, `start_compare`, `resume_run`, `comparison`), and
`seedream_widgets.display` draws each `RunState`/`BatchState`, then the `Result`/`Comparison`.
It talks no HTTP, starts no threads and writes no files. How it behaves, and why:

- **Waiting** (default, so "Run All" and nbclient see the images): one display handle, updated
  by `Run.wait(on_state=...)` on the cell's own thread, then replaced by the result.
- **Interrupts** (the stop button): `Run.wait` cancels on the service and waits for that cleanup;
  the line says "canceled" and the KeyboardInterrupt is re-raised as one line, so Run All stops.
- **Errors** replace the status line with a short message in option words (``--size``, ``%seedream
  open ID`` for a run that can still be saved), never the engine's Python spelling; the exception
  renders as one line (``_render_traceback_``, as ipyparallel does), so the cell fails and Run
  All, nbclient and papermill stop. ``--debug`` keeps the traceback.
- **``--no-wait``** returns at once; `Run.subscribe` calls back on the engine's notifier thread in
  this cell's context, so the updates land in this cell (never bare print/display from a thread).
- The cell returns None (the result is on screen; ``Out[]`` would show it twice); it is stored in
  ``_seedream`` and, with ``-o VAR``, in ``VAR``.
- In a terminal IPython status lines are printed and results listed as file paths (tqdm.notebook's
  fallback); ``%config SeedreamMagics.display_mode`` forces ``html`` or ``text``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import CaselessStrEnum

from .. import display as render
from .. import snippets
from ..batch import Batch, BatchState
from ..config import DEFAULT_MODEL, ENV_BASE_URL, mask, resolve_settings, scrub
from ..errors import CostLimitExceeded, SeedreamError, ValidationError
from ..models import KNOWN_MODELS, Estimate, ModelSchema
from ..options import OptionError, caveat_notes, field_values, imply_sequential, problem_lines, speak_options
from ..result import Comparison, Result
from ..run import Run, RunState
from . import listings
from .args import (
    CELL_PARSER,
    LINE_PARSER,
    cell_parser,
    check_identifier,
    compare_items,
    merged_schema,
    model_name,
    parse,
    split_line,
    typed,
)

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from ..client import Seedream
    from ..schema import SeedreamInput

__all__ = ["SeedreamMagics", "load_ipython_extension", "unload_ipython_extension"]

LAST_RESULT = "_seedream"
"""The user-namespace name that always holds the last finished result."""
TICK_SECONDS = 1.0
"""How often the status line's elapsed seconds are refreshed while nothing else happens."""
DRY_RUN_WAIT = 60
"""The ``Prefer: wait`` the dry run's samples use: one request answers with the finished prediction."""
PAINT_GRACE = 5.0
"""How long ``%seedream wait`` gives a finished background run to draw its outcome."""

_PYTHON_WORDS = [
    (re.compile(r"\bresume\('?([\w.-]+)'?\)"), r"%seedream open \1"),
    (re.compile(r" \(it is listed by in_flight\(\)\)"), ""),
    (re.compile(r"\bmax_cost=?"), "--max-cost"),
    (re.compile(r"\(timeout=\)"), "(--timeout)"),
    (re.compile(r"\bgive (\w+)=\[\.\.\.\]"), r"give --compare \1=A,B"),
    (re.compile(r" \(allowed: a list of values, or one value\)"), ""),
]
"""The engine's Python spellings in its messages, and how a magic user says the same."""


def speak(text: str, schema: ModelSchema | None = None, *, fields: bool = True) -> str:
    """An engine message in the magic's words: options for fields and settings, ``%seedream open ID`` for resume."""
    for pattern, words in _PYTHON_WORDS:
        text = pattern.sub(words, text)
    return speak_options(text, schema) if fields else text


def _show(text: str, html: str, rich: bool) -> None:
    """One finished output: both forms in a notebook (text/plain is what nbconvert and nbclient read), else printed."""
    if rich:
        display({"text/plain": text, "text/html": html}, raw=True)  # type: ignore[no-untyped-call]
    else:
        print(text, flush=True)


def _note(text: str, rich: bool) -> None:
    _show(f"note: {text}", render.note_html(text), rich)


class _Surface:
    """Where one cell draws: a display handle in a notebook, printed lines in a terminal.

    In text mode a background run (``--no-wait``) stays silent: printing from another thread
    would garble the terminal; ``%seedream wait`` reports its outcome instead.
    """

    def __init__(self, rich: bool, *, quiet: bool = False, schema: ModelSchema | None = None) -> None:
        self.rich, self.quiet, self.schema = rich, quiet, schema
        self.handle: Any = None
        self._last: object = None
        self._drawn = 0.0

    def _put(self, value: Any, text: str = "", html: str = "") -> None:
        raw = bool(html)  # a bundle of both forms, or a Result's own rich display
        bundle = {"text/plain": text, "text/html": html} if raw else value
        if self.handle is None:
            self.handle = display(bundle, raw=raw, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update(bundle, raw=raw)

    def state(self, state: RunState | BatchState) -> None:
        """Draw a run's (or a batch's) state: in place in a notebook, a new line in a terminal when it changed."""
        if isinstance(state, RunState) and state.phase == "queued" and not state.note:
            state = replace(state, phase="submitting")  # a lone run waits in no queue: it is being sent
        text = render.status_text(state) if isinstance(state, RunState) else render.batch_text(state)
        if not self.rich:
            key = re.sub(r" · \d+\.\d s", "", text, count=1)  # a new line when something but the clock changed
            if not self.quiet and key != self._last:
                self._last = key
                print(text, flush=True)
        # Once thumbnails are on the line, a redraw re-sends them all: refresh the clock less often then.
        elif not (state is self._last and isinstance(state, RunState) and state.images
                  and time.monotonic() - self._drawn < 5 * TICK_SECONDS):
            self._last, self._drawn = state, time.monotonic()
            html = render.status_html(state) if isinstance(state, RunState) else render.batch_html(state)
            self._put(None, text, html)

    def show(self, value: Any) -> None:
        """Replace the status line with a finished Result (its rich display) or Comparison (its grid, with the
        cells' notes in option words and how to open it again), or print its text."""
        text = render.result_text(value) if isinstance(value, Result) else repr(value)
        html = ""
        if isinstance(value, Comparison):
            kept = f"kept as {value.group}: %seedream open {value.group} shows this grid again" if value.group else ""
            shown = replace(value, notes=[speak(n, self.schema) for n in value.notes])
            text += f"\nnote: {kept}" if kept else ""
            html = render.comparison_html(shown) + (render.note_html(kept) if kept else "")
        if self.rich:
            self._put(value, text if html else "", html)
        elif not self.quiet:
            print(text, flush=True)

    def error(self, exc: BaseException) -> None:
        """Say the error in option words (invalid fields named as the options that set them), in every form."""
        if isinstance(exc, ValidationError):
            lines = [str(exc).splitlines()[0], *(f"  - {p}" for p in problem_lines(exc, self.schema))]
            exc.args = ("\n".join(speak(line, fields=False) for line in lines),)
        elif isinstance(exc, SeedreamError) and exc.args and isinstance(exc.args[0], str):
            exc.args = (speak(exc.args[0], fields=False), *exc.args[1:])
        if self.rich:
            self._put(None, render.error_text(exc), render.error_html(exc))


def _interrupted(message: str) -> KeyboardInterrupt:
    """A KeyboardInterrupt shown as one line rather than a traceback through the engine."""
    exc = KeyboardInterrupt(message)
    exc._render_traceback_ = lambda: [f"KeyboardInterrupt: {message}"]  # type: ignore[attr-defined]
    return exc


def _resumable(exc: BaseException) -> str:
    """The ``%seedream open ID`` that finishes a run the error left on the service ("" when there is none)."""
    found = re.search(r"%seedream open [\w.-]+", str(exc))
    return found.group(0) if found else ""


@dataclass
class _Background:
    """A ``--no-wait`` run of this session; ``painted`` is set once its outcome is drawn and stored."""

    handle: Run | Batch[Any]
    label: str
    painted: threading.Event = field(default_factory=threading.Event)
    outcome: str = "running"


@dataclass
class _Plan:
    """One ``%%seedream`` cell, parsed and validated: ``inputs`` has one input per run (per --compare cell)."""

    client: Seedream
    schema: ModelSchema  # the options' table: the model's fields (and those of a model axis's other models)
    prompt: str  # with --compare, a template whose {placeholders} are axes
    fields: dict[str, Any]  # ``image_input`` already as URIs
    axes: dict[str, list[Any]]
    combos: list[dict[str, Any]]
    inputs: list[SeedreamInput]
    image_labels: list[str]
    notes: list[str]
    estimate: Estimate


@magics_class
class SeedreamMagics(Magics):
    """``%%seedream`` (generate) and ``%seedream config|history|open|wait|models|help|cost|info``."""

    display_mode = CaselessStrEnum(
        ("auto", "html", "text"), default_value="auto",
        help="How %%seedream draws: 'html' (status line and images via display handles), 'text' (printed lines "
             "and file paths), or 'auto': html inside a Jupyter kernel, text elsewhere.",
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self._clients: dict[object, Seedream] = {}
        self._background: list[_Background] = []
        self._said: set[tuple[str, str]] = set()  # the catalog's remarks shown, by service (each once)

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return]

    def _rich(self) -> bool:
        mode = str(self.display_mode).lower()
        return render.in_notebook() if mode == "auto" else mode == "html"

    def client(self, base_url: str | None = None, model: str | None = None, *, metadata: str | None = None,
               max_cost: float | None = None) -> Seedream:
        """The client for these settings (and the current environment), made once and reused across cells."""
        from ..client import Seedream

        settings = resolve_settings(None, base_url, model, None, max_cost, metadata)
        key = replace(settings, output_dir=settings.output_dir.absolute())
        if key not in self._clients:
            self._clients[key] = Seedream(base_url=base_url, model=model, max_cost=max_cost, embed_metadata=metadata)
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
            with contextlib.suppress(Exception):  # a pool that fails to close must not fail the unload
                client.close()

    def _store(self, value: Any, out: str | None) -> None:
        self.user_ns[LAST_RESULT] = value
        if out:
            self.user_ns[out] = value

    def _stop(self, exc: SeedreamError, surface: _Surface, debug: bool) -> NoReturn:
        """Show an engine error briefly and fail the cell without a traceback (unless --debug)."""
        surface.error(exc)
        if not debug:
            finish = _resumable(exc)
            lines = ([f"{type(exc).__name__}: see the message above" + (
                f"; {finish} saves its images once it can" if finish else
                " (--debug shows the traceback)")] if surface.rich else render.error_text(exc).splitlines())
            exc._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
        raise exc

    def _remarks(self, client: Seedream, rich: bool, schema: ModelSchema | None = None) -> None:
        """The schema catalog's remarks (a base without /models, a failed read), each once a session."""
        for text in client.core.catalog.notes:
            if (client.settings.base_url, text) not in self._said:
                self._said.add((client.settings.base_url, text))
                _note(speak(text, schema), rich)

    def _wait(self, handle: Run | Batch[Any], surface: _Surface, debug: bool) -> Any:
        """Wait on this (the cell's) thread, drawing every state; then show the outcome. An interrupt cancels."""
        try:
            value = handle.wait(on_state=surface.state, every=TICK_SECONDS)
        except KeyboardInterrupt:
            if isinstance(handle, Batch):  # its canceled items count as failed: say why
                surface.state(replace(handle.state, label=f"{handle.state.label} canceled"))
            raise _interrupted("canceled on the service (the stop button also stops Run All)") from None
        except SeedreamError as exc:
            self._stop(exc, surface, debug)
        except Exception as exc:  # not ours: a bug; show it briefly, then the full traceback
            surface.error(exc)
            raise
        surface.show(value)
        return value

    def _in_background(self, handle: Run | Batch[Any], surface: _Surface, out: str | None, label: str) -> None:
        """Follow a ``--no-wait`` run: its states and outcome go to this cell's display handle."""
        run = _Background(handle, label)
        surface.state(handle.state)  # drawn here, on the cell's thread: the line is this cell's from the start

        def finish(_: object) -> None:
            try:
                value = handle.result()
            except SeedreamError as exc:
                if isinstance(handle, Run) and handle.state.phase == "canceled":
                    surface.state(handle.state)
                else:
                    surface.error(exc)
                run.outcome = f"{label}: {render.error_text(exc)}"
            else:
                self._store(value, out)
                run.outcome = f"{label}: {value.caption() if isinstance(value, Result) else repr(value)}"
                surface.show(value)
            finally:
                run.painted.set()

        handle.subscribe(lambda state: None if state.done else surface.state(state))  # the end is drawn by finish
        handle.add_done_callback(finish)
        self._background.append(run)

    # -- %%seedream --------------------------------------------------------------------------------

    @typed(cell_magic("seedream"))
    def seedream(self, line: str, cell: str) -> None:
        argv = split_line(line, "%%seedream")
        rich = self._rich()
        args, schemas = self._parse_cell(argv, rich)
        check_identifier(args.out, "-o/--out")
        if args.timeout is not None and not args.timeout > 0:  # not "<= 0": NaN must fail too
            raise UsageError(f"%%seedream: --timeout must be a positive number of seconds, got {args.timeout}")
        plan = self._plan(args, merged_schema(schemas), cell, rich)
        for note in plan.notes:
            _note(note, rich)
        if args.dry_run:
            return self._dry_run(plan, args, rich)
        surface, client = _Surface(rich, quiet=args.no_wait, schema=plan.schema), plan.client
        try:
            client.core.check_cost(plan.estimate)  # before the grid is kept as a group: nothing sent, nothing written
            with caveat_notes(client.schema):  # said above already
                handle: Run | Batch[Any] = (
                    client.start_compare(plan.prompt, timeout=args.timeout, **{**plan.fields, **plan.axes}) if plan.axes
                    else client.start(plan.inputs[0], timeout=args.timeout))
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug)
        if not args.no_wait:
            self._store(self._wait(handle, surface, args.debug), args.out)
            return None  # not the result: it is on screen already and would show twice as Out[]
        if not rich:
            names = " and ".join(f"`{n}`" for n in (args.out, LAST_RESULT) if n)
            print(f"seedream: running in the background; when it is done the result will be in {names} "
                  "(%seedream wait waits for it)", flush=True)
        self._in_background(handle, surface, args.out, render.shorten(plan.prompt))
        return None

    def _parse_cell(self, argv: list[str], rich: bool) -> tuple[Any, tuple[ModelSchema, ...]]:
        """The line read with the options of the model(s) it names, and their schemas.

        A first reading (the default model's options, others left aside) finds ``--model``,
        ``--base-url`` and a ``--compare model=...`` axis; their schemas (read from the service for a
        model the package does not know) make the parser of the next reading.
        """
        args, parser = parse(CELL_PARSER, argv, "%%seedream", known=True), None
        for _ in range(3):  # another reading only when the last named other models (an abbreviated --model)
            schemas = self._schemas(args, rich)
            if cell_parser(schemas) is parser:
                break
            parser = cell_parser(schemas)
            args = parse(parser, argv, "%%seedream")
        return args, schemas

    def _schemas(self, args: Any, rich: bool) -> tuple[ModelSchema, ...]:
        """The schema of the line's model, then those of a ``--compare model=`` axis's models."""
        client = None
        try:
            client = self.client(args.base_url, model_name(args.model))
            axis = [item for item in args.compare or [] if item.partition("=")[0].strip() == "model"]
            models = compare_items(axis, {}, client.schema, ["model"]).get("model", []) if axis else []
            return tuple(dict.fromkeys([client.schema, *(client.schema_for(m) for m in models)]))
        except OptionError as exc:
            raise UsageError(f"%%seedream {exc}") from None
        except SeedreamError as exc:
            self._stop(exc, _Surface(rich), args.debug)
        finally:
            if client is not None:
                self._remarks(client, rich)

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

    def _plan(self, args: Any, schema: ModelSchema, cell: str, rich: bool) -> _Plan:
        from ..grid import template_placeholders

        prompt = self._prompt(cell, args.format)
        surface = _Surface(rich, schema=schema)
        try:
            client = self.client(args.base_url, model_name(args.model), metadata=args.metadata, max_cost=args.max_cost)
            placeholders = template_placeholders(prompt) if args.compare else []
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug)
        fields = field_values(args, schema)
        sources, labels = self._images(fields.pop("image_input", None) or [])
        try:
            axes = compare_items(args.compare or [], fields, schema, ["model", *placeholders])
        except OptionError as exc:
            raise UsageError(f"%%seedream {exc}") from None
        fields, notes = imply_sequential(fields, axes, schema)
        combos: list[dict[str, Any]] = []
        try:
            if sources:  # made into URIs once, not again for every run of a comparison
                fields["image_input"] = [client.image_uri(source) for source in sources]
            with caveat_notes(schema) as caveats:  # every cell's problems at once, nothing sent
                if axes:
                    cells = client.compare_cells(prompt, **fields, **axes)
                    inputs, combos = cells.inputs, cells.combos
                    notes += [speak(n, schema) for n in dict.fromkeys(cells.notes) if n]
                else:
                    inputs = [client.build_input(prompt, **fields)]
        except SeedreamError as exc:
            self._stop(exc, surface, args.debug)
        self._remarks(client, rich, schema)
        return _Plan(client, schema, prompt, fields, axes, combos, inputs, labels, notes + caveats,
                     client.core.estimate_inputs(inputs))

    def _dry_run(self, plan: _Plan, args: Any, rich: bool) -> None:
        settings = plan.client.settings
        per_input = [replace(settings, model=inp.schema.label) for inp in plan.inputs]  # a model axis: its own URL
        bodies = [snippets.create_body(s, inp.to_payload()) for s, inp in zip(per_input, plan.inputs, strict=True)]
        shown = [_shorten_uris(body) for body in bodies]
        auth = ("Bearer demo-token (the local demo backend accepts any token)" if settings.token_source == "demo"
                else f"Bearer {mask(settings.token)} (masked; from {settings.token_source})")
        labels = [", ".join(f"{k}={v}" for k, v in combo.items()) for combo in plan.combos] or [""]
        urls = "\n".join(f"POST {url}" for url in dict.fromkeys(snippets.create_url(s) for s in per_input))
        estimate = plan.estimate.describe()
        try:
            plan.client.core.check_cost(plan.estimate)
        except CostLimitExceeded:
            estimate += f"\nover --max-cost ${settings.max_cost:g}: it would be refused, nothing sent"
        sections = [("request (nothing was sent)", f"{urls}\nAuthorization: {auth}\n"
                                                   f"Content-Type: application/json\nPrefer: wait={DRY_RUN_WAIT}"),
                    ("estimate", estimate)]
        sections += [(f"payload ({label})" if label else "payload", json.dumps(body, indent=2, ensure_ascii=False))
                     for label, body in zip(labels, shown, strict=True)]
        sections += [("curl", "\n\n".join(snippets.curl_command(s, body, wait=DRY_RUN_WAIT)
                                          for s, body in zip(per_input, shown, strict=True))),
                     ("Python (httpx)", "\n\n".join(
                         snippets.httpx_code(s, [b for t, b in zip(per_input, shown, strict=True) if t == s],
                                             wait=DRY_RUN_WAIT) for s in dict.fromkeys(per_input))),
                     ("Python (seedream_widgets)", self._library_call(plan, args))]
        if shown != bodies:
            sections.append(("note", "data: URIs are shortened here for display; the request carries them whole"))
        if settings.token_source != "demo":
            sections = [(title, scrub(text, settings.token)) for title, text in sections]
        if args.out:
            self.user_ns[args.out] = bodies if plan.axes else bodies[0]
        blocks = "".join(f'<div style="margin-top:6px;font-weight:600">{render.esc(title)}</div>'
                         f'<pre style="{render.MONO}margin:2px 0">{render.esc(body)}</pre>' for title, body in sections)
        _show("\n\n".join(f"# {title}\n{body}" for title, body in sections),
              f'<div class="seedream-dry-run" style="{render.FONT}color:{render.COLORS["text"]}">'
              f'{render.demo_badge() if settings.demo else ""}<b>dry run</b>{blocks}</div>', rich)

    @staticmethod
    def _library_call(plan: _Plan, args: Any) -> str:
        options = []
        base_url = args.base_url or os.environ.get(ENV_BASE_URL)
        if base_url:
            options.append(f"base_url={base_url!r}")
        if plan.client.settings.model != DEFAULT_MODEL:
            options.append(f"model={plan.client.settings.model!r}")
        if args.max_cost is not None:
            options.append(f"max_cost={args.max_cost!r}")
        if args.metadata is not None:
            options.append(f"embed_metadata={ {'full': True, 'off': False}.get(args.metadata, args.metadata)!r}")
        call = [repr(plan.prompt)] + [f"image_input=[{', '.join(plan.image_labels)}]" if name == "image_input"
                                      else f"{name}={value!r}" for name, value in {**plan.fields, **plan.axes}.items()]
        return (f"from seedream_widgets import Seedream\n\nclient = Seedream({', '.join(options)})\n"
                f"result = client.{'compare' if plan.axes else 'generate'}({', '.join(call)})")

    # -- %seedream config | history | open | wait | models | help | cost | info -------------------------

    @typed(line_magic("seedream"))
    def seedream_line(self, line: str) -> None:
        if not line.strip():
            print(LINE_PARSER.format_help(), flush=True)
            return None
        args = parse(LINE_PARSER, split_line(line, "%seedream"), "%seedream")
        rich = self._rich()
        if args.command == "history" and args.count < 1:
            raise UsageError(f"%seedream history: N must be at least 1, got {args.count}")
        if args.command == "open":
            check_identifier(args.out, "-o/--out")
        if args.command == "wait":
            return self._wait_background(args.timeout)
        surface = _Surface(rich)
        model = model_name(getattr(args, "model", None)) if args.command in ("config", "help") else None
        try:
            client = self.client(getattr(args, "base_url", None), model)
            if args.command == "open":
                return self._stored(client, args, surface)
            if args.command in ("models", "help"):
                return self._models(client, args, rich)
        except SeedreamError as exc:
            self._stop(exc, surface, getattr(args, "debug", False))
        if args.command == "config":
            rows = {**client.settings.describe(), "display": "html" if rich else "text",
                    "background runs": str(sum(not bg.painted.is_set() for bg in self._background))}
            _show(*listings.config_listing(rows), rich)
        elif args.command == "cost" and (spent := client.gallery.costs()):
            _show(*listings.cost_listing(spent), rich)
        elif args.command == "cost":
            print(f"no stored runs in {client.settings.output_dir}", flush=True)
        elif args.command == "info":
            self._info(client, args.path, rich)
        else:
            self._history(client, args, rich)
        return None

    def _stored(self, client: Seedream, args: Any, surface: _Surface) -> None:
        """A stored run (finished first when it was interrupted), or a kept comparison as the same grid."""
        if args.id.startswith("cmp-"):
            kept = [g["id"] for g in client.gallery.groups(limit=10_000) if str(g.get("id", "")).startswith(args.id)]
            grid = client.comparison(kept[0] if len(kept) == 1 else args.id)
            surface.schema = client.schema
            surface.show(grid)
            return self._store(grid, args.out)
        stored = sorted({record.id for record in client.gallery.find_prefix(args.id)})
        if len(stored) > 1 and args.id not in stored:
            raise UsageError(f"%seedream open {args.id}: {len(stored)} stored runs start with it "
                             f"({', '.join(stored[:5])}); give more of the id")
        run = client.resume_run(stored[0] if len(stored) == 1 else args.id, timeout=args.timeout)
        return self._store(self._wait(run, surface, args.debug), args.out)

    def _models(self, client: Seedream, args: Any, rich: bool) -> None:
        """``models``: each model's options, sizes and price; ``help``: one model's ``%%seedream`` options."""
        if args.command == "help":
            print(cell_parser((client.schema,)).format_help(), flush=True)
            return self._remarks(client, rich)
        names = [model_name(n) or n for n in args.names] or list(dict.fromkeys([*KNOWN_MODELS, client.settings.model]))
        schemas = [client.load_schema(n, refresh=True) if args.refresh else client.schema_for(n) for n in names]
        self._remarks(client, rich)
        _show(*listings.models_listing(schemas), rich)

    def _history(self, client: Seedream, args: Any, rich: bool) -> None:
        if args.compares:
            kept = client.gallery.groups(limit=args.count)
            return _show(*listings.compares_listing(kept), rich) if kept else print(
                f"no kept comparisons in {client.settings.output_dir}", flush=True)
        records = client.gallery.search(args.search, model=model_name(args.model),
                                        starred=True if args.starred else None, limit=args.count)
        if records:
            return _show(*listings.history_listing(records), rich)
        filters = [f"matching {args.search!r}" if args.search else "", "starred" if args.starred else "",
                   f"of {model_name(args.model)}" if args.model else ""]
        said = " ".join(f for f in filters if f)
        print(f"no stored runs{' ' + said if said else ''} in {client.settings.output_dir}", flush=True)

    def _info(self, client: Seedream, source: str, rich: bool) -> None:
        """How an image was made, read back from the record stored in the file, and the line that makes it again."""
        from ..provenance import read_generation
        from ..schema import restore_input

        value = self.user_ns.get(source) if source.isidentifier() and not os.path.exists(source) else source
        path = Path(value.path if isinstance(value, Result) else str(value)).expanduser()
        if value is None or not path.is_file():
            raise UsageError(f"%seedream info {source}: no such file (give an image's path, or a variable holding a "
                             "Result or a path)")
        record = read_generation(path)
        if record is None:
            print(f"{path}: no generation record in this file (not made here, by AUTOMATIC1111 or by ComfyUI, or "
                  "stored with --no-metadata)", flush=True)
            return
        again, notes = "", []
        with contextlib.suppress(SeedreamError):  # a record that names no prompt, or a model the service lacks
            restored, left = restore_input(record, schema=client.schema_for(getattr(record, "model", "") or None))
            again = listings.magic_line(restored.schema.label, restored.to_payload(), restored.schema)
            notes = [speak(n, restored.schema) for n in left]
        schema = client.schema_for(record.model) if getattr(record, "model", "") in KNOWN_MODELS else None
        _show(*listings.record_listing(str(path), record, again, notes, schema), rich)

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
        if still or not runs:
            print(f"{still} run{'s' * (still != 1)} still running" if still else "no background runs", flush=True)


# ``%%seedream?`` and ``%seedream?`` show the whole reference (the default model's options).
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


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext seedream_widgets``: registers ``%%seedream`` and ``%seedream``."""
    ipython.register_magics(SeedreamMagics(ipython))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext seedream_widgets``: removes the magics, cancels their background runs, closes their clients."""
    manager = ipython.magics_manager
    magics = manager.registry.pop("SeedreamMagics", None)
    for kind in ("line", "cell"):
        manager.magics[kind].pop("seedream", None)
    if isinstance(magics, SeedreamMagics):
        magics.close()
        configurables = cast("list[Any]", ipython.configurables)
        if magics in configurables:
            configurables.remove(magics)
