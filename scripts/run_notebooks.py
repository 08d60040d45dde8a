"""Execute notebooks top to bottom in fresh kernels and save the executed copies.

Used by ``bash scripts/demo --headless``. Each notebook runs in its own directory so
its relative paths work; images go to ``SEEDREAM_OUTPUT_DIR`` (default ./seedream-outputs).
"""

from __future__ import annotations

import argparse
import os
import sys
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
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SEEDREAM_OUTPUT_DIR", str(Path("seedream-outputs").absolute()))
    failed = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent.absolute())}})
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as exc:
            failed += 1
            status = f"FAILED: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        target = args.out / path.name
        nbformat.write(nb, target)
        print(f"{path} -> {target}: {status}", flush=True)
    print(f"images and their prediction.json sidecars: {os.environ['SEEDREAM_OUTPUT_DIR']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
