"""Fixtures for the demo backend's tests: a fast server per test and a client bound to it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from seedream_widgets.demo import DemoServer

TOKEN = "demo-test-token"
TERMINAL = {"succeeded", "failed", "canceled"}


@pytest.fixture
def fast() -> Iterator[DemoServer]:
    """A demo backend with tiny timings: one image is done in about 0.12 s."""
    with DemoServer(start_seconds=0.02, base_seconds=0.05, per_image_seconds=0.05) as server:
        yield server


@pytest.fixture
def api(fast: DemoServer) -> Iterator[httpx.Client]:
    """A keep-alive client on ``fast``'s base URL with a bearer token."""
    with httpx.Client(base_url=fast.base_url + "/", headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=10) as client:
        yield client


def create(client: httpx.Client, prompt: str = "a red fox in the snow", *, prefer: str | None = None,
           headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
    """POST a create for bytedance/seedream-4 with ``prompt`` and ``fields`` as input."""
    extra = dict(headers or {})
    if prefer:
        extra["Prefer"] = prefer
    return client.post("models/bytedance/seedream-4/predictions", json={"input": {"prompt": prompt, **fields}},
                       headers=extra)


def wait_done(client: httpx.Client, prediction_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """GET a prediction until it is terminal."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"predictions/{prediction_id}").json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"still {body['status']} after {timeout} s"
        time.sleep(0.01)
