"""Concurrency safety: many doors at once never mix results, and the journal survives concurrent writers.

- In one real kernel, two panels and a ``%%seedream`` cell run at the same time
  (their predictions overlap on the backend); each result lands in its own
  folder with its own prompt, settings and bytes.
- At engine level, several clients on several threads (sync facades and an
  ``AsyncSeedream`` on its own loop) share one output folder.
- Separate clients sending the *same* input while creates are ambiguous still
  get one prediction each.
- ``Gallery.journal``/``unjournal``/``in_flight`` hammered from threads: no
  reader ever sees a torn JSON file, and ``in_flight`` never fails. A naive
  writer in the same harness does tear, which shows the harness can tell.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _stored import stored_as_sent

from seedream_widgets import AsyncSeedream, Result, Seedream
from seedream_widgets.demo import DemoServer
from seedream_widgets.gallery import Gallery, read_journal

from .conftest import SENTINEL, Figures, demo_server, journal_ids, leftovers
from .kernels import ENGINE_STATE, Kernel


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_result(result: Result, server: DemoServer, prompt: str) -> None:
    """The result, its sidecar and its files belong to one prediction, made for this prompt."""
    sidecar = json.loads((result.folder / "prediction.json").read_text(encoding="utf-8"))
    assert result.prompt == prompt and sidecar["input"]["prompt"] == prompt
    assert server.prediction(result.id)["input"]["prompt"] == prompt
    assert result.folder.name == result.id == sidecar["id"]
    for index, path in enumerate(result.paths):
        assert path.parent == result.folder
        assert stored_as_sent(path, server.output_bytes(result.id, index))


def overlap(server: DemoServer, ids: list[str]) -> float:
    """Seconds during which all these predictions were running at once on the backend (<= 0: never)."""
    def when(value: str) -> float:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

    spans = [(when(server.prediction(i)["created_at"]), when(server.prediction(i)["completed_at"])) for i in ids]
    return min(end for _, end in spans) - max(start for start, _ in spans)


# -- engine level: clients and threads -----------------------------------------------------------------


def test_clients_on_threads_sharing_one_folder_never_mix(tmp_path: Path, figures: Figures) -> None:
    per_thread = 6
    outcomes: dict[str, list[Any]] = {}
    errors: list[BaseException] = []
    with demo_server(base_seconds=0.15) as server:

        def sync_worker(name: str) -> None:
            try:
                with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path) as client:
                    prompts = [f"{name} #{i}" for i in range(per_thread)]
                    outcomes[name] = list(zip(prompts, client.generate_many(
                        prompts, concurrency=3, size="1K", progress=False), strict=True))
            except BaseException as exc:  # reported below
                errors.append(exc)

        def async_worker(name: str) -> None:
            async def main() -> list[Any]:
                async with AsyncSeedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path) as client:
                    prompts = [f"{name} #{i}" for i in range(per_thread)]
                    results = await asyncio.gather(*(client.generate(p, size="1K") for p in prompts))
                    return list(zip(prompts, results, strict=True))

            try:
                outcomes[name] = asyncio.run(main())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=sync_worker, args=(f"sync client {n}",)) for n in range(3)]
        threads += [threading.Thread(target=async_worker, args=(f"async client {n}",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        pairs = [pair for name in sorted(outcomes) for pair in outcomes[name]]
        assert len(pairs) == 5 * per_thread
        for prompt, result in pairs:
            assert isinstance(result, Result), f"{prompt}: {result}"
            check_result(result, server, prompt)
        assert len({result.folder for _, result in pairs}) == len(pairs)
        assert server.stats.creates == len(pairs)
    assert len(Gallery(tmp_path).history()) == len(pairs)
    assert journal_ids(tmp_path) == [] and not [p for p in leftovers(tmp_path) if ".partial" in p]
    figures.finished(len(pairs))


@pytest.mark.parametrize("kinds", [("drop_after", "drop"), ("malformed", "502")])
def test_separate_clients_with_the_same_input_never_share_a_prediction(tmp_path: Path, figures: Figures,
                                                                       kinds: tuple[str, ...]) -> None:
    """Two panels (each with its own client) sending the same settings while a create is ambiguous."""
    n = 6
    with demo_server(base_seconds=0.4) as server:
        for kind in kinds:
            server.inject(kind, route="create", times=2)
        clients = [Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path, create_grace=0.5)
                   for _ in range(n)]
        try:
            futures = [client.core for client in clients]
            from seedream_widgets.engine import engine_loop

            submitted = [engine_loop().submit(core.generate("the same settings in every panel", size="1K"))
                         for core in futures]
            results = [future.result(timeout=60) for future in submitted]
        finally:
            for client in clients:
                client.close()
        assert len({r.id for r in results}) == n, "two clients were given the same prediction"
        assert server.stats.creates == n
        for result in results:
            check_result(result, server, "the same settings in every panel")
    figures.finished(n)


# -- the journal under concurrent writers -------------------------------------------------------------------


def hammer(root: Path, write: Callable[[Path, str, dict[str, Any]], None], remove: Callable[[Path, str], None],
           seconds: float, iterations: int, until_torn: bool = False) -> Counter[str]:
    """Writers journal and unjournal ids while readers parse every file they can see; returns what they saw."""
    seen: Counter[str] = Counter()
    stop = threading.Event()
    lock = threading.Lock()
    failures: list[BaseException] = []
    journal = root / ".journal"

    def writer(w: int) -> None:
        try:
            for i in range(iterations):
                if stop.is_set():
                    return
                pid = f"w{w}-{i % 5}"
                # Big entries, so that a write in several pieces would be seen half-done.
                write(root, pid, {"id": pid, "input": {"prompt": f"{w}/{i} " + "x" * 60_000}, "n": i})
                if i % 3 == 2:
                    remove(root, pid)
        except BaseException as exc:
            failures.append(exc)

    def reader() -> None:
        gallery = Gallery(root)
        while not stop.is_set():
            for path in list(journal.glob("*.json")):
                try:
                    text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue  # unjournaled between the listing and the read: fine
                try:  # a journal file is JSON lines, merged in order; never empty
                    entry = {k: v for line in text.splitlines() if line.strip() for k, v in json.loads(line).items()}
                    outcome = "whole" if entry.get("id") == path.stem else "mixed" if entry else "torn"
                except ValueError:
                    outcome = "torn"
                with lock:
                    seen[outcome] += 1
            try:
                entries = gallery.in_flight()
                with lock:
                    seen["in_flight calls"] += 1
                    seen["in_flight torn"] += sum(1 for e in entries if not isinstance(e, dict))
            except Exception as exc:
                with lock:
                    seen[f"in_flight raised {type(exc).__name__}"] += 1

    journal.mkdir(parents=True, exist_ok=True)
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(t.is_alive() for t in threads[:6]) and not (until_torn and seen["torn"]):
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert failures == [], failures
    return seen


def test_the_journal_survives_concurrent_writers(tmp_path: Path, figures: Figures) -> None:
    def write(root: Path, pid: str, entry: dict[str, Any]) -> None:
        run = Gallery(root).pending({k: v for k, v in entry.items() if k != "id"})
        run.prepare()  # what the client does once the create is sent: the entry, no id yet
        run.confirm(pid)
        shutil.rmtree(run.staging)  # (a real run downloads into it)

    def remove(root: Path, pid: str) -> None:
        Gallery(root).unjournal(pid)

    seen = hammer(tmp_path, write, remove, seconds=6, iterations=150)
    assert seen["whole"] > 100 and seen["in_flight calls"] > 10, seen
    assert seen["torn"] == 0 and seen["mixed"] == 0 and seen["in_flight torn"] == 0, seen
    assert not [k for k in seen if k.startswith("in_flight raised")], seen
    leftover_tmp = [p.name for p in (tmp_path / ".journal").iterdir() if not p.name.endswith(".json")]
    assert leftover_tmp == [], "no temporary file is left behind"
    for path in (tmp_path / ".journal").glob("*.json"):
        assert read_journal(path)["id"] == path.stem  # type: ignore[index]
    figures.note("journal hammering", f"{seen['whole']} whole reads, {seen['in_flight calls']} in_flight() calls, "
                                      "0 torn, 0 errors")


def test_the_harness_does_catch_a_naive_writer(tmp_path: Path) -> None:
    """The control: plain ``write_text`` (truncate, then write) is seen torn by the same readers."""
    def write(root: Path, pid: str, entry: dict[str, Any]) -> None:
        (root / ".journal" / f"{pid}.json").write_text(json.dumps(entry), encoding="utf-8")

    def remove(root: Path, pid: str) -> None:
        (root / ".journal" / f"{pid}.json").unlink(missing_ok=True)

    seen = hammer(tmp_path, write, remove, seconds=6, iterations=400, until_torn=True)
    assert seen["torn"] > 0, f"the readers never saw a half-written file: {seen}"


# -- one real kernel: two panels and a magic at once -------------------------------------------------------


@pytest.mark.kernel
def test_two_panels_and_a_magic_at_once_in_one_kernel(tmp_path: Path, figures: Figures) -> None:
    root = tmp_path / "out"
    doors = {
        "panel one": ("[demo:slow=1.2] panel one: a lighthouse", {"aspect_ratio": "16:9"}, (1280, 720), 1),
        "panel two": ("[demo:slow=1.2] panel two: an owl", {"sequential_image_generation": "auto",
                                                              "max_images": 2}, (1024, 1024), 2),
        "magic": ("[demo:slow=1.2] the magic: a fox", {"aspect_ratio": "3:4"}, (864, 1152), 1),
    }
    with demo_server() as server, Kernel(tmp_path, SEEDREAM_BASE_URL=server.base_url, SEEDREAM_API_TOKEN=SENTINEL,
                                         SEEDREAM_OUTPUT_DIR=str(root)) as kernel:
        (p1, f1, _, _), (p2, f2, _, _), (p3, _, _, _) = doors.values()
        started = kernel.run(
            "import json, time\nfrom seedream_widgets import SeedreamPanel\n%load_ext seedream_widgets\n"
            f"one = SeedreamPanel(prompt={p1!r}, size='1K', **{f1!r})\n"
            f"two = SeedreamPanel(prompt={p2!r}, size='1K', **{f2!r})\n"
            "runs = [one.generate(), two.generate()]\n"
            "print(json.dumps([one.running, two.running]))")
        assert started.ok and started.json() == [True, True], "both panels returned at once, still running"
        magic = kernel.run(f"%%seedream -s 1K -a 3:4 -o fox\n{p3}")
        assert magic.ok, magic.everything()
        report = kernel.run(
            "ones = [run.wait(60) for run in runs] + [fox]\n"
            "while one.running or two.running:  # each panel draws its outcome as its run ends\n"
            "    time.sleep(0.02)\n"
            "print(json.dumps([{'id': r.id, 'prompt': r.prompt, 'folder': str(r.folder), 'sizes': r.sizes,\n"
            "                   'paths': [str(p) for p in r.paths]} for r in ones]\n"
            "                 + [[one.result.id, two.result.id]]))")
        assert report.ok, report.everything()
        *results, shown = report.json()
        state = kernel.run(ENGINE_STATE).json()
        ids = [r["id"] for r in results]
        ran_together = overlap(server, ids)

        assert shown == ids[:2], "each panel shows its own result"
        assert len(set(ids)) == 3 and len({r["folder"] for r in results}) == 3
        for (name, (prompt, _, size, count)), found in zip(doors.items(), results, strict=True):
            assert found["prompt"] == prompt, f"{name} got {found['prompt']!r}"
            assert found["sizes"] == [list(size)] * count, name
            sidecar = json.loads((Path(found["folder"]) / "prediction.json").read_text(encoding="utf-8"))
            assert sidecar["input"]["prompt"] == prompt and sidecar["id"] == found["id"]
            for index, path in enumerate(found["paths"]):
                assert Path(path).parent == Path(found["folder"])
                assert stored_as_sent(Path(path), server.output_bytes(found["id"], index))
        assert server.stats.creates == 3
    assert ran_together > 0.5, f"the three predictions overlapped for only {ran_together:.2f} s"
    assert state["tasks"] == [] and state["in_flight"] == []
    assert not [p for p in leftovers(root) if ".partial" in p or p.startswith(".journal")]
    figures.finished(3)
    figures.note("two panels and a magic in one kernel", f"ran together for {ran_together:.1f} s, 3 folders, "
                                                        "no mix")
