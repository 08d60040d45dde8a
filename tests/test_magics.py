"""``%%seedream`` and ``%seedream`` through a real IPython InteractiveShell, against the demo backend on a socket.

What the backend received (``server.prediction(id)["input"]``) is compared with
`SeedreamInput.to_payload()` of the same fields; displayed output is captured with
``capture_output`` (display handles and their updates included).
"""

from __future__ import annotations

import _thread
import io
import json
import re
import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from IPython.utils.capture import RichOutput, capture_output
from PIL import Image

from seedream_widgets import FIELDS, SeedreamInput
from seedream_widgets.config import mask
from seedream_widgets.demo import VERSION, DemoServer
from seedream_widgets.errors import (
    DeadlineExceeded,
    NotFoundError,
    PredictionFailed,
    SeedreamWarning,
    ValidationError,
)
from seedream_widgets.images import to_image_uri
from seedream_widgets.magics import SeedreamMagics
from seedream_widgets.options import option_names
from seedream_widgets.result import Comparison, Result

SENTINEL = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def magics(shell: InteractiveShell) -> Iterator[SeedreamMagics]:
    """The registered magics, drawing HTML (as in a notebook) unless a test says otherwise."""
    magics = shell.magics_manager.registry["SeedreamMagics"]
    assert isinstance(magics, SeedreamMagics)
    magics.display_mode = "html"
    yield magics
    magics.close()
    magics._background.clear()
    magics.display_mode = "auto"
    for name in ("_seedream", "fox", "body", "later", "grid", "again", "t"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch, demo_server: DemoServer, tmp_path: Path) -> DemoServer:
    """The session's demo backend as the magic's base URL; outputs in a temp dir."""
    monkeypatch.setenv("SEEDREAM_BASE_URL", demo_server.base_url)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "outputs"))
    return demo_server


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, demo: DemoServer, tmp_path: Path) -> DemoServer:
    """A backend of this test alone (its counters, its faults) as the magic's base URL."""
    monkeypatch.setenv("SEEDREAM_BASE_URL", demo.base_url)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "outputs"))
    return demo


@dataclass
class Cell:
    result: ExecutionResult
    outputs: list[RichOutput]
    stdout: str
    stderr: str

    @property
    def error(self) -> BaseException | None:
        return self.result.error_in_exec

    @property
    def text(self) -> str:
        """Everything printed, including the error's rendering."""
        return self.stdout + self.stderr

    def final(self) -> list[dict[str, Any]]:
        """What is on screen at the end: each display id's last state, plus plain outputs, in order."""
        shown: dict[object, dict[str, Any]] = {}
        for index, output in enumerate(self.outputs):
            key = output.transient.get("display_id") or index
            if output.update:
                assert key in shown, "an update for a display id that was never shown"
            shown[key] = output.data
        return list(shown.values())

    def html(self) -> str:
        return "\n".join(data.get("text/html", "") for data in self.final())

    def everything(self) -> str:
        """Every byte that reached the user, through any channel."""
        parts = [self.text]
        for output in self.outputs:
            parts.extend(str(v) for v in output.data.values())
        return "\n".join(parts)


def run(shell: InteractiveShell, text: str) -> Cell:
    with capture_output() as captured:
        result = shell.run_cell(text)
    return Cell(result, list(captured.outputs), captured.stdout, captured.stderr)


def payload(prompt: str, **fields: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeedreamWarning)
        return SeedreamInput(prompt, **fields).to_payload()


