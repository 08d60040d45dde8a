"""Transient faults at scale: every prediction finishes, none is created twice, every byte matches.

The demo backend hits about a fifth of all requests (creates, polls, lists,
downloads) with 429 + Retry-After, 500/502/503, dropped connections (before and
after doing the work), slow answers and malformed bodies. The client's retries
and its ambiguous-create resolution must turn that into exactly one prediction
per item, each stored with the backend's exact bytes.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from _stored import stored_as_sent

from seedream_widgets import Result, Seedream
from seedream_widgets.demo import TRANSIENT_KINDS, DemoServer

from .conftest import SENTINEL, Figures, demo_server, journal_ids, leftovers

N = 200
CONCURRENCY = 16
RATE = 0.2
SEED = 20251124


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_stored(results: list[Result], server: DemoServer, root: Path) -> None:
    """Every result's files are on disk, hash-identical to the backend's outputs, and nothing else is left."""
    for result in results:
        sidecar = json.loads((result.folder / "prediction.json").read_text(encoding="utf-8"))
        assert sidecar["id"] == result.id
        assert len(result.paths) == len(server.prediction(result.id)["output"])
        for index, path in enumerate(result.paths):
            expected = sha256(server.output_bytes(result.id, index))
            assert stored_as_sent(path, server.output_bytes(result.id, index)), \
                f"{path} differs from output {index} of {result.id}"
            assert sidecar["images"][index]["received_sha256"] == expected
    assert journal_ids(root) == [], "every stored run leaves the journal"
    stray = [p for p in leftovers(root) if ".partial" in p or p.startswith(".journal/")]
    assert stray == []


def test_two_hundred_predictions_through_a_fifth_of_requests_failing(tmp_path: Path, figures: Figures) -> None:
    # Every fifth prediction outlasts the 1 s Prefer: wait, so polls are hit too, not only creates and downloads.
    prompts = [f"reliability {i:03d}: a lighthouse at dusk{' [demo:slow=1]' if i % 5 == 0 else ''}" for i in range(N)]
    with demo_server() as server:
        server.set_fault_rate(RATE, kinds=TRANSIENT_KINDS, seed=SEED)
        started = time.monotonic()
        # create_grace is shortened for speed only: an ambiguous create is still resolved by listing first.
        with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path, max_retries=8,
                      create_grace=0.5, max_connections=CONCURRENCY, wait=1) as client:
            outcomes = client.generate_many(prompts, concurrency=CONCURRENCY, size="1K", progress=False)
        wall = time.monotonic() - started
        server.clear_faults()
        stats = server.stats

        failed = {i: f"{type(o).__name__}: {o}" for i, o in enumerate(outcomes) if not isinstance(o, Result)}
        assert failed == {}, f"{len(failed)} predictions did not finish"
        results = [o for o in outcomes if isinstance(o, Result)]
        assert [r.prompt for r in results] == prompts, "each outcome belongs to its own item, in order"
        ids = [r.id for r in results]
        assert len(set(ids)) == N, "two items share a prediction"
        assert stats.creates == N, f"the backend made {stats.creates} predictions for {N} items"
        assert sorted(ids) == sorted(stats.prediction_ids)
        for result in results:
            assert server.prediction(result.id)["input"]["prompt"] == result.prompt
        check_stored(results, server, tmp_path)

    hit = sum(stats.faults_injected.values())
    assert hit >= 0.1 * stats.total_requests, "the fault plan really hit the run"
    assert set(stats.faults_injected) == set(TRANSIENT_KINDS), "every transient kind happened at least once"
    figures.finished(N)
    figures.note("200 predictions under transient faults",
                 f"{N} finished, {stats.creates} creates, {stats.total_requests} requests "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(stats.requests.items()))}), "
                 f"{hit} faulted ({100 * hit / stats.total_requests:.0f}%: "
                 f"{', '.join(f'{k} {v}' for k, v in sorted(stats.faults_injected.items()))}), "
                 f"wall {wall:.1f} s at concurrency {CONCURRENCY}")


@pytest.mark.parametrize("kinds", [("drop_after", "drop"), ("malformed", "500", "502")])
def test_identical_inputs_with_ambiguous_creates_never_share_a_prediction(tmp_path: Path, figures: Figures,
                                                                          kinds: tuple[str, ...]) -> None:
    """Many items with the same input, some creates ambiguous: each item still gets its own prediction.

    While a sibling's create is held by ``Prefer: wait`` its prediction is listed
    but not yet claimed; the resolver must not adopt it.
    """
    n = 24
    with demo_server(base_seconds=0.4) as server:
        for kind in kinds:
            server.inject(kind, route="create", times=3)
        with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path, create_grace=0.5) as client:
            outcomes = client.generate_many(["the same prompt, many times"] * n, concurrency=8, size="1K",
                                            progress=False)
        stats = server.stats
        assert [type(o).__name__ for o in outcomes] == ["Result"] * n
        results = [o for o in outcomes if isinstance(o, Result)]
        assert len({r.id for r in results}) == n, "two items were given the same prediction"
        assert len({r.folder for r in results}) == n
        made_without_answer = stats.faults_injected.get("drop_after", 0) + stats.faults_injected.get("malformed", 0)
        assert stats.creates == n, (f"{stats.creates} predictions for {n} items "
                                    f"({made_without_answer} made without an answer)")
        check_stored(results, server, tmp_path)
    figures.finished(n)
