"""Stored runs in the real layout for the gallery's scale figures, and the way before the index as their baseline.

The runs are written by the tests' generator (``tests/_stored_runs.py``: real-shaped sidecars and
small real JPEGs, prompts from a small vocabulary, deterministic).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _stored_runs import write_runs as make_runs

__all__ = ["make_runs", "old_history"]


def old_history(root: Path, limit: int = 20, text: str | None = None) -> list[str]:
    """The way before the index: read every sidecar, filter, sort, take the newest (the baseline)."""
    records = []
    for path in root.glob("*/*/prediction.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if text and not all(w in str(data.get("input", {}).get("prompt", "")) for w in text.split()):
            continue
        records.append((str(data.get("saved_at", "")), str(data.get("id"))))
    records.sort(reverse=True)
    return [pid for _, pid in records[:limit]]
