"""`Run` and `RunState` end to end: the real demo backend over a socket, the sync facade and asyncio callers."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedream_widgets import (
    DeadlineExceeded,
    PredictionCanceled,
    PredictionFailed,
    Result,
    Run,
    RunState,
    Seedream,
    SeedreamError,
    ValidationError,
    WaitTimeout,
)
from seedream_widgets.demo import DemoServer
from seedream_widgets.display import status_text

TOKEN = "r8_test_token_for_runs_0123456789"
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("WHO")


@pytest.fixture
def client(demo: DemoServer, tmp_path: Path) -> Iterator[Seedream]:
    with Seedream(token=TOKEN, base_url=demo.base_url, output_dir=tmp_path / "out") as c:
        yield c


def until(condition: Callable[[], Any], timeout: float = 10.0, step: float = 0.01) -> Any:
    """Poll ``condition`` until it is truthy (returned) or ``timeout`` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s")
        time.sleep(step)


def distinct(states: list[Any]) -> list[Any]:
    """The states without consecutive repeats of the same snapshot (``every`` ticks repeat it)."""
    out: list[Any] = []
    for state in states:
        if not out or state is not out[-1]:
            out.append(state)
    return out


def recorder(run: Run) -> list[RunState]:
    """Every state ``run`` publishes from now on, as it publishes it (``deliver="direct"``)."""
    states: list[RunState] = []
    run.subscribe(states.append, deliver="direct")
    return states


def processing(run: Run) -> bool:
    return run.state.phase == "processing" and bool(run.state.id)


# -- the life of a run ----------------------------------------------------------------------------------


def test_start_returns_at_once_and_states_go_submitting_processing_succeeded(client: Seedream,
                                                                            demo: DemoServer) -> None:
    started = time.monotonic()
    run = client.start("[demo:slow=1] a red fox", size="1K")
    assert time.monotonic() - started < 0.5, "start() does not wait for the service"
    states = recorder(run)
    assert not run.done() and run.state.id == "" and run.state.result is None
    with pytest.raises(RuntimeError, match="still"):
        run.result()

    result = run.wait(timeout=30)

    phases = [s.phase for s in states]
    assert phases[-1] == "succeeded" and "submitting" in phases and "processing" in phases
    first_processing = phases.index("processing")
    assert phases.index("submitting") < first_processing
    assert all(not s.id for s in states[: phases.index("submitting") + 1]), "no id before the service answers"
    named = [s for s in states if s.id]
    assert named[0].phase == "processing" and named[0].event == "created"
    assert {s.id for s in named} == {result.id} == {demo.stats.prediction_ids[0]}
    assert all(s.done for s in states if s.phase == "succeeded") and sum(s.done for s in states) == 1
    final = states[-1]
    assert final is run.state and final.result is result and final.error is None
    assert list(final.images) == result.paths and all(p.is_file() for p in result.paths)
    assert run.result() is result and run.done()
    assert final.last_log_line == "Generated image 1 of 1" and final.status == "succeeded"


def test_result_raises_the_error_of_a_failed_run(client: Seedream) -> None:
    run = client.start("[demo:fail=out of paint] a fox", size="1K")
    with pytest.raises(PredictionFailed, match="out of paint"):
        run.wait(timeout=30)
    assert run.state.phase == "failed" and isinstance(run.state.error, PredictionFailed)
    with pytest.raises(PredictionFailed):
        run.result()
    assert isinstance(run.outcome(), PredictionFailed)


def test_an_invalid_input_is_refused_by_start_before_anything_is_sent(client: Seedream, demo: DemoServer) -> None:
    with pytest.raises(ValidationError):
        client.start("a fox", size="3K")
    assert demo.stats.total_requests == 0


# -- subscribing ------------------------------------------------------------------------------------------


def test_subscribe_delivers_on_the_notifier_thread_in_the_subscribers_context(client: Seedream) -> None:
    got: list[tuple[str, str, RunState]] = []
    token = WHO.set("cell 7")
    try:
        run = client.start("[demo:slow=0.5] a fox", size="1K")
        run.subscribe(lambda s: got.append((threading.current_thread().name, WHO.get("unset"), s)))
    finally:
        WHO.reset(token)
    WHO.set("another cell")  # later changes in this context reach no callback
    result = run.wait(timeout=30)
    until(lambda: got and got[-1][2].done)
    assert {name for name, _, _ in got} == {"seedream-notify"}
    assert {who for _, who, _ in got} == {"cell 7"}
    assert got[-1][2] is run.state and got[-1][2].result is result, "the last state is never skipped"
    assert len({id(s) for _, _, s in got}) == len(got), "each state once"


