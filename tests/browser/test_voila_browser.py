"""``notebooks/app.ipynb`` as a Voila page in Chromium: the panel alone, a click, images, working links.

Two ways to serve it, both checked:

- ``voila app.ipynb`` on its own, as the README documents, with no token and no base URL: the
  kernel starts the embedded demo backend, which is what a visitor without a token gets;
- the Voila server extension inside the session's JupyterLab at ``/voila/render/notebooks/app.ipynb``,
  the Binder badge's urlpath; those kernels have the sentinel API token (``conftest.py``), which must
  not appear in the page.

Screenshots go to ``tests/artifacts/voila-*.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _processes import stop, wait_until_ready

from .conftest import ARTIFACTS, SENTINEL_API_TOKEN, JupyterLab
from .test_notebooks_browser import copy_notebooks

pytestmark = pytest.mark.browser

APP = Path(__file__).resolve().parent.parent.parent / "notebooks" / "app.ipynb"
START_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 90_000


@dataclass
class Voila:
    url: str
    root: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Voila]:
    """``voila app.ipynb`` on 127.0.0.1 and a free port, from a temporary copy of the notebook."""
    base = tmp_path_factory.mktemp("voila")
    root, home = base / "root", base / "home"
    root.mkdir()
    shutil.copy(APP, root / "app.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_", "JUPYTER"))}
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"), PYTHONUNBUFFERED="1")
    port = _free_port()
    log = base / "voila.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
             "--Voila.port_retries=0", "app.ipynb"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Voila(url=f"http://127.0.0.1:{port}", root=root, log=log)
    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_until_ready(process, listening, name="voila", timeout=START_TIMEOUT, log_tail=server.log_tail)
        yield server
    finally:
        stop(process)


@dataclass
class AppPage:
    url: str
    outputs: Path
    """Where the kernel stores runs (``seedream-outputs`` next to the notebook)."""
    demo: bool
    name: str


@pytest.fixture(params=["standalone", "render"])
def app_page(request: pytest.FixtureRequest) -> AppPage:
    if request.param == "standalone":
        server: Voila = request.getfixturevalue("voila")
        return AppPage(server.url, server.root / "seedream-outputs", demo=True, name="standalone")
    lab: JupyterLab = request.getfixturevalue("jupyter_lab")
    copy_notebooks(lab)
    return AppPage(f"{lab.url}/voila/render/notebooks/app.ipynb?token={lab.token}",
                   lab.root / "notebooks" / "seedream-outputs", demo=False, name="render")


def test_the_voila_app_renders_the_panel_and_a_click_makes_images(app_page: AppPage, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    before = set(app_page.outputs.rglob("prediction.json"))
    try:
        page.goto(app_page.url, timeout=PAGE_TIMEOUT_MS)
        panel = page.locator(".seedream-panel")
        panel.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        text = page.locator("body").inner_text()
        assert "Seedream 4 playground" in text  # the markdown
        assert "import" not in text and page.locator(".jp-CodeCell .jp-InputArea").count() == 0  # no code
        page.wait_for_function(
            "() => { const b = [...document.querySelectorAll('.seedream-panel button')]"
            ".find(b => b.textContent.includes('Generate')); return b && !b.disabled; }", timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"voila-{app_page.name}-ready.png"))

        panel.locator("button", has_text="Generate").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.seedream-panel .seedream-image img')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length >= 1", timeout=PAGE_TIMEOUT_MS)
        panel.locator(".seedream-status", has_text="succeeded").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / f"voila-{app_page.name}-generated.png"), full_page=True)
        # A visitor on the demo backend is told so plainly; with a token there is no such badge.
        assert ("DEMO" in panel.inner_text()) is app_page.demo
        assert SENTINEL_API_TOKEN not in page.content()
        assert len(set(app_page.outputs.rglob("prediction.json")) - before) == 1

        # "download" / "open full size" resolve to the stored image through Voila's file handler.
        href = panel.locator(".seedream-image a[download]").first.get_attribute("href") or ""
        answer = page.request.get(page.evaluate("(h) => new URL(h, document.baseURI).href", href))
        assert answer.status == 200 and answer.headers.get("content-type") == "image/jpeg", (href, answer.status)
        assert not problems, f"JavaScript errors on the page: {problems}"
    finally:
        context.close()


NARROW = """() => {
  const panel = document.querySelector('.seedream-panel'), width = window.innerWidth, bad = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 &&
    getComputedStyle(el).visibility !== 'hidden'; };
  const controls = panel.querySelectorAll(
    'button, input:not([type=file]), select, textarea, .widget-slider .noUi-target');
  for (const el of controls) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    const small = el.type === 'checkbox' ? 10 : 24;
    if (r.left < -1 || r.right > width + 1 || r.width < small) bad.push([el.tagName, el.textContent.trim() || el.value,
                                                                      Math.round(r.left), Math.round(r.right)]);
  }
  const cut = [...panel.querySelectorAll('.seedream-field-note, .seedream-field-problem, .seedream-notice')]
    .filter(visible).filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent);
  const slider = panel.querySelector('.widget-slider .noUi-target, .widget-slider .slider-container');
  return {bad, cut, pageWidth: document.documentElement.scrollWidth, width,
          panelRight: panel.getBoundingClientRect().right, slider: slider ? slider.getBoundingClientRect().width : -1};
}"""


def test_the_panel_reflows_down_to_420_px_with_every_control_usable(voila: Voila, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 420, "height": 1800})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(voila.url, timeout=PAGE_TIMEOUT_MS)
        panel = page.locator(".seedream-panel")
        panel.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(
            "() => { const b = [...document.querySelectorAll('.seedream-panel button')]"
            ".find(b => b.textContent.trim() === 'Generate'); return b && !b.disabled; }", timeout=30_000)
        panel.locator(".widget-toggle-button", has_text="custom").click()  # the 4th size button is reachable
        panel.locator(".seedream-field-note", has_text="ignored when size is custom").wait_for(timeout=10_000)
        panel.get_by_text("Request preview").first.click()
        panel.locator(".seedream-snippet pre").first.wait_for(timeout=10_000)
        layout = page.evaluate(NARROW)
        assert layout["bad"] == [], layout
        assert layout["cut"] == [], layout
        assert layout["pageWidth"] <= 421 and layout["panelRight"] <= 421, layout
        assert layout["slider"] >= 100, layout  # the max images slider keeps a usable track
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        panel.locator(".widget-toggle-button", has_text="1K").click()
        panel.locator("button", has_text="Generate").first.click()
        panel.locator(".seedream-status", has_text="succeeded").wait_for(timeout=60_000)
        page.wait_for_function("() => [...document.querySelectorAll('.seedream-panel .seedream-image img')]"
                               ".filter(i => i.complete && i.naturalWidth > 0).length >= 1", timeout=30_000)
        layout = page.evaluate(NARROW)
        assert layout["bad"] == [] and layout["pageWidth"] <= 421, layout
        path = ARTIFACTS / "panel-420.png"
        page.screenshot(path=str(path), full_page=True)
        shots = os.environ.get("SHOTS_DIR")
        if shots:
            shutil.copy(path, Path(shots) / "panel-420.png")
    finally:
        context.close()
