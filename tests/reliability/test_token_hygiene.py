"""Token hygiene: a sentinel token, used for real, appears nowhere a person or a file could see it.

Every notebook in ``notebooks/`` plus a notebook written here (the magic in every
mode, a panel generating and failing, the Python API, every error class, the
service echoing the token back in an error, reprs, tracebacks, DEBUG logging of
every logger into a file and into the cell outputs) runs in a real kernel via
nbclient with ``SEEDREAM_API_TOKEN`` set to the sentinel and
``SEEDREAM_BASE_URL`` on a loopback demo backend that accepts *only* that token
(so it really was sent). Then everything is searched for the sentinel and for
its middle part (a partial leak): every saved notebook (nbclient stores widget
state), every iopub message as it arrived, every file the kernels left (images,
sidecars, journal, logs, IPython's history database).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from seedream_widgets.demo import DemoServer

from .conftest import SENTINEL, SENTINEL_CORE, Figures, demo_server, in_fresh_thread
from .kernels import kernel_env

pytestmark = pytest.mark.kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"
CELL_TIMEOUT = 90
RUN_TIMEOUT = 240.0

SETUP = """\
import logging, os, sys, traceback
logging.basicConfig(filename="debug.log", level=logging.DEBUG, force=True,
                    format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s")
shown = logging.StreamHandler(sys.stdout)
shown.setLevel(logging.DEBUG)
logging.getLogger("seedream_widgets").addHandler(shown)
logging.getLogger("seedream_widgets").setLevel(logging.DEBUG)
import httpx
from seedream_widgets import *
from seedream_widgets.display import error_html
ORIGIN = os.environ["SEEDREAM_BASE_URL"].rsplit("/v1", 1)[0]

def inject(**fault):
    httpx.post(f"{ORIGIN}/_demo/faults", json=fault).raise_for_status()

def show(exc):
    print(type(exc).__name__, repr(exc))
    print(str(exc))
    print(error_html(exc))
    traceback.print_exception(exc)
"""

CELLS: list[tuple[str, bool]] = [
    (SETUP, False),
    ("%load_ext seedream_widgets\n%seedream config", False),
    ("%%seedream -s 1K -o fox\na red fox, token hygiene", False),
    ("%%seedream --dry-run -s 1K -n 2 -i fox\nthe same fox, twice", False),
    ("%%seedream -s 1K --compare aspect_ratio=1:1,16:9 -o grid\na lighthouse", False),
    ("%%seedream --no-wait -s 1K -o later\n[demo:slow=0.5] a patient fox", False),
    ("%seedream wait --timeout 30\n%seedream history 5", False),
    ("%%seedream -s 1K\n[demo:fail=the model ran out of paint] a fox", True),
    ("%%seedream --debug -s 3K\na fox with a bad size", True),
    ("panel = SeedreamPanel(prompt='a lighthouse at dusk', size='1K')\n"
     "panel.generate().wait(60)\npanel", False),
    ("failing = SeedreamPanel(prompt='[demo:fail=no more paint] a boat', size='1K')\n"
     "try:\n    failing.generate().wait(60)\nexcept SeedreamError as exc:\n    show(exc)\nfailing", False),
    ("client = Seedream()\n"
     "result = client.generate('a paper crane', size='1K')\n"
     "for thing in (client, client.core, client.settings, result, result.prediction, panel, panel.client):\n"
     "    print(repr(thing))\n"
     "print(client.settings.describe())\n"
     "print(client.history(3))\n"
     "print(client.in_flight())\nresult", False),
    # Every error class the user can meet, with its repr, message, HTML box and full traceback.
    ("for make in (\n"
     "    lambda: client.generate('x', size='9K', aspect='1:1'),\n"
     "    lambda: client.get('does-not-exist'),\n"
     "    lambda: Seedream(model='nobody/nothing').generate('x', size='1K'),\n"
     "    lambda: client.generate('[demo:slow=5] x', size='1K', timeout=0.5),\n"
     "    lambda: Seedream(max_retries=0).generate('[demo:fail=plain failure] x', size='1K'),\n"
     "):\n"
     "    try:\n        make()\n    except SeedreamError as exc:\n        show(exc)", False),
    ("for kind in ('401', '402', '404', '429', '500'):\n"
     "    inject(kind=kind, route='create', times=9, params={'retry_after': 0})\n"
     "    try:\n        Seedream(max_retries=1).generate('x', size='1K')\n"
     "    except SeedreamError as exc:\n        show(exc)\n"
     "    httpx.delete(f'{ORIGIN}/_demo/faults')", False),
    # The service echoes the token back: in a failed prediction's error and in a 422's fields.
    ("echo = f\"upstream rejected 'Authorization: Bearer {os.environ['SEEDREAM_API_TOKEN']}'\"\n"
     "inject(kind='fail', route='create', params={'message': echo})\n"
     "try:\n    client.generate('x', size='1K')\nexcept SeedreamError as exc:\n    show(exc)\n"
     "inject(kind='422', route='create', params={'invalid_fields': [\n"
     "    {'type': 'x', 'field': 'input.prompt', 'description': echo}]})\n"
     "try:\n    client.generate('x', size='1K')\nexcept SeedreamError as exc:\n    show(exc)", False),
    ("%%seedream -s 1K\n[demo:fail=the token was r8_NOT_THE_SENTINEL] a fox", True),
    ("logging.shutdown()\nprint(open('debug.log').read().count('seedream_widgets'), 'seedream log lines')", False),
]
"""(source, expected to raise) for the notebook written by this test."""


def hygiene_notebook() -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, raises in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if raises:
            cell.metadata["tags"] = ["raises-exception"]
        notebook.cells.append(cell)
    return notebook


class Recorder(NotebookClient):
    """Keeps every iopub message of every cell, as it arrived (before nbclient folds updates)."""

    seen: list[str]

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.seen.append(json.dumps({"type": msg["msg_type"], "content": msg["content"]}, default=str))
        return super().process_message(msg, cell, cell_index)


@dataclass
class Run:
    name: str
    workdir: Path
    notebook: Any = None
    seen: list[str] = field(default_factory=list)
    error: BaseException | None = None


async def execute(name: str, notebook: Any, base: Path, server: DemoServer) -> Run:
    run = Run(name, base / name.removesuffix(".ipynb"))
    run.workdir.mkdir(parents=True)
    run.notebook = notebook
    client = Recorder(notebook, timeout=CELL_TIMEOUT, startup_timeout=60, kernel_name="python3",
                      resources={"metadata": {"path": str(run.workdir)}})
    client.seen = run.seen
    env = kernel_env(SEEDREAM_API_TOKEN=SENTINEL, SEEDREAM_BASE_URL=server.base_url,
                     SEEDREAM_OUTPUT_DIR=str(run.workdir / "outputs"), IPYTHONDIR=str(run.workdir / "ipython"))
    try:
        await client.async_execute(env=env)
    except Exception as exc:  # reported by the test with the cell that failed
        run.error = exc
    nbformat.write(run.notebook, run.workdir / f"saved-{name}")  # as saved, with the widget state
    return run


def execute_all(base: Path, server: DemoServer) -> list[Run]:
    jobs = [(path.name, nbformat.read(path, as_version=4)) for path in sorted(NOTEBOOKS.glob("*.ipynb"))]
    jobs.append(("token-hygiene.ipynb", hygiene_notebook()))
    for name, _ in jobs[:-1]:
        shutil.copy(NOTEBOOKS / name, base / name)

    async def main() -> list[Run]:
        return await asyncio.wait_for(asyncio.gather(*(execute(n, nb, base, server) for n, nb in jobs)), RUN_TIMEOUT)

    return in_fresh_thread(lambda: asyncio.run(main()), RUN_TIMEOUT + 30)


def search(run: Run) -> tuple[list[str], int, int]:
    """Where the sentinel (or its middle) appears: messages, saved notebook, every file. Also counts searched."""
    hits: list[str] = []
    for index, message in enumerate(run.seen):
        if SENTINEL_CORE in message:
            hits.append(f"iopub message {index}: {message[:200]}")
    files = 0
    for path in sorted(run.workdir.rglob("*")):
        if path.is_file():
            files += 1
            data = path.read_bytes()
            if SENTINEL_CORE.encode() in data or SENTINEL_CORE.encode("utf-16-le") in data:
                hits.append(str(path.relative_to(run.workdir)))
    return hits, len(run.seen), files


def test_the_sentinel_token_appears_nowhere(tmp_path: Path, figures: Figures) -> None:
    with demo_server(token=SENTINEL) as server:
        runs = execute_all(tmp_path, server)
        creates = server.stats.creates
    failed = {run.name: str(run.error)[-1500:] for run in runs if run.error is not None}
    assert failed == {}, failed
    assert creates >= 30, "the notebooks really generated, with the sentinel as their token"

    ours = next(run for run in runs if run.name == "token-hygiene.ipynb")
    saved = (ours.workdir / "saved-token-hygiene.ipynb").read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" in saved, "the widget state was saved and searched"
    assert "seedream-panel" in saved
    log = (ours.workdir / "debug.log").read_text(encoding="utf-8")
    assert " seedream_widgets DEBUG " in log and " httpx " in log, "DEBUG logging really ran"
    for words in ("AuthenticationError", "PaymentRequiredError", "NotFoundError", "RateLimitError", "NetworkError",
                  "ValidationError", "DeadlineExceeded", "PredictionFailed", "Traceback", "upstream rejected",
                  "real service", "[from SEEDREAM_API_TOKEN]", "Bearer $SEEDREAM_API_TOKEN"):
        assert words in saved, f"the hygiene notebook did not show {words!r}"
    assert "r8_NOT_THE_SENTINEL" in saved, "a token-like text that is not the token is left alone"
    assert "r8_…" in saved, "the masked form is what appears"

    # The control: the search does find the sentinel where it is (in a message, in a file).
    control = Run("control", tmp_path / "control", seen=[json.dumps({"text": f"Bearer {SENTINEL}"})])
    control.workdir.mkdir()
    (control.workdir / "leak.log").write_text(f"... {SENTINEL[:-3]} ...", encoding="utf-8")
    assert len(search(control)[0]) == 2
    shutil.rmtree(control.workdir)

    hits: dict[str, list[str]] = {}
    messages = files = 0
    for run in runs:
        found, m, f = search(run)
        messages, files = messages + m, files + f
        if found:
            hits[run.name] = found
    assert hits == {}, f"the sentinel token leaked: {json.dumps(hits, indent=2)}"
    assert SENTINEL not in repr(os.environ.get("SEEDREAM_API_TOKEN"))  # the test process was never given it
    stored = sum(1 for run in runs for _ in run.workdir.rglob("prediction.json"))
    figures.finished(stored)
    figures.note("token hygiene", f"{len(runs)} notebooks executed with the sentinel ({creates} predictions, "
                                  f"{stored} runs stored); "
                                  f"{messages} iopub messages and {files} files searched: 0 occurrences")


def test_the_command_line_never_shows_the_sentinel(tmp_path: Path, figures: Figures) -> None:
    """``seedream`` in a subprocess with the sentinel in its environment: every stdout, stderr and file."""
    out = tmp_path / "cli-out"
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "a fox", "size": "1K"}\n{"prompt": "an owl", "size": "1K"}\n',
                                            encoding="utf-8")
    shown: list[str] = []
    with demo_server(token=SENTINEL) as server:
        env = kernel_env(SEEDREAM_API_TOKEN=SENTINEL, SEEDREAM_BASE_URL=server.base_url, SEEDREAM_OUTPUT_DIR=str(out))

        def seedream(*args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([sys.executable, "-m", "seedream_widgets", *args], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60)
            shown.append(f"$ seedream {' '.join(args)}\n{done.stdout}\n{done.stderr}")
            return done

        assert seedream("config").returncode == 0
        made = seedream("generate", "a red fox", "--size", "1K", "--json", "--debug")
        assert made.returncode == 0, made.stderr
        pid = json.loads(made.stdout)["id"]
        assert seedream("show", pid).returncode == 0
        assert seedream("history").returncode == 0
        assert seedream("batch", "prompts.jsonl").returncode == 0
        assert seedream("generate", "[demo:fail=the model gave up] a fox", "--size", "1K", "--debug").returncode == 4
        assert seedream("generate", "a fox", "--size", "1K", "--model", "nobody/nothing").returncode == 3
        path = json.loads(made.stdout)["paths"][0]
        for args in (["generate", "a fox", "-n", "2", "--dry-run"], ["generate", "a fox", "--dry-run", "--json"],
                     ["info", path], ["info", path, "--json"], ["verify"], ["cost", "--json"], ["models", "--refresh"],
                     ["history", "--search", "fox", "--json"], ["export", pid, "--to", str(tmp_path / "picked")]):
            assert seedream(*args).returncode == 0, args
        creates = server.stats.creates
    text = "\n".join(shown)
    assert "r8_…" in text and "the model gave up" in text and "DEBUG" in text, "the commands really ran"
    assert "$SEEDREAM_API_TOKEN" in text and "a seedream-widgets record" in text, "the dry run and info ran"
    assert creates == 4  # generate, two batch lines, the failing one (the unknown model makes none)
    assert SENTINEL_CORE not in text, "the sentinel is in the command line's output"
    leaked = [str(p) for folder in (out, tmp_path / "picked") for p in folder.rglob("*")
              if p.is_file() and SENTINEL_CORE.encode() in p.read_bytes()]
    assert leaked == []
    figures.finished(3)
    figures.note("token hygiene, command line", f"{len(shown)} seedream commands (generate, show, history, batch, "
                                                "config, failures, --debug, --dry-run, info, verify, cost, models, "
                                                "export): 0 occurrences")
