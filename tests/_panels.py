"""Waiting for a panel (its fixtures, ``client`` and ``make_panel``, are in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WAIT = 30.0


def wait_until(condition: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