def png_bytes(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# -- the options --------------------------------------------------------------------------------------


def test_help_lists_every_field_and_run_option(shell: InteractiveShell, magics: SeedreamMagics) -> None:
    doc = shell.find_cell_magic("seedream").__doc__
    assert doc is not None and "%%seedream" in doc
    for spec in FIELDS:
        for option in option_names(spec):
            assert f"{option} " in doc
        for choice in spec.choices:
            assert choice in doc
    for option in ("-o VAR", "--out", "--no-wait", "--dry-run", "--compare", "--format", "--model", "--base-url",
                   "--timeout", "--debug"):
        assert option in doc
    line_doc = shell.find_line_magic("seedream").__doc__ or ""
    for command in ("config", "history", "open", "wait"):
        assert command in line_doc


PROMPT = "a red fox in the snow"


@pytest.mark.parametrize(("line", "fields"), [
    ("-s 1K -a 16:9", {"size": "1K", "aspect_ratio": "16:9"}),
    ("--size custom --width 1536 --height 1024 --no-enhance",
     {"size": "custom", "width": 1536, "height": 1024, "enhance_prompt": False}),
    ("-s 1K -n 3", {"size": "1K", "max_images": 3, "sequential_image_generation": "auto"}),
    ("--size 1K --sequential auto --max-images 2 --aspect-ratio 3:2",
     {"size": "1K", "sequential_image_generation": "auto", "max_images": 2, "aspect_ratio": "3:2"}),
    ("-s 1K -n 2 --sequential disabled", {"size": "1K", "max_images": 2, "sequential_image_generation": "disabled"}),
    ("-s 1K --width 1024", {"size": "1K", "width": 1024}),
])
def test_every_option_reaches_the_payload_exactly(shell: InteractiveShell, magics: SeedreamMagics,
                                                  backend: DemoServer, line: str, fields: dict[str, Any]) -> None:
    cell = run(shell, f"%%seedream {line}\n  {PROMPT}  \n")
    assert cell.error is None, cell.text
    result = shell.user_ns["_seedream"]
    assert isinstance(result, Result)
    assert backend.prediction(result.id)["input"] == payload(PROMPT, **fields)
    expected = fields.get("max_images", 1) if fields.get("sequential_image_generation") == "auto" else 1
    assert len(result.paths) == expected


def test_implied_sequential_and_ignored_fields_are_notes_not_warnings(shell: InteractiveShell,
                                                                      magics: SeedreamMagics,
                                                                      backend: DemoServer) -> None:
    cell = run(shell, f"%%seedream -s 1K -n 2\n{PROMPT}")
    assert cell.error is None
    assert "implies --sequential auto" in cell.html()
    cell = run(shell, f"%%seedream -s 1K --width 1024\n{PROMPT}")  # valid, ignored: a note, not a warning
    assert cell.error is None
    assert "--width/--height are ignored" in cell.html()  # in option words


def test_image_inputs_from_paths_variables_and_results(shell: InteractiveShell, magics: SeedreamMagics,
                                                       backend: DemoServer, tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(png_bytes("blue"))
    assert run(shell, "%%seedream -s 1K -o fox\nthe first fox").error is None
    previous = shell.user_ns["fox"]
    picture = Image.new("RGB", (80, 60), "green")
    raw = png_bytes("yellow")
    data_uri = to_image_uri(png_bytes("white"))
    shell.user_ns.update(picture=picture, raw=raw, previous=previous, several=[str(path), picture])
    cell = run(shell, f"%%seedream -s 1K -i {path} --image picture -i raw -i previous -i several -i {data_uri}\n"
                      "make them friends")
    assert cell.error is None, cell.text
    expected = [to_image_uri(x) for x in (path, picture, raw, previous.path, path, picture)] + [data_uri]
    received = backend.prediction(shell.user_ns["_seedream"].id)["input"]
    assert received == payload("make them friends", size="1K", image_input=expected)


def test_an_unknown_image_name_is_a_usage_error(shell: InteractiveShell, magics: SeedreamMagics,
                                                fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --image no_such_picture\na fox")
    assert isinstance(cell.error, UsageError)
    assert "no_such_picture" in cell.text
    assert fresh.stats.total_requests == 0


def test_base_url_model_and_timeout_apply_to_one_cell(shell: InteractiveShell, magics: SeedreamMagics,
                                                      backend: DemoServer, demo: DemoServer) -> None:
    cell = run(shell, f"%%seedream -s 1K --base-url {demo.base_url} --model bytedance/seedream-4:{VERSION}\na fox")
    assert cell.error is None, cell.text
    result = shell.user_ns["_seedream"]
    assert demo.stats.creates == 1 and demo.prediction(result.id)["version"] == VERSION
    assert result.id not in backend.stats.prediction_ids
    cell = run(shell, f"%%seedream -s 1K --base-url {demo.base_url} --model someone/nothing\na fox")
    assert isinstance(cell.error, NotFoundError) and "404" in cell.html()
    started = time.monotonic()
    cell = run(shell, f"%%seedream -s 1K --base-url {demo.base_url} --timeout 0.5\n[demo:slow=5] a slow fox")
    assert isinstance(cell.error, DeadlineExceeded) and cell.error.prediction is not None
    assert f"%seedream open {cell.error.prediction.id}" in cell.html()  # the magic's words, not resume(id)
    assert time.monotonic() - started < 3


# -- results ------------------------------------------------------------------------------------------


def test_result_in_out_var_and_last_shown_once_in_place(shell: InteractiveShell, magics: SeedreamMagics,
                                                        backend: DemoServer) -> None:
    cell = run(shell, f"%%seedream -s 1K -o fox\n{PROMPT}")
    assert cell.error is None
    assert cell.result.result is None  # no Out[]: the result is on screen already
    fox = shell.user_ns["fox"]
    assert isinstance(fox, Result) and fox is shell.user_ns["_seedream"]
    ids = {o.transient.get("display_id") for o in cell.outputs}
    assert len(ids) == 1 and None not in ids  # one status line, updated in place
    assert cell.outputs[0].update is False and all(o.update for o in cell.outputs[1:])
    assert "submitting" in cell.outputs[0].data["text/plain"]
    final = cell.html()
    assert final.count("<img") == 1
    assert fox.id in final and str(fox.folder) in final and "1024x1024" in final


def test_images_of_a_set_appear_as_they_are_saved(shell: InteractiveShell, magics: SeedreamMagics,
                                                  fresh: DemoServer) -> None:
    fresh.configure(per_image_seconds=0.6)
    cell = run(shell, "%%seedream -s 1K -n 3\na set of three foxes")
    assert cell.error is None
    statuses = [o.data for o in cell.outputs if 'class="seedream-status"' in o.data["text/html"]]
    seen = [(d["text/html"].count("<img"), d["text/plain"]) for d in statuses]
    partial = [(n, text) for n, text in seen if 0 < n < 3]
    assert partial, seen  # the status line showed some images while the others were still coming
    assert all("processing" in text or "succeeded" in text for _, text in partial)
    assert cell.final()[-1]["text/html"].count("<img") == 3


def test_compare_grid(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 1K -o grid --compare aspect_ratio=1:1,16:9 enhance-prompt=true,false\n"
                      "a lighthouse")
    assert cell.error is None, cell.text
    grid = shell.user_ns["grid"]
    assert isinstance(grid, Comparison) and grid is shell.user_ns["_seedream"]
    assert len(grid) == 4 and len(grid.results) == 4
    assert cell.html().count("<img") == 4
    assert fresh.stats.creates == 4
    received = sorted(json.dumps(fresh.prediction(i)["input"], sort_keys=True) for i in fresh.stats.prediction_ids)
    expected = sorted(json.dumps(payload("a lighthouse", size="1K", aspect_ratio=a, enhance_prompt=e), sort_keys=True)
                      for a in ("1:1", "16:9") for e in (True, False))
    assert received == expected


@pytest.mark.parametrize("line", ["-s 1K", "-s 1K -n 3"], ids=["single image", "a set"])
def test_status_shows_processing_id_and_log_line_within_1_5_s_on_a_slow_backend(
        shell: InteractiveShell, magics: SeedreamMagics, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        line: str) -> None:
    """The issue's live progress: a backend that takes 6 s, the status line knows what it does after about 1 s."""
    with DemoServer(base_seconds=6, per_image_seconds=0.1) as slow:
        monkeypatch.setenv("SEEDREAM_BASE_URL", slow.base_url)
        monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "outputs"))
        published: list[tuple[float, dict[str, Any]]] = []
        with capture_output() as captured:
            publisher = shell.display_pub
            original = publisher.publish

            def publish(data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
                published.append((time.monotonic(), data))
                original(data, *args, **kwargs)

            monkeypatch.setattr(publisher, "publish", publish)
            result = shell.run_cell(f"%%seedream {line}\na slow fox")
        assert result.error_in_exec is None, captured.stdout
        run = shell.user_ns["_seedream"]
        assert slow.prediction(run.id)["status"] == "succeeded" and slow.stats.creates == 1
    published = [(when, data) for when, data in published if not data["text/plain"].startswith("note: ")]
    submitted, first = published[0]
    assert "submitting" in first["text/plain"]
    knowing = [when - submitted for when, data in published
               if all(word in data.get("text/plain", "") for word in ("processing", run.id, "Generating "))]
    assert knowing, [data.get("text/plain") for _, data in published]
    assert knowing[0] < 1.5, f"processing, id and log line shown {knowing[0]:.2f} s after submitting"
    assert all(word in published[-1][1]["text/html"] for word in ('class="seedream-result"', run.id))


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "words"), [
    ("--bogus", ["--bogus", "cell's body"]),
    ("a red fox", ["unrecognized arguments", "cell's body"]),
    ("-n", ["-n"]),
    ("-o 1abc", ["1abc", "variable name"]),
    ("--timeout -1", ["--timeout"]),
    ("--compare nosuch=1,2", ["nosuch", "axes:"]),
    ("--compare size", ["NAME=VALUE"]),
    ("--compare image=a.png,b.png", ["cannot vary -i/--image"]),
    ("--size 1K --compare size=1K,2K", ["both an option and a --compare axis"]),
    ("--compare aspect_ratio=1:1 aspect-ratio=16:9", ["twice"]),
    ("--image 'unclosed", ["%%seedream"]),
])
def test_invalid_options_are_one_line_usage_errors(shell: InteractiveShell, magics: SeedreamMagics,
                                                   fresh: DemoServer, line: str, words: list[str]) -> None:
    cell = run(shell, f"%%seedream {line}\na fox")
    assert type(cell.error) is UsageError
    lines = cell.text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("UsageError: ")
    for word in words:
        assert word in lines[0]
    assert fresh.stats.total_requests == 0


