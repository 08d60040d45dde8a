"""Fixtures of the reliability suite, and its figures: printed at the end and written to ``REPORT.md``.

Every test here talks to a real `DemoServer` over loopback sockets; nothing in
the engine is mocked. Each server made by the ``server`` fixture adds the faults
it injected to the session's figures when it stops; tests add what they count
themselves (runs finished, cases refused, ...) through the ``figures`` fixture.

``REPORT.md`` is rewritten only by ``pytest tests/reliability`` (the whole directory on its own,
no ``-k``/``-m``), so running one test, or the whole repository, never touches it.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import platform
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from IPython.core.interactiveshell import InteractiveShell

from seedream_widgets.demo import DemoServer

T = TypeVar("T")
HERE = Path(__file__).parent
REPORT = HERE / "REPORT.md"

SENTINEL = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
"""A token that must never appear anywhere: files, outputs, logs, reprs, messages."""
SENTINEL_CORE = SENTINEL[3:-4]
"""The middle of the sentinel: a mask (``r8_…`` plus the last 4) never shows it, a partial leak would."""

FAST = {"start_seconds": 0.02, "base_seconds": 0.05, "per_image_seconds": 0.02}
"""Demo timings that keep a 1K prediction to about 0.1 s."""


# -- figures ---------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What the suite measured; filled by tests and fixtures, reported at the end."""

    faults: Counter[str] = field(default_factory=Counter)
    """Faults the demo backends injected, per kind (summed over every server)."""
    runs_finished: int = 0
    """Generations that ended with their images stored."""
    refused: Counter[str] = field(default_factory=Counter)
    """Cases refused on purpose, per area (bad input, hard failures, hostile outputs, ...)."""
    lines: dict[str, str] = field(default_factory=dict)
    """Named measurements, e.g. the 200-prediction run's wall time."""
    outcomes: Counter[str] = field(default_factory=Counter)
    modules: set[str] = field(default_factory=set)
    seconds: float = 0.0
    """Time spent in this directory's tests (setup, call and teardown), whatever else the session ran."""

    def finished(self, n: int = 1) -> None:
        self.runs_finished += n

    def refuse(self, area: str, n: int = 1) -> None:
        self.refused[area] += n

    def note(self, name: str, text: str) -> None:
        self.lines[name] = text

    def add_faults(self, faults: dict[str, int]) -> None:
        self.faults.update(faults)


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


# -- servers and clients ------------------------------------------------------------------------


@contextlib.contextmanager
def demo_server(**settings: Any) -> Iterator[DemoServer]:
    """A started demo backend whose injected faults are added to the figures when it stops."""
    with DemoServer(**{**FAST, **settings}) as server:
        try:
            yield server
        finally:
            FIGURES.add_faults(server.stats.faults_injected)


@pytest.fixture
def server() -> Iterator[DemoServer]:
    """A fresh, fast demo backend for one test: its own counters and faults."""
    with demo_server() as started:
        yield started


@pytest.fixture
def magic_shell(shell: InteractiveShell, server: DemoServer, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The shared shell with the magic pointed at this test's server, the sentinel token and a temp folder."""
    monkeypatch.setenv("SEEDREAM_BASE_URL", server.base_url)
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "magic-out"))
    magics = shell.magics_manager.registry["SeedreamMagics"]
    magics.display_mode = "html"
    yield shell
    magics.close()
    magics.display_mode = "auto"
    shell.user_ns.pop("_seedream", None)


