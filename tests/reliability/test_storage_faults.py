"""Storage and encoding faults (issue 20): a billed image is never lost, and text that cannot be sent is refused.

Storage: the output folder is a real small filesystem (a tmpfs of a few hundred KB, mounted when
the tests run as root; else the same cases run with a per-file size limit, ``RLIMIT_FSIZE``, which
makes the kernel refuse a write as a full disk would). Space runs out at each step of a run: the
journal entry (before the service's answer), the image downloads, the provenance rewrite, the
sidecar, and the publish (a file where the day folder should be); and the folder vanishes
mid-run. Each ends in one `OutputError` that names the prediction and says ``resume``; the run
stays in ``in_flight()`` when the journal could be written; once the cause is gone, ``resume``
stores every image with the hash the backend sent. Encoding: prompts that JSON in UTF-8 cannot
carry are a `ValidationError` on ``prompt`` with the position, and no request is sent.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _stored import stored_as_sent

from seedream_widgets import OutputError, RunState, Seedream, ValidationError
from seedream_widgets.demo import DemoServer

from .conftest import SENTINEL, Figures, journal_ids

DISK_BYTES = 768 * 1024


@dataclass
class SmallDisk:
    """An output folder on a small filesystem, and a way to fill it and to free it again."""

    root: Path
    kind: str
    filler: Path

    def fill(self, leave: int = 0) -> None:
        """Take every free byte but ``leave`` (a tmpfs), or make further writes fail (the size limit)."""
        if self.kind == "tmpfs":
            free = shutil.disk_usage(self.root).free
            with contextlib.suppress(OSError), self.filler.open("ab") as fh:
                fh.write(b"\0" * max(0, free - leave))
        else:
            resource.setrlimit(resource.RLIMIT_FSIZE, (max(1, leave), resource.RLIM_INFINITY))

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)
        if self.kind != "tmpfs":
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)], capture_output=True,
        check=False).returncode == 0
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the size limit: a refused write, not a kill
    disk = SmallDisk(mount / "outputs", "tmpfs" if mounted else "rlimit", mount / "filler")
    disk.root.mkdir()
    try:
        yield disk
    finally:
        disk.free()
        signal.signal(signal.SIGXFSZ, previous)
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def server() -> Iterator[DemoServer]:
    # Images of a set 0.3 s apart: time to act between the answer, the first image and the end.
    with DemoServer(start_seconds=0.02, base_seconds=0.2, per_image_seconds=0.3) as started:
        yield started


def _when(event: Callable[[RunState], bool], action: Callable[[], None]) -> Callable[[RunState], None]:
    done = [False]

    def watch(state: RunState) -> None:
        if not done[0] and event(state):
            done[0] = True
            action()

    return watch


Step = Callable[[SmallDisk, Path], Callable[[RunState], None] | None]
"""Sets the fault up; may return a direct subscriber that springs it at the right moment of the run."""


def journal_step(disk: SmallDisk, root: Path) -> None:
    disk.fill()  # full from the start: the create is sent, its journal entry cannot be written
    return None


def images_step(disk: SmallDisk, root: Path) -> Callable[[RunState], None]:
    return _when(lambda s: s.event == "created", lambda: disk.fill(leave=2048))


def provenance_step(disk: SmallDisk, root: Path) -> Callable[[RunState], None]:
    return _when(lambda s: len(s.images) == 3, lambda: disk.fill(leave=1024))


def sidecar_step(disk: SmallDisk, root: Path) -> Callable[[RunState], None]:
    return _when(lambda s: len(s.images) == 3, lambda: disk.fill(leave=64))


def publish_step(disk: SmallDisk, root: Path) -> None:
    # A file where today's day folder should be: the finished run cannot be renamed into place.
    from datetime import datetime, timezone

    (root / datetime.now(timezone.utc).strftime("%Y-%m-%d")).write_text("not a folder")
    return None


def vanished_step(disk: SmallDisk, root: Path) -> Callable[[RunState], None]:
    return _when(lambda s: s.event == "created", lambda: shutil.rmtree(root))


CASES: dict[str, tuple[Step, dict[str, Any], bool]] = {
    # name: (fault, client options, journal kept)
    "disk full at the journal": (journal_step, {}, False),
    "disk full while downloading": (images_step, {}, True),
    "disk full while embedding provenance": (provenance_step, {}, True),
    "disk full at the sidecar": (sidecar_step, {"embed_metadata": False}, True),
    "a file where the day folder should be": (publish_step, {}, True),
    "output folder removed mid-run": (vanished_step, {}, False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_storage_fault_loses_no_billed_image(name: str, small_disk: SmallDisk, server: DemoServer,
                                                figures: Figures) -> None:
    step, options, journaled = CASES[name]
    root = small_disk.root
    client = Seedream(token=SENTINEL, base_url=server.base_url, output_dir=root, **options)
    try:
        springs = step(small_disk, root)
        run = client.start("a storage fault, three panels", size="1K", sequential_image_generation="auto",
                           max_images=3)
        if springs is not None:
            run.subscribe(springs, deliver="direct")
        with pytest.raises(OutputError) as info:
            run.wait(timeout=30)
        error = info.value
        pid = server.stats.prediction_ids[-1]
        assert error.prediction_id == pid and pid in str(error), str(error)
        assert SENTINEL not in str(error)
        if name != "disk full at the journal":
            assert "resume(" in str(error), str(error)
        # The cause goes away: space freed, the stray file removed, the folder back.
        small_disk.free()
        if name == "a file where the day folder should be":
            for stray in root.glob("20*-*-*"):
                if stray.is_file():
                    stray.unlink()
        root.mkdir(parents=True, exist_ok=True)
        if name == "disk full at the journal":
            # Nothing could be recorded, so the run was not followed: the service was told to cancel it.
            assert server.prediction(pid)["status"] == "canceled" and "canceled" in str(error)
            figures.refuse("storage faults")
            return
        if journaled:
            assert [entry["id"] for entry in client.in_flight()] == [pid]
        result = client.resume(pid, timeout=30)
        assert len(result.paths) == 3
        for index, path in enumerate(result.paths):
            assert stored_as_sent(path, server.output_bytes(pid, index))
        assert client.in_flight() == [] and journal_ids(root) == []
        assert server.stats.creates == 1, "recovered from the service, never created again"
        figures.finished()
        figures.refuse("storage faults")
        figures.note(f"storage fault: {name}", f"OutputError named {pid}; resume stored 3 of 3 images "
                                               f"({small_disk.kind})")
    finally:
        client.close()


def test_free_space_is_checked_before_an_output_is_written(small_disk: SmallDisk, server: DemoServer) -> None:
    if small_disk.kind != "tmpfs":
        pytest.skip("needs a real small filesystem (root and tmpfs) to know its free space")
    server.configure(image_format="png")  # a few hundred KB: more than will be left
    with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=small_disk.root,
                  embed_metadata=False) as client:
        small_disk.fill(leave=64 * 1024)
        with pytest.raises(OutputError, match=r"do not fit in the|No space") as info:
            client.generate("a large png", size="2K")
        assert info.value.prediction_id and "resume(" in str(info.value)
        partials = [p for p in small_disk.root.rglob("*") if p.is_file() and p.suffix in (".png", ".partial")]
        assert partials == [], "refused before writing: nothing half-written"


# -- text that cannot be sent ---------------------------------------------------------------------------

BAD_TEXT = {
    "a lone high surrogate": ("a red fox \ud83e in the snow", 11),
    "a lone low surrogate at the start": ("\udc00 a red fox", 1),
    "a byte decoded with surrogateescape": ("a red fox \udcff", 11),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
def test_text_that_cannot_be_sent_is_refused_with_its_position_and_nothing_is_sent(
        case: str, server: DemoServer, tmp_path: Path, figures: Figures) -> None:
    prompt, position = BAD_TEXT[case]
    with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path) as client:
        for attempt in (lambda: client.generate(prompt, size="1K"),
                        lambda: client.generate_many([prompt, "a fine prompt"], size="1K", progress=False)[0],
                        lambda: client.compare(prompt, size=["1K", "2K"], progress=False)):
            with pytest.raises(ValidationError) as info:
                outcome = attempt()
                if isinstance(outcome, Exception):
                    raise outcome
            (problem,) = [p for p in info.value.invalid_fields if p.field == "prompt"]
            assert problem.type == "encoding" and f"at character {position}" in str(problem)
    stats = server.stats
    assert stats.creates == 1 and stats.requests.get("create") == 1, "only the fine prompt of the batch was sent"
    figures.refuse("text that cannot be sent", 3)


def test_a_prompt_over_the_models_limit_is_refused_before_any_request(server: DemoServer, tmp_path: Path) -> None:
    with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path, model="bytedance/seedream-4.5") \
            as client, pytest.raises(ValidationError, match=r"4001 characters; at most 4000"):
        client.generate("x" * 4001, size="2K")
    assert server.stats.creates == 0 and "create" not in server.stats.requests
