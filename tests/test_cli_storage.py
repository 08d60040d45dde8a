"""A billed image is never lost from the command line (issue 20): a run that cannot be written ends in an error
naming the prediction and the exact command that saves it, and that command does, once there is room.

As root the output folder is a real, tiny filesystem (tmpfs); otherwise a folder made read-only while the
prediction runs (root ignores permissions, so that variant needs a normal user)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import no_traceback, seedream, start, wait_until

from seedream_widgets.demo import DemoServer


@pytest.fixture
def server() -> Iterator[DemoServer]:
    """PNG outputs at 2K: about 200 kB each, more than the small filesystem holds."""
    with DemoServer(base_seconds=0.1, per_image_seconds=0.05, image_format="png") as demo:
        yield demo


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 kB tmpfs: room for the journal, none for an image. Root only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (the read-only folder variant covers normal users)")
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True,
                             text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def grow(folder: Path) -> None:
    """Make room: the same filesystem, 16 MB."""
    subprocess.run(["mount", "-o", "remount,size=16m", str(folder)], check=True)


def backend_sha256(server: DemoServer, prediction_id: str, index: int = 0) -> str:
    return hashlib.sha256(server.output_bytes(prediction_id, index)).hexdigest()


def test_disk_full_names_the_prediction_and_show_saves_it_later(server: DemoServer, small_disk: Path,
                                                                tmp_path: Path) -> None:
    failed = seedream("generate", "a red fox", "--size", "2K", "-o", str(small_disk), server=server, cwd=tmp_path)
    assert failed.returncode == 3, failed.stderr
    (prediction_id,) = server.stats.prediction_ids
    assert f"prediction {prediction_id}" in failed.stderr and "No space left on device" in failed.stderr
    assert f"once the cause is fixed, this saves its images: seedream show {prediction_id}" in failed.stderr
    assert "resume(" not in failed.stderr  # said in the command's words, not Python's
    no_traceback(failed)
    history = seedream("history", "-o", str(small_disk), server=server, cwd=tmp_path)
    assert "started but not stored" in history.stdout and prediction_id in history.stdout

    grow(small_disk)
    shown = seedream("show", prediction_id, "-o", str(small_disk), "--json", server=server, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["id"] == prediction_id and server.stats.creates == 1  # finished, never made again
    stored = json.loads((Path(data["folder"]) / "prediction.json").read_text())
    assert stored["images"][0]["received_sha256"] == backend_sha256(server, prediction_id)
    verified = seedream("verify", str(small_disk), server=server, cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.startswith("ok: 1 run, 1 image")


def test_a_batch_on_a_full_disk_lists_what_to_save_and_a_rerun_resumes_it(server: DemoServer, small_disk: Path,
                                                                          tmp_path: Path) -> None:
    (tmp_path / "two.jsonl").write_text('"a fox"\n"an owl"\n')
    failed = seedream("batch", "two.jsonl", "--size", "2K", "-o", str(small_disk), server=server, cwd=tmp_path)
    assert failed.returncode == 4, failed.stderr
    first, second = server.stats.prediction_ids
    assert failed.stdout.count(" not saved ") == 2
    for prediction_id in (first, second):
        assert f"once the cause is fixed: seedream show {prediction_id}" in failed.stderr
    grow(small_disk)
    rerun = seedream("batch", "two.jsonl", "--size", "2K", "-o", str(small_disk), "--json", server=server,
                     cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert [item["status"] for item in json.loads(rerun.stdout)] == ["resumed", "resumed"]
    assert server.stats.creates == 2
    for item in json.loads(rerun.stdout):
        sidecar = json.loads((Path(item["paths"][0]).parent / "prediction.json").read_text())
        assert sidecar["images"][0]["received_sha256"] == backend_sha256(server, item["id"])


def test_a_folder_made_unwritable_mid_run_names_the_prediction(server: DemoServer, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions (the small filesystem variant covers root)")
    out = tmp_path / "out"
    process = start("generate", "[demo:slow=1.5] a red fox", "--size", "1K", "-o", str(out), server=server,
                    cwd=tmp_path)
    try:
        wait_until(lambda: any((out / ".journal").glob("*.json")))  # created: the journal has its id
        out.chmod(0o555)
        _, err = process.communicate(timeout=20)
    finally:
        out.chmod(0o755)
        if process.poll() is None:
            process.kill()
    (prediction_id,) = server.stats.prediction_ids
    assert process.returncode == 3, err
    assert f"seedream show {prediction_id}" in err
    shown = seedream("show", prediction_id, "-o", str(out), server=server, cwd=tmp_path)
    assert shown.returncode == 0 and Path(shown.stdout.strip()).is_file() and server.stats.creates == 1
