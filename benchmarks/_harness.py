"""What every benchmark shares: the figure record (printed and written as one JSON line), the
demo backend with a fixed processing time T, and small statistics helpers.

A figure has a value, the targets it is judged by (each ``value`` or ``ratio`` against a limit),
and a baseline measured in the same run (T, the official client, an idle kernel, ...), so a
result reads on its own: "4.1 ms over T = 2000 ms, ratio 1.002; official client 3.9 ms".
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedream_widgets.demo import DemoServer

REPO = Path(__file__).resolve().parent.parent
MODEL = "bytedance/seedream-4"
Status = Literal["PASS", "MISS", "INFO", "SKIP", "ERROR"]


@dataclass(frozen=True)
class Check:
    """One target: ``subject`` (the figure's ``value`` or its ``ratio``) ``op`` ``limit``."""

    subject: Literal["value", "ratio"]
    op: Literal["<=", "<"]
    limit: float

    def holds(self, value: float | None, ratio: float | None) -> bool:
        measured = value if self.subject == "value" else ratio
        if measured is None or math.isnan(measured):
            return False
        return measured <= self.limit if self.op == "<=" else measured < self.limit


@dataclass
class Figure:
    """One measured figure as printed and stored (one JSON line)."""

    benchmark: str
    figure: str
    label: str
    value: float | None
    unit: str
    target: str = ""
    """The target as the issue states it ("<= 30 ms; ratio to T <= 1.02"), or "" for side-by-side rows."""
    checks: Sequence[Check] = ()
    baseline: str = ""
    """What the ratio is taken against, e.g. "T = 2000 ms" or "official replicate client"."""
    baseline_value: float | None = None
    ratio: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)
    note: str = ""
    verified: bool = True
    """False when the figure was measured against a documented contract, not the landed code."""
    status: Status = "INFO"

    def judge(self) -> Figure:
        if self.status in ("SKIP", "ERROR"):
            return self
        if self.checks:
            ok = all(check.holds(self.value, self.ratio) for check in self.checks)
            self.status = "PASS" if ok else "MISS"
        else:
            self.status = "INFO"
        return self


class Recorder:
    """Prints each figure as it comes and appends it to ``<out>/<timestamp>.jsonl``."""

    def __init__(self, out_dir: Path, *, quick: bool) -> None:
        self.started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / f"{self.started}{'-quick' if quick else ''}.jsonl"
        self.quick = quick
        self.figures: list[Figure] = []
        self._context = {
            "run": self.started,
            "quick": quick,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(),
            "commit": _git_commit(),
        }

    def add(self, figure: Figure) -> Figure:
        figure.judge()
        self.figures.append(figure)
        print(format_figure(figure), flush=True)
        record = {**self._context, **asdict(figure)}
        record["checks"] = [asdict(c) for c in figure.checks]
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=_jsonable, allow_nan=False) + "\n")
        return figure


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def format_figure(f: Figure) -> str:
    value = "n/a" if f.value is None else f"{_num(f.value)} {f.unit}"
    parts = [f"[{f.status:5}] {f.label}: {value}"]
    if f.target:
        parts.append(f"target {f.target}")
    if f.ratio is not None:
        base = f" to {f.baseline}" if f.baseline else ""
        parts.append(f"ratio{base} {_num(f.ratio, ratio=True)}")
    elif f.baseline:
        parts.append(f"baseline {f.baseline}")
    if not f.verified:
        parts.append("UNVERIFIED")
    line = " | ".join(parts)
    if f.note:
        line += f"\n          {f.note}"
    return line


def _num(x: float, *, ratio: bool = False) -> str:
    if ratio:
        return f"{x:.4f}" if abs(x) < 10 else f"{x:.1f}"
    if x == int(x) and abs(x) < 1e9:
        return str(int(x))
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}" if abs(x) < 100 else f"{x:.1f}"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=5, check=False)
    except OSError:
        return ""
    return out.stdout.strip()


@dataclass
class Context:
    """What a benchmark gets: the mode, a scratch folder, and where figures go."""

    quick: bool
    workdir: Path
    recorder: Recorder

    def add(self, figure: Figure) -> Figure:
        return self.recorder.add(figure)


# -- statistics ----------------------------------------------------------------------------


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def percentile(xs: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not xs:
        return math.nan
    ordered = sorted(xs)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rounded(xs: Sequence[float], digits: int = 4) -> list[float]:
    return [round(x, digits) for x in xs]


# -- the backend ---------------------------------------------------------------------------


@contextlib.contextmanager
def fixed_server(seconds: float, **options: Any) -> Iterator[DemoServer]:
    """A demo backend on 127.0.0.1 whose every prediction takes exactly ``seconds`` (T).

    No start delay and no per-image time: all images appear at T, so the physical
    limit of one prediction is T plus loopback round trips.
    """
    with DemoServer(start_seconds=0, base_seconds=seconds, per_image_seconds=0, **options) as server:
        yield server


def set_time(server: DemoServer, seconds: float) -> None:
    """Change T for predictions created from now on."""
    server.configure(start_seconds=0, base_seconds=seconds, per_image_seconds=0)


def run_python(code: str, *, env: dict[str, str] | None = None, timeout: float = 120) -> float:
    """Wall seconds of ``python -c code`` in a fresh interpreter (raises if it fails)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=timeout, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def images_under(root: Path) -> list[Path]:
    """Image files stored under ``root`` (not sidecars, journals or partial downloads)."""
    suffixes = {".jpg", ".jpeg", ".png", ".webp", ".gif"}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
