"""The ``seedream`` command: one argparse subcommand per action, rendering the engine's runs on a terminal.

>>> main(["generate", "a red fox in the snow", "--size", "1K", "-o", "out"])  # doctest: +SKIP
DEMO · succeeded · 0.6 s · 1 image · jgphg58vscwhgj1j3nw69jk2t9 · Generated image 1 of 1
/home/me/out/2026-11-24/jgphg58vscwhgj1j3nw69jk2t9/1.jpg

Like every front door it is thin: options, and messages in option words, come from
`seedream_widgets.options` (``generate`` and ``batch`` take the fields of the model ``--model``
names, read before the real parse); a generation is a `Run` (a batch a `Batch`) started through
the client and waited for on the main thread; stored runs are read and changed through `Gallery`.
It starts no thread and writes no file of its own. The modules: `parsing` (words to a namespace,
exit codes), `terminal` (rich on a terminal, plain elsewhere), `runs` (generate, batch), `compare`, `stored`
(history, show, info, export, star, delete, trash, verify, reindex, cost), `service` (models,
config, demo-server).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from .._version import __version__
from ..config import DEFAULT_MODEL
from ..models import ModelSchema, builtin_schema
from .compare import add_compare
from .parsing import (
    ENVIRONMENT_HELP,
    EXIT_FAILED,
    EXIT_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_USAGE,
    Parser,
    Stopped,
    Subparsers,
    field_schema,
    formatter,
    with_shorthand,
)
from .runs import add_batch, add_generate, signals
from .service import add_config, add_demo_server, add_models
from .stored import EXIT_PROBLEMS, add_checking, add_history, add_keeping, add_show
from .terminal import Terminal, ask, exit_status, report

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_SERVICE",
           "EXIT_USAGE", "SUBCOMMANDS", "build_parser", "exit_status", "main"]

SUBCOMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    add_history, add_show, add_keeping, add_checking, add_models, add_config, add_demo_server)
"""The registration functions of the commands that do not depend on a model (``generate``, ``batch`` and
``compare``, which take the model's fields, come first), in the order ``--help`` lists them."""
COMMANDS = ("generate", "batch", "compare", "history", "show", "star", "unstar", "delete", "trash", "export", "reindex",
            "verify", "info", "cost", "models", "config", "demo-server")
"""Every command's name (a test checks it against the parser)."""


def build_parser(schema: ModelSchema | None = None) -> Parser:
    """The whole parser; ``generate`` and ``batch`` take ``schema``'s fields (default: the default model's)."""
    schema = schema or builtin_schema(DEFAULT_MODEL)
    assert schema is not None
    parser = Parser(
        prog="seedream",
        formatter_class=formatter,
        description="Seedream (ByteDance's image models 4, 4.5 and 5-lite, via Replicate's predictions API) from a\n"
                    "terminal: generate and edit images, run batches, look at, search and keep what you made.\n"
                    "With no token configured it runs against a local demo backend (placeholder images, nothing\n"
                    "billed).",
        epilog=f"""\
examples:
  seedream generate "a red fox in the snow" --size 1K
  seedream generate "make it night" --image fox.jpg -o out/
  seedream generate "a fox" --model bytedance/seedream-5-lite --size 3K --dry-run
  seedream batch prompts.jsonl --concurrency 4 --max-cost 2
  seedream compare "a {{animal}} in the snow" --vary animal=fox,owl --vary size=1K,2K
  seedream history --search fox --starred
  seedream show ID
  seedream info image.png
  seedream models
  seedream demo-server --port 8765

`seedream COMMAND --help` explains each command and its options.

{EXIT_HELP}

{ENVIRONMENT_HELP}""",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers: Subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")  # type: ignore[assignment]
    add_generate(subparsers, schema)
    add_batch(subparsers, schema)
    add_compare(subparsers, schema)
    for add in SUBCOMMANDS:
        add(subparsers)
    parser.commands = dict(subparsers.choices)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seedream`` command; returns the exit status."""
    words = list(argv) if argv is not None else sys.argv[1:]
    debug, json_mode = "--debug" in words, "--json" in words
    try:
        words = with_shorthand(words, COMMANDS, ask)
        schema = field_schema(words)  # generate/batch/compare: the fields of the model the command line names
    except Exception as exc:
        prog = f"seedream {words[0]}" if words and words[0] in COMMANDS else "seedream"
        return report(Terminal(), prog, exc, debug=debug, json_mode=json_mode)
    parser = build_parser(schema)
    args = parser.parse_args(words)
    if schema is not None and args.model and args.model != schema.label and args.model != schema.model:
        # --model was spelt in a way the pre-parse missed (an abbreviation): parse with that model's fields.
        try:
            schema = field_schema([words[0], "--model", args.model, *words[1:]])
        except Exception as exc:
            return report(Terminal(), f"seedream {args.command}", exc, debug=debug, json_mode=json_mode)
        args = build_parser(schema).parse_args(words)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    prog = f"seedream {args.command}"
    debug = bool(getattr(args, "debug", False))
    args.terminal = terminal = Terminal(quiet=bool(getattr(args, "quiet", False)))
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
        logging.getLogger("seedream_widgets").setLevel(logging.DEBUG)
    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    try:
        # SIGTERM and SIGHUP (`kill`, a closed terminal) interrupt like Ctrl-C, so the prediction is canceled too.
        with signals(("SIGTERM", "SIGHUP"), interrupt, only_default=True):
            return handler(args)
    except Stopped as stop:
        terminal.err.print(f"{prog}: {stop}", style="yellow", soft_wrap=True)
        return 128 + (received[-1] if received else signal.SIGINT)
    except KeyboardInterrupt:
        terminal.err.print(f"{prog}: interrupted", style="yellow")
        return 128 + (received[-1] if received else signal.SIGINT)
    except BrokenPipeError:
        # stdout went away (`| head`): stop quietly, and keep Python from complaining at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:
        return report(terminal, prog, exc, debug=debug, json_mode=bool(getattr(args, "json", False)),
                      schema=getattr(args, "schema", None))
