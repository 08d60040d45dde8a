"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--only NAME,...] [--out DIR]``.

Each benchmark prints its figures (value, target, PASS/MISS, ratio to a baseline measured in
the same run) and appends one JSON line per figure to ``benchmarks/results/<timestamp>.jsonl``.
The exit status is 2 when a benchmark failed to run, 1 when a figure missed its target, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ._harness import REPO, Context, Figure, Recorder

BENCHMARKS = ("overhead", "completion", "bigset", "pacing", "upload", "concurrency", "memory", "gallery_scale",
              "import_time", "notebook_size", "responsiveness")
"""Module names, in the order they run (the notebook rows last: they start real kernels)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and a shorter T: a smoke run, not figures to quote")
    parser.add_argument("--only", default="", help=f"comma-separated benchmarks to run, from: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results",
                        help="folder for the JSON lines (default: benchmarks/results)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder with the images")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    recorder = Recorder(args.out, quick=args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="seedream-bench-"))
    print(f"seedream-widgets benchmarks{' (quick)' if args.quick else ''}: {', '.join(names)}", flush=True)
    print(f"results: {recorder.path}", flush=True)
    failed = False
    started = time.perf_counter()
    try:
        for name in names:
            print(f"\n== {name}", flush=True)
            t0 = time.perf_counter()
            module = importlib.import_module(f".{name}", __package__)
            scratch = workdir / name
            scratch.mkdir()
            try:
                module.run(Context(args.quick, scratch, recorder))
            except Exception as exc:
                failed = True
                traceback.print_exc()
                recorder.add(Figure(name, f"{name}_error", f"{name} failed", None, "", status="ERROR",
                                    note=f"{type(exc).__name__}: {exc}"))
            print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    finally:
        if args.keep:
            print(f"scratch kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    missed = [f for f in recorder.figures if f.status == "MISS"]
    print(f"\n{len(recorder.figures)} figures in {time.perf_counter() - started:.0f} s; "
          f"{sum(f.status == 'PASS' for f in recorder.figures)} PASS, "
          f"{sum(f.status == 'MISS' for f in recorder.figures)} MISS, "
          f"{sum(f.status == 'ERROR' for f in recorder.figures)} ERROR, "
          f"{sum(f.status == 'SKIP' for f in recorder.figures)} SKIP; written to {recorder.path}")
    return 2 if failed else 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
