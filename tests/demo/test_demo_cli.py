"""``seedream demo-server``: starts, serves, says where, stops cleanly on Ctrl-C and SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from seedream_widgets.cli import build_parser, main


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Run ``python -m seedream_widgets demo-server ARGS``; return it and the base URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "seedream_widgets", "demo-server", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.fullmatch(r"Seedream demo backend on (http://127\.0\.0\.1:\d+/v1)  "
                         r"\(base URL for SEEDREAM_BASE_URL\)\n", line)
    assert found, line
    return process, found.group(1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_a_signal_then_exits_cleanly(signum: signal.Signals) -> None:
    process, base_url = start("--token", "cli-secret-token", "--base-seconds", "0.05")
    try:
        with httpx.Client(base_url=base_url + "/") as client:
            wrong = client.get("predictions", headers={"Authorization": "Bearer nope"})
            right = client.post("models/bytedance/seedream-4/predictions", json={"input": {"prompt": "fox"}},
                                headers={"Authorization": "Bearer cli-secret-token", "Prefer": "wait"})
        assert wrong.status_code == 401 and right.json()["status"] == "succeeded"
    finally:
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err and "stopped" in out
    assert "cli-secret-token" not in out + err  # the token is never echoed


def test_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-server", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_without_a_subcommand_it_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo-server" in capsys.readouterr().out


def test_demo_server_options() -> None:
    args = build_parser().parse_args(["demo-server", "--port", "8765", "--base-seconds", "1.5",
                                      "--per-image-seconds", "0.5", "--output-ttl", "60"])
    assert (args.host, args.port, args.base_seconds, args.per_image_seconds, args.output_ttl) == \
        ("127.0.0.1", 8765, 1.5, 0.5, 60.0)
    assert args.token is None and args.allow_remote is False
