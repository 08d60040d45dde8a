"""Words to a namespace: the parser (with "did you mean"), shared options, number and date types, and exit codes.

Nothing here talks to the service except `field_schema`, which asks a client for the schema of
the model a ``generate`` or ``batch`` command names (``--model``, read before the real parse),
so that command's options are that model's fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import itertools
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn, TypeAlias

from .. import options
from ..config import DEFAULT_MODEL, ENV_MODEL, full_model_name
from ..errors import ConfigurationError
from ..models import KNOWN_MODELS, ModelSchema, builtin_schema

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

EXIT_OK = 0
"""Everything asked for is done."""
EXIT_INTERNAL = 1
"""A bug (an unexpected exception; ``--debug`` shows its traceback), or ``verify``/``info`` found a problem."""
EXIT_USAGE = 2
"""A bad option, a bad batch file, input the model's schema rejects, or a price over ``--max-cost``."""
EXIT_SERVICE = 3
"""The service could not be used: refused (401, 402, 404, 429...), unreachable, misconfigured, or its
outputs could not be downloaded or written."""
EXIT_FAILED = 4
"""A prediction failed, was canceled elsewhere, or passed the ``--timeout``; in a batch, some item did not
succeed."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), after the running predictions were canceled on the service. SIGTERM and SIGHUP
cancel the same way and exit with 143 and 129."""

FIELD_COMMANDS = ("generate", "batch", "compare")
"""The commands whose options are the model's fields."""

ENVIRONMENT_HELP = """\
environment (the same as the Python API; options win over them):
  SEEDREAM_API_TOKEN or REPLICATE_API_TOKEN   API token (never accepted as an option: it would show in `ps`)
  SEEDREAM_BASE_URL    API root, e.g. https://api.replicate.com/v1 or https://api.quickrouter.ai/replicate/v1
  SEEDREAM_MODEL       owner/name[:version] (default bytedance/seedream-4)
  SEEDREAM_OUTPUT_DIR  where images and their JSON sidecars go (default ./seedream-outputs)
  SEEDREAM_MAX_COST    refuse what could cost more than this many US dollars (like --max-cost)
  SEEDREAM_EMBED_METADATA  0 or label: what each image file carries (like --metadata)
  NO_COLOR             no colour on a terminal (output to a pipe or file is always plain)
With no token and no base URL everything runs against a local demo backend: placeholder images,
nothing billed."""

EXIT_HELP = """\
exit status:
  0 ok · 2 bad option, batch file or input (the message names the field), or over --max-cost ·
  3 service error (token, model, network, download, writing the images) · 4 prediction failed,
  canceled or timed out (batch: some item did not succeed) · 130 Ctrl-C, after canceling the
  prediction on the service"""


class UsageProblem(Exception):
    """A usage problem a handler found (bad file, unknown id prefix): one message, exit status 2."""


class Stopped(Exception):
    """The run was interrupted and cleaned up; the message says what was canceled."""


