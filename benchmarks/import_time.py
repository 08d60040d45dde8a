"""``python -c "import seedream_widgets"`` wall time: fresh interpreters, median of 10.

The baseline is the bare interpreter (``python -c pass``) measured alternately in the same
run, so the ratio says what importing the package adds to starting Python. ``import
replicate`` is measured the same way, side by side. One unmeasured run of each first
compiles the bytecode caches.
"""

from __future__ import annotations

import subprocess
import sys

from ._harness import REPO, Check, Context, Figure, median, rounded, run_python

NAME = "import_time"
HEAVY = ("httpx", "PIL", "ipywidgets", "IPython", "anyio", "replicate")
CODES = {"bare": "pass", "ours": "import seedream_widgets", "official": "import replicate"}


def run(ctx: Context) -> None:
    reps = 3 if ctx.quick else 10
    for code in CODES.values():
        run_python(code)  # bytecode caches, page cache
    times: dict[str, list[float]] = {name: [] for name in CODES}
    for _ in range(reps):
        for name, code in CODES.items():
            times[name].append(run_python(code))
    probe = f"import sys, seedream_widgets; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            cwd=REPO).stdout.strip()
    bare, ours, official = (median(times[n]) for n in ("bare", "ours", "official"))
    params = {"repetitions": reps, "python": sys.executable}
    ctx.add(Figure(
        NAME, "import_s", 'python -c "import seedream_widgets" wall time (median)', ours, "s", "< 0.4 s",
        [Check("value", "<", 0.4)], "bare interpreter (python -c pass)", bare, ours / bare, params,
        rounded(times["ours"]),
        note=f"adds {(ours - bare) * 1000:.0f} ms to a bare interpreter ({bare * 1000:.0f} ms); heavy modules "
             f"loaded by the import: {loaded or 'none'}"))
    ctx.add(Figure(
        NAME, "import_replicate_s", 'python -c "import replicate" wall time (median), side by side', official, "s",
        "", [], "bare interpreter (python -c pass)", bare, official / bare, params, rounded(times["official"])))
