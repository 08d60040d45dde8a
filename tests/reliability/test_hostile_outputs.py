"""Hostile outputs and hostile text: refused or escaped in every rendering, never executed, nothing left on disk.

The demo backend is told to misbehave (output URLs with ``file:``/``javascript:``
schemes, a body over the size cap, an HTML page served as ``image/png``, a PNG
declaring 30000x30000 pixels, an error text full of HTML), and prompts carry
script and event-handler payloads. Every HTML the package renders for them
(``Result._repr_html_``, ``display.error_html``/``status_html``/``comparison_html``,
the magic's outputs, every panel widget's state) is collected; none holds a live
tag, and finally all of it is loaded into a real Chromium page, where no
payload may run.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from seedream_widgets import OutputError, PredictionFailed, Result, Seedream, SeedreamError
from seedream_widgets.client import Update
from seedream_widgets.demo import DemoServer
from seedream_widgets.display import comparison_html, error_html, status_html
from seedream_widgets.panel import SeedreamPanel
from seedream_widgets.panel.layout import descendants
from seedream_widgets.run import RunState

from .conftest import SENTINEL, Figures, in_fresh_thread, journal_ids, leftovers

HOSTILE = ('a fox <script>window.__pwned="script"</script><img src=x onerror="window.__pwned=\'img\'">'
           '"\'><svg onload="window.__pwned=\'svg\'"></svg><a href="javascript:window.__pwned=1">x</a>')
"""A prompt trying a script tag, an event handler, an attribute break-out and a javascript: link."""
DANGEROUS_TAGS = frozenset({"script", "svg", "iframe", "object", "embed", "frame", "meta", "base", "link", "style"})


class _Markup(HTMLParser):
    """Collects what a browser would act on: tags that run or load things, event handlers, bad URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.live.append(f"<{tag}>")
        for name, value in attrs:
            url = "".join((value or "").split()).lower()  # browsers ignore whitespace inside a scheme
            scheme = re.match(r"^([a-z][a-z0-9+.-]*):", url)
            if name.startswith("on"):
                self.live.append(f"<{tag} {name}=...>")
            elif name in ("href", "src", "action", "formaction", "xlink:href") and scheme and not (
                    scheme.group(1) in ("http", "https") or url.startswith("data:image/")):
                self.live.append(f"<{tag} {name}={(value or '')[:60]!r}>")


