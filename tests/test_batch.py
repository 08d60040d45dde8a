"""`Batch` and `BatchState` end to end against the real demo backend: many runs, skipping stored ones, compare."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedream_widgets import (
    Batch,
    BatchState,
    Comparison,
    DeadlineExceeded,
    PredictionCanceled,
    Result,
    Seedream,
    ValidationError,
    WaitTimeout,
    output_pixels,
)
from seedream_widgets.demo import DemoServer

TOKEN = "r8_test_token_for_batches_0123456"


@pytest.fixture
def client(demo: DemoServer, tmp_path: Path) -> Iterator[Seedream]:
    with Seedream(token=TOKEN, base_url=demo.base_url, output_dir=tmp_path / "out") as c:
        yield c


def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s")
        time.sleep(0.01)
    return value


def all_processing(batch: Batch[Any]) -> bool:
    return all(run.state.phase == "processing" and run.state.id for run in batch.runs)


# -- many runs -----------------------------------------------------------------------------------------------


def test_an_invalid_item_ends_at_once_and_the_others_succeed(client: Seedream, demo: DemoServer) -> None:
    batch = client.start_many(["an owl", "", "a heron"], size="1K")
    invalid = batch.runs[1]
    assert invalid.done() and invalid.state.phase == "failed" and invalid.state.done
    assert isinstance(invalid.state.error, ValidationError) and invalid.state.error.fields == ("prompt",)
    first = batch.state
    assert first.total == 3 and first.finished >= 1 and first.counts["failed"] == 1 and not first.done
    with pytest.raises(RuntimeError, match="still running"):
        batch.result()

    outcomes = batch.wait(timeout=30)

    assert [type(o).__name__ for o in outcomes] == ["Result", "ValidationError", "Result"]
    assert isinstance(outcomes[0], Result) and outcomes[0].prompt == "an owl"
    assert isinstance(outcomes[2], Result) and outcomes[2].prompt == "a heron"
    assert outcomes[1] is invalid.state.error
    final = batch.state
    assert final.counts == {"queued": 0, "running": 0, "succeeded": 2, "failed": 1}
    assert (final.finished, final.total, final.done, final.label) == (3, 3, True, "batch")
    assert demo.stats.creates == 2
    assert batch.result() == outcomes and len(batch) == 3


def test_a_batch_of_only_invalid_items_ends_at_once(client: Seedream, demo: DemoServer) -> None:
    batch = client.start_many(["", "   "], size="1K")
    assert batch.done() and batch.state.done and batch.state.finished == 2
    outcomes = batch.wait(timeout=1)
    assert [type(o).__name__ for o in outcomes] == ["ValidationError", "ValidationError"]
    assert client.start_many([]).wait(timeout=1) == []
    assert demo.stats.total_requests == 0


def test_batch_state_follows_its_items(client: Seedream) -> None:
    batch = client.start_many([f"[demo:slow=0.3] bird {i}" for i in range(3)], concurrency=1, size="1K")
    states: list[BatchState] = []
    batch.wait(timeout=60, on_state=states.append)
    running = [s.counts["running"] for s in states]
    assert max(running) == 1, "concurrency=1: one item at a time"
    assert states[0].counts["queued"] >= 1
    finished = [s.finished for s in states]
    assert finished == sorted(finished) and finished[-1] == 3
    final = states[-1]
    assert final is batch.state and final.done and [item.phase for item in final.items] == ["succeeded"] * 3
    frozen = final.elapsed
    time.sleep(0.1)
    assert final.elapsed == frozen and batch.state.elapsed == frozen


def test_cancel_cancels_every_running_item_and_the_queued_ones(client: Seedream, demo: DemoServer) -> None:
    batch = client.start_many([f"[demo:slow=20] item {i}" for i in range(3)], concurrency=2, size="1K")
    until(lambda: sum(r.state.phase == "processing" and bool(r.state.id) for r in batch.runs) == 2)
    assert batch.runs[2].state.phase == "queued"

    batch.cancel()

    assert batch.done() and demo.stats.cancels == 2 and demo.stats.creates == 2, "the queued item was never created"
    assert [run.state.phase for run in batch.runs] == ["canceled"] * 3
    assert {demo.prediction(i)["status"] for i in demo.stats.prediction_ids} == {"canceled"}
    outcomes = batch.result()
    assert all(isinstance(o, PredictionCanceled) for o in outcomes)
    assert batch.state.counts == {"queued": 0, "running": 0, "succeeded": 0, "failed": 3}
    assert client.in_flight() == []


def test_wait_timeout_leaves_the_batch_running(client: Seedream) -> None:
    batch = client.start_many(["[demo:slow=1] an owl", "[demo:slow=1] a heron"], size="1K")
    with pytest.raises(WaitTimeout):
        batch.wait(timeout=0.3)
    assert not batch.done()
    outcomes = batch.wait(timeout=30)
    assert all(isinstance(o, Result) for o in outcomes)


def test_generate_many_prints_progress_lines_in_a_terminal(client: Seedream,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = client.generate_many(["an owl", "a heron"], size="1K")
    assert all(isinstance(o, Result) for o in outcomes)
    lines = capsys.readouterr().out.splitlines()
    assert lines and lines[-1].startswith("batch: 2/2 done")
    client.generate_many(["an owl", "a heron"], size="1K", progress=False)
    assert capsys.readouterr().out == ""


# -- skipping stored runs -------------------------------------------------------------------------------------


def test_skip_stored_a_second_time_creates_nothing(client: Seedream, demo: DemoServer) -> None:
    first = client.start_many(["an owl", "a heron"], skip_stored=True, size="1K").wait(timeout=30)
    assert demo.stats.creates == 2
    requests = demo.stats.total_requests

    again = client.start_many(["an owl", "a heron"], skip_stored=True, size="1K")
    outcomes = again.wait(timeout=30)

    assert demo.stats.creates == 2 and demo.stats.total_requests == requests, "nothing sent at all"
    assert [run.state.note for run in again.runs] == ["done earlier"] * 2
    assert [run.state.phase for run in again.runs] == ["succeeded"] * 2
    assert [o.id for o in outcomes if isinstance(o, Result)] == [o.id for o in first if isinstance(o, Result)]
    assert all(isinstance(o, Result) and o.paths[0].is_file() for o in outcomes)


def test_skip_stored_needs_one_stored_run_per_identical_item(client: Seedream, demo: DemoServer) -> None:
    earlier = client.generate("an owl", size="1K")
    batch = client.start_many(["an owl", "an owl", "an owl"], skip_stored=True, size="1K")
    outcomes = batch.wait(timeout=30)
    assert demo.stats.creates == 3, "one stored run stands for one item"
    notes = [run.state.note for run in batch.runs]
    assert notes.count("done earlier") == 1
    ids = [o.id for o in outcomes if isinstance(o, Result)]
    assert len(ids) == 3 and len(set(ids)) == 3 and earlier.id in ids


def test_skip_stored_is_off_by_default_and_matches_the_whole_input(client: Seedream, demo: DemoServer) -> None:
    client.generate("an owl", size="1K")
    client.start_many(["an owl"], size="1K").wait(timeout=30)
    assert demo.stats.creates == 2
    client.start_many(["an owl"], size="2K", skip_stored=True).wait(timeout=30)
    assert demo.stats.creates == 3, "another size is another input"


def test_a_journaled_prediction_is_resumed_instead_of_created(client: Seedream, demo: DemoServer) -> None:
    demo.configure(cancel_after=False)  # the killed run's prediction goes on, as on a proxy without Cancel-After
    with pytest.raises(DeadlineExceeded) as info:
        client.generate("[demo:slow=1.5] patience", size="1K", timeout=1)
    journaled = info.value.prediction.id  # type: ignore[union-attr]
    assert [entry["id"] for entry in client.in_flight()] == [journaled]

    batch = client.start_many(["[demo:slow=1.5] patience", "a heron"], skip_stored=True, size="1K")
    outcomes = batch.wait(timeout=30)

    assert isinstance(outcomes[0], Result) and outcomes[0].id == journaled and outcomes[0].paths[0].is_file()
    assert isinstance(outcomes[1], Result)
    assert demo.stats.creates == 2, "the journaled one was resumed, only the heron created"
    assert client.in_flight() == []


def test_match_stored_and_item_inputs_send_nothing(client: Seedream, demo: DemoServer) -> None:
    stored = client.generate("an owl", size="1K")
    requests = demo.stats.total_requests
    inputs = client.item_inputs(["an owl", {"prompt": "an owl", "size": "2K"}, "", {"size": "1K"}], size="1K")
    assert [type(i).__name__ for i in inputs] == ["SeedreamInput", "SeedreamInput", "ValidationError",
                                                  "ValidationError"]
    matches = client.match_stored(inputs)
    assert list(matches) == [0] and isinstance(matches[0], Result) and matches[0].id == stored.id
    assert demo.stats.total_requests == requests


# -- compare ----------------------------------------------------------------------------------------------------


def test_start_compare_validates_every_cell_first(client: Seedream, demo: DemoServer) -> None:
    with pytest.raises(ValidationError) as info:
        client.start_compare("a lighthouse", size=["1K", "3K"], aspect_ratio=["1:1", "5:4", "16:9"])
    problems = info.value.invalid_fields
    assert sorted((p.field, p.value) for p in problems) == [("aspect_ratio", "5:4"), ("size", "3K")], \
        "every bad value, each once"
    message = str(info.value)
    assert "3K" in message and "5:4" in message
    assert demo.stats.total_requests == 0 and demo.stats.creates == 0


def test_start_compare_names_a_bad_shared_setting_once(client: Seedream, demo: DemoServer) -> None:
    with pytest.raises(ValidationError) as info:
        client.start_compare("a lighthouse", size=["1K", "2K", "4K"], max_images=99)
    assert [(p.field, p.value) for p in info.value.invalid_fields] == [("max_images", 99)]
    assert demo.stats.total_requests == 0


def test_compare_without_an_axis_is_refused(client: Seedream, demo: DemoServer) -> None:
    with pytest.raises(ValidationError, match="at least one axis") as info:
        client.start_compare("a lighthouse", size="1K")
    assert info.value.fields == ("axes",) and demo.stats.total_requests == 0


def test_compare_returns_a_comparison_in_product_order(client: Seedream) -> None:
    axes: dict[str, Any] = {"size": ["1K", "2K"], "aspect_ratio": ["16:9", "1:1"]}
    batch = client.start_compare("a lighthouse", **axes)
    assert batch.state.label == "compare"
    assert [run.state.label for run in batch.runs] == [
        "size=1K, aspect_ratio=16:9", "size=1K, aspect_ratio=1:1", "size=2K, aspect_ratio=16:9",
        "size=2K, aspect_ratio=1:1"]

    grid = batch.wait(timeout=60)

    assert isinstance(grid, Comparison) and grid.prompt == "a lighthouse" and dict(grid.axes) == axes
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    assert [settings for settings, _ in grid.cells] == combos
    for settings, outcome in grid.cells:
        assert isinstance(outcome, Result), outcome
        assert outcome.sizes == [output_pixels(settings["size"], settings["aspect_ratio"])]
        assert {k: outcome.input[k] for k in settings} == settings and outcome.prompt == "a lighthouse"
    assert grid.errors == [] and len(grid.results) == 4


def test_compare_keeps_a_failed_cell_in_its_place(client: Seedream) -> None:
    grid = client.compare("[demo:fail=no paint] a lighthouse", size=["1K", "2K"], progress=False)
    assert [s for s, _ in grid.cells] == [{"size": "1K"}, {"size": "2K"}]
    assert len(grid.errors) == 2 and grid.results == []
    assert all("no paint" in str(error) for _, error in grid.errors)


def test_a_batch_is_paced_to_a_stated_create_limit_and_says_when_it_waits(tmp_path: Path) -> None:
    """Against a backend that takes 1 create a second and answers 429 above it (stating its policy in
    headers): the batch is sent at that rate, nothing bounces, and a waiting run's progress says why."""
    with DemoServer(base_seconds=0.2, per_image_seconds=0, create_rate=1.0, create_burst=1) as server, \
            Seedream(token="pacing-token-0123", base_url=server.base_url, output_dir=tmp_path) as client:
        notes: list[str] = []
        batch = client.start_many([f"paced {i}" for i in range(4)], concurrency=4, size="1K")
        for run in batch.runs:
            run.subscribe(lambda state: notes.append(state.note), deliver=lambda call: call())
        outcomes = batch.wait(timeout=60)
        stats = server.stats
    assert all(isinstance(o, Result) for o in outcomes)
    assert stats.creates == 4 and stats.throttled == 0, f"{stats.throttled} creates bounced off the limit"
    times = sorted(stats.create_times)
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), "creates never closer than the limit allows"
    assert any(note.startswith("waiting for the rate limit") for note in notes)