@pytest.mark.parametrize("mode", ["html", "text"])
def test_invalid_fields_name_each_field_and_what_is_allowed(shell: InteractiveShell, magics: SeedreamMagics,
                                                            fresh: DemoServer, mode: str) -> None:
    magics.display_mode = mode
    cell = run(shell, "%%seedream --size 3K -n 99 --compare aspect_ratio=1:1,5:4\na fox")
    assert isinstance(cell.error, ValidationError)
    assert set(cell.error.fields) == {"size", "max_images", "aspect_ratio"}
    shown = cell.html() if mode == "html" else cell.text
    for words in ("-s/--size: ", "1K, 2K, 4K, custom", "-n/--max-images: ", "at most 15", "-a/--aspect-ratio: ",
                  "5:4", "16:9"):  # named as the options that set them
        assert words in shown
    assert "Traceback" not in cell.text and "magics.py" not in cell.text
    if mode == "html":
        assert 'class="seedream-error"' in shown
        assert len(cell.text.strip().splitlines()) == 1  # the cell fails with one line under the styled box
    assert fresh.stats.total_requests == 0


def test_debug_shows_the_traceback(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --debug --size 3K\na fox")
    assert isinstance(cell.error, ValidationError)
    assert "magics.py" in cell.text or "Traceback" in cell.text


def test_a_failed_prediction_shows_the_service_message(shell: InteractiveShell, magics: SeedreamMagics,
                                                       fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream -s 1K -o fox\n[demo:fail=the model ran out of paint] a fox")
    assert isinstance(cell.error, PredictionFailed)
    final = cell.html()
    assert "the model ran out of paint" in final and 'class="seedream-error"' in final
    assert len({o.transient.get("display_id") for o in cell.outputs}) == 1  # the status line became the error
    assert "Traceback" not in cell.text
    assert "fox" not in shell.user_ns


def test_service_error_text_is_escaped(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer) -> None:
    fresh.inject("html", route="create")
    cell = run(shell, "%%seedream -s 1K\na fox")
    assert isinstance(cell.error, PredictionFailed)
    final = cell.html()
    assert "<script>" not in final and "&lt;script&gt;" in final


def test_text_mode_prints_the_failure_without_traceback(shell: InteractiveShell, magics: SeedreamMagics,
                                                        fresh: DemoServer) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%%seedream -s 1K\n[demo:fail=no paint left] a fox")
    assert isinstance(cell.error, PredictionFailed)
    assert "PredictionFailed: prediction" in cell.text and "no paint left" in cell.text
    assert "Traceback" not in cell.text and not cell.outputs


# -- dry run --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["html", "text"])
def test_dry_run_shows_payload_and_calls_with_the_token_masked(shell: InteractiveShell, magics: SeedreamMagics,
                                                               monkeypatch: pytest.MonkeyPatch, fresh: DemoServer,
                                                               mode: str) -> None:
    magics.display_mode = mode
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)  # a real-looking token, with a loopback base URL
    prompt = f"a fox called 'Rusty' says \"hi\" {{not a placeholder}} {SENTINEL[:6]}"
    cell = run(shell, f"%%seedream --dry-run -s 1K -a 4:3 -n 2 --no-enhance -o body\n{prompt}")
    assert cell.error is None, cell.text
    body = {"input": payload(prompt, size="1K", aspect_ratio="4:3", max_images=2,
                             sequential_image_generation="auto", enhance_prompt=False)}
    assert shell.user_ns["body"] == body
    seen = cell.everything()
    assert SENTINEL not in seen
    assert mask(SENTINEL) in seen
    for sample in ("POST http://127.0.0.1", "/v1/models/bytedance/seedream-4/predictions", "curl ",
                   '"Authorization: Bearer $SEEDREAM_API_TOKEN"', "httpx.post(", "os.environ['SEEDREAM_API_TOKEN']",
                   "from seedream_widgets import Seedream", "client.generate("):
        assert sample in seen
    plain = cell.text if mode == "text" else cell.final()[-1]["text/plain"]
    shown = re.search(r"# payload\n(.*?)\n\n# curl", plain, re.S)
    assert shown is not None and json.loads(shown.group(1)) == body
    assert fresh.stats.total_requests == 0 and fresh.stats.creates == 0
    assert "_seedream" not in shell.user_ns


def test_dry_run_of_a_comparison_lists_every_payload(shell: InteractiveShell, magics: SeedreamMagics,
                                                     fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --dry-run -s 1K --compare aspect_ratio=1:1,16:9 -o body\na fox")
    assert cell.error is None
    assert shell.user_ns["body"] == [{"input": payload("a fox", size="1K", aspect_ratio=a)} for a in ("1:1", "16:9")]
    assert "client.compare(" in cell.everything()
    assert fresh.stats.total_requests == 0


@pytest.mark.parametrize(("cell_text", "prompt"), [
    ("%%seedream --dry-run --format -o body\na {animal} with {{literal}} braces", "a fox with {literal} braces"),
    ("%%seedream --dry-run -o body\na {animal} with {{doubled}} braces", "a {animal} with {{doubled}} braces"),
    ("%%seedream --dry-run --format -o body\n{animal.upper()!r:>6} and {colors[1]}", None),
])
def test_format_fills_placeholders_only_when_asked(shell: InteractiveShell, magics: SeedreamMagics,
                                                   fresh: DemoServer, cell_text: str, prompt: str | None) -> None:
    shell.user_ns.update(animal="fox", colors=["red", "blue"])
    cell = run(shell, cell_text)
    if prompt is None:  # a method call is not a format field: a usage error, never evaluated
        assert type(cell.error) is UsageError
        return
    assert cell.error is None, cell.text
    assert shell.user_ns["body"]["input"]["prompt"] == prompt


def test_format_with_an_unknown_name_is_a_usage_error(shell: InteractiveShell, magics: SeedreamMagics,
                                                      fresh: DemoServer) -> None:
    cell = run(shell, "%%seedream --format\na {no_such_name}")
    assert type(cell.error) is UsageError and "no_such_name" in cell.text
    assert fresh.stats.total_requests == 0


# -- --no-wait, text mode, interrupts --------------------------------------------------------------------


def test_no_wait_returns_at_once_and_fills_the_same_output(shell: InteractiveShell, magics: SeedreamMagics,
                                                           backend: DemoServer) -> None:
    with capture_output() as captured:
        started = time.monotonic()
        result = shell.run_cell("%%seedream --no-wait -s 1K -o later\n[demo:slow=1] a patient fox")
        returned = time.monotonic() - started
        assert result.error_in_exec is None and result.result is None
        assert returned < 1.0 and "later" not in shell.user_ns
        shell.run_line_magic("seedream", "wait --timeout 20")
    cell = Cell(result, list(captured.outputs), captured.stdout, captured.stderr)
    later = shell.user_ns["later"]
    assert isinstance(later, Result) and later is shell.user_ns["_seedream"]
    display_ids = {o.transient.get("display_id") for o in cell.outputs}
    assert len(display_ids) == 1 and None not in display_ids
    assert cell.outputs[0].update is False and cell.outputs[-1].update is True
    assert "<img" in cell.outputs[-1].data["text/html"] and later.id in cell.outputs[-1].data["text/html"]
    assert later.id in cell.stdout  # %seedream wait reports the outcome
    assert backend.prediction(later.id)["status"] == "succeeded"


def test_a_no_wait_comparison_fills_its_grid_in_place(shell: InteractiveShell, magics: SeedreamMagics,
                                                      fresh: DemoServer) -> None:
    with capture_output() as captured:
        result = shell.run_cell("%%seedream --no-wait -s 1K -o grid --compare aspect_ratio=1:1,16:9\na lighthouse")
        assert result.error_in_exec is None and "grid" not in shell.user_ns
        shell.run_line_magic("seedream", "wait --timeout 20")
    outputs = list(captured.outputs)
    assert {o.transient.get("display_id") for o in outputs} == {outputs[0].transient["display_id"]}
    assert "compare: 0/2 done" in outputs[0].data["text/plain"]
    grid = shell.user_ns["grid"]
    assert isinstance(grid, Comparison) and len(grid.results) == 2 and grid is shell.user_ns["_seedream"]
    final = outputs[-1].data["text/html"]
    assert 'class="seedream-compare"' in final and final.count("<img") == 2
    assert fresh.stats.creates == 2


def test_a_failing_no_wait_run_shows_its_error_in_place(shell: InteractiveShell, magics: SeedreamMagics,
                                                         fresh: DemoServer) -> None:
    with capture_output() as captured:
        result = shell.run_cell("%%seedream --no-wait -s 1K -o later\n[demo:fail=no paint] a fox")
        assert result.error_in_exec is None
        shell.run_line_magic("seedream", "wait --timeout 20")
    outputs = list(captured.outputs)
    assert {o.transient.get("display_id") for o in outputs} == {outputs[0].transient["display_id"]}
    assert 'class="seedream-error"' in outputs[-1].data["text/html"] and "no paint" in outputs[-1].data["text/html"]
    assert "PredictionFailed" in captured.stdout and "later" not in shell.user_ns


def test_interrupting_wait_cancels_the_background_runs(shell: InteractiveShell, magics: SeedreamMagics,
                                                       fresh: DemoServer) -> None:
    magics.display_mode = "text"
    started = run(shell, "%%seedream --no-wait -s 1K -o later\n[demo:slow=5] a fox")
    assert started.error is None and "running in the background" in started.stdout
    assert "background runs  1" in run(shell, "%seedream config").stdout

    helper = interrupt_after_creates(fresh, 1)
    cell = run(shell, "%seedream wait")
    helper.join()
    assert isinstance(cell.error, KeyboardInterrupt)
    assert fresh.stats.cancels == 1
    assert fresh.prediction(fresh.stats.prediction_ids[0])["status"] == "canceled"
    assert "later" not in shell.user_ns


def test_unloading_closes_clients_and_cancels_background_runs(shell: InteractiveShell, fresh: DemoServer) -> None:
    shell.run_line_magic("unload_ext", "seedream_widgets")
    shell.run_line_magic("load_ext", "seedream_widgets")
    magics = shell.magics_manager.registry["SeedreamMagics"]
    magics.display_mode = "text"
    assert run(shell, "%%seedream --no-wait -s 1K\n[demo:slow=5] a fox").error is None
    deadline = time.monotonic() + 10
    while fresh.stats.creates < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    shell.run_line_magic("unload_ext", "seedream_widgets")
    assert shell.find_cell_magic("seedream") is None and shell.find_line_magic("seedream") is None
    assert fresh.stats.cancels == 1
    shell.run_line_magic("load_ext", "seedream_widgets")
    assert shell.find_cell_magic("seedream") is not None


def test_text_mode_prints_status_lines_and_paths(shell: InteractiveShell, magics: SeedreamMagics,
                                                 backend: DemoServer) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%%seedream -s 1K -n 2 -o t\na fox in a terminal")
    assert cell.error is None and not cell.outputs  # no rich display at all
    result = shell.user_ns["t"]
    lines = cell.stdout.splitlines()
    assert lines[0].startswith("note: ") and "submitting" in lines[1]
    assert any(line.startswith("DEMO · succeeded") for line in lines)
    for path in result.paths:
        assert f"  {path}" in lines


def test_auto_mode_is_text_outside_a_kernel(shell: InteractiveShell, magics: SeedreamMagics,
                                            backend: DemoServer) -> None:
    magics.display_mode = "auto"
    cell = run(shell, "%%seedream -s 1K\na fox")
    assert cell.error is None and not cell.outputs and str(shell.user_ns["_seedream"].paths[0]) in cell.stdout



def interrupt_after_creates(server: DemoServer, creates: int) -> threading.Thread:
    """A started thread that presses Ctrl-C (in the main thread) 0.2 s after ``creates`` creates reached ``server``."""
    def interrupt() -> None:
        deadline = time.monotonic() + 10
        while server.stats.creates < creates and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        _thread.interrupt_main()

    helper = threading.Thread(target=interrupt)
    helper.start()
    return helper


def test_interrupt_cancels_on_the_service_and_says_so(shell: InteractiveShell, magics: SeedreamMagics,
                                                      fresh: DemoServer) -> None:
    canceled_at: list[float] = []

    def interrupt_once_created() -> None:
        deadline = time.monotonic() + 10
        while fresh.stats.creates < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        sent = time.monotonic()
        _thread.interrupt_main()
        while fresh.stats.cancels < 1 and time.monotonic() < sent + 5:
            time.sleep(0.01)
        canceled_at.append(time.monotonic() - sent)

    helper = threading.Thread(target=interrupt_once_created)
    helper.start()
    cell = run(shell, "%%seedream -s 1K -o fox\n[demo:slow=5] a fox that will not finish")
    helper.join()
    assert isinstance(cell.error, KeyboardInterrupt)  # re-raised, so Run All stops
    assert fresh.stats.cancels == 1 and canceled_at[0] < 1.0
    assert fresh.prediction(fresh.stats.prediction_ids[0])["status"] == "canceled"
    assert "canceled" in cell.final()[-1]["text/plain"]
    assert cell.text.strip().splitlines() == [
        "KeyboardInterrupt: canceled on the service (the stop button also stops Run All)"]
    assert "fox" not in shell.user_ns


def test_interrupting_a_comparison_cancels_every_cell(shell: InteractiveShell, magics: SeedreamMagics,
                                                     fresh: DemoServer) -> None:
    helper = interrupt_after_creates(fresh, 2)
    cell = run(shell, "%%seedream -s 1K -o grid --compare aspect_ratio=1:1,16:9\n[demo:slow=5] a slow lighthouse")
    helper.join()
    assert isinstance(cell.error, KeyboardInterrupt)
    assert fresh.stats.cancels == 2
    assert all(fresh.prediction(i)["status"] == "canceled" for i in fresh.stats.prediction_ids)
    assert "compare canceled" in cell.final()[-1]["text/plain"]
    assert cell.text.strip().splitlines() == [
        "KeyboardInterrupt: canceled on the service (the stop button also stops Run All)"]
    assert "grid" not in shell.user_ns


# -- %seedream config | history | open ------------------------------------------------------------------------


def test_config_shows_real_settings_with_the_token_masked(shell: InteractiveShell, magics: SeedreamMagics,
                                                          monkeypatch: pytest.MonkeyPatch, fresh: DemoServer,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)
    cell = run(shell, "%seedream config")
    seen = cell.everything()
    assert SENTINEL not in seen and mask(SENTINEL) in seen
    for words in ("real service", fresh.base_url, "bytedance/seedream-4", str(tmp_path / "outputs"),
                  "SEEDREAM_API_TOKEN"):
        assert words in seen
    assert fresh.stats.total_requests == 0


def test_config_says_demo_without_settings(shell: InteractiveShell, magics: SeedreamMagics) -> None:
    magics.display_mode = "text"
    cell = run(shell, "%seedream config")
    assert cell.error is None and "DEMO" in cell.stdout and "no token needed" in cell.stdout


def test_history_lists_runs_and_open_shows_one_from_disk(shell: InteractiveShell, magics: SeedreamMagics,
                                                         fresh: DemoServer) -> None:
    assert run(shell, "%%seedream -s 1K -o fox\nthe first fox").error is None
    assert run(shell, "%%seedream -s 1K\nthe second fox").error is None
    first, second = shell.user_ns["fox"], shell.user_ns["_seedream"]
    magics.display_mode = "text"
    listed = run(shell, "%seedream history 5").stdout.splitlines()
    assert [line.split()[0] for line in listed] == [second.id, first.id]
    assert "the first fox" in listed[1]
    magics.display_mode = "html"
    requests = fresh.stats.total_requests
    cell = run(shell, f"%seedream open {first.id} -o again")
    assert cell.error is None
    again = shell.user_ns["again"]
    assert isinstance(again, Result) and again.id == first.id and again.paths == first.paths
    assert again is shell.user_ns["_seedream"]
    assert "<img" in cell.html() and first.id in cell.html()
    assert fresh.stats.total_requests == requests  # from disk: no request at all
    cell = run(shell, f"%seedream open {second.id[:6]}")  # the start of an id is enough
    assert cell.error is None and shell.user_ns["_seedream"].id == second.id and second.id in cell.html()
    assert fresh.stats.total_requests == requests
    history = run(shell, "%seedream history 1").html()
    assert second.id in history and first.id not in history and "<img" in history


def test_open_an_unknown_id_is_a_short_error(shell: InteractiveShell, magics: SeedreamMagics,
                                             fresh: DemoServer) -> None:
    cell = run(shell, "%seedream open no-such-prediction")
    assert isinstance(cell.error, NotFoundError)
    assert 'class="seedream-error"' in cell.html() and "Traceback" not in cell.text


@pytest.mark.parametrize(("line", "words"), [
    ("frobnicate", "invalid choice"),
    ("history many", "invalid int"),
    ("history 0", "at least 1"),
    ("open", "ID"),
    ("open abc -o 2x", "variable name"),
])
def test_line_magic_usage_errors(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer, line: str,
                                 words: str) -> None:
    cell = run(shell, f"%seedream {line}")
    assert type(cell.error) is UsageError and words in cell.text
    assert len(cell.text.strip().splitlines()) == 1


def test_line_magic_without_a_command_prints_its_help(shell: InteractiveShell, magics: SeedreamMagics) -> None:
    cell = run(shell, "%seedream")
    assert cell.error is None and "config" in cell.stdout and "history" in cell.stdout


def test_clients_are_reused_per_settings(shell: InteractiveShell, magics: SeedreamMagics, backend: DemoServer,
                                         demo: DemoServer) -> None:
    assert magics.client() is magics.client()
    assert magics.client(base_url=demo.base_url) is not magics.client()
    assert magics.client(model="someone/else") is not magics.client()
    assert magics.client(base_url=demo.base_url).settings.base_url == demo.base_url


def test_the_magic_is_a_thin_front_door() -> None:
    """It imports neither the engine nor the protocol nor the image code, and starts no threads (issue 14)."""
    import ast

    from seedream_widgets import magics

    files = sorted(Path(str(magics.__file__)).parent.glob("*.py"))
    assert len(files) >= 3  # the package's every module: the magics, their arguments, their listings
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
                    for alias in node.names} | {node.module for node in ast.walk(tree)
                                                if isinstance(node, ast.ImportFrom) and node.level}
        assert imported.isdisjoint({"engine", "protocol", "images"}), imported
        for word in ("Thread(", "Executor", "asyncio", "open(", "write_text", "write_bytes", "glob("):
            assert word not in source, word
