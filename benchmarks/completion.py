"""When does a client know a prediction has ended? On a base that does not hold the create (issue 18).

Three contenders, each following N predictions of T seconds at once against a backend in its own
process that answers a create at once (no ``Prefer: wait`` hold):

- ours polling: the base answers a create with only ``{"id", "status"}`` (the seed page's own
  example): no stream, no urls; our client polls on the schedule that expects the end;
- ours with a stream: full answers with ``urls.stream``: our client follows the server-sent events;
- the official client polling every 0.5 s (its default) on a base it can use (full answers).

The delay is the client's moment of knowing (ours: the first state whose prediction is terminal,
seen by a direct subscriber on the engine loop; official: ``prediction.wait()`` returning) minus
the prediction's end on the backend (``demo_clock.ends``, the same monotonic clock). Requests per
prediction are counted at the backend. T = 20 s (quick: 4 s); the expected time the polling
schedule aims at comes from past runs in the output folder, so one unmeasured run of each kind
goes first, as a user's earlier runs would.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from seedream_widgets import Seedream

from ._harness import MODEL, Check, Context, Figure, RemoteDemo, median, rounded

NAME = "completion"
PROMPT = "a lighthouse at dusk (completion benchmark {})"


def _ours(server: RemoteDemo, out: Path, prompts: list[str], *, stream: bool) -> tuple[list[float], list[str]]:
    """Start every prompt at once; return each run's delay (client knows - backend end) and the ids."""
    client = Seedream(token="bench", base_url=server.base_url, output_dir=out, stream=stream)
    known: dict[int, float] = {}
    lock = threading.Lock()
    runs = []
    for index, prompt in enumerate(prompts):
        run = client.start(prompt, size="1K")

        def seen(state: Any, index: int = index) -> None:
            if state.prediction is not None and state.prediction.done:
                with lock:
                    known.setdefault(index, time.monotonic())

        run.subscribe(seen, deliver="direct")
        runs.append(run)
    ids = [run.wait().id for run in runs]
    client.close()
    delays = [known[i] - server.prediction(pid)["demo_clock"]["ends"] for i, pid in enumerate(ids)]
    return delays, ids


def _official(server: RemoteDemo, prompts: list[str]) -> list[float]:
    import replicate

    client = replicate.Client(api_token="bench", base_url=server.url)
    delays: list[float] = []
    lock = threading.Lock()

    def follow(prompt: str) -> None:
        prediction = client.predictions.create(model=MODEL, input={"prompt": prompt, "size": "1K"})
        prediction.wait()  # polls every REPLICATE_POLL_INTERVAL (0.5 s by default)
        now = time.monotonic()
        with lock:
            delays.append(now - server.prediction(prediction.id)["demo_clock"]["ends"])

    threads = [threading.Thread(target=follow, args=(p,)) for p in prompts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return delays


def run(ctx: Context) -> None:
    seconds = 4.0 if ctx.quick else 20.0
    n = 2 if ctx.quick else 5
    params = {"T_s": seconds, "predictions": n, "hold": "none"}
    server = RemoteDemo(start_seconds=0, base_seconds=seconds, per_image_seconds=0, hold_creates=False)
    try:
        figures: dict[str, tuple[list[float], float]] = {}
        for label, options, stream in (("polling", {"minimal_create": True, "stream": False}, False),
                                       ("stream", {"minimal_create": False, "stream": True}, True)):
            server.configure(**options)
            out = ctx.workdir / f"ours-{label}"
            _ours(server, out, [PROMPT.format(f"{label} warm-up")], stream=stream)  # a past run: the expected time
            server.reset_stats()
            delays, _ = _ours(server, out, [PROMPT.format(f"{label} {i}") for i in range(n)], stream=stream)
            stats = server.stats
            per_prediction = (stats.total_requests - stats.requests.get("file", 0)) / n
            figures[label] = (delays, per_prediction)
        server.configure(minimal_create=False, stream=True)
        server.reset_stats()
        official = _official(server, [PROMPT.format(f"official {i}") for i in range(n)])
        official_requests = (server.stats.total_requests) / n
    finally:
        server.close()

    polling, polling_requests = figures["polling"]
    ctx.add(Figure(
        NAME, "completion_seen_polling_s", "end of prediction to our client knowing, base without hold or stream "
        "(create answered with {id, status} only)", median(polling), "s", "<= 0.3 s with <= 20 requests",
        [Check("value", "<=", 0.3)], "official client polling at 0.5 s", median(official),
        median(polling) / median(official) if median(official) > 0 else None, params, rounded(polling),
        unmet="" if polling_requests <= 20 else f"{polling_requests:.1f} requests per prediction (> 20)",
        note=f"requests per prediction (create and reads, files apart): {polling_requests:.1f}"))
    stream, stream_requests = figures["stream"]
    ctx.add(Figure(
        NAME, "completion_seen_stream_s", "end of prediction to our client knowing, base without hold, with a stream",
        median(stream), "s", "<= 0.05 s", [Check("value", "<=", 0.05)], "official client polling at 0.5 s",
        median(official), median(stream) / median(official) if median(official) > 0 else None, params,
        rounded(stream), note=f"requests per prediction (files apart): {stream_requests:.1f}"))
    ctx.add(Figure(
        NAME, "completion_seen_official_s", "the same for the official client (predictions.create + wait, 0.5 s "
        "polls) on a base it can use", median(official), "s", "", [], "", None, None, params, rounded(official),
        note=f"requests per prediction at the backend: {official_requests:.1f}"))
