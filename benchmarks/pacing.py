"""A 40-item batch against a backend that accepts 5 creates a second and answers 429 above it (issue 18).

The backend (its own process) has a token bucket of 5 creates/s holding one second's worth (a
burst of 5) and sends ``RateLimit-*`` headers (``RateLimit-Policy: 5;w=1``), like a throttled
account. (With a burst of 1, any request that reaches it a few milliseconds early is refused: on
a loaded 2-core machine arrival jitter is tens of milliseconds, which no pacing at 95 % of the
limit absorbs.) `Seedream.generate_many` (concurrency 8) paces its creates with its own bucket,
which starts at Replicate's documented 600/min and learns the limit. The figures: the sustained
create rate (creates after the first divided by the time from the first to the last, from the
backend's own timestamps) against the limit, and the share of creates answered 429.
"""

from __future__ import annotations

import time

from seedream_widgets import Result, Seedream

from ._harness import Check, Context, Figure, RemoteDemo

NAME = "pacing"
LIMIT = 5.0


def run(ctx: Context) -> None:
    items = 12 if ctx.quick else 40
    params = {"items": items, "limit_per_s": LIMIT, "burst": 5, "concurrency": 8, "T_s": 0.5}
    server = RemoteDemo(start_seconds=0, base_seconds=0.5, per_image_seconds=0, create_rate=LIMIT, create_burst=5)
    try:
        with Seedream(token="bench", base_url=server.base_url, output_dir=ctx.workdir / "ours") as client:
            started = time.perf_counter()
            outcomes = client.generate_many([f"pacing item {i}" for i in range(items)], concurrency=8, size="1K",
                                            progress=False)
            wall = time.perf_counter() - started
        stats = server.stats
    finally:
        server.close()
    ok = sum(isinstance(o, Result) for o in outcomes)
    times = sorted(stats.create_times)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
    throttled_share = stats.throttled / max(1, stats.throttled + stats.creates)
    ctx.add(Figure(NAME, "paced_creates_per_s", "sustained creates per second of a paced batch", rate, "creates/s",
                   f">= 95 % of the limit ({0.95 * LIMIT:g}/s)", [Check("ratio", "<=", 1.0 / 0.95)],
                   f"the limit, {LIMIT:g}/s", LIMIT, LIMIT / rate if rate else None, params,
                   note=f"ratio shown is limit / rate (<= {1 / 0.95:.4f} means >= 95 %); {ok}/{items} succeeded in "
                        f"{wall:.1f} s"))
    ctx.add(Figure(NAME, "paced_429_share", "share of creates answered 429 (the backend's rate limit)",
                   100 * throttled_share, "%", "<= 1 %", [Check("value", "<=", 1.0)], "", None, None, params,
                   note=f"{stats.throttled} answered 429, {stats.creates} accepted"))
