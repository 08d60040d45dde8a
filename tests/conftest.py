"""Shared fixtures: a clean environment for every test and one demo backend per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from seedream_widgets import Seedream
from seedream_widgets.demo import DemoServer

if TYPE_CHECKING:
    from seedream_widgets.panel import SeedreamPanel


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API (one session-wide Chromium) keeps an asyncio loop
    running on the main thread until the session ends, and ``asyncio.run`` refuses to start under it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)  # stable: order kept otherwise


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's SEEDREAM_*/REPLICATE_* settings, and outputs go to a temp dir.

    A client made without ``output_dir=`` (and a kernel or command a test starts, which inherit
    the environment) stores into that folder, never into the working directory; schemas read from
    a service are cached in another temporary folder, never in the home directory.
    """
    for name in list(os.environ):
        if name.startswith(("SEEDREAM_", "REPLICATE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path_factory.mktemp("outputs")))
    monkeypatch.setenv("SEEDREAM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    """A real IPython shell with the extension loaded (the magic's tests drive cells through it)."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "seedream_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "seedream_widgets")


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """One fast demo backend on 127.0.0.1 for the whole session (do not inject faults into it)."""
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1) as server:
        yield server


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    """A fresh demo backend for one test: its own counters, its own faults."""
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1) as server:
        yield server


# -- the panel tests' client and panels (a module may define its own ``client``) --------------


@pytest.fixture
def client(demo_server: DemoServer, tmp_path: Path) -> Iterator[Seedream]:
    with Seedream(base_url=demo_server.base_url, output_dir=tmp_path / "out") as c:
        yield c


@pytest.fixture
def make_panel(client: Seedream) -> Iterator[Callable[..., SeedreamPanel]]:
    """Panels made with ``make(...)`` (the test's client unless one is given), closed after the test."""
    from seedream_widgets.panel import SeedreamPanel  # (ipywidgets: imported by the tests that use it)

    panels: list[SeedreamPanel] = []

    def make(*args: Any, **kwargs: Any) -> SeedreamPanel:
        panel = SeedreamPanel(*args or (client,), **kwargs)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()
    # A run cancelled by close finishes its cancel request before the client closes.
    from _panels import wait_until

    wait_until(lambda: not any(p.running or p._pending for p in panels), what="closed panels to stop")