def test_a_slow_subscriber_skips_states_but_never_the_last(client: Seedream) -> None:
    got: list[RunState] = []

    def slow(state: RunState) -> None:
        got.append(state)
        time.sleep(0.25)

    run = client.start("[demo:slow=0.3] a fox", size="1K", sequential_image_generation="auto", max_images=3)
    published = recorder(run)
    run.subscribe(slow)
    run.wait(timeout=30)
    until(lambda: got and got[-1] is run.state, timeout=5)
    assert len(got) < len(published), "intermediate states were skipped"
    positions = [next(i for i, p in enumerate(published) if p is s) for s in got[1:]]
    assert positions == sorted(positions), "never an older state after a newer one"


def test_subscribe_direct_delivers_every_state_on_the_runs_loop(client: Seedream) -> None:
    got: list[tuple[str, RunState]] = []
    run = client.start("[demo:slow=0.5] a fox", size="1K", sequential_image_generation="auto", max_images=2)
    run.subscribe(lambda s: got.append((threading.current_thread().name, s)), deliver="direct")
    run.wait(timeout=30)
    assert {name for name, _ in got[1:]} == {"seedream-engine"}, "each new state as it is published, on the loop"
    events = [s.event for _, s in got]
    assert events.count("image") == 2 and events[-1] == "done"
    assert [len(s.images) for _, s in got if s.event == "image"] == [1, 2]
    assert len({id(s) for _, s in got}) == len(got)


def test_subscribe_direct_delivers_the_current_state_on_the_runs_loop_too(client: Seedream) -> None:
    got: list[str] = []
    run = client.start("[demo:slow=0.3] a fox", size="1K")
    run.subscribe(lambda s: got.append(threading.current_thread().name), deliver="direct")
    run.wait(timeout=30)
    assert set(got) == {"seedream-engine"}


def test_a_subscriber_told_the_run_ended_can_read_its_result(client: Seedream) -> None:
    seen: list[object] = []

    def on_state(state: RunState) -> None:
        if state.done:
            try:
                seen.append(run.result())
            except RuntimeError as exc:
                seen.append(exc)

    run = client.start("a fox", size="1K")
    run.subscribe(on_state, deliver="direct")
    result = run.wait(timeout=30)
    assert seen == [result]


def test_subscribe_with_a_callable_deliver_runs_where_the_caller_schedules(client: Seedream) -> None:
    jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    got: list[tuple[threading.Thread, RunState]] = []
    run = client.start("[demo:slow=0.3] a fox", size="1K")
    run.subscribe(lambda s: got.append((threading.current_thread(), s)), deliver=jobs.put)
    deadline = time.monotonic() + 30
    while not (got and got[-1][1].done):
        assert time.monotonic() < deadline
        try:
            jobs.get(timeout=0.1)()
        except queue.Empty:
            continue
    assert {thread for thread, _ in got} == {threading.current_thread()}
    assert got[-1][1] is run.state
    until(lambda: run.done(), timeout=5)