def live_markup(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.live


RENDERED: list[str] = []
"""Every HTML fragment produced in this module, for the browser test at the end."""


def rendered(html: str, where: str) -> str:
    """Record one rendering after checking it holds nothing live."""
    found = live_markup(html)
    assert found == [], f"{where}: live markup {found}"
    RENDERED.append(f"<!-- {where} -->\n{html}")
    return html


def client_for(server: DemoServer, root: Path, **options: Any) -> Seedream:
    return Seedream(token=SENTINEL, base_url=server.base_url, output_dir=root, **options)


# -- hostile outputs: refused, nothing on disk, the guard stays on -------------------------------------


def a_set_with(server: DemoServer, root: Path, kind: str, **params: Any) -> None:
    """A set of three whose second download gets ``kind`` (the first one is already staged by then)."""
    server.configure(per_image_seconds=0.6)  # image 2 appears after the 1 s Prefer: wait: image 1 is staged
    server.inject("latency", route="file", seconds=0)
    server.inject(kind, route="file", **params)
    staged: list[int] = []

    def on_update(update: Update) -> None:
        if update.event == "image":
            staged.append(len(list(root.glob(".partial-*/*"))))

    with client_for(server, root, max_output_bytes=2_000_000, wait=1) as client:
        try:
            client.generate("a set", size="1K", sequential_image_generation="auto", max_images=3,
                            on_update=on_update)
        finally:
            assert staged and staged[0] >= 1, "the first image was staged before the hostile one arrived"


def one(kind: str, max_output_bytes: int = 2_000_000, **params: Any) -> Callable[[DemoServer, Path], None]:
    """A single-image run whose create (``output_scheme``) or download gets ``kind``."""
    def run(server: DemoServer, root: Path) -> None:
        server.inject(kind, route="create" if kind == "output_scheme" else "file", **params)
        with client_for(server, root, max_output_bytes=max_output_bytes) as client:
            client.generate("x", size="1K")

    return run


HOSTILE_OUTPUTS: dict[str, tuple[Callable[[DemoServer, Path], None], tuple[str, ...]]] = {
    "file: and javascript: output URLs": (one("output_scheme"), ("refused output URL", "only http(s) URLs")),
    "body over the size cap": (one("oversize", bytes=3_000_000), ("3 MB", "over the 2 MB limit")),
    "HTML page served as image/png": (one("not_image"), ("is not an image",)),
    "decompression bomb": (one("bomb"), ("suspiciously huge image", "refused")),
    "bomb as image 2 of 3": (lambda s, r: a_set_with(s, r, "bomb"), ("suspiciously huge image",)),
    "HTML page as image 2 of 3": (lambda s, r: a_set_with(s, r, "not_image"), ("is not an image",)),
    "oversize image 2 of 3": (lambda s, r: a_set_with(s, r, "oversize", bytes=3_000_000), ("2 MB limit",)),
}


@pytest.mark.parametrize("name", list(HOSTILE_OUTPUTS))
def test_hostile_output_is_refused_and_leaves_nothing(name: str, server: DemoServer, tmp_path: Path,
                                                      figures: Figures) -> None:
    run, words = HOSTILE_OUTPUTS[name]
    pixels_guard = Image.MAX_IMAGE_PIXELS
    root = tmp_path / "gallery"
    with pytest.raises(OutputError) as info:
        run(server, root)
    exc = info.value
    for word in words:
        assert word in str(exc), f"{word!r} missing from: {exc}"
    assert exc.prediction_id and exc.prediction_id in str(exc)
    assert leftovers(root) == [], "no image, no staging folder, no partial file, no journal entry"
    assert pixels_guard == Image.MAX_IMAGE_PIXELS, "Pillow's decompression-bomb guard stays on"
    rendered(error_html(exc), f"error_html({name})")
    # No crash: the same backend and a new client go on working.
    with client_for(server, tmp_path / "after") as client:
        assert client.generate("after the storm", size="1K").paths[0].is_file()
    figures.refuse("hostile outputs")
    figures.finished()


# -- hostile text: escaped everywhere ----------------------------------------------------------------


def test_hostile_prompt_and_error_text_are_escaped_by_the_engine_renderings(server: DemoServer, tmp_path: Path,
                                                                            figures: Figures) -> None:
    with client_for(server, tmp_path) as client:
        result = client.generate(HOSTILE, size="1K")
        assert result.prompt == HOSTILE, "stored as given, escaped only when rendered"
        rendered(result._repr_html_(), "Result._repr_html_")
        rendered(result._repr_mimebundle_()["text/html"], "Result mimebundle")
        live = RunState(None, phase="processing", prediction=result.prediction, images=tuple(result.paths), demo=True)
        rendered(status_html(live), "status_html")
        server.inject("html", route="create")
        grid = client.compare(HOSTILE, size=["1K"], aspect_ratio=["1:1", "16:9"], progress=False)
        assert len(grid.errors) == 1 and len(grid.results) == 1
        rendered(comparison_html(grid), "comparison_html with a failed cell")
        server.inject("html", route="create")
        with pytest.raises(PredictionFailed) as info:
            client.generate(HOSTILE, size="1K")
    box = rendered(error_html(info.value), "error_html(html fault)")
    assert "&lt;script&gt;" in box, "the service's text is shown, escaped, not dropped"
    sidecar = json.loads((result.folder / "prediction.json").read_text(encoding="utf-8"))
    assert sidecar["input"]["prompt"] == HOSTILE
    assert journal_ids(tmp_path) == []
    figures.finished(2)
    figures.refuse("hostile text", 2)


def run_cell(shell: InteractiveShell, text: str) -> tuple[Any, str]:
    """Run a cell; returns its exception and every HTML it displayed (updates included)."""
    with capture_output() as captured:
        outcome = shell.run_cell(text)
    html = "\n".join(str(o.data.get("text/html", "")) for o in captured.outputs)
    return outcome.error_in_exec, html + "\n" + captured.stdout + captured.stderr


@pytest.mark.parametrize(("name", "fault", "line", "error"), [
    ("hostile prompt", None, "-s 1K", None),
    ("hostile prompt in a set", None, "-s 1K -n 2", None),
    ("hostile prompt in a comparison", None, "--compare size=1K aspect_ratio=1:1,16:9", None),
    ("html in the service's error", "html", "-s 1K", PredictionFailed),
    ("javascript: output URLs", "output_scheme", "-s 1K", OutputError),
    ("HTML page as an image", "not_image", "-s 1K", OutputError),
    ("decompression bomb", "bomb", "-s 1K", OutputError),
])
def test_magic_output_escapes_hostile_text(name: str, fault: str | None, line: str, error: type[SeedreamError] | None,
                                           magic_shell: InteractiveShell, server: DemoServer, tmp_path: Path,
                                           figures: Figures) -> None:
    if fault:
        server.inject(fault)
    exc, shown = run_cell(magic_shell, f"%%seedream {line}\n{HOSTILE}")
    if error is None:
        assert exc is None, f"{type(exc).__name__}: {exc}"
        figures.finished(1 if "compare" not in line else 2)
    else:
        assert isinstance(exc, error), f"{type(exc).__name__}: {exc}"
        assert leftovers(tmp_path / "magic-out") == []
        figures.refuse("hostile outputs" if fault != "html" else "hostile text")
    rendered(shown, f"%%seedream ({name})")
    assert "&lt;script&gt;" in shown or "&lt;svg" in shown or error is OutputError
    assert SENTINEL not in shown


def panel_html(panel: SeedreamPanel) -> str:
    """Every value of the panel that a front end renders as HTML.

    HTML widgets' values, Output widgets' ``text/html`` outputs, and descriptions
    with ``description_allow_html``. Text values (the prompt's Textarea, tooltips,
    placeholders) are set as DOM text or attributes by ipywidgets and never parsed.
    """
    texts: list[str] = []
    for widget in descendants(panel):
        if isinstance(widget, (widgets.HTML, widgets.HTMLMath)):
            texts.append(widget.value)
        elif isinstance(widget, widgets.Output):
            texts += [str(output.get("data", {}).get("text/html", "")) for output in widget.outputs]
        if getattr(widget, "description_allow_html", False):
            texts.append(str(widget.description))
    return "\n".join(texts)


def shown(panel: SeedreamPanel, timeout: float = 10.0) -> None:
    """Wait for the panel to draw its run's outcome (on the notifier thread, as the run ends)."""
    deadline = time.monotonic() + timeout
    while panel.running:
        assert time.monotonic() < deadline, "the panel never drew the run's outcome"
        time.sleep(0.02)


def panel_text(panel: SeedreamPanel) -> str:
    """Every string in the synced state of every widget of the panel (for the token check)."""
    return "\n".join(json.dumps(w.get_state(), default=lambda v: "<bytes>") for w in descendants(panel))


@pytest.mark.parametrize(("name", "fault", "error"), [
    ("hostile prompt", None, None),
    ("html in the service's error", "html", PredictionFailed),
    ("javascript: output URLs", "output_scheme", OutputError),
    ("decompression bomb", "bomb", OutputError),
])
def test_panel_widget_state_escapes_hostile_text(name: str, fault: str | None, error: type[SeedreamError] | None,
                                                 server: DemoServer, tmp_path: Path, figures: Figures) -> None:
    root = tmp_path / "panel-out"
    with client_for(server, root) as client:
        panel = SeedreamPanel(client, prompt=HOSTILE, size="1K")
        try:
            if fault:
                server.inject(fault)
            run = panel.generate()
            if error is None:
                assert isinstance(run.wait(30), Result)
                shown(panel)
                panel.restore(1)  # the history entry's tooltips and the restored controls carry the prompt too
                figures.finished()
            else:
                with pytest.raises(error):
                    run.wait(30)
                shown(panel)
                assert panel.error.value, "the error box shows the message"
                assert leftovers(root) == []
                figures.refuse("hostile outputs" if fault != "html" else "hostile text")
            rendered(panel_html(panel), f"SeedreamPanel widget state ({name})")
            assert SENTINEL not in panel_text(panel)
            assert HOSTILE in panel.controls["prompt"].value, "the prompt box shows the text as typed"
        finally:
            panel.close()


# -- the proof in a browser: nothing runs --------------------------------------------------------------


# Not marked `browser`: it must run after the renderings above, in the same process (scripts/test keeps a
# module's tests together, in order, with --dist loadfile); its Chromium is its own and closed at the end.
def test_no_rendering_runs_anything_in_a_real_browser(tmp_path: Path, figures: Figures) -> None:
    """Load every HTML collected above into Chromium as a page: no payload may run, no dialog may open."""
    if os.environ.get("SEEDREAM_SKIP_BROWSER") == "1":  # pragma: no cover - the browser tests' own switch
        pytest.skip("SEEDREAM_SKIP_BROWSER=1")
    assert len(RENDERED) >= 10, "the renderings above ran first (same module, in order)"
    from playwright.sync_api import sync_playwright

    page_html = ("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                 "<script>window.__pwned = null; window.__alive = true;</script>"
                 + "\n".join(RENDERED) + "</body></html>")
    (tmp_path / "all-renderings.html").write_text(page_html, encoding="utf-8")
    dialogs: list[str] = []

    def look() -> tuple[Any, Any, Any, str]:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page()
                # The control: the same payload unescaped does run in this browser, so the check below can fail.
                control = tmp_path / "control.html"
                control.write_text(f"<!doctype html><body>{HOSTILE}</body>", encoding="utf-8")
                page.goto(control.as_uri())
                page.wait_for_timeout(300)
                live = page.evaluate("window.__pwned")
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
                page.goto((tmp_path / "all-renderings.html").as_uri())
                page.wait_for_load_state("load")
                page.wait_for_timeout(300)  # onerror of a broken <img> fires after load
                return (live, page.evaluate("[window.__alive, window.__pwned]"),
                        page.evaluate("document.querySelectorAll('script').length"),
                        page.evaluate("document.body.innerText"))
            finally:
                browser.close()

    live, (alive, pwned), scripts, shown = in_fresh_thread(look, 60)
    assert live is not None, "the payload is live when not escaped"
    assert alive is True, "the page's own script runs (the check is live)"
    assert pwned is None and scripts == 1
    assert dialogs == []
    assert 'window.__pwned="script"' in shown, "the payload is shown as text"
    figures.note("hostile renderings loaded in Chromium", f"{len(RENDERED)} HTML fragments, 0 payloads ran")
    thumbnails = sum(html.count('src="data:image/jpeg;base64,') for html in RENDERED)
    assert thumbnails > 0, "the renderings carry their thumbnails (inline data: URIs, nothing else is loaded)"
