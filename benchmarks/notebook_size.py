"""Saved notebook size after 8 images at 2048 px, through the ``%%seedream`` magic and the panel.

Each notebook is executed by nbclient in a real kernel (widget state stored, as nbclient does by
default and as JupyterLab's "Save Widget State Automatically" does), written to disk with
nbformat, and its file size taken. The originals must be on disk: 8 files of 2048 x 2048. The
ratio is to the bytes of those originals, i.e. to what a notebook embedding them would carry at
least. The backend serves PNG here: the demo's JPEGs are so compressible that embedding them
would stay near the target, which would make the figure say nothing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ._harness import Check, Context, Figure, fixed_server, images_under

NAME = "notebook_size"
IMAGES = 8
SIDE = 2048
LIMIT_BYTES = 1.5e6
PROMPT = "a lighthouse on a cliff at dusk, oil painting, eight views (benchmark)"

MAGIC_CELLS = [
    "%load_ext seedream_widgets",
    f"%%seedream --size 2K --aspect-ratio 1:1 -n {IMAGES} --sequential auto\n{PROMPT}",
]
PANEL_CELLS = [
    "from seedream_widgets import SeedreamPanel\n"
    f"panel = SeedreamPanel(prompt={PROMPT!r}, size='2K', aspect_ratio='1:1',\n"
    f"                      sequential_image_generation='auto', max_images={IMAGES})\n"
    "panel",
    "result = panel.generate().wait(timeout=300)\n"
    "print(len(result.paths), 'images in', result.folder)",
    # Let the last widget updates (sent from the engine thread) reach nbclient before it saves.
    "import time\ntime.sleep(1.0)\nassert panel.result is not None and not panel.running",
]


def execute(cells: list[str], path: Path, env: dict[str, str], *, timeout: float) -> dict[str, Any]:
    """Execute ``cells`` with nbclient in a fresh kernel, save to ``path``; a few facts about it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    with (path.parent / "kernel.log").open("wb") as log:  # the kernel's stderr (warnings), out of the report
        client.execute(env=env, stderr=log)
    elapsed = time.perf_counter() - started
    nbformat.write(nb, str(path))
    text = path.read_text(encoding="utf-8")
    widget_state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return {
        "seconds": round(elapsed, 2),
        "bytes": path.stat().st_size,
        "embedded_images": text.count("data:image/") + text.count('"image/png"') + text.count('"image/jpeg"'),
        "widget_state_bytes": len(json.dumps(widget_state)),
        "errors": [o.get("ename") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"],
    }


def originals(folder: Path) -> tuple[int, int, int]:
    """(files, files at SIDE x SIDE, total bytes) of the images stored under ``folder``."""
    from PIL import Image

    files = images_under(folder)
    right = 0
    for file in files:
        with Image.open(file) as image:
            right += image.size == (SIDE, SIDE)
    return len(files), right, sum(f.stat().st_size for f in files)


def run(ctx: Context) -> None:
    seconds = 0.5 if ctx.quick else 1.0
    params = {"T_s": seconds, "images": IMAGES, "side_px": SIDE, "image_format": "png"}
    with fixed_server(seconds, image_format="png") as server:
        for door, cells in (("magic", MAGIC_CELLS), ("panel", PANEL_CELLS)):
            folder = ctx.workdir / door
            out = folder / "seedream-outputs"
            out.mkdir(parents=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDREAM_", "REPLICATE_"))}
            env.update(SEEDREAM_BASE_URL=server.base_url, SEEDREAM_API_TOKEN="bench", SEEDREAM_OUTPUT_DIR=str(out),
                       PYTHONUNBUFFERED="1")
            facts: dict[str, Any] = {}
            try:
                facts = execute(cells, folder / f"{door}.ipynb", env, timeout=300)
            except Exception as exc:
                ctx.add(Figure(NAME, f"notebook_bytes_{door}", f"saved notebook size, 8 x 2048 px via the {door}",
                               None, "bytes", "<= 1.5 MB, originals on disk", status="ERROR", params=params,
                               note=f"{type(exc).__name__}: {str(exc)[:300]}"))
                continue
            count, right, total = originals(out)
            size = facts["bytes"]
            checks = [Check("value", "<=", LIMIT_BYTES)]
            figure = Figure(
                NAME, f"notebook_bytes_{door}",
                f"saved notebook size after {IMAGES} images at {SIDE} px via the {door}",
                size, "bytes", "<= 1.5 MB, originals on disk", checks,
                "bytes of the originals on disk", total, size / total if total else None, {**params, **facts},
                note=f"{size / 1e6:.3f} MB; originals on disk: {right}/{IMAGES} at {SIDE}x{SIDE} ({count} files, "
                     f"{total / 1e6:.2f} MB); images embedded: {facts['embedded_images']}; widget state "
                     f"{facts['widget_state_bytes'] / 1e3:.0f} kB; executed in {facts['seconds']} s"
                     + (f"; cell errors: {facts['errors']}" if facts["errors"] else ""))
            # Small only because the images never arrived is no pass.
            if right < IMAGES:
                figure.unmet = f"only {right}/{IMAGES} originals at {SIDE}x{SIDE} on disk"
            elif facts["errors"]:
                figure.unmet = f"cell errors {facts['errors']}"
            ctx.add(figure)
