"""The soak (issue 20): panels, magics, batches and cancels mixed for a while, against transient faults.

The backend runs in its own process (so this process's threads, file descriptors and sockets are
the client's alone) with one request in ten failing transiently. The mix repeats until the time is
up: a headless `SeedreamPanel` generating, a ``%%seedream`` cell, a `generate_many` of four, and a
slow run cancelled mid-way. Before (after one warm-up round) and after, it reads this process's
resident memory, threads, open file descriptors and sockets; at the end every client is closed,
and those must be back within a small bound of the start, no journal entry left, every stored
image exactly what the backend sent (hash as received, and pixels). It runs for
``SEEDREAM_SOAK_SECONDS``: by default 20 under CI (several rounds of the mix, the suite's budget) and 60
otherwise; set 900 for a long one.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from seedream_widgets import PredictionCanceled, Result, Seedream, SeedreamPanel

from .conftest import SENTINEL, Figures, journal_ids

SECONDS = float(os.environ.get("SEEDREAM_SOAK_SECONDS") or (20 if os.environ.get("CI") else 60))
SERVER = """
import json, sys
from seedream_widgets.demo import DemoServer
with DemoServer(start_seconds=0.02, base_seconds=0.1, per_image_seconds=0.05, fault_rate=0.1, seed=11) as server:
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def backend() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdin is not None
    url = json.loads(process.stdout.readline())["url"]
    try:
        yield url
    finally:
        process.stdin.close()
        process.wait(timeout=20)
        process.stdout.close()


def _measure() -> dict[str, Any]:
    gc.collect()
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm", "rb") as fh:
        rss = int(fh.read().split()[1]) * page
    fds = os.listdir("/proc/self/fd")
    targets = []
    for fd in fds:
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
    sockets = sum(1 for target in targets if target.startswith("socket:"))
    # The engine loop's default executor (asyncio.to_thread: file work off the loop) starts its workers as load
    # needs them, up to a fixed bound, and keeps them: counted apart, against that bound, not as a leak.
    names = [thread.name for thread in threading.enumerate()]
    pooled = sum(1 for name in names if name.startswith("asyncio_"))
    return {"rss_mb": rss / 2**20, "threads": len(names) - pooled, "pool_threads": pooled, "fds": len(targets),
            "sockets": sockets, "names": sorted(names)}


def _stored_as_sent(admin: httpx.Client, url: str, result: Result) -> bool:
    prediction = admin.get(f"{url}/_demo/predictions/{result.id}").json()
    sidecar = json.loads((result.folder / "prediction.json").read_text(encoding="utf-8"))
    for path, output, entry in zip(result.paths, prediction["output"], sidecar["images"], strict=True):
        sent = admin.get(output).content
        if entry["received_sha256"] != hashlib.sha256(sent).hexdigest():
            return False
        with Image.open(path) as stored, Image.open(io.BytesIO(sent)) as original:
            if stored.tobytes() != original.tobytes():
                return False
    return True


def test_soak_mixed_work_leaks_nothing_and_loses_nothing(backend: str, shell: InteractiveShell, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, figures: Figures) -> None:
    base = f"{backend}/v1"
    root = tmp_path / "soak"
    monkeypatch.setenv("SEEDREAM_BASE_URL", base)
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(root))
    magics = shell.magics_manager.registry["SeedreamMagics"]
    magics.display_mode = "text"
    results: list[Result] = []
    counts = {"panel": 0, "magic": 0, "batch": 0, "canceled": 0, "rounds": 0}

    def one_round() -> None:
        with Seedream(token=SENTINEL, base_url=base, output_dir=root) as client:
            panel = SeedreamPanel(client, prompt=f"a soak panel {counts['rounds']}", size="1K")
            results.append(panel.generate().wait(timeout=60))
            panel.close()
            counts["panel"] += 1
            shell.run_cell(f"%%seedream -s 1K -o soak_result\na soak cell {counts['rounds']}")
            results.append(shell.user_ns.pop("soak_result"))
            counts["magic"] += 1
            outcomes = client.generate_many([f"a soak batch {counts['rounds']} {i}" for i in range(4)], size="1K",
                                            progress=False)
            results.extend(o for o in outcomes if isinstance(o, Result))
            counts["batch"] += 1
            slow = client.start(f"[demo:slow=5] a soak cancel {counts['rounds']}", size="1K")
            time.sleep(0.3)
            slow.cancel()
            with pytest.raises(PredictionCanceled):
                slow.result()
            counts["canceled"] += 1
        counts["rounds"] += 1

    one_round()  # warm-up: imports, the engine's threads, caches
    before = _measure()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        one_round()
    magics.close()
    time.sleep(0.5)  # connections closed by the server side settle
    after = _measure()
    magics.display_mode = "auto"

    with httpx.Client(timeout=30) as admin:
        admin.delete(f"{backend}/_demo/faults").raise_for_status()  # the check itself must not be faulted
        unequal = [r.id for r in results if not _stored_as_sent(admin, backend, r)]
    growth = after["rss_mb"] - before["rss_mb"]
    figures.finished(len(results))
    figures.note("soak", f"{SECONDS:g} s, {counts['rounds']} rounds ({counts['panel']} panels, {counts['magic']} "
                         f"magic cells, {counts['batch']} batches of 4, {counts['canceled']} cancels), {len(results)} "
                         f"runs stored against 10 % transient faults; RSS {before['rss_mb']:.0f} -> "
                         f"{after['rss_mb']:.0f} MB ({growth:+.1f}), threads {before['threads']} -> "
                         f"{after['threads']}, fds {before['fds']} -> {after['fds']}, sockets {before['sockets']} -> "
                         f"{after['sockets']}; journal {len(journal_ids(root))} entries; "
                         f"{len(results) - len(unequal)}/{len(results)} images as sent")
    assert unequal == [], f"stored images that differ from what the backend sent: {unequal}"
    assert journal_ids(root) == [], "no journal entry left behind"
    assert after["threads"] <= before["threads"] + 1, (before, after)
    assert after["pool_threads"] <= min(32, (os.cpu_count() or 1) + 4), after  # ThreadPoolExecutor's own bound
    assert after["fds"] <= before["fds"] + 8, (before, after)
    assert after["sockets"] <= before["sockets"] + 4, (before, after)
    assert growth < 40 + 0.05 * len(results), f"RSS grew {growth:.1f} MB over {len(results)} runs"

