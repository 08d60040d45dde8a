# ruff: noqa: F811  (the shared fixtures are imported from test_magics, and named again as test arguments)
"""Issue 20 through the magic: an output that cannot be written is an `OutputError` naming the prediction and
the exact ``%seedream open ID`` that saves it, and that command recovers every image once the cause is gone.

Two real causes: a full disk (a small tmpfs, when the tests run as root and may mount one) and a file where
the run's folder should be (anywhere). Nothing in the engine is faked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from test_magics import magics, run  # noqa: F401  (fixtures)

from seedream_widgets.demo import DemoServer
from seedream_widgets.errors import OutputError
from seedream_widgets.magics import SeedreamMagics
from seedream_widgets.result import Result


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB filesystem (tmpfs), mounted for this test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                          check=False, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=10)


def assert_recovered(shell: InteractiveShell, magics: SeedreamMagics, server: DemoServer, pid: str,
                     images: int) -> None:
    """``%seedream open ID`` saves every image, each with the hash of the bytes the backend sent; no new create."""
    creates = server.stats.creates
    cell = run(shell, f"%seedream open {pid} -o back")
    assert cell.error is None, cell.text
    back = shell.user_ns.pop("back")
    assert isinstance(back, Result) and back.id == pid and len(back.paths) == images
    sidecar = json.loads((back.folder / "prediction.json").read_text(encoding="utf-8"))
    for index, image in enumerate(sidecar["images"]):
        assert image["received_sha256"] == hashlib.sha256(server.output_bytes(pid, index)).hexdigest()
        stored = back.folder / image["file"]
        assert stored == back.paths[index] and hashlib.sha256(stored.read_bytes()).hexdigest() == image["sha256"]
    assert server.stats.creates == creates  # saved from the service's outputs, not made again
    assert pid not in {entry.get("id") for entry in magics.client().in_flight()}


def assert_named_and_kept(cell_error: BaseException | None, html: str, text: str, magics: SeedreamMagics) -> str:
    """The error is an OutputError naming the prediction and the exact command; the journal keeps the run."""
    assert isinstance(cell_error, OutputError), text
    pid = cell_error.prediction_id
    assert pid and pid in html and f"%seedream open {pid}" in html
    assert f"%seedream open {pid}" in text  # the one line under the box says it too (nbclient's error output)
    assert "resume(" not in html and "in_flight()" not in html
    assert pid in {entry.get("id") for entry in magics.client().in_flight()}
    return pid


def test_a_full_disk_names_the_run_and_open_recovers_it(shell: InteractiveShell, magics: SeedreamMagics,
                                                        tmpfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DemoServer(base_seconds=0.3, per_image_seconds=0.05) as server:
        monkeypatch.setenv("SEEDREAM_BASE_URL", server.base_url)
        monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmpfs / "outputs"))
        filler = tmpfs / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(tmpfs).free - 96 * 1024))  # room for the journal only
        cell = run(shell, "%%seedream -s 1K -n 3\na set of three foxes on a full disk")
        pid = assert_named_and_kept(cell.error, cell.html(), cell.text, magics)
        assert "No space left on device" in cell.html() and server.stats.creates == 1
        filler.unlink()  # the cause is gone
        assert_recovered(shell, magics, server, pid, 3)


def test_a_file_where_the_run_folder_should_be(shell: InteractiveShell, magics: SeedreamMagics, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = tmp_path / "outputs"
    with DemoServer(base_seconds=1.0, per_image_seconds=0.05) as server:
        monkeypatch.setenv("SEEDREAM_BASE_URL", server.base_url)
        monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(outputs))
        blocked: list[Path] = []

        def block_the_folder() -> None:
            """After the create, the staging folder becomes a file (as a sync tool or a mistaken script might)."""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                staging = [p for p in outputs.glob(".partial-*") if p.is_dir()] if server.stats.creates else []
                if staging:
                    shutil.rmtree(staging[0])
                    staging[0].write_text("in the way", encoding="utf-8")
                    blocked.append(staging[0])
                    return
                time.sleep(0.01)

        helper = threading.Thread(target=block_the_folder)
        helper.start()
        cell = run(shell, "%%seedream -s 1K -n 2\ntwo foxes that cannot be stored")
        helper.join()
        assert blocked, "the staging folder never appeared"
        pid = assert_named_and_kept(cell.error, cell.html(), cell.text, magics)
        cell = run(shell, f"%seedream open {pid}")  # the cause is still there: the same clear error, kept again
        assert_named_and_kept(cell.error, cell.html(), cell.text, magics)
        with contextlib.suppress(FileNotFoundError):
            blocked[0].unlink()  # the cause is gone
        assert_recovered(shell, magics, server, pid, 2)
