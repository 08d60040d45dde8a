"""Real-browser fixtures: one JupyterLab server per session, Debian Chromium through Playwright.

Reuse them from any test under ``tests/browser/`` (mark the module ``pytest.mark.browser``)::

    def test_something(jupyter_lab, lab_page):
        jupyter_lab.write_notebook("x.ipynb", ["from seedream_widgets import SeedreamPanel", "SeedreamPanel()"])
        lab_page.open("x.ipynb")
        lab_page.run_all()
        lab_page.page.wait_for_selector(".seedream-panel", timeout=60_000)

What the fixtures set up:

- ``lab_demo_server``: a `DemoServer` on 127.0.0.1 for the session's kernels.
- ``jupyter_lab``: ``python -m jupyterlab`` on 127.0.0.1 and a free port with a random token, a
  temporary ``root_dir``, its own Jupyter config/data/runtime and IPython dirs, user settings with
  the news toast off and "Save Widget State Automatically" on (so a saved notebook carries the widget
  state, which is what token-leak checks must read). Kernels inherit ``SEEDREAM_BASE_URL`` (the demo
  server) and ``SEEDREAM_API_TOKEN`` = `SENTINEL_API_TOKEN`, so they run in "real" mode against the
  local backend with a token that must never show up in a saved notebook.
- ``chromium``: Debian's ``/usr/bin/chromium`` launched headless by Playwright (which cannot
  download browsers here); ``lab_page``: a fresh browser context and page per test, wrapped in
  `LabPage` (open a notebook, wait for its kernel, run all, save, screenshot).

Every wait is bounded. Set ``SEEDREAM_SKIP_BROWSER=1`` to skip these tests.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _processes import stop, wait_until_ready

from seedream_widgets.demo import DemoServer

SENTINEL_API_TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
"""The API token the lab's kernels get: assert that it never appears in a saved notebook or page."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
START_TIMEOUT = 90.0

_USER_SETTINGS = {
    # No "Would you like to receive official Jupyter news?" toast, no update check.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    # Save widget state into the notebook on save, as a user with this (common) setting would.
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
    # Attach every cell (no virtualised windowing), so selectors and screenshots see whole outputs.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SEEDREAM_SKIP_BROWSER") == "1":
        skip = pytest.mark.skip(reason="SEEDREAM_SKIP_BROWSER=1")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterLab:
    """A running JupyterLab server (one per session)."""

    url: str
    """``http://127.0.0.1:PORT`` (no trailing slash)."""
    token: str
    """The server's token: it must never end up in a saved notebook either."""
    root: Path
    """The server's root_dir: notebooks written here open at ``/lab/tree/<name>``; kernels start here."""
    log: Path
    process: subprocess.Popen[bytes]

    def page_url(self, name: str) -> str:
        # "reset": a fresh workspace, so tabs restored from earlier tests (and their widgets) stay out of the DOM.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def write_notebook(self, name: str, cells: Sequence[str]) -> Path:
        """Write a notebook of code cells (python3 kernel) under the root; returns its path."""
        notebook = {
            "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
                       "outputs": [], "source": source} for i, source in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5,
        }
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        return path

    def read_notebook(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / name).read_text(encoding="utf-8"))
        return data

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@pytest.fixture(scope="session")
def lab_demo_server() -> Iterator[DemoServer]:
    """The demo backend the lab's kernels talk to (SEEDREAM_BASE_URL)."""
    with DemoServer(base_seconds=0.3, per_image_seconds=0.2) as server:
        yield server


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory, lab_demo_server: DemoServer) -> Iterator[JupyterLab]:
    """JupyterLab on 127.0.0.1 with a token and a temporary root; stopped at the end of the session."""
    base = tmp_path_factory.mktemp("lab")
    root, settings, home = base / "root", base / "user-settings", base / "home"
    for folder in (root, settings, home, base / "workspaces"):
        folder.mkdir()
    for relative, values in _USER_SETTINGS.items():
        target = settings / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_", "JUPYTER"))}
    env.update(
        SEEDREAM_BASE_URL=lab_demo_server.base_url,
        SEEDREAM_API_TOKEN=SENTINEL_API_TOKEN,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(home / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    token, port = secrets.token_hex(16), _free_port()
    log = base / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--allow-root", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log, process=process)
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_until_ready(process, ready, name="JupyterLab", timeout=START_TIMEOUT, log_tail=lab.log_tail)
        yield lab
    finally:
        stop(process)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian Chromium, headless, through Playwright's sync API (one browser per session)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (or set SEEDREAM_SKIP_BROWSER=1)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


class LabPage:
    """A Playwright page on the session's JupyterLab, with the steps notebook tests need."""

    def __init__(self, page: Any, lab: JupyterLab) -> None:
        self.page = page
        self.lab = lab

    def open(self, name: str, timeout: float = 90.0) -> None:
        """Open a notebook and wait until its kernel is idle (the app is exposed as window.jupyterapp)."""
        self.page.goto(self.lab.page_url(name), timeout=timeout * 1000)
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
            " return !!k && k.status === 'idle'; }",
            timeout=timeout * 1000)

    def run_all(self) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def save(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Save the current notebook and return it as written to disk (with widget state)."""
        path = self.lab.root / name
        before = path.stat().st_mtime_ns
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.monotonic() + timeout
        while path.stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} was not saved within {timeout:.0f} s")
            time.sleep(0.1)
        time.sleep(0.2)  # the contents API writes atomically, but give a rename a moment
        return self.lab.read_notebook(name)

    @staticmethod
    def screenshot_path(filename: str) -> Path:
        """Where an artifact goes: tests/artifacts/ (gitignored), kept for people to look at."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return ARTIFACTS / filename

    def screenshot(self, filename: str, **options: Any) -> Path:
        """A PNG of the page under tests/artifacts/."""
        path = self.screenshot_path(filename)
        self.page.screenshot(path=str(path), **options)
        return path


@pytest.fixture
def lab_page(chromium: Any, jupyter_lab: JupyterLab) -> Iterator[LabPage]:
    """A fresh browser context (no shared storage) and page for one test."""
    context = chromium.new_context(viewport={"width": 1440, "height": 1200})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        yield LabPage(page, jupyter_lab)
    finally:
        context.close()
