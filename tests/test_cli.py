"""The ``seedream`` command end to end: the real console script in a subprocess against the demo backend."""

from __future__ import annotations

import argparse
import json
import os
import pty
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import seedream_widgets
from seedream_widgets.cli import build_parser, main
from seedream_widgets.demo import DemoServer
from seedream_widgets.options import field_for, field_values, imply_sequential, option_names, parse_field_text
from seedream_widgets.schema import FIELD, FIELDS

SENTINEL = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
_SCRIPT = Path(sys.executable).with_name("seedream")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "seedream_widgets"]
"""The installed console script (``python -m seedream_widgets`` when it is not installed)."""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def environment(server: DemoServer, out: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
    env.update(SEEDREAM_BASE_URL=server.base_url, SEEDREAM_OUTPUT_DIR=str(out), PYTHONUNBUFFERED="1",
               COLUMNS="200")
    env.update(extra)
    return env


def seedream(*args: str, server: DemoServer, cwd: Path, timeout: float = 30, stdin: str | None = None,
             **env: str) -> subprocess.CompletedProcess[str]:
    """Run the console script to the end (bounded); outputs go to ``cwd/out`` unless -o says otherwise."""
    return subprocess.run([*COMMAND, *args], cwd=cwd, env=environment(server, cwd / "out", **env), input=stdin,
                          capture_output=True, text=True, timeout=timeout, check=False)


def start(*args: str, server: DemoServer, cwd: Path, **env: str) -> subprocess.Popen[str]:
    """Start the console script with Ctrl-C at its default action (a background shell may have ignored it)."""
    return subprocess.Popen([*COMMAND, *args], cwd=cwd, env=environment(server, cwd / "out", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


# -- help --------------------------------------------------------------------------------------------------


def test_help_lists_every_command_with_examples(demo_server: DemoServer, workdir: Path) -> None:
    top = seedream("--help", server=demo_server, cwd=workdir)
    assert top.returncode == 0
    for command in ("generate", "batch", "history", "show", "config", "demo-server"):
        assert command in top.stdout
    assert "SEEDREAM_API_TOKEN" in top.stdout and "exit status" in top.stdout
    for command in ("generate", "batch", "history", "show", "config", "demo-server"):
        text = seedream(command, "--help", server=demo_server, cwd=workdir).stdout
        assert "examples:" in text, command


def test_every_field_with_a_flag_is_an_option_of_generate_and_batch() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("generate", "batch"):
        sub = commands.choices[command]
        options = {opt for action in sub._actions for opt in action.option_strings}
        for spec in FIELDS:
            if spec.name != "prompt":
                assert option_names(spec) and set(option_names(spec)) <= options, (command, spec.name)


# -- generate ----------------------------------------------------------------------------------------------


def test_generate_prints_status_lines_then_the_saved_paths(demo_server: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a red fox in the snow", "--size", "1K", "-a", "16:9", server=demo_server,
                      cwd=workdir)
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 1 and paths[0].is_file() and paths[0].is_relative_to(workdir / "out")
    with Image.open(paths[0]) as image:
        assert image.size == (1280, 720)
    assert "DEMO · succeeded" in result.stderr and "\r" not in result.stderr  # plain lines: not a terminal
    assert (paths[0].parent / "prediction.json").is_file()


def test_the_prompt_may_be_several_words_stdin_or_given_without_generate(demo_server: DemoServer,
                                                                          workdir: Path) -> None:
    words = seedream("generate", "a", "red", "fox", "--size", "1K", "-q", server=demo_server, cwd=workdir)
    piped = seedream("generate", "-", "--size", "1K", "-q", "--json", server=demo_server, cwd=workdir,
                     stdin="an owl at night\n")
    short = seedream("a lighthouse", "--size", "1K", "-q", server=demo_server, cwd=workdir)
    assert (words.returncode, piped.returncode, short.returncode) == (0, 0, 0), words.stderr + short.stderr
    assert words.stderr == "" and short.stderr == ""  # --quiet
    assert json.loads(piped.stdout)["input"]["prompt"] == "an owl at night"
    typo = seedream("histroy", server=demo_server, cwd=workdir)  # a typo of a command is not a prompt
    assert typo.returncode == 2 and "invalid choice" in typo.stderr


def test_output_dir_option_overrides_the_environment(demo_server: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "fox", "--size", "1K", "-o", "elsewhere", server=demo_server, cwd=workdir)
    assert result.returncode == 0
    assert Path(result.stdout.strip()).is_relative_to(workdir / "elsewhere")
    assert not (workdir / "out").exists()


def test_a_set_with_input_images(demo_server: DemoServer, workdir: Path) -> None:
    Image.new("RGB", (64, 48), "red").save(workdir / "in.png")
    result = seedream("generate", "four seasons", "-n", "3", "--image", "in.png", "--size", "1K", "--json",
                      server=demo_server, cwd=workdir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["input"]["sequential_image_generation"] == "auto"  # implied by -n 3, and said so
    assert "implies --sequential auto" in result.stderr
    assert data["input"]["image_input"][0].startswith("data:image/png;sha256=")  # stored short, sent whole
    assert len(data["paths"]) == 3 and all(Path(p).is_file() for p in data["paths"])


def test_json_is_valid_and_never_contains_the_token(demo: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "a red fox", "--size", "1K", "--json", server=demo, cwd=workdir,
                      SEEDREAM_API_TOKEN=SENTINEL)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "succeeded" and data["id"] == demo.stats.prediction_ids[0]
    assert data["demo"] is False  # a token was given: the loopback server is treated as the real service
    assert all(Path(p).is_file() for p in data["paths"])
    failed = seedream("generate", "[demo:fail] x", "--json", server=demo, cwd=workdir, SEEDREAM_API_TOKEN=SENTINEL)
    assert failed.returncode == 4 and json.loads(failed.stdout)["error"]["exit_status"] == 4
    config = seedream("config", server=demo, cwd=workdir, SEEDREAM_API_TOKEN=SENTINEL)
    assert f"r8_…{SENTINEL[-4:]}" in config.stdout and "SEEDREAM_API_TOKEN" in config.stdout
    texts = [result.stdout, result.stderr, failed.stdout, failed.stderr, config.stdout, config.stderr]
    assert all(SENTINEL not in text for text in texts)
    for path in files_under(workdir):
        assert SENTINEL.encode() not in path.read_bytes(), path


def test_live_status_on_a_terminal_rewrites_one_line(demo_server: DemoServer, workdir: Path) -> None:
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen([*COMMAND, "generate", "[demo:slow=0.6] fox", "--size", "1K"], cwd=workdir,
                                   env=environment(demo_server, workdir / "out"), stdout=subprocess.PIPE,
                                   stderr=slave, text=True)
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # the other end closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        out, _ = process.communicate(timeout=10)
    finally:
        os.close(master)
    terminal = b"".join(chunks).decode()
    assert process.returncode == 0 and Path(out.strip()).is_file()
    assert terminal.count("\r") >= 3 and "\x1b[K" in terminal  # redrawn in place while waiting
    assert "submitting" in terminal and "succeeded" in terminal and "s · " in terminal


@pytest.mark.parametrize("options", [[], ["-n", "3"]], ids=["one image", "a set of 3"])
def test_progress_names_the_prediction_processing_and_its_log_within_1_5_s(workdir: Path, options: list[str]) -> None:
    """On a backend that takes 6 s the status is not "submitting" for the whole run: within 1.5 s of the create
    reaching the service, stderr names the prediction, says processing and shows the last log line."""
    with DemoServer(base_seconds=6, per_image_seconds=0.1) as server:
        process = start("generate", "a slow fox", "--size", "1K", *options, server=server, cwd=workdir)
        assert process.stderr is not None
        lines: list[tuple[float, str]] = []  # (seconds after the create arrived, line)
        created: float | None = None
        pending = b""

        def live() -> str | None:
            ids = server.stats.prediction_ids
            return next((line for at, line in lines if ids and at <= 1.5 and "processing" in line and ids[0] in line
                         and "Generating 1024x1024 image" in line), None)

        try:
            deadline = time.monotonic() + 8
            while live() is None and time.monotonic() < deadline:
                if created is None and server.stats.creates:
                    created = time.monotonic()
                ready, _, _ = select.select([process.stderr], [], [], 0.02)
                if ready:
                    chunk = os.read(process.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    *complete, pending = (pending + chunk).split(b"\n")
                    at = time.monotonic() - (created if created is not None else time.monotonic())
                    lines += [(at, line.decode()) for line in complete]
        finally:
            process.send_signal(signal.SIGINT)  # no need to wait 6 s: canceled on the service
            process.communicate(timeout=20)
        assert live() is not None, lines
        shown = [line for _, line in lines]
        assert f"prediction {server.stats.prediction_ids[0]} (DEMO backend)" in shown  # the first status line
        assert process.returncode == 130 and server.stats.cancels == 1


# -- exit codes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["--size", "3K"], ["-s/--size: ", "3K", "1K, 2K, 4K, custom"]),
    (["-n", "many"], ["-n/--max-images: ", "whole number"]),
    (["--size", "3K", "-a", "5:4", "--width", "99"], ["-s/--size: ", "-a/--aspect-ratio: ", "--width: ",
                                                      "at least 1024"]),
    (["--image", "missing.png"], ["-i/--image: ", "missing.png"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["--timeout", "soon"], ["--timeout", "expected seconds"]),
])
def test_usage_and_validation_errors_exit_2_naming_the_field(demo: DemoServer, workdir: Path, args: list[str],
                                                             expected: list[str]) -> None:
    result = seedream("generate", "a fox", *args, server=demo, cwd=workdir)
    assert result.returncode == 2
    for text in expected:
        assert text in result.stderr
    no_traceback(result)
    assert demo.stats.creates == 0  # nothing is sent for input the schema rejects


def test_service_errors_exit_3(workdir: Path) -> None:
    with DemoServer(token="the-right-token", base_seconds=0.1) as server:
        wrong = seedream("generate", "fox", server=server, cwd=workdir, SEEDREAM_API_TOKEN="a-wrong-token-1234")
        model = seedream("generate", "fox", server=server, cwd=workdir, SEEDREAM_API_TOKEN="the-right-token",
                         SEEDREAM_MODEL="nobody/nothing")
        config = seedream("generate", "fox", server=server, cwd=workdir, SEEDREAM_BASE_URL="ftp://example.com/v1")
        assert server.stats.creates == 0
    assert wrong.returncode == 3 and "401" in wrong.stderr and "SEEDREAM_API_TOKEN" in wrong.stderr
    assert model.returncode == 3 and "404" in model.stderr
    assert config.returncode == 3 and "not an http(s) URL" in config.stderr
    for result in (wrong, model, config):
        no_traceback(result)
        assert len(result.stderr.strip().splitlines()) <= 3
    assert "a-wrong-token-1234" not in wrong.stderr


def test_a_failed_prediction_exits_4_with_the_services_message(demo_server: DemoServer, workdir: Path) -> None:
    result = seedream("generate", "[demo:fail=the model refused] fox", server=demo_server, cwd=workdir)
    assert result.returncode == 4
    assert "failed: the model refused" in result.stderr
    assert result.stdout == ""
    no_traceback(result)


def test_a_deadline_exits_4_and_show_finishes_the_run_later(demo: DemoServer, workdir: Path) -> None:
    demo.configure(cancel_after=False)  # a proxy that drops Cancel-After: the prediction goes on after the deadline
    late = seedream("generate", "[demo:slow=1.5] fox", "--size", "1K", "--timeout", "0.3", server=demo, cwd=workdir)
    assert late.returncode == 4
    prediction_id = demo.stats.prediction_ids[0]
    assert f"seedream show {prediction_id}" in late.stderr
    history = seedream("history", server=demo, cwd=workdir)
    assert "started but not stored" in history.stdout and prediction_id in history.stdout
    shown = seedream("show", prediction_id, server=demo, cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert Path(shown.stdout.strip()).is_file() and demo.stats.creates == 1
    assert "started but not stored" not in seedream("history", server=demo, cwd=workdir).stdout


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_cancels_the_prediction_on_the_service(demo: DemoServer, workdir: Path, signum: int,
                                                      status: int) -> None:
    process = start("generate", "[demo:slow=10] a slow fox", server=demo, cwd=workdir)
    try:
        wait_until(lambda: demo.stats.creates == 1)
        time.sleep(0.2)
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err
    assert demo.stats.cancels == 1
    assert demo.prediction(demo.stats.prediction_ids[0])["status"] == "canceled"
    assert "canceled" in err and "Traceback" not in err
    assert out == "" and not list((workdir / "out").glob("*/*/prediction.json"))


# -- batch -------------------------------------------------------------------------------------------------


def write_lines(path: Path, *items: Any) -> Path:
    """A JSON-lines file: each item as JSON (a string is a bare prompt), blank and ``#`` lines as they are."""
    raw = [item if isinstance(item, str) and (not item or item.startswith("#")) else json.dumps(item)
           for item in items]
    path.write_text("".join(line + "\n" for line in raw))
    return path


def test_batch_with_one_bad_row_runs_the_rest_and_exits_4(demo: DemoServer, workdir: Path) -> None:
    write_lines(workdir / "prompts.jsonl", {"prompt": "a fox"}, {"prompt": "an owl", "size": "3K"},
                        "# a comment", "", "a heron")
    result = seedream("batch", "prompts.jsonl", "--size", "1K", server=demo, cwd=workdir)
    assert result.returncode == 4, result.stderr
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("line ")}
    assert set(rows) == {"1", "2", "5"}
    assert " done " in rows["1"] and " done " in rows["5"]
    assert " invalid " in rows["2"] and "size: got '3K'; allowed: 1K, 2K, 4K, custom" in rows["2"]
    assert demo.stats.creates == 2
    assert "2 done · 1 invalid" in result.stdout
    no_traceback(result)


def test_batch_csv_values_are_coerced_by_the_field_table(demo: DemoServer, workdir: Path) -> None:
    (workdir / "images").mkdir()
    Image.new("RGB", (40, 30), "blue").save(workdir / "images" / "in.png")
    (workdir / "images" / "shots.csv").write_text(
        "prompt,size,aspect-ratio,max_images,enhance_prompt,image_input\n"
        '"a fox, in snow",1K,16:9,,no,\n'
        "a set,1K,,2,,in.png\n")
    result = seedream("batch", "images/shots.csv", "--json", "-c", "2", server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [item["status"] for item in items] == ["done", "done"]
    sent = {demo.prediction(pid)["input"]["prompt"]: demo.prediction(pid)["input"]
            for pid in demo.stats.prediction_ids}
    assert sent["a fox, in snow"] == {"prompt": "a fox, in snow", "size": "1K", "aspect_ratio": "16:9",
                                      "enhance_prompt": False}
    assert sent["a set"]["max_images"] == 2 and sent["a set"]["sequential_image_generation"] == "auto"
    assert sent["a set"]["image_input"][0].startswith("data:image/png;base64,")  # relative to the CSV's folder
    assert len(items[1]["paths"]) == 2


def test_batch_reads_items_from_stdin(demo: DemoServer, workdir: Path) -> None:
    result = seedream("batch", "-", "-q", server=demo, cwd=workdir, stdin='{"prompt": "fox", "size": "1K"}\n')
    assert result.returncode == 0 and result.stderr == ""
    assert "line 1 fox" in result.stdout and demo.stats.creates == 1


@pytest.mark.parametrize(("content", "message"), [
    ("prompt,colour\nfox,red\n", "unknown column 'colour'"),
    ("size\n1K\n", "no 'prompt' column"),
    ("", "no items"),
])
def test_an_unusable_batch_file_exits_2(demo: DemoServer, workdir: Path, content: str, message: str) -> None:
    (workdir / "bad.csv").write_text(content)
    result = seedream("batch", "bad.csv", server=demo, cwd=workdir)
    assert result.returncode == 2 and message in result.stderr
    missing = seedream("batch", "nope.jsonl", server=demo, cwd=workdir)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert demo.stats.creates == 0


def test_batch_resumes_after_ctrl_c_creating_only_the_remaining_items(demo: DemoServer, workdir: Path) -> None:
    write_lines(workdir / "run.jsonl", "one", "two", "[demo:slow=3] three", "four", "five", "two")
    process = start("batch", "run.jsonl", "--size", "1K", "--concurrency", "1", server=demo, cwd=workdir)
    try:
        wait_until(lambda: demo.stats.creates == 3, timeout=15)  # one and two are done, three is running
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert demo.stats.cancels == 1 and "Run the same command again" in err
    assert "not done" in out  # the summary still shows what happened

    rerun = seedream("batch", "run.jsonl", "--size", "1K", "--concurrency", "2", "--json", server=demo,
                     cwd=workdir)
    assert rerun.returncode == 0, rerun.stderr
    assert demo.stats.creates == 3 + 4  # three (again), four, five and the second "two"
    items = json.loads(rerun.stdout)
    assert [item["status"] for item in items] == ["done earlier", "done earlier", "done", "done", "done", "done"]
    assert len({item["id"] for item in items}) == 6  # the two "two" lines are two runs

    again = seedream("batch", "run.jsonl", "--size", "1K", server=demo, cwd=workdir)
    assert again.returncode == 0 and demo.stats.creates == 7 and "6 done earlier" in again.stdout
    dry = seedream("batch", "run.jsonl", "--size", "2K", "--dry-run", server=demo, cwd=workdir)
    assert dry.returncode == 0 and "6 would run" in dry.stdout and demo.stats.creates == 7  # other input: not done


def test_batch_resumes_a_prediction_a_killed_run_left_running(demo: DemoServer, workdir: Path) -> None:
    write_lines(workdir / "run.jsonl", "[demo:slow=1.5] fox")
    process = start("batch", "run.jsonl", "--size", "1K", server=demo, cwd=workdir)
    try:
        wait_until(lambda: demo.stats.creates == 1 and any((workdir / "out" / ".journal").glob("*.json")))
        process.kill()  # no cleanup at all: the prediction keeps running, its journal entry stays
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    rerun = seedream("batch", "run.jsonl", "--size", "1K", server=demo, cwd=workdir)
    assert rerun.returncode == 0, rerun.stderr
    assert demo.stats.creates == 1 and " resumed " in rerun.stdout  # picked up, not paid for twice
    assert "1 still running from an earlier run" in rerun.stderr


# -- history, show, config ---------------------------------------------------------------------------------


def test_history_show_and_re_download(demo: DemoServer, workdir: Path) -> None:
    empty = seedream("history", server=demo, cwd=workdir)
    assert empty.returncode == 0 and "No runs stored" in empty.stdout
    made = seedream("generate", "a red fox", "--size", "1K", "-q", "--json", server=demo, cwd=workdir)
    prediction_id, path = json.loads(made.stdout)["id"], Path(json.loads(made.stdout)["paths"][0])
    history = seedream("history", "5", server=demo, cwd=workdir)
    assert history.returncode == 0 and prediction_id in history.stdout and "[DEMO] a red fox" in history.stdout
    runs = json.loads(seedream("history", "--json", server=demo, cwd=workdir).stdout)["runs"]
    assert [run["id"] for run in runs] == [prediction_id] and runs[0]["paths"] == [str(path)]

    shown = seedream("show", prediction_id[:6], server=demo, cwd=workdir)  # a unique prefix is enough
    assert shown.returncode == 0 and shown.stdout.strip() == str(path)
    requests = demo.stats.total_requests
    path.unlink()
    again = seedream("show", prediction_id, server=demo, cwd=workdir)
    assert again.returncode == 0 and path.is_file() and "downloading them again" in again.stderr
    assert demo.stats.total_requests > requests and demo.stats.creates == 1
    unknown = seedream("show", "no-such-prediction", server=demo, cwd=workdir)
    assert unknown.returncode == 3 and "404" in unknown.stderr
    no_traceback(unknown)


def test_config_shows_the_effective_settings(demo_server: DemoServer, workdir: Path) -> None:
    result = seedream("config", server=demo_server, cwd=workdir)
    assert result.returncode == 0
    assert "DEMO" in result.stdout and demo_server.base_url in result.stdout
    assert str(workdir / "out") in result.stdout and "bytedance/seedream-4" in result.stdout
    data = json.loads(seedream("config", "--json", "--model", "me/mine", "-o", "x", server=demo_server,
                               cwd=workdir).stdout)
    assert data["model"] == "me/mine" and data["output_dir"] == str(workdir / "x") and data["demo"] is True
    embedded = seedream("config", server=demo_server, cwd=workdir, SEEDREAM_BASE_URL="")
    assert "embedded demo backend" in embedded.stdout


# -- in-process: the shared field options ------------------------------------------------------------------


def test_field_options_parse_to_schema_names() -> None:
    args = build_parser().parse_args(["generate", "fox", "-s", "1K", "-n", "3", "--no-enhance", "-i", "a.png",
                                      "-i", "https://x/b.png"])
    assert field_values(args) == {"image_input": ["a.png", "https://x/b.png"], "size": "1K", "max_images": 3,
                                  "enhance_prompt": False}
    assert imply_sequential({"max_images": 3})[0]["sequential_image_generation"] == "auto"
    assert imply_sequential({"max_images": 3, "sequential_image_generation": "disabled"})[1] == []


@pytest.mark.parametrize(("name", "text", "value"), [
    ("max_images", " 4 ", 4),
    ("width", "2048.0", 2048),
    ("width", "wide", "wide"),  # left for the schema to name
    ("enhance_prompt", "No", False),
    ("enhance_prompt", "yes", True),
    ("image_input", "a.png | https://x/b.jpg", ["a.png", "https://x/b.jpg"]),
    ("size", " 1K", "1K"),
])
def test_text_values_are_coerced_by_kind(name: str, text: str, value: Any) -> None:
    assert parse_field_text(FIELD[name], text) == value


def test_fields_are_found_by_name_or_option_spelling() -> None:
    assert field_for("aspect-ratio") is FIELD["aspect_ratio"]
    assert field_for("--max-images") is FIELD["max_images"]
    assert field_for("image") is FIELD["image_input"]
    assert field_for("no-enhance") is None  # the flag means the opposite of the field
    assert field_for("colour") is None


def test_without_a_command_it_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "generate" in capsys.readouterr().out


@pytest.fixture(autouse=True)
def _bounded(request: pytest.FixtureRequest) -> Iterator[None]:
    """No test of the command may take long (every wait in it is bounded)."""
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 30, f"{request.node.name} took too long"


def test_console_script_is_installed() -> None:
    # The setup script installs the package, so the `seedream` entry point must sit beside this Python and
    # run this very package (not a stale copy elsewhere on PATH).
    script = shutil.which("seedream", path=str(_SCRIPT.parent))
    assert script, f"no seedream console script beside {sys.executable}: is the package installed?"
    shown = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and seedream_widgets.__version__ in shown.stdout


def test_generate_says_once_that_the_base_has_no_files_api(workdir: Path) -> None:
    """A 3 MB input to a base without /files goes inline, and `generate` says so (the magic and the panel do too)."""
    from _images import noise_png

    (workdir / "photo.png").write_bytes(noise_png())
    with DemoServer(files_route=False, base_seconds=0.1, per_image_seconds=0) as proxy:
        result = seedream("generate", "the same scene at night", "-i", "photo.png", "--size", "1K", server=proxy,
                          cwd=workdir, SEEDREAM_API_TOKEN="r8_" + secrets.token_hex(16))
        sent = proxy.prediction(proxy.stats.prediction_ids[0])["input"]["image_input"][0]
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("no Files API") == 1, result.stderr
    assert sent.startswith("data:image/png;base64,")
