"""Kernel responsiveness: the latency of a trivial cell while 4 panel generations run.

A real kernel is started with jupyter_client; four `SeedreamPanel`s (4 images of 4096 px each)
are created in it. A warm-up round at T = 0 imports everything and has the backend draw the 16
images once (renders are cached per input), so the timed round measures the kernel, not the
renderer. Then, with T set, the trivial cell (``pass``) is sent over and over, each time as soon
as the previous reply arrived (plus 20 ms), first with nothing running (the baseline), then from
the moment the four ``panel.generate()`` calls return until all four runs have ended. Latency is
execute_request sent to execute_reply received.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from ._harness import Check, Context, Figure, fixed_server, images_under, median, percentile, rounded, set_time

NAME = "responsiveness"
PANELS = 4
PER_PANEL = 4

SETUP = f"""
from seedream_widgets import SeedreamPanel
panels = [SeedreamPanel(prompt=f"a harbour at night, view {{i}} (benchmark)", size="4K", aspect_ratio="1:1",
                        sequential_image_generation="auto", max_images={PER_PANEL}) for i in range({PANELS})]
"""
START = "runs = [panel.generate() for panel in panels]"
WAIT = "images = sum(len(f.wait(timeout=300).paths) for f in runs)"
DONE = "sum(f.done() for f in runs)"


def _execute(kc: Any, code: str, *, timeout: float = 60, user_expressions: dict[str, str] | None = None
             ) -> tuple[float, dict[str, Any]]:
    """Send one execute_request; (seconds until its execute_reply, the reply content)."""
    started = time.perf_counter()
    msg_id = kc.execute(code, silent=False, store_history=False, user_expressions=user_expressions or {})
    deadline = started + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.01, deadline - time.perf_counter()))
        if reply["parent_header"].get("msg_id") == msg_id:
            elapsed = time.perf_counter() - started
            content: dict[str, Any] = reply["content"]
            if content.get("status") != "ok":
                raise RuntimeError(f"cell {code[:60]!r} failed: {content.get('ename')}: {content.get('evalue')}")
            return elapsed, content


def _drain(kc: Any) -> None:
    while kc.iopub_channel.msg_ready():
        kc.iopub_channel.get_msg(timeout=0)


def run(ctx: Context) -> None:
    from jupyter_client.manager import start_new_kernel

    seconds = 1.0 if ctx.quick else 2.0
    idle_samples = 10 if ctx.quick else 40
    params: dict[str, Any] = {"T_s": seconds, "panels": PANELS, "images_per_panel": PER_PANEL, "size": "4K"}
    out = ctx.workdir / "seedream-outputs"
    with fixed_server(0) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
        env.update(SEEDREAM_BASE_URL=server.base_url, SEEDREAM_API_TOKEN="bench", SEEDREAM_OUTPUT_DIR=str(out))
        log = (ctx.workdir / "kernel.log").open("wb")  # the kernel's stderr (warnings), out of the report
        km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ctx.workdir), startup_timeout=60,
                                  stderr=log)
        try:
            _execute(kc, SETUP)
            _execute(kc, START)  # warm-up round at T = 0: imports, pools, renders cached by the backend
            _execute(kc, WAIT, timeout=300)
            _drain(kc)
            set_time(server, seconds)

            idle = []
            for _ in range(idle_samples):
                idle.append(_execute(kc, "pass")[0])
                time.sleep(0.02)
                _drain(kc)

            _execute(kc, START)
            started = time.perf_counter()
            busy: list[float] = []
            late: list[float] = []  # the cells sent once T had passed: downloads, thumbnails, gallery updates
            done = 0
            while done < PANELS and time.perf_counter() - started < 120:
                sent = time.perf_counter() - started
                latency, content = _execute(kc, "pass", user_expressions={"done": DONE})
                busy.append(latency)
                if sent >= seconds:
                    late.append(latency)
                done = int(content["user_expressions"]["done"]["data"]["text/plain"])
                _drain(kc)
                time.sleep(0.02)
            window = time.perf_counter() - started
            images = _execute(kc, "images", user_expressions={"n": WAIT.split(" = ")[1]}, timeout=300)[1]
            made = int(images["user_expressions"]["n"]["data"]["text/plain"])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            log.close()

    idle_p95, busy_p95 = percentile(idle, 95) * 1000, percentile(busy, 95) * 1000
    stored = len(images_under(out))
    figure = Figure(
        NAME, "cell_latency_p95_ms", f"trivial cell latency p95 while {PANELS} panel generations run",
        busy_p95, "ms", "< 100 ms", [Check("value", "<", 100)], "the same kernel idle (p95)", idle_p95,
        busy_p95 / idle_p95 if idle_p95 else None, params, rounded([x * 1000 for x in busy], 2),
        note=f"{len(busy)} cells over {window:.1f} s (T = {seconds:g} s); median {median(busy) * 1000:.1f} ms, "
             f"max {max(busy) * 1000:.1f} ms; after T ({len(late)} cells): p95 {percentile(late, 95) * 1000:.1f} ms, "
             f"max {max(late, default=math.nan) * 1000:.1f} ms; idle p95 {idle_p95:.1f} ms; images made {made}/"
             f"{PANELS * PER_PANEL} (files on disk {stored}, both rounds)")
    if made < PANELS * PER_PANEL:
        figure.unmet = f"the generations made {made} of {PANELS * PER_PANEL} images"
    ctx.add(figure)