class Parser(argparse.ArgumentParser):
    """argparse that suggests the closest command, choice or option when a word is not one."""

    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self.suggestion(message)}\n")

    def suggestion(self, message: str) -> str:
        """``; did you mean 'history'?`` for an invalid choice or an unrecognized option ("" when none is close)."""
        choice = re.search(r"invalid choice: '?([^' ]*)'? \(choose from (.*)\)", message)
        if choice:
            names = [name.strip(" '") for name in choice.group(2).split(",")]
            close = difflib.get_close_matches(choice.group(1), names, n=1, cutoff=0.6)
            return f"; did you mean {close[0]!r}?" if close else ""
        if not message.startswith("unrecognized arguments: "):
            return ""
        hints = []
        known = [name for name in self._option_string_actions if name.startswith("--")]
        for word in message.split(": ", 1)[1].split():
            option = word.split("=", 1)[0]
            if not option.startswith("-"):
                continue
            close = difflib.get_close_matches(option.replace("_", "-"), known, n=1, cutoff=0.75)
            elsewhere = [m for m in KNOWN_MODELS if _has_option(builtin_schema(m), option)]
            if close:
                hints.append(f"{option}: did you mean {close[0]}?")
            elif elsewhere:
                hints.append(f"{option} is a field of {' and '.join(elsewhere)}; add --model {elsewhere[0]}")
        return "".join(f"\n  {hint}" for hint in hints)

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        words = list(sys.argv[1:] if args is None else args)
        command = getattr(self, "commands", {}).get(words[0] if words else "")
        if command is not None:  # said first, before a value it left behind confuses a positional ('N': 'fox')
            unknown = [word for word in itertools.takewhile(lambda word: word != "--", words[1:])
                       if word.startswith("--") and not any(name.startswith(word.split("=", 1)[0])
                                                            for name in command._option_string_actions)]
            if unknown:
                command.error(f"unrecognized arguments: {' '.join(unknown)}")
        parsed, extras = self.parse_known_args(words, namespace)
        if extras:  # said by the subcommand's parser: its usage line and its options
            getattr(self, "commands", {}).get(getattr(parsed, "command", ""), self).error(
                f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def _has_option(schema: ModelSchema | None, option: str) -> bool:
    return schema is not None and (options.field_for(option, schema) is not None
                                   or any(option in options.option_names(spec) for spec in schema.fields))


formatter = functools.partial(argparse.RawDescriptionHelpFormatter, max_help_position=32)


def command(subparsers: Subparsers, name: str, run: Callable[[argparse.Namespace], int], summary: str,
            description: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand's parser, whose ``handler`` is ``run``."""
    parser = subparsers.add_parser(name, formatter_class=formatter, help=summary, description=description,
                                   epilog=epilog)
    parser.set_defaults(handler=run)
    return parser


def add_common(parser: argparse.ArgumentParser, what: str, *, quiet: bool = True, model: bool = True,
               service: bool = True) -> None:
    """``--json`` (``-q``), and the options of every subcommand that uses the service or the output folder."""
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout (never the token)")
    if quiet:
        group.add_argument("-q", "--quiet", action="store_true", help="no status lines on stderr; errors still show")
    group = parser.add_argument_group("service and storage (override the environment)")
    if service:
        group.add_argument("--base-url", metavar="URL",
                           help="API root, e.g. https://api.replicate.com/v1 (default: $SEEDREAM_BASE_URL; the "
                                "local demo backend when no token is set)")
    if model:
        group.add_argument("--model", metavar="OWNER/NAME",
                           help="model to run, e.g. bytedance/seedream-5-lite (default: $SEEDREAM_MODEL, else "
                                "bytedance/seedream-4); its fields are the options (see --model M --help)")
    group.add_argument("-o", "--output-dir", metavar="DIR",
                       help="folder for images and their JSON sidecars (default: $SEEDREAM_OUTPUT_DIR, else "
                            "./seedream-outputs)")
    group.add_argument("--debug", action="store_true", help="show tracebacks and the client's request log")


def add_spending(parser: argparse.ArgumentParser) -> None:
    """``--max-cost`` and ``--metadata``/``--no-metadata`` (generate and batch)."""
    group = parser.add_argument_group("cost and provenance")
    group.add_argument("--max-cost", type=dollars, metavar="USD",
                       help="refuse (exit 2, nothing sent) when the price at most is over USD (default: "
                            "$SEEDREAM_MAX_COST, else no limit); demo runs cost nothing")
    group.add_argument("--metadata", choices=("full", "label", "off"), default=None,
                       help="what each image file carries: full (prompt, model, settings and the AI label), "
                            "label (only the machine-readable AI label) or off (default: "
                            "$SEEDREAM_EMBED_METADATA, else full)")
    group.add_argument("--no-metadata", dest="metadata", action="store_const", const="off",
                       help="store the images exactly as received (the same as --metadata off)")


def add_fields(parser: argparse.ArgumentParser, schema: ModelSchema, *, title: str = "") -> list[str]:
    """The model's fields as options, placed first in ``--help``; returns the fields left out because one of the
    command's own options already has their name (a model may have a field called ``timeout``)."""
    taken = {name for action in parser._actions for name in (*action.option_strings, action.dest)}
    clashing = [spec.name for spec in schema.fields if options.option_names(spec)
                and (spec.name in taken or taken.intersection(options.option_names(spec)))]
    usable = dataclasses.replace(schema, fields=tuple(s for s in schema.fields if s.name not in clashing))
    known = len(parser._actions)
    options.add_field_options(parser, usable, title=title, image_help=IMAGE_HELP, image_metavar="PATH_OR_URL")
    # First after -h in the usage line and the help: the fields are what people look for.
    added = parser._actions[known:]
    for action in added:  # the model's help stays its own words; the note of when a field counts speaks options
        note = usable.field(action.dest).inactive_note
        if note and action.help:
            action.help = action.help.replace(f"({note})", f"({options.speak_options(note, usable)})")
    del parser._actions[known:]
    parser._actions[1:1] = added
    parser._action_groups.insert(2, parser._action_groups.pop())
    parser.set_defaults(schema=schema, clashing=clashing)
    return clashing


IMAGE_HELP = "A local file path works too: it is sent inline (at most a few MB each)."


def _above_zero(kind: Callable[[str], float], expected: str, least: str) -> Callable[[str], Any]:
    """An argparse type: a number above 0 (NaN is not), read by ``kind``; the messages name what is expected."""
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be {least}, got {text.strip()}")
        return value

    return convert


count = _above_zero(int, "a whole number", "at least 1")
seconds = _above_zero(float, "seconds", "more than 0 seconds")


def dollars(text: str) -> float:
    """An amount in US dollars, 0 or more (``0.5``, ``$0.50``)."""
    try:
        value = float(text.strip().lstrip("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount in US dollars such as 0.50, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text.strip()}")
    return value


def day(text: str) -> str:
    """A date or time as the index compares them (UTC ISO text): ``2026-11-24``, ``2026-11-24T10:00``, ``7d`` (days
    ago), ``today``, ``yesterday``."""
    word = text.strip().lower()
    today = datetime.now(timezone.utc).date()
    relative = {"today": 0, "yesterday": 1}.get(word)
    if relative is None and re.fullmatch(r"\d+d", word):
        relative = int(word[:-1])
    if relative is not None:
        return (today - timedelta(days=relative)).isoformat()
    try:
        datetime.fromisoformat(word.upper().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-11-24 (or 7d, today, yesterday), "
                                         f"got {text!r}") from None
    return text.strip()


def until_day(text: str) -> str:
    """`day`, a plain date counting whole (``--until 2026-11-24`` includes that day)."""
    value = day(text)
    if len(value) == 10:
        return (date.fromisoformat(value) + timedelta(days=1)).isoformat()
    return value


# -- before the real parse ------------------------------------------------------------------------------


def with_shorthand(argv: list[str], commands: Sequence[str], ask: Callable[[str], bool]) -> list[str]:
    """``seedream "a red fox" --size 1K`` means ``seedream generate ...``: a quoted prompt (words with spaces).

    A single word that is not a command is never sent as a prompt: a misspelt command is left for the
    parser to refuse with the closest one (``genrate``: did you mean 'generate'?); any other word is
    generated only when ``ask`` (the person at a terminal) says yes, else refused with the command that
    would generate it.
    """
    if not argv or argv[0].startswith("-") or argv[0] in commands:
        return argv
    if any(c.isspace() for c in argv[0].strip()):
        return ["generate", *argv]
    if difflib.get_close_matches(argv[0], commands, n=1, cutoff=0.6):
        return argv
    words = list(itertools.takewhile(lambda word: not word.startswith("-"), argv))
    prompt, rest = " ".join(words), argv[len(words):]
    if ask(f"{argv[0]!r} is not a command. Generate an image of {prompt!r}? [y/N] "):
        return ["generate", prompt, *rest]
    suggested = shlex.join(["seedream", "generate", prompt, *rest])
    raise UsageProblem(f"{argv[0]!r} is not a command (`seedream --help` lists them); a word alone is not taken as a "
                       f"prompt, so nothing was sent. To generate it:\n  {suggested}")


def option_value(argv: Sequence[str], *names: str) -> str | None:
    """The value of the last ``--name VALUE`` / ``--name=VALUE`` in ``argv`` (before ``--``), else None."""
    found = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        for name in names:
            if word == name and index + 1 < len(argv):
                found = argv[index + 1]
            elif word.startswith(name + "="):
                found = word[len(name) + 1:]
    return found


def field_schema(argv: Sequence[str]) -> ModelSchema | None:
    """The schema of the model a ``generate``/``batch`` command line names (``--model``, else ``$SEEDREAM_MODEL``,
    else the default): from a client, which reads a model it does not know from the service. None for other
    commands. A known model falls back to its built-in schema when no client can be made yet (a bad setting,
    reported when the command runs)."""
    if not argv or argv[0] not in FIELD_COMMANDS:
        return None
    from ..client import Seedream

    model = full_model_name(option_value(argv, "--model") or os.environ.get(ENV_MODEL) or DEFAULT_MODEL)
    try:
        with Seedream(base_url=option_value(argv, "--base-url"), model=model) as client:
            return client.schema_for(model)
    except ConfigurationError:
        snapshot = builtin_schema(model.split(":", 1)[0])
        if snapshot is None:
            raise
        return snapshot