def in_fresh_thread(work: Callable[[], T], timeout: float) -> T:
    """``work()`` on a new thread, which has no event loop of its own yet.

    For ``asyncio.run`` and Playwright's sync API: in a whole-repository run, another
    suite's session-wide Playwright leaves the main thread marked as running a loop,
    and both refuse to start there.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed back to the caller below
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="reliability-fresh-thread")
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s"
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def leftovers(root: Path) -> list[str]:
    """Anything a failed run may have left: staging folders, partial files, journal entries, images."""
    if not root.exists():
        return []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if rel.split("/", 1)[0] == ".index":
            continue  # the gallery's index is a cache of what is stored (a polling run reads past durations)
        if path.is_dir():
            if path.name.startswith(".partial-"):
                found.append(rel + "/")
            continue
        found.append(rel)
    return sorted(found)


def journal_ids(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / ".journal").glob("*.json")) if (root / ".journal").is_dir() else []


@pytest.fixture
def debug_log() -> Iterator[list[str]]:
    """Every record of the ``seedream_widgets`` logger at DEBUG, formatted with its arguments."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    logger = logging.getLogger("seedream_widgets")
    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


# -- the report -------------------------------------------------------------------------------------


def _ours(item: Any) -> bool:
    return Path(str(item.fspath)).parent == HERE


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    FIGURES.modules = {Path(str(item.fspath)).name for item in items if _ours(item)}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if Path(report.fspath).parent.name != HERE.name or not report.nodeid.startswith("tests/reliability/"):
        return
    FIGURES.seconds += report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        FIGURES.outcomes[report.outcome] += 1


def _summary_lines() -> list[str]:
    f = FIGURES
    total_faults = sum(f.faults.values())
    lines = [
        f"tests: {sum(f.outcomes.values())} ({', '.join(f'{v} {k}' for k, v in sorted(f.outcomes.items()))})",
        f"runs finished (images stored and checked): {f.runs_finished}",
        f"cases refused on purpose: {sum(f.refused.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(f.refused.items()))})",
        f"faults injected: {total_faults} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(f.faults.items(), key=lambda kv: (-kv[1], kv[0])))})",
    ]
    lines += [f"{name}: {text}" for name, text in sorted(f.lines.items())]
    lines.append(f"time in these tests: {f.seconds:.1f} s")
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not FIGURES.outcomes:
        return
    terminalreporter.section("seedream-widgets reliability figures")
    for line in _summary_lines():
        terminalreporter.write_line(line)
    if _whole_suite_ran(config):
        _write_report()
        terminalreporter.write_line(f"written to {REPORT.relative_to(HERE.parent.parent)}")


def _whole_suite_ran(config: pytest.Config) -> bool:
    """True when this directory was run on its own and whole (``pytest tests/reliability``).

    A run of the whole repository prints the figures but leaves the committed report alone, so
    that ``scripts/test`` does not leave a modified file behind.
    """
    if config.getoption("keyword", "") or config.getoption("markexpr", "") or config.getoption("collectonly"):
        return False
    root = Path(str(config.rootpath))
    targets = [(root / str(arg)).resolve() for arg in config.args]
    if not targets or any("::" in str(arg) for arg in config.args) or any(t != HERE for t in targets):
        return False
    expected = {p.name for p in HERE.glob("test_*.py")}
    return bool(expected) and FIGURES.modules == expected


def _write_report() -> None:
    f = FIGURES
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        "# Reliability and security figures",
        "",
        "Generated by `tests/reliability/conftest.py` at the end of a full run of",
        "`.venv/bin/pytest tests/reliability` (do not edit by hand; rerun to refresh).",
        "",
        f"- run: {when}, Python {platform.python_version()} on {platform.system()} ({os.cpu_count()} CPUs)",
    ]
    body += [f"- {line}" for line in _summary_lines()]
    body += ["", "## What each module proves", ""]
    for module in sorted(HERE.glob("test_*.py")):
        doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
        body.append(f"- `{module.name}`: {doc.splitlines()[0] if doc else ''}")
    body += ["", "## Faults injected, by kind", "", "| kind | count |", "|---|---|"]
    body += [f"| {k} | {v} |" for k, v in sorted(f.faults.items(), key=lambda kv: (-kv[1], kv[0]))]
    body += ["", "## Cases refused on purpose, by area", "", "| area | cases |", "|---|---|"]
    body += [f"| {k} | {v} |" for k, v in sorted(f.refused.items())]
    body.append("")
    REPORT.write_text("\n".join(body), encoding="utf-8")
