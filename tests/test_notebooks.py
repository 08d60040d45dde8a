"""The notebooks in ``notebooks/``: committed clean, and each executed top to bottom in a fresh kernel.

Execution uses nbclient against the embedded demo backend (no token, no base URL: exactly what a
newcomer or a Binder visitor gets), every notebook in its own kernel, working directory and
``SEEDREAM_OUTPUT_DIR``; the kernels run concurrently to keep the suite quick. The checks read
what a person would see (images in the outputs, the messages of the error examples, the files on
disk with their sidecars), not only "it ran". A second pass runs the notebooks that save widget
state in "real" mode (a sentinel token against a loopback demo server) and checks that the token
appears nowhere in the executed notebook or the sidecars: nbclient stores widget state by default,
as JupyterLab's "Save Widget State Automatically" does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image

from seedream_widgets.demo import DemoServer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SENTINEL_API_TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
CELL_TIMEOUT = 90
"""Seconds per cell (the slowest cell, a 4-image set on the embedded backend, takes about 4 s)."""
RUN_TIMEOUT = 240.0
"""Seconds for all notebooks together, kernel start-ups included."""


@dataclass(frozen=True)
class Expect:
    """What one executed notebook must show and leave on disk."""

    runs: int
    """Stored runs (folders with a prediction.json) in its output folder."""
    images: int
    """Image files across those runs."""
    shown: int
    """At least this many images in the outputs (``<img>`` in HTML, or image/* outputs)."""
    panels: int = 0
    """SeedreamPanel widgets in the saved widget state."""
    texts: tuple[str, ...] = ()
    """Text that must appear in some output (plain or HTML)."""


EXPECTED: dict[str, Expect] = {
    "01-quickstart.ipynb": Expect(runs=1, images=1, shown=2, panels=1,
                                  texts=("prediction.json", "DEMO (local backend", "a red fox on fresh snow")),
    "02-editing.ipynb": Expect(runs=5, images=5, shown=6, panels=1,
                               texts=("match_input_image: 1248x832", "aspect_ratio=1:1: 1024x1024")),
    "03-sequential-and-compare.ipynb": Expect(runs=11, images=14, shown=9,
                                              texts=("4 images", "6/6 done", "2560x1440")),
    "04-python-api.ipynb": Expect(runs=3, images=3, shown=2,
                                  texts=("2 invalid fields", "fields: ['size', 'max_images']",
                                         "PredictionFailed · failed", "flagged by the safety checker")),
    "app.ipynb": Expect(runs=0, images=0, shown=0, panels=1),
}
SENTINEL_RUN = ("01-quickstart.ipynb", "app.ipynb")
"""Notebooks run a second time with a real-looking token: the ones whose saved state holds a panel."""


# -- committed clean ----------------------------------------------------------------------------------


def test_the_notebooks_are_the_documented_set() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_without_outputs_or_widget_state(name: str) -> None:
    raw = (NOTEBOOKS / name).read_text(encoding="utf-8")
    notebook = json.loads(raw)
    nbformat.validate(nbformat.reads(raw, as_version=4))
    assert "widgets" not in notebook["metadata"], f"{name}: strip the widget state before committing"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name} cell {index}: committed with outputs"
            assert cell["execution_count"] is None, f"{name} cell {index}: committed with an execution count"
        assert not cell.get("attachments"), f"{name} cell {index}: committed with attachments"
    assert "data:image/" not in raw
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_no_notebook_puts_a_token_in_a_cell() -> None:
    """The quickstart teaches the environment variable; no cell assigns a literal token."""
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":
                assert "API_TOKEN" not in source, f"{path.name}: a code cell touches the token"
            assert not re.search(r"r8_[A-Za-z0-9]{8,}", source), f"{path.name}: something that looks like a token"


# -- executed ------------------------------------------------------------------------------------------


@dataclass
class Execution:
    """One notebook after nbclient ran it, with what its kernel left behind."""

    name: str
    notebook: Any
    output_dir: Path
    workdir: Path
    updates: list[tuple[int, int]] = field(default_factory=list)
    """(cell index, ``<img>`` count) of every display and display update, in arrival order."""
    error: BaseException | None = None

    def outputs(self) -> list[dict[str, Any]]:
        return [out for cell in self.notebook.cells if cell.cell_type == "code" for out in cell.outputs]

    def text(self) -> str:
        parts = []
        for out in self.outputs():
            if out.output_type == "stream":
                parts.append(out.text)
            data = out.get("data", {})
            parts += [str(data.get("text/plain", "")), str(data.get("text/html", ""))]
        return "\n".join(parts)

    def shown_images(self) -> int:
        count = 0
        for out in self.outputs():
            data = out.get("data", {})
            count += str(data.get("text/html", "")).count("<img")
            count += any(mime.startswith("image/") for mime in data)
        return count


class RecordingClient(NotebookClient):
    """Records every display (and display update) as it arrives, before nbclient folds updates in place.

    That is how a test sees a sequential set arrive image by image: the final notebook holds
    only the last state of each display handle.
    """

    updates: list[tuple[int, int]]

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if msg["msg_type"] in ("display_data", "update_display_data"):
            html = str(msg["content"].get("data", {}).get("text/html", ""))
            self.updates.append((cell_index, html.count("<img")))
        return super().process_message(msg, cell, cell_index)


def _kernel_env(output_dir: Path, ipython_dir: Path, extra: Mapping[str, str] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
    env.update(SEEDREAM_OUTPUT_DIR=str(output_dir), IPYTHONDIR=str(ipython_dir), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


async def _execute(name: str, base: Path, extra_env: Mapping[str, str]) -> Execution:
    workdir = base / name.removesuffix(".ipynb")
    workdir.mkdir(parents=True)
    shutil.copy(NOTEBOOKS / name, workdir / name)  # relative paths (sketch.png) land in the temp folder
    notebook = nbformat.read(workdir / name, as_version=4)
    run = Execution(name, notebook, workdir / "outputs", workdir)
    client = RecordingClient(notebook, timeout=CELL_TIMEOUT, startup_timeout=60, kernel_name="python3",
                             resources={"metadata": {"path": str(workdir)}})
    client.updates = run.updates
    try:
        await client.async_execute(env=_kernel_env(run.output_dir, base / "ipython", extra_env))
    except Exception as exc:  # reported per notebook by the tests, with the cell that failed
        run.error = exc
    return run


def execute_all(names: Any, base: Path, extra_env: Mapping[str, str] = ()) -> dict[str, Execution]:
    """Run notebooks concurrently, each in a fresh kernel; bounded by RUN_TIMEOUT overall."""

    async def main() -> list[Execution]:
        return await asyncio.wait_for(asyncio.gather(*(_execute(n, base, extra_env) for n in names)), RUN_TIMEOUT)

    # On a thread of its own: in the same session Playwright's sync API may own this thread's loop.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nbclient") as pool:
        runs = pool.submit(lambda: asyncio.run(main())).result(timeout=RUN_TIMEOUT + 30)
    return {run.name: run for run in runs}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Execution]:
    return execute_all(sorted(EXPECTED), tmp_path_factory.mktemp("notebooks"))


def _stored_runs(output_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) | {"_folder": p.parent}
            for p in sorted(output_dir.rglob("prediction.json"))]


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_top_to_bottom_and_shows_its_images(executed: dict[str, Execution], name: str) -> None:
    run, expect = executed[name], EXPECTED[name]
    assert run.error is None, f"{name} failed:\n{run.error}"
    errors = [out for out in run.outputs() if out.output_type == "error"]
    assert not errors, f"{name}: error outputs: {[(e.ename, e.evalue) for e in errors]}"
    stderr = "".join(out.text for out in run.outputs() if out.output_type == "stream" and out.name == "stderr")
    assert "Traceback" not in stderr and "Warning" not in stderr, f"{name}: stderr says:\n{stderr}"
    for index, cell in enumerate(run.notebook.cells):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"{name}: cell {index} did not run"

    assert run.shown_images() >= expect.shown, f"{name}: {run.shown_images()} images shown, want {expect.shown}+"
    text = run.text()
    for snippet in expect.texts:
        assert snippet in text, f"{name}: no output contains {snippet!r}"
    # Thumbnails in the outputs, never the originals.
    for uri in re.findall(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", text):
        assert len(uri) < 300_000, f"{name}: an embedded image of {len(uri):,} characters"


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_leaves_its_files_with_sidecars(executed: dict[str, Execution], name: str) -> None:
    run, expect = executed[name], EXPECTED[name]
    assert run.error is None, f"{name} failed:\n{run.error}"
    runs = _stored_runs(run.output_dir)
    assert len(runs) == expect.runs, f"{name}: {len(runs)} stored runs in {run.output_dir}"
    images = 0
    for sidecar in runs:
        folder = sidecar["_folder"]
        assert sidecar["status"] == "succeeded" and sidecar["demo"] is True
        assert sidecar["input"]["prompt"]
        for entry in sidecar["images"]:
            with Image.open(folder / entry["file"]) as image:
                assert image.size == (entry["width"], entry["height"])
            images += 1
    assert images == expect.images
    if not runs:
        assert not run.output_dir.exists() or not any(run.output_dir.rglob("*.jpg"))


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_executed_widget_state_holds_the_panels(executed: dict[str, Execution], name: str) -> None:
    run, expect = executed[name], EXPECTED[name]
    assert run.error is None, f"{name} failed:\n{run.error}"
    state = run.notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {}).values()
    panels = [m for m in models if "seedream-panel" in m.get("state", {}).get("_dom_classes", [])]
    assert len(panels) == expect.panels


@pytest.mark.kernel
def test_a_sequential_set_appears_image_by_image(executed: dict[str, Execution]) -> None:
    """The set's status line gains thumbnails while the prediction runs, before the final grid."""
    run = executed["03-sequential-and-compare.ipynb"]
    assert run.error is None, f"failed:\n{run.error}"
    cell = next(i for i, c in enumerate(run.notebook.cells) if c.source.startswith("%%seedream") and "-n 4" in c.source)
    counts = [count for index, count in run.updates if index == cell]
    assert counts and counts[-1] == 4, counts
    partial = [count for count in counts if 0 < count < 4]
    assert len(set(partial)) >= 2, f"images did not arrive one by one: {counts}"
    assert counts.index(partial[0]) < len(counts) - 1


@pytest.mark.kernel
def test_the_editing_chain_uses_each_output_as_the_next_input(executed: dict[str, Execution]) -> None:
    run = executed["02-editing.ipynb"]
    assert run.error is None, f"failed:\n{run.error}"
    runs = {sidecar["input"]["prompt"]: sidecar for sidecar in _stored_runs(run.output_dir)}
    chain = [runs[p]["input"] for p in ("turn this sketch into a watercolour landscape, soft morning light",
                                         "the same landscape at night under a full moon",
                                         "add a red kite flying over the meadow")]
    for step in chain:
        assert len(step["image_input"]) == 1
        assert "aspect_ratio" not in step  # left to the service's default: match_input_image
    # Each input is recorded by its hash (data URIs are never stored whole): the three inputs differ.
    assert len({step["image_input"][0] for step in chain}) == 3
    sketch = run.workdir / "seedream-outputs" / "sketch.png"
    assert sketch.is_file()


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stripping_an_executed_notebook_gives_back_the_committed_file(executed: dict[str, Execution], name: str,
                                                                      tmp_path: Path) -> None:
    """``scripts/run_notebooks.py --strip`` is how a notebook gets committed clean after running it."""
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path / name
    nbformat.write(executed[name].notebook, path)
    assert module.strip(path) is True
    assert path.read_bytes() == (NOTEBOOKS / name).read_bytes()


# -- a real-looking token never reaches a saved notebook -----------------------------------------------


@pytest.fixture(scope="module")
def token_server() -> Any:
    with DemoServer(base_seconds=0.2, per_image_seconds=0.1) as server:
        yield server


@pytest.mark.kernel
def test_a_real_token_never_reaches_the_executed_notebooks(tmp_path: Path, token_server: DemoServer) -> None:
    runs = execute_all(SENTINEL_RUN, tmp_path, {"SEEDREAM_API_TOKEN": SENTINEL_API_TOKEN,
                                                "SEEDREAM_BASE_URL": token_server.base_url})
    for name, run in runs.items():
        assert run.error is None, f"{name} failed:\n{run.error}"
        saved = nbformat.writes(run.notebook)
        assert SENTINEL_API_TOKEN not in saved, f"{name}: the token is in the executed notebook"
        assert "widget-state" in saved  # the widget state was stored, so the check covered it
        for path in run.output_dir.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".jsonl", ".txt", ".log"):
                assert SENTINEL_API_TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path
    quickstart = runs["01-quickstart.ipynb"]
    text = quickstart.text()
    assert "real service" in text and "[from SEEDREAM_API_TOKEN]" in text  # %seedream config, token masked
    assert quickstart.shown_images() >= 2
    assert len(_stored_runs(quickstart.output_dir)) == 1
