"""Many predictions at once: 64 at T = 1 s with concurrency 16, `generate_many` against
``asyncio.gather`` over ``replicate.async_run`` bounded by a semaphore of 16.

The physical limit is 64 / 16 x T = 4 T. Each item has its own prompt; a warm-up pass at T = 0
draws every image into the backend's render cache first, so both timed passes measure the
clients (and loopback), not Pillow. Each timed pass starts with a fresh client (an empty pool),
and the backend counts the TCP connections it accepted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from seedream_widgets import Result, Seedream

from ._harness import MODEL, Check, Context, Figure, fixed_server, images_under, set_time

NAME = "concurrency"
FIELDS = {"size": "1K", "aspect_ratio": "1:1"}


async def official_many(base: str, inputs: list[dict[str, Any]], concurrency: int, dest: Path) -> int:
    """``asyncio.gather`` over ``async_run`` (a semaphore of ``concurrency``), each output read to disk."""
    import replicate
    from replicate.helpers import FileOutput

    client = replicate.Client(api_token="bench", base_url=base)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, payload: dict[str, Any]) -> int:
        async with gate:
            outputs = await client.async_run(MODEL, input=payload)
            for n, output in enumerate(outputs):
                file = output if isinstance(output, FileOutput) else FileOutput(str(output), client)
                (dest / f"{index}-{n}.jpg").write_bytes(await file.aread())
            return len(outputs)

    counts = await asyncio.gather(*(one(i, p) for i, p in enumerate(inputs)))
    await client._async_client.aclose()  # the official Client has no close(); its pool would leak
    return sum(counts)


def run(ctx: Context) -> None:
    seconds = 0.3 if ctx.quick else 1.0
    concurrency = 4 if ctx.quick else 16
    count = 4 * concurrency
    limit = count / concurrency * seconds
    prompts = [f"lighthouse number {i} at dusk (benchmark)" for i in range(count)]
    inputs = [{"prompt": p, **FIELDS} for p in prompts]
    params = {"T_s": seconds, "predictions": count, "concurrency": concurrency, "fields": FIELDS}
    ours_dir, official_dir = ctx.workdir / "ours", ctx.workdir / "official"
    official_dir.mkdir(parents=True)

    with fixed_server(seconds) as server:
        set_time(server, 0)
        with Seedream(token="bench", base_url=server.base_url, output_dir=ctx.workdir / "warm") as warm:
            warm.generate_many(prompts, concurrency=concurrency, progress=False, **FIELDS)
        set_time(server, seconds)

        server.reset_stats()
        with Seedream(token="bench", base_url=server.base_url, output_dir=ours_dir,
                      max_connections=concurrency) as ours:
            started = time.perf_counter()
            outcomes = ours.generate_many(prompts, concurrency=concurrency, progress=False, **FIELDS)
            ours_wall = time.perf_counter() - started
        ours_stats = server.stats
        failures = [o for o in outcomes if not isinstance(o, Result)]
        ours_images = len(images_under(ours_dir))

        server.reset_stats()
        started = time.perf_counter()
        official_images = asyncio.run(official_many(server.url, inputs, concurrency, official_dir))
        official_wall = time.perf_counter() - started
        official_stats = server.stats

    limit_text = f"4T = {limit:g} s ({count} / {concurrency} x T)"
    ctx.add(Figure(
        NAME, "many_wall_s", f"{count} predictions, concurrency {concurrency}, generate_many: wall time",
        ours_wall, "s", f"<= 1.15 x 4T = {1.15 * limit:.2f} s", [Check("ratio", "<=", 1.15)],
        limit_text, limit, ours_wall / limit, params,
        note=f"results {count - len(failures)}/{count}, images on disk {ours_images}; "
             f"official/ours wall = {official_wall / ours_wall:.3f}"
             + (f"; failures: {failures[:3]}" if failures else "")))
    ctx.add(Figure(
        NAME, "many_connections", "generate_many: TCP connections opened (at the backend)",
        ours_stats.connections, "connections", f"<= {concurrency}", [Check("value", "<=", concurrency)],
        f"concurrency {concurrency}", concurrency, ours_stats.connections / concurrency, params,
        note=f"requests {ours_stats.total_requests} ({ours_stats.total_requests / count:.2f} per prediction): "
             f"{dict(sorted(ours_stats.requests.items()))}"))
    ctx.add(Figure(
        NAME, "many_official_wall_s", "the same with asyncio.gather over replicate.async_run (semaphore)",
        official_wall, "s", "", [], limit_text, limit, official_wall / limit, params,
        note=f"images on disk {official_images}/{count}"))
    ctx.add(Figure(
        NAME, "many_official_connections", "official async client: TCP connections opened",
        official_stats.connections, "connections", "", [], f"concurrency {concurrency}", concurrency,
        official_stats.connections / concurrency, params,
        note=f"requests {official_stats.total_requests} ({official_stats.total_requests / count:.2f} per "
             f"prediction): {dict(sorted(official_stats.requests.items()))}"))
