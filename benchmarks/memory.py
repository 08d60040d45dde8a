"""Peak RSS growth while one prediction's 15 images of 4096 x 4096 px are downloaded and stored.

The client runs in a child process of its own (``python -m benchmarks.memory --worker ...``), so
nothing else (the backend, the runner, earlier benchmarks) is in the figure. The child imports
everything and makes one small warm-up generation first, then reads its current RSS (the
baseline), samples ``/proc/self/statm`` every 5 ms on a thread while it generates, and reports
the peak (the larger of the samples and ``ru_maxrss``) minus the baseline. The official client
does the same in another child: ``replicate.run`` and each ``FileOutput.read()`` written to disk.

The backend draws each 4096 px image once in a warm-up run (renders are cached per input), so
the timed runs download at loopback speed rather than waiting on Pillow. A second figure adds
what the magic and the panel do next: a 512 px thumbnail of each image.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ._harness import MODEL, REPO, Check, Context, Figure, fixed_server, images_under, set_time

NAME = "memory"
IMAGES = 15
PAYLOAD = {"prompt": "a coral reef seen from above, fifteen panels (benchmark)", "size": "4K", "aspect_ratio": "1:1",
           "sequential_image_generation": "auto", "max_images": IMAGES}
WARM = {"prompt": "warm-up (benchmark)", "size": "1K", "aspect_ratio": "1:1"}
LIMIT_MB = 150


class Sampler:
    """The peak resident set size of this process, sampled every ``period`` seconds on a thread."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.period)

    def __enter__(self) -> Sampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def worker(who: str, base: str, out: Path) -> dict[str, Any]:
    """Runs in the child: warm up, then measure one 15-image generation (and, for ours, thumbnails)."""
    out.mkdir(parents=True, exist_ok=True)
    if who == "ours":
        from seedream_widgets import Seedream, SeedreamInput
        from seedream_widgets.display import result_html

        client = Seedream(token="bench", base_url=base + "/v1", output_dir=out)
        client.generate(SeedreamInput.from_payload(WARM))
        generate = lambda: client.generate(SeedreamInput.from_payload(PAYLOAD))  # noqa: E731
    else:
        import replicate
        from replicate.helpers import FileOutput

        official = replicate.Client(api_token="bench", base_url=base)

        def generate() -> Any:
            paths = []
            for index, output in enumerate(official.run(MODEL, input=dict(PAYLOAD))):
                file = output if isinstance(output, FileOutput) else FileOutput(str(output), official)
                path = out / f"{time.monotonic_ns()}-{index}.jpg"
                path.write_bytes(file.read())
                paths.append(path)
            return paths

        for index, output in enumerate(official.run(MODEL, input=dict(WARM))):
            (out / f"warm-{index}.jpg").write_bytes(FileOutput(str(output), official).read())

    sampler = Sampler()
    before = sampler.rss()
    started = time.perf_counter()
    with sampler:
        result = generate()
    seconds = time.perf_counter() - started
    report: dict[str, Any] = {"rss_before": before, "peak": max(sampler.peak, maxrss()), "seconds": seconds}
    if who == "ours":
        thumbs = Sampler()
        with thumbs:
            html = result_html(result)
        report["peak_with_thumbnails"] = max(thumbs.peak, maxrss())
        report["html_bytes"] = len(html)
    return report


def _child(who: str, base: str, out: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--worker", who, base, str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {who} worker failed: {done.stderr.strip()[-800:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def _side(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return max(image.size)


def run(ctx: Context) -> None:
    from seedream_widgets import Seedream, SeedreamInput

    seconds = 0.5
    params = {"T_s": seconds, "images": IMAGES, "side_px": 4096, "image_format": "jpeg"}
    with fixed_server(0) as server:
        with Seedream(token="bench", base_url=server.base_url, output_dir=ctx.workdir / "warm") as warm:
            warm.generate(SeedreamInput.from_payload(PAYLOAD))  # the backend draws the 15 images once
        set_time(server, seconds)
        ours = _child("ours", server.url, ctx.workdir / "ours")
        official = _child("official", server.url, ctx.workdir / "official")
    stored = [f for f in images_under(ctx.workdir / "ours") if _side(f) == 4096]  # not the warm-up image
    total = sum(f.stat().st_size for f in stored)
    mb = 1024 * 1024
    ours_growth = (ours["peak"] - ours["rss_before"]) / mb
    official_growth = (official["peak"] - official["rss_before"]) / mb
    thumbs_growth = (max(ours["peak"], ours["peak_with_thumbnails"]) - ours["rss_before"]) / mb
    figure = Figure(
        NAME, "download_rss_growth_mb", f"peak RSS growth while downloading {IMAGES} images of 4096 px (ours)",
        ours_growth, "MiB", f"< {LIMIT_MB} MB", [Check("value", "<", LIMIT_MB)],
        "official client, same images", official_growth, ours_growth / official_growth if official_growth else None,
        {**params, "bytes_downloaded": total, **{f"ours_{k}": v for k, v in ours.items()}},
        note=f"{len(stored)} files, {total / mb:.1f} MiB on disk, in {ours['seconds']:.2f} s; "
             f"baseline RSS {ours['rss_before'] / mb:.0f} MiB")
    if len(stored) < IMAGES:
        figure.unmet = f"only {len(stored)} of {IMAGES} images stored"
    ctx.add(figure)
    ctx.add(Figure(
        NAME, "download_rss_growth_official_mb", "the same for the official client (run + FileOutput.read to disk)",
        official_growth, "MiB", "", [], "bytes downloaded", total / mb,
        official_growth / (total / mb) if total else None,
        {**params, **{f"official_{k}": v for k, v in official.items()}},
        note=f"in {official['seconds']:.2f} s; baseline RSS {official['rss_before'] / mb:.0f} MiB"))
    ctx.add(Figure(
        NAME, "thumbnails_rss_growth_mb", "the same plus a 512 px thumbnail of each (what the magic shows)",
        thumbs_growth, "MiB", "", [], "download alone", ours_growth,
        thumbs_growth / ours_growth if ours_growth else None,
        params, note=f"result HTML {ours['html_bytes'] / 1e3:.0f} kB"))


def main() -> None:
    parser = argparse.ArgumentParser(description="the memory benchmark's child process")
    parser.add_argument("--worker", choices=("ours", "official"), required=True)
    parser.add_argument("base")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    print(json.dumps(worker(args.worker, args.base, args.out)))


if __name__ == "__main__":
    main()
