"""Execute notebooks top to bottom in fresh kernels and save the executed copies; or strip them for git.

Used by ``bash scripts/demo --headless``. Each notebook runs in its own directory so
its relative paths work; images go to ``SEEDREAM_OUTPUT_DIR`` (default ./seedream-outputs).

``python scripts/run_notebooks.py --strip notebooks/*.ipynb`` removes outputs, execution
counts and saved widget state in place: notebooks are committed that way (tests/test_notebooks.py
fails otherwise), so a saved file never carries images, widget values or anything a kernel printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("seedream-outputs/notebooks"),
                        help="where the executed copies go")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--strip", action="store_true",
                        help="execute nothing: remove outputs and widget state from the notebooks, in place")
    args = parser.parse_args()
    if args.strip:
        for path in args.notebooks:
            changed = strip(path)
            print(f"{path}: {'stripped' if changed else 'already clean'}", flush=True)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SEEDREAM_OUTPUT_DIR", str(Path("seedream-outputs").absolute()))
    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent.absolute())}})
        started = time.monotonic()
        try:
            client.execute()
            status = f"ok, {_images_shown(nb)} images shown"
        except CellExecutionError as exc:
            failed += 1
            status = f"FAILED: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        target = args.out / path.name
        nbformat.write(nb, target)
        print(f"{path} -> {target}: {status} ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"images and their prediction.json sidecars: {os.environ['SEEDREAM_OUTPUT_DIR']}")
    return 1 if failed else 0


def strip(path: Path) -> bool:
    """Remove outputs, execution counts and widget state; True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    nb.metadata.pop("widgets", None)
    if "language_info" in nb.metadata:  # the kernel fills in its Python's version: keep only the name
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # JupyterLab's "record timing" stamps
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after + "\n" if not after.endswith("\n") else after, encoding="utf-8")
    return after != before


def _images_shown(nb: nbformat.NotebookNode) -> int:
    """Images in the outputs: <img> tags in HTML (the magic, results, grids) and image/* outputs (Pillow)."""
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            count += str(data.get("text/html", "")).count("<img") + any(m.startswith("image/") for m in data)
    return count


if __name__ == "__main__":
    sys.exit(main())
