"""What a person at a terminal sees (issue 19): no prompt from a bare word, "did you mean", choices in the usage
line, colour only on a terminal and never with NO_COLOR, a live line per running batch item."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from test_cli import COMMAND, environment, no_traceback, seedream

from seedream_widgets import Seedream
from seedream_widgets.cli import COMMANDS, build_parser
from seedream_widgets.demo import DemoServer

ESCAPE = "\x1b"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def on_terminal(*args: str, server: DemoServer, cwd: Path, answer: str | None = None, timeout: float = 25,
                **env: str) -> tuple[int, str]:
    """Run the console script with stdin, stdout and stderr on a 120-column pseudo-terminal; type ``answer`` once
    it asks something. Returns the exit status and everything the terminal showed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    environ = environment(server, cwd / "out", **env)
    environ.pop("COLUMNS", None)
    environ["TERM"] = "xterm-256color"
    process = subprocess.Popen([*COMMAND, *args], cwd=cwd, env=environ, stdin=slave, stdout=slave, stderr=slave,
                               start_new_session=True)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the other side closed
                    break
                if not chunk:
                    break
                shown += chunk
                if answer is not None and b"[y/N]" in shown:
                    os.write(master, answer.encode() + b"\n")
                    answer = None
            elif process.poll() is not None:
                break
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, shown.decode(errors="replace")


# -- words that are not commands ---------------------------------------------------------------------------


def test_a_bare_word_is_never_a_prompt_without_generate(demo: DemoServer, workdir: Path) -> None:
    refused = seedream("lighthouse", "--size", "1K", server=demo, cwd=workdir)
    assert refused.returncode == 2
    assert "'lighthouse' is not a command" in refused.stderr and "nothing was sent" in refused.stderr
    assert "seedream generate lighthouse --size 1K" in refused.stderr
    several = seedream("a", "red", "fox", server=demo, cwd=workdir)
    assert several.returncode == 2 and "seedream generate 'a red fox'" in several.stderr
    no_traceback(refused)
    reindex = seedream("reindex", server=demo, cwd=workdir)
    assert reindex.returncode == 0 and reindex.stdout.startswith("reindexed 0 runs")
    assert demo.stats.total_requests == 0
    quoted = seedream("a lighthouse", "--size", "1K", "-q", server=demo, cwd=workdir)  # a quoted prompt still is one
    assert quoted.returncode == 0 and demo.stats.creates == 1


@pytest.mark.parametrize(("answer", "status", "creates"), [("n", 2, 0), ("y", 0, 1)])
def test_on_a_terminal_a_bare_word_asks_first(demo: DemoServer, workdir: Path, answer: str, status: int,
                                              creates: int) -> None:
    code, shown = on_terminal("lighthouse", "--size", "1K", server=demo, cwd=workdir, answer=answer)
    assert "'lighthouse' is not a command. Generate an image of 'lighthouse'? [y/N]" in shown
    assert code == status, shown
    assert demo.stats.creates == creates


@pytest.mark.parametrize(("args", "hint"), [
    (["genrate", "a fox"], "did you mean 'generate'?"),
    (["histroy"], "did you mean 'history'?"),
    (["trash", "emtpy"], "did you mean 'empty'?"),
    (["generate", "a fox", "--sizee", "1K"], "--sizee: did you mean --size?"),
    (["generate", "a fox", "--aspect_ratio", "4:3"], "--aspect_ratio: did you mean --aspect-ratio?"),
    (["history", "--serch", "fox"], "--serch: did you mean --search?"),
    (["batch", "x.jsonl", "--concurency", "2"], "--concurency: did you mean --concurrency?"),
    (["generate", "a fox", "--disable-safety-checker"],
     "--disable-safety-checker is a field of bytedance/seedream-4.5; add --model bytedance/seedream-4.5"),
])
def test_did_you_mean_for_commands_choices_and_options(demo_server: DemoServer, workdir: Path, args: list[str],
                                                       hint: str) -> None:
    result = seedream(*args, server=demo_server, cwd=workdir)
    assert result.returncode == 2
    assert hint in result.stderr
    no_traceback(result)


def test_the_usage_line_shows_the_choices() -> None:
    generate = build_parser().commands["generate"]
    usage = generate.format_usage()
    assert "[-s {1K,2K,4K,custom}]" in usage and "[--sequential {disabled,auto}]" in usage
    assert usage.index("-s {") < usage.index("--timeout")  # the fields first: they are what people look for
    assert "--size {1K,2K,4K,custom}" in generate.format_help()


