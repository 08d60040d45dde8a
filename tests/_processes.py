"""Starting and stopping the helper servers tests run as subprocesses (JupyterLab, Voila)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def wait_until_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], *, name: str, timeout: float,
                     log_tail: Callable[[], str], interval: float = 0.25) -> None:
    """Poll ``ready()`` until it is true; fail with the server's log if it exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within {timeout:.0f} s:\n{log_tail()}")
        time.sleep(interval)


def stop(process: subprocess.Popen[bytes], *, grace: float = 15) -> None:
    """Terminate, wait up to ``grace`` seconds, then kill: every test server ends, one way or the other."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
