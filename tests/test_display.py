"""`seedream_widgets.display`: the one presentation module (text and HTML of runs, batches, results, errors)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from seedream_widgets import PredictionFailed, ValidationError
from seedream_widgets.batch import BatchState
from seedream_widgets.display import (
    BatchProgress,
    batch_html,
    batch_text,
    comparison_html,
    error_html,
    error_text,
    esc,
    in_notebook,
    result_html,
    result_text,
    shorten,
    status_html,
    status_text,
    thumbnail_bytes_uri,
    thumbnail_data_uri,
)
from seedream_widgets.errors import InvalidField
from seedream_widgets.prediction import Prediction
from seedream_widgets.result import Comparison, Result
from seedream_widgets.run import RunState

HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def image_file(folder: Path, name: str = "1.png", size: tuple[int, int] = (300, 200)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new("RGB", size, "teal").save(path)
    return path


def state(phase: Any = "processing", *, logs: str = "", pid: str = "p" * 26, images: tuple[Path, ...] = (),
          demo: bool = False, note: str = "", elapsed: float | None = 3.4, status: str | None = None,
          **extra: Any) -> RunState:
    prediction = Prediction(pid, status or phase, logs=logs) if pid else None
    ended = None if elapsed is None else 100.0 + elapsed
    return RunState(None, phase=phase, prediction=prediction, started=100.0, ended=ended, images=images,
                    demo=demo, note=note, **extra)


def result(folder: Path, prompt: str = "a red fox", n: int = 1, demo: bool = False) -> Result:
    paths = [image_file(folder, f"{i}.png") for i in range(1, n + 1)]
    return Result(prediction=Prediction("r" * 26, "succeeded"), paths=paths, folder=folder,
                  input={"prompt": prompt}, demo=demo, elapsed=2.5, sizes=[(300, 200)] * n)


# -- one run ----------------------------------------------------------------------------------------------


def test_status_text_shows_status_seconds_images_id_and_the_last_log_line(tmp_path: Path) -> None:
    text = status_text(state(logs="Using seed 12\nGenerating 2304x1728 image with aspect ratio 4:3\n",
                             images=(tmp_path / "1.jpg",), demo=True, pid="abc123"))
    parts = text.split(" · ")
    assert parts == ["DEMO", "processing", "3.4 s", "1 image", "abc123",
                     "Generating 2304x1728 image with aspect ratio 4:3"]


def test_status_text_before_the_service_named_the_run() -> None:
    text = status_text(state("submitting", pid="", elapsed=0.3))
    assert text.split(" · ") == ["submitting", "0.3 s", "0 images"]
    assert "DEMO" not in text


def test_status_text_counts_images_and_shows_a_note_only_while_running(tmp_path: Path) -> None:
    images = (tmp_path / "1.jpg", tmp_path / "2.jpg")
    running = status_text(state(images=images, note="waiting for the rate limit"))
    assert "2 images" in running and "waiting for the rate limit" in running
    ended = status_text(state("succeeded", images=images, note="done earlier"))
    assert "done earlier" not in ended and ended.startswith("succeeded · ")


def test_status_text_says_timed_out_in_words_and_shortens_a_long_log_line() -> None:
    text = status_text(state("timed_out", logs="x" * 500))
    assert text.startswith("timed out · ")
    assert text.endswith("…") and len(text.rsplit(" · ", 1)[1]) == 100


def test_status_html_escapes_a_hostile_log_line_note_and_id() -> None:
    html = status_html(state(logs=f"step 1\n{HOSTILE}\n", note=HOSTILE, pid=f"id{HOSTILE}"))
    assert "<script>" not in html and html.count(ESCAPED) == 3
    assert 'class="seedream-status"' in html and ">processing</span>" in html  # the status is a badge


def test_status_html_has_the_demo_badge_only_in_demo_mode() -> None:
    assert ">DEMO</span>" in status_html(state(demo=True))
    assert "DEMO" not in status_html(state(demo=False))


def test_status_html_shows_saved_images_and_skips_moved_ones(tmp_path: Path) -> None:
    shown = image_file(tmp_path)
    html = status_html(state(images=(shown, tmp_path / "moved.png")))
    assert html.count("<img") == 1 and "data:image/jpeg;base64," in html
    assert "<img" not in status_html(state(images=(shown,)), thumbnails=False)


# -- many runs -----------------------------------------------------------------------------------------------


def batch(*phases: Any, ended: float | None = None, label: str = "batch", notes: dict[int, str] | None = None,
          demo: bool = False) -> BatchState:
    items = tuple(state(p, elapsed=None, note=(notes or {}).get(i, ""), demo=demo) for i, p in enumerate(phases))
    return BatchState(items, started=time.monotonic() - 2.5, ended=ended, label=label)


def test_batch_text_counts_finished_failed_and_running() -> None:
    running = batch("queued", "processing", "succeeded", "failed", "canceled", "timed_out", label="compare")
    assert running.counts == {"queued": 1, "running": 1, "succeeded": 1, "failed": 3}
    assert (running.finished, running.total) == (4, 6)
    text = batch_text(running)
    assert re.fullmatch(r"compare: 4/6 done · 3 failed · 1 running · 2\.\d s", text), text


def test_batch_text_of_a_clean_finished_batch_and_a_waiting_one() -> None:
    done = batch("succeeded", "succeeded", ended=time.monotonic(), demo=True)
    assert re.fullmatch(r"DEMO · batch: 2/2 done · 2\.\d s", batch_text(done)), batch_text(done)
    waiting = batch("queued", "submitting", notes={0: "waiting for the rate limit"})
    assert " · waiting for the rate limit · " in batch_text(waiting)
    assert "failed" not in batch_text(waiting) and "1 running" in batch_text(waiting)


def test_batch_html_progress_and_escaping() -> None:
    html = batch_html(batch("succeeded", "failed", "processing", "queued", notes={2: HOSTILE}))
    assert '<progress value="50" max="100"' in html
    assert "<script>" not in html and ESCAPED in html


def test_batch_progress_prints_lines_in_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert not in_notebook()
    progress = BatchProgress()
    progress(batch("processing", "queued"))
    progress(batch("succeeded", "processing"))  # within 2 s of the last line: not printed
    progress(batch("succeeded", "succeeded", ended=time.monotonic()))  # the final line always is
    progress(batch("succeeded", "succeeded", ended=time.monotonic()))  # once
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("batch: 0/2 done · 1 running") and lines[1].startswith("batch: 2/2 done")


# -- results, comparisons, errors ----------------------------------------------------------------------------


def test_result_text_is_the_caption_then_the_paths(tmp_path: Path) -> None:
    done = result(tmp_path / "run", n=2, demo=True)
    lines = result_text(done).splitlines()
    assert lines[0] == done.caption() and "300x200" in lines[0] and "2 images" in lines[0] and "DEMO" in lines[0]
    assert lines[1:] == [f"  {p}" for p in done.paths]


def test_result_html_escapes_the_prompt_and_embeds_thumbnails(tmp_path: Path) -> None:
    html = result_html(result(tmp_path / "run", prompt=f"a fox {HOSTILE}", n=2, demo=True))
    assert "<script>" not in html and ESCAPED in html
    assert html.count('<img src="data:image/jpeg;base64,') == 2 and "1 of 2" in html and "2 of 2" in html
    assert ">DEMO</span>" in html


def test_result_html_shortens_a_long_prompt(tmp_path: Path) -> None:
    html = result_html(result(tmp_path / "run", prompt="word " * 100))
    heading, _, details = html.partition('class="seedream-details"')
    assert "word " * 30 in heading and "word " * 40 not in heading and "…" in heading
    assert "word " * 99 in details, "the folded details view keeps the whole prompt"


def test_comparison_html_escapes_prompt_axes_and_errors(tmp_path: Path) -> None:
    ok = result(tmp_path / "ok")
    error = PredictionFailed(f"the model said {HOSTILE}")
    grid = Comparison(prompt=f"p {HOSTILE}", axes={"size": ["1K", HOSTILE], "aspect_ratio": ["1:1"]},
                      cells=[({"size": "1K", "aspect_ratio": "1:1"}, ok),
                             ({"size": HOSTILE, "aspect_ratio": "1:1"}, error)])
    html = comparison_html(grid)
    assert "<script>" not in html and html.count(ESCAPED) == 3
    assert html.count("<img") == 1 and "size=1K" in html and "aspect_ratio=1:1" in html
    assert html.index("size=1K") < html.index(f"size={ESCAPED}"), "rows in the order of the first axis"


def test_error_text_and_error_html_escape_the_message() -> None:
    error = ValidationError([InvalidField("prompt", f"is {HOSTILE}", "invalid", None, "")])
    assert error_text(error).startswith("ValidationError: 1 invalid field")
    html = error_html(error)
    assert "<script>" not in html and ESCAPED in html and ">ValidationError</span>" in html


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 60, "short"), ("a  b\n\tc", 60, "a b c"), ("abcdefghij", 5, "abcd…"), ("abcde", 5, "abcde"),
])
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected


def test_esc_quotes_attributes() -> None:
    assert esc('"a" & \'b\' <c>') == "&quot;a&quot; &amp; &#x27;b&#x27; &lt;c&gt;"


def test_thumbnail_uris(tmp_path: Path) -> None:
    path = image_file(tmp_path, size=(800, 400))
    assert thumbnail_data_uri(path, 64).startswith("data:image/jpeg;base64,")
    uri, aspect = thumbnail_bytes_uri(path.read_bytes(), 64)
    assert uri.startswith("data:image/jpeg;base64,") and aspect == 2.0


# -- registration --------------------------------------------------------------------------------------------


def test_results_and_states_render_html_through_the_registered_renderers(tmp_path: Path) -> None:
    done = result(tmp_path / "run", prompt=f"fox {HOSTILE}")
    bundle = done._repr_mimebundle_()
    assert bundle["text/plain"] == repr(done)
    assert bundle["text/html"] == result_html(done) and "<script>" not in bundle["text/html"]
    grid = Comparison(prompt="p", axes={"size": ["1K"]}, cells=[({"size": "1K"}, done)])
    assert grid._repr_mimebundle_()["text/html"] == comparison_html(grid)


def test_importing_the_package_registers_the_renderers_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Importing only `seedream_widgets.result` (which never imports display) still gets HTML: the package's
    ``__init__`` imports display, which registers."""
    path = image_file(tmp_path)
    script = f"""
import sys
from pathlib import Path
from seedream_widgets.result import Result
from seedream_widgets.prediction import Prediction
assert "seedream_widgets.display" in sys.modules
result = Result(prediction=Prediction("abc", "succeeded"), paths=[Path({str(path)!r})], folder=Path({str(tmp_path)!r}),
                input={{"prompt": "a fox"}})
bundle = result._repr_mimebundle_()
print(sorted(bundle))
print(bundle["text/html"].count("<img"))
"""
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['text/html',", "'text/plain']", "1"]