def test_unsubscribe_stops_deliveries_and_a_broken_callback_breaks_nothing(client: Seedream,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    calls: list[RunState] = []
    run = client.start("[demo:slow=0.3] a fox", size="1K")
    unsubscribe = run.subscribe(calls.append, deliver="direct")
    unsubscribe()
    unsubscribe()  # twice is fine

    def broken(state: RunState) -> None:
        raise RuntimeError("renderer bug")

    run.subscribe(broken, deliver="direct")
    with caplog.at_level(logging.ERROR, logger="seedream_widgets"):
        result = run.wait(timeout=30)
    assert len(calls) == 1, "only the state current when it subscribed"
    assert result.paths[0].is_file()
    assert "renderer bug" in caplog.text


def test_add_done_callback_runs_once_on_the_notifier_thread(client: Seedream) -> None:
    got: list[tuple[str, str, Run]] = []
    token = WHO.set("done cell")
    try:
        run = client.start("a fox", size="1K")
        run.add_done_callback(lambda r: got.append((threading.current_thread().name, WHO.get("unset"), r)))
    finally:
        WHO.reset(token)
    run.wait(timeout=30)
    until(lambda: got)
    run.add_done_callback(lambda r: got.append((threading.current_thread().name, WHO.get("unset"), r)))
    until(lambda: len(got) == 2)  # already ended: called at once (on the notifier)
    time.sleep(0.1)
    assert [(name, run_) for name, _, run_ in got] == [("seedream-notify", run)] * 2
    assert got[0][1] == "done cell"


# -- waiting ---------------------------------------------------------------------------------------------


def test_wait_on_state_sees_every_state_in_order_on_the_waiting_thread(client: Seedream) -> None:
    run = client.start("[demo:slow=1] a fox", size="1K")
    published = recorder(run)
    calls: list[tuple[threading.Thread, float, RunState]] = []

    result = run.wait(timeout=30, on_state=lambda s: calls.append((threading.current_thread(), time.monotonic(), s)),
                      every=0.2)

    assert {thread for thread, _, _ in calls} == {threading.current_thread()}
    shown = distinct([s for _, _, s in calls])
    start = next(i for i, s in enumerate(published) if s is shown[0])
    assert [id(s) for s in shown] == [id(s) for s in published[start:]], "every state, in order, none skipped"
    assert shown[-1] is run.state and shown[-1].result is result
    times = [t for _, t, _ in calls]
    assert len(calls) - len(shown) >= 3, "the current state again while nothing changes (a status clock)"
    assert max(b - a for a, b in itertools.pairwise(times)) < 0.2 + 0.5


def test_wait_timeout_raises_wait_timeout_and_the_run_goes_on(client: Seedream) -> None:
    run = client.start("[demo:slow=1.5] a fox", size="1K")
    began = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        run.wait(timeout=0.3)
    waited = time.monotonic() - began
    assert 0.3 <= waited < 1.2
    assert isinstance(info.value, SeedreamError) and isinstance(info.value, TimeoutError)
    assert not run.done() and not run.state.done
    result = run.wait(timeout=30)
    assert run.state.phase == "succeeded" and result.paths[0].is_file()


def test_wait_on_the_runs_own_loop_is_refused(client: Seedream) -> None:
    run = client.start("a fox", size="1K")
    errors: list[BaseException] = []

    def on_loop(state: RunState) -> None:
        if not errors:
            try:
                run.wait(timeout=1)
            except RuntimeError as exc:
                errors.append(exc)

    run.subscribe(on_loop, deliver="direct")
    run.wait(timeout=30)
    assert errors and "await" in str(errors[0])


# -- asyncio callers ----------------------------------------------------------------------------------------


def test_async_for_yields_states_and_ends_with_the_final_one(client: Seedream) -> None:
    run = client.start("[demo:slow=1.2] a fox", size="1K")

    async def follow() -> list[RunState]:
        states: list[RunState] = []
        async for state in run:
            states.append(state)
            await asyncio.sleep(0.3)  # a slow consumer: it skips states, never the last one
        return states

    states = asyncio.run(asyncio.wait_for(follow(), 30))
    assert states[-1] is run.state and states[-1].phase == "succeeded"
    assert sum(s.done for s in states) == 1
    assert "processing" in [s.phase for s in states] and states[0].phase in ("queued", "submitting")
    assert len({id(s) for s in states}) == len(states)


def test_async_for_over_an_ended_run_yields_its_final_state(client: Seedream) -> None:
    run = client.start("a fox", size="1K")
    run.wait(timeout=30)

    async def follow() -> list[RunState]:
        return [state async for state in run]

    assert asyncio.run(asyncio.wait_for(follow(), 5)) == [run.state]


def test_async_for_a_prompt_consumer_ends_with_the_final_state(client: Seedream) -> None:
    run = client.start("[demo:slow=0.3] a fox", size="1K")

    def slow_renderer(state: RunState) -> None:
        if state.done:
            time.sleep(1.0)  # the run's loop is busy a moment longer before it finishes the handle

    async def follow() -> list[RunState]:
        states: list[RunState] = []
        async for state in run:
            if not states:
                run.subscribe(slow_renderer, deliver="direct")  # after the iterator's own subscription
            states.append(state)
        return states

    try:
        states = asyncio.run(asyncio.wait_for(follow(), 4))
    except asyncio.TimeoutError:
        raise AssertionError("async for never ended") from None
    assert states[-1] is run.state and states[-1].done


def test_await_run_from_asyncio_run(client: Seedream) -> None:
    run = client.start("a fox", size="1K")

    async def cell() -> Result:
        return await asyncio.wait_for(run, 30)

    result = asyncio.run(cell())
    assert result is run.result() and result.paths[0].is_file()


def test_cancelling_the_awaiting_task_cancels_the_run(client: Seedream, demo: DemoServer) -> None:
    run = client.start("[demo:slow=20] never mind", size="1K")

    async def cell() -> None:
        async def wait() -> Result:
            return await run

        task = asyncio.create_task(wait())
        deadline = time.monotonic() + 10
        while not processing(run):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Cancelling returned only after the run's cleanup: the service has the cancel already.
        assert demo.stats.cancels == 1

    asyncio.run(cell())
    assert run.done() and run.state.phase == "canceled" and run.state.status == "canceled"
    with pytest.raises(PredictionCanceled):
        run.result()
    assert demo.prediction(run.id)["status"] == "canceled"
    assert client.in_flight() == []


# -- cancelling ----------------------------------------------------------------------------------------------


def test_cancel_returns_once_the_cancel_reached_the_service(client: Seedream, demo: DemoServer) -> None:
    run = client.start("[demo:slow=20] stop me", size="1K")
    until(lambda: processing(run))
    run.cancel()
    assert demo.stats.cancels == 1 and run.done() and run.state.phase == "canceled"
    run.cancel()  # ended: nothing more is sent
    assert demo.stats.cancels == 1
    assert demo.prediction(run.id)["status"] == "canceled"
    assert client.in_flight() == [] and not any((client.settings.output_dir).glob(".partial-*"))


def test_cancel_while_the_create_is_held_finds_the_prediction_and_cancels_it(client: Seedream,
                                                                             demo: DemoServer) -> None:
    run = client.start("[demo:slow=20] held", size="1K")
    until(lambda: demo.stats.creates == 1)
    held = run.state
    assert held.phase == "submitting" and not held.id
    run.cancel()
    assert run.done() and run.state.phase == "canceled"
    assert demo.stats.cancels == 1
    assert demo.prediction(demo.stats.prediction_ids[0])["status"] == "canceled"


def test_elapsed_grows_while_running_and_is_frozen_once_ended(client: Seedream) -> None:
    run = client.start("[demo:slow=1.5] a fox", size="1K")
    running = until(lambda: run.state if processing(run) else None)
    first = running.elapsed
    time.sleep(0.1)
    assert running.elapsed >= first + 0.09, "a running snapshot's clock runs"
    run.wait(timeout=30)
    final = run.state
    frozen = final.elapsed
    time.sleep(0.2)
    assert final.elapsed == frozen and run.state.elapsed == frozen


# -- live progress -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "polling"])
@pytest.mark.parametrize("images", [1, 3], ids=["single", "set"])
def test_live_progress_within_1_5_s_on_a_6_s_backend(demo: DemoServer, tmp_path: Path, stream: bool,
                                                     images: int) -> None:
    demo.configure(base_seconds=6)
    sets: dict[str, Any] = {"sequential_image_generation": "auto", "max_images": images} if images > 1 else {}
    with Seedream(token=TOKEN, base_url=demo.base_url, output_dir=tmp_path, stream=stream) as client:
        began = time.monotonic()
        run = client.start("a lighthouse at dusk", size="1K", **sets)
        try:
            shown = until(lambda: run.state if processing(run) and run.state.last_log_line else None,
                          timeout=1.5, step=0.02)
            assert time.monotonic() - began <= 1.5
            assert shown.id == demo.stats.prediction_ids[0] and shown.last_log_line.startswith(("Generating", "Using"))
            line = status_text(shown)
            assert line.startswith("processing · ") and shown.id in line and shown.last_log_line in line
            assert shown.expected_images == images
            if stream:
                until(lambda: demo.stats.requests.get("stream"), timeout=2)
            else:
                time.sleep(0.5)
            assert demo.stats.requests.get("stream", 0) == (1 if stream else 0)
            assert not run.done()
        finally:
            run.cancel()
    assert run.state.phase == "canceled" and demo.stats.cancels == 1


def test_logs_while_streaming_are_the_services_logs_so_far(client: Seedream, demo: DemoServer) -> None:
    run = client.start("[demo:slow=1] a fox", size="1K", sequential_image_generation="auto", max_images=2)
    states = recorder(run)
    run.wait(timeout=30)
    final_logs = demo.prediction(run.id)["logs"]
    assert run.state.logs == final_logs
    for state in states:
        assert final_logs.startswith(state.logs), f"{state.event}: {state.logs!r}"


# -- deadlines and resume ---------------------------------------------------------------------------------


def test_a_deadline_ends_timed_out_keeps_the_journal_and_resume_finishes_it(client: Seedream,
                                                                            demo: DemoServer) -> None:
    demo.configure(cancel_after=False)  # a base that drops Cancel-After (a proxy): only the client's deadline counts
    run = client.start("[demo:slow=1.5] patience", size="1K", timeout=1)
    with pytest.raises(DeadlineExceeded) as info:
        run.wait(timeout=30)
    state = run.state
    assert state.phase == "timed_out" and state.error is info.value and state.done
    assert run.id and f"resume({run.id!r})" in str(info.value)
    with pytest.raises(DeadlineExceeded):
        run.result()
    assert [entry["id"] for entry in client.in_flight()] == [run.id]
    assert demo.prediction(run.id)["status"] in ("starting", "processing"), "it goes on on the service"
    creates = demo.stats.creates

    result = client.resume(run.id)

    assert result.id == run.id and result.paths[0].is_file()
    assert client.in_flight() == [] and demo.stats.creates == creates
    again = client.resume_run(run.id)
    assert again.wait(timeout=30).paths == result.paths and again.state.note == "stored earlier"


def test_a_deadline_the_service_enforced_ends_timed_out(client: Seedream, demo: DemoServer) -> None:
    """timeout= travels as Cancel-After: the service ends the prediction at the deadline; the run says so."""
    run = client.start("[demo:slow=1.5] patience", size="1K", timeout=1)
    with pytest.raises(DeadlineExceeded) as info:
        run.wait(timeout=30)
    assert run.state.phase == "timed_out" and run.state.error is info.value
    assert demo.prediction(run.id)["status"] == "canceled" and demo.stats.cancels == 0, "ended by the service"
    assert "deadline" in str(info.value) and "resume(" not in str(info.value), "nothing is left to resume"


def test_a_deadline_the_service_enforced_leaves_nothing_in_flight(client: Seedream, demo: DemoServer) -> None:
    run = client.start("[demo:slow=1.5] patience", size="1K", timeout=1)
    with pytest.raises(DeadlineExceeded):
        run.wait(timeout=30)
    assert demo.prediction(run.id)["status"] == "canceled"
    assert client.in_flight() == []


@pytest.mark.parametrize("end", ["succeeded", "canceled from elsewhere", "canceled here"])
def test_following_a_run_leaves_no_connection_open(demo: DemoServer, tmp_path: Path, end: str) -> None:
    """Every connection a run opened (create, event stream, downloads) is closed by the time it ends: none is
    left for the garbage collector to find (a ResourceWarning, which would surface in some later test)."""
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with Seedream(token="leak-check-token-01", base_url=demo.base_url, output_dir=tmp_path) as client:
            for _ in range(3):
                if end == "succeeded":
                    assert isinstance(client.start("a fox", size="1K").wait(30), Result)
                    continue
                run = client.start("[demo:slow=1.5] a fox", size="1K")
                until(lambda run=run: run.state.phase == "processing")
                if end == "canceled from elsewhere":
                    demo.cancel_from_elsewhere(run.id)
                else:
                    run.cancel()
                with pytest.raises(PredictionCanceled):
                    run.wait(30)
            time.sleep(0.3)  # anything scheduled to close a connection has run
            gc.collect()
            leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == [], leaked



def test_runs_followed_by_their_event_stream_keep_one_connection(tmp_path: Path) -> None:
    """A stream read to its end after ``done`` gives its connection back: runs that outlast the create's hold
    (followed by their event stream) one after another reuse one connection instead of a new one per run."""
    with DemoServer(base_seconds=1.3, per_image_seconds=0) as server, \
            Seedream(token=TOKEN, base_url=server.base_url, output_dir=tmp_path) as client:
        client.start("a warm-up fox", size="1K").wait(30)  # the schema, the pool: what any first run pays for
        server.reset_stats()
        for i in range(3):
            run = client.start(f"a fox {i}", size="1K")
            seen = until(lambda run=run: run.state.phase == "processing" and run.id)
            assert seen, run.state
            run.wait(30)
        stats = server.stats
    assert stats.requests.get("stream") == 3, stats.requests  # each outlasted its 1 s hold and was streamed
    assert stats.connections <= 1, f"{stats.connections} new connections for 3 streamed runs"