def test_every_command_is_registered() -> None:
    assert tuple(build_parser().commands) == COMMANDS


# -- colour -----------------------------------------------------------------------------------------------------


def test_colour_only_on_a_terminal_and_never_with_no_color(demo: DemoServer, workdir: Path) -> None:
    made = seedream("generate", "a fox", "--size", "1K", "-q", server=demo, cwd=workdir)
    assert made.returncode == 0, made.stderr
    code, coloured = on_terminal("history", server=demo, cwd=workdir)
    assert code == 0 and "\x1b[1m" in coloured and "[DEMO]" in coloured  # bold header, the mark in colour
    code, plain = on_terminal("history", server=demo, cwd=workdir, NO_COLOR="1")
    assert code == 0 and "[DEMO] a fox" in plain
    assert ESCAPE not in plain, repr(plain)
    piped = seedream("history", server=demo, cwd=workdir, FORCE_COLOR="1")
    assert ESCAPE not in piped.stdout + piped.stderr and "[DEMO] a fox" in piped.stdout
    assert not any(line != line.rstrip() for line in piped.stdout.splitlines())  # no padding off a terminal


def test_errors_are_red_on_a_terminal_and_plain_elsewhere(demo: DemoServer, workdir: Path) -> None:
    code, shown = on_terminal("generate", "a fox", "--size", "3K", server=demo, cwd=workdir)
    assert code == 2 and "\x1b[1;31mseedream generate: invalid input" in shown
    piped = seedream("generate", "a fox", "--size", "3K", server=demo, cwd=workdir)
    assert piped.stderr.startswith("seedream generate: invalid input") and ESCAPE not in piped.stderr


# -- a live line per running batch item -------------------------------------------------------------------------------


def test_batch_shows_a_live_line_per_running_item(demo: DemoServer, workdir: Path) -> None:
    (workdir / "slow.jsonl").write_text('"[demo:slow=1] a fox"\n"[demo:slow=1] an owl"\n"a heron"\n')
    code, shown = on_terminal("batch", "slow.jsonl", "--size", "1K", "-c", "2", server=demo, cwd=workdir)
    assert code == 0, shown
    by_prompt = {demo.prediction(i)["input"]["prompt"]: i for i in demo.stats.prediction_ids}  # created at once
    live = [line for line in shown.replace("\r", "\n").splitlines() if line.lstrip().startswith("line ")]
    for number, prediction in ((1, by_prompt["[demo:slow=1] a fox"]), (2, by_prompt["[demo:slow=1] an owl"])):
        assert any(f"line {number} · " in line and "processing" in line and prediction in line for line in live), \
            (number, live)
    assert "\x1b[1A" in shown and "\x1b[2K" in shown  # redrawn in place
    assert "DEMO · batch: 3/3 done" in shown and "3 done" in shown


def test_batch_off_a_terminal_says_when_each_item_starts(demo: DemoServer, workdir: Path) -> None:
    (workdir / "two.jsonl").write_text('"a fox"\n"an owl"\n')
    result = seedream("batch", "two.jsonl", "--size", "1K", "-c", "1", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    first, second = demo.stats.prediction_ids
    lines = result.stderr.splitlines()
    assert lines.index(f"line 1 started · {first}") < lines.index(f"[1/2] line 1 done · {first} · 1 image") < \
        lines.index(f"line 2 started · {second}")
    assert ESCAPE not in result.stderr


def test_emptying_the_trash_asks_at_a_terminal(demo_server: DemoServer, workdir: Path) -> None:
    with Seedream(base_url=demo_server.base_url, output_dir=workdir / "out") as client:
        run = client.generate("a fox", size="1K")
    assert seedream("delete", run.id, server=demo_server, cwd=workdir).returncode == 0
    code, shown = on_terminal("trash", "empty", server=demo_server, cwd=workdir, answer="n")
    assert code == 0 and "Delete the 1 run in the trash for good? [y/N]" in shown and "kept the trash" in shown
    assert run.id in seedream("trash", server=demo_server, cwd=workdir).stdout
    code, shown = on_terminal("trash", "empty", server=demo_server, cwd=workdir, answer="y")
    assert code == 0 and "deleted 1 run for good" in shown
    assert seedream("trash", server=demo_server, cwd=workdir).stdout.strip() == "The trash is empty."
