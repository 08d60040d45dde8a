"""The gallery on 100,000 stored runs (issue 17): history, prompt search, the gallery widget's first page,
a full reindex; each beside the way before the index (read every sidecar), measured in the same run.

The runs are written in the real layout by `benchmarks._runs` (quick: 5,000). Warm figures are
medians of 5; "cold" ones drop the page cache first when the machine allows it (root and
``/proc/sys/vm/drop_caches``), else they are skipped and say so.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from seedream_widgets.gallery import Gallery

from ._harness import Check, Context, Figure, median, rounded
from ._runs import make_runs, old_history

NAME = "gallery_scale"


def _timed(action: Callable[[], object], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def _drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=False, timeout=60)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def run(ctx: Context) -> None:
    count = 5_000 if ctx.quick else 100_000
    root = ctx.workdir / "outputs"
    started = time.perf_counter()
    make_runs(root, count)
    made = time.perf_counter() - started
    params = {"runs": count, "written_in_s": round(made, 1)}
    reps = 5

    gallery = Gallery(root)
    started = time.perf_counter()
    indexed = gallery.reindex()
    reindex_s = time.perf_counter() - started
    ctx.add(Figure(NAME, "reindex_s", f"full reindex of {count:,} runs from their sidecars", reindex_s, "s",
                   "< 2 min on 2 cores", [Check("value", "<", 120)], "", None, None, params,
                   note=f"{indexed:,} runs indexed; FTS: {gallery.index.fts or 'none (LIKE)'}"))

    history = _timed(lambda: Gallery(root).history(20), reps)  # a fresh Gallery each time: a new kernel
    baseline = _timed(lambda: old_history(root, 20), 1 if count > 20_000 else 3)
    ctx.add(Figure(NAME, "history20_ms", f"history(20) on {count:,} runs (index, warm)", median(history) * 1000, "ms",
                   "< 50 ms", [Check("value", "<", 50)], "reading every sidecar (before the index)",
                   median(baseline) * 1000, median(history) / median(baseline), params,
                   rounded([t * 1000 for t in history], 2)))
    search = _timed(lambda: gallery.search("lighthouse watercolor", limit=50), reps)
    base_search = _timed(lambda: old_history(root, 50, "lighthouse watercolor"), 1)
    ctx.add(Figure(NAME, "search_ms", f"prompt search on {count:,} runs (index, warm)", median(search) * 1000, "ms",
                   "< 50 ms", [Check("value", "<", 50)], "reading every sidecar (before the index)",
                   median(base_search) * 1000, median(search) / median(base_search), params,
                   rounded([t * 1000 for t in search], 2),
                   note=f"{gallery.count('lighthouse watercolor'):,} runs match"))
    if os.geteuid() == 0 and _drop_caches():
        started = time.perf_counter()
        Gallery(root).history(20)
        cold = time.perf_counter() - started
        _drop_caches()
        started = time.perf_counter()
        old_history(root, 20)
        cold_base = time.perf_counter() - started
        ctx.add(Figure(NAME, "history20_cold_ms", "history(20), page cache dropped first (index)", cold * 1000, "ms",
                       "", [], "reading every sidecar, cold", cold_base * 1000, cold / cold_base, params))
    else:
        ctx.add(Figure(NAME, "history20_cold_ms", "history(20), cold", None, "ms", status="SKIP",
                       note="dropping the page cache needs root and /proc/sys/vm/drop_caches"))
    from seedream_widgets import SeedreamGallery

    first = _timed(lambda: SeedreamGallery(output_dir=root).close(), 3)
    ctx.add(Figure(NAME, "gallery_first_page_s", f"SeedreamGallery(output_dir) with its first page, {count:,} runs",
                   median(first), "s", "< 1 s", [Check("value", "<", 1.0)], "", None, None, params, rounded(first)))
