"""docs/cli.md against the real command (issue 19): its reference part is every command's ``--help`` output, and
the tables name only commands and options that exist.

When the help changes, write the reference again (it replaces only the generated part):

    .venv/bin/python tests/test_cli_docs.py
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from seedream_widgets.cli import COMMANDS, build_parser
from seedream_widgets.models import builtin_schema

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
BEGIN = "<!-- BEGIN GENERATED: every command's --help, written by `python tests/test_cli_docs.py` -->"
END = "<!-- END GENERATED -->"
WIDTH = "100"
"""The terminal width the reference is written at (argparse wraps to it)."""
GENERATED_WITH = (3, 11)
"""argparse's layout changes a little between Python versions: the text is compared on the version that wrote it."""


def reference() -> str:
    """The generated part: ``seedream --help`` and ``seedream COMMAND --help`` for every command, as printed."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = build_parser()  # the default model's fields, whatever SEEDREAM_MODEL says
        blocks = [("seedream --help", parser.format_help())]
        blocks += [(f"seedream {name} --help", parser.commands[name].format_help()) for name in COMMANDS]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    parts = [f"### `{title.removesuffix(' --help')}`\n\n```text\n$ {title}\n{text.rstrip()}\n```\n"
             for title, text in blocks]
    return f"{BEGIN}\n\n" + "\n".join(parts) + f"\n{END}"


def written() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} has no generated reference part"
    return text[text.index(BEGIN):text.index(END) + len(END)]


@pytest.mark.skipif(sys.version_info[:2] != GENERATED_WITH, reason="argparse lays help out differently here")
def test_the_reference_is_the_real_help_output() -> None:
    assert written() == reference(), "docs/cli.md's reference is stale: run `python tests/test_cli_docs.py`"


def test_every_command_and_option_of_the_reference_exists_and_every_one_is_documented() -> None:
    """On any Python version: the same commands, and each command's options, in the doc as in the parser."""
    parser = build_parser()
    part = written()
    documented = re.findall(r"^\$ seedream (\S+) --help$", part, flags=re.MULTILINE)
    assert documented == list(COMMANDS)
    for name in COMMANDS:
        block = part.split(f"$ seedream {name} --help\n", 1)[1].split("```", 1)[0]
        usage = block.split("\n\n", 1)[0]
        options = {o for action in parser.commands[name]._actions for o in action.option_strings}
        assert set(re.findall(r"\[(-{1,2}[\w-]+)", usage)) <= options, name
        assert {o for o in options if o.startswith("--")} <= set(re.findall(r"--[\w-]+", block)), name


def test_the_prose_names_only_real_commands_and_options() -> None:
    parser = build_parser()
    prose = DOC.read_text(encoding="utf-8").split(BEGIN, 1)[0]
    named = set(re.findall(r"`seedream ([a-z][\w-]*)", prose)) - {"genrate", "lighthouse"}  # words it refuses
    assert named <= set(COMMANDS), named - set(COMMANDS)
    assert set(COMMANDS) <= named, "every command has a word in the guide"
    every = {o for sub in parser.commands.values() for a in sub._actions for o in a.option_strings}
    for model in ("bytedance/seedream-4.5", "bytedance/seedream-5-lite"):  # their fields are options with --model
        generate = build_parser(builtin_schema(model)).commands["generate"]
        every |= {o for a in generate._actions for o in a.option_strings}
    options = set(re.findall(r"`(--?[a-zA-Z][\w-]*)", prose)) - {"--sizee"}  # a misspelling it corrects
    assert options <= every, options - every


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + reference() + text[end:], encoding="utf-8")
    print(f"wrote the reference part of {DOC}")
