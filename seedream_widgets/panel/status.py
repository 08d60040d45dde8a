"""The status line: what the run (or the grid) in flight is doing, moved on by a front-end clock, and how it ended."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from ..batch import Batch
from ..display import FONT, MONO, MUTED, batch_html, esc, status_html
from ..run import Run

Job = Run | Batch[Any]
"""What the panel follows: one run (Generate, Resume) or a batch (a comparison)."""


def status_box(status: str, *notes: str, log: str = "") -> str:
    """The status line (`display.status_html` or `display.batch_html`), muted notes and a log tail."""
    extra = "".join(f'<div style="{MUTED}">{esc(note)}</div>' for note in notes if note)
    if log:
        extra += f'<pre style="{MONO}{MUTED}margin:2px 0 0 0;overflow-x:auto">{esc(log)}</pre>'
    return f'<div style="{FONT}min-height:36px">{status}{extra}</div>'


class StatusView:
    """``html`` (the line) and ``clock``: a front-end timer (stock ipywidgets, no thread of ours) whose ticks,
    while a job is in flight, redraw the line so the seconds move between the job's own states."""

    def __init__(self, ready: str) -> None:
        self.html = widgets.HTML(status_box(f'<span style="{MUTED}">{esc(ready)}</span>'))
        self.html.add_class("seedream-live")  # (what browser tests look for)
        self.clock = widgets.Play(interval=500, max=10**9, repeat=True, layout=widgets.Layout(display="none"))
        self._lock = threading.Lock()  # the notifier, a click and a clock tick all draw the line
        self.job: Job | None = None
        self.canceling = False
        self.clock.observe(lambda _: self.live(), names="value")

    def follow(self, job: Job) -> None:
        self.job, self.canceling = job, False
        self.clock.playing = True
        self.live()

    def live(self) -> None:
        """The line of the job in flight: its state (a run's saved images and log lines before the last)."""
        job = self.job
        if job is None or job.done():
            return
        note = "canceling…" if self.canceling else ""
        if isinstance(job, Run):
            tail = job.state.log_tail(4).splitlines()[:-1]  # the last line is in the status line
            shown = status_box(status_html(job.state), note, log="\n".join(tail))
        else:
            shown = status_box(batch_html(job.state), note)
        with self._lock:
            if not job.done():  # once it is, its outcome is (about to be) drawn: never draw over that
                self.html.value = shown

    def final(self, status: str, *notes: str) -> None:
        """How the job ended (the clock stops)."""
        self.clock.playing = False
        with self._lock:
            self.html.value = status_box(status, *notes)

    def say(self, text: str) -> None:
        """A plain line (a restore), when no job is in flight."""
        if self.job is None or self.job.done():
            with self._lock:
                self.html.value = status_box(f'<span class="seedream-status" style="{MUTED}">{esc(text)}</span>')
