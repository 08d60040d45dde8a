"""Stored runs in the real layout, made fast: ``{root}/<day>/<id>/1.jpg`` and ``prediction.json`` (for scale tests).

The sidecars have every field a real one has (input, model, timings, images with hashes, cost);
the image is one small real JPEG written for every run. Prompts are drawn from a small vocabulary
so that searches match a realistic share of runs. Deterministic for a seed.
"""

from __future__ import annotations

import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

WORDS = ("fox", "owl", "heron", "lighthouse", "harbour", "forest", "meadow", "city", "night", "dawn", "snow", "rain",
         "fog", "watercolour", "oil", "ink", "portrait", "poster", "studio", "cinematic", "isometric")
MODELS = ("bytedance/seedream-4", "bytedance/seedream-4.5", "bytedance/seedream-5-lite")
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 90, 40)).save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def make_runs(root: Path, count: int, *, seed: int = 7, days: int = 365) -> list[str]:
    """Write ``count`` stored runs under ``root``; returns their ids (oldest first)."""
    rng = random.Random(seed)
    image = _jpeg()
    start = datetime(2025, 12, 1, tzinfo=timezone.utc)
    ids = []
    for n in range(count):
        when = start + timedelta(seconds=n * days * 86400 / max(1, count))
        pid = "".join(rng.choice(ALPHABET) for _ in range(26))
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
        model = rng.choice(MODELS)
        folder = root / when.strftime("%Y-%m-%d") / pid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "1.jpg").write_bytes(image)
        iso = when.isoformat().replace("+00:00", "Z")
        sidecar = {
            "id": pid, "model": model, "version": "", "status": "succeeded",
            "input": {"prompt": prompt, "size": rng.choice(["1K", "2K", "4K"])}, "logs": "", "error": None,
            "created_at": iso, "started_at": iso, "completed_at": (when + timedelta(seconds=12)).isoformat()
            .replace("+00:00", "Z"), "metrics": {"predict_time": 12.0}, "urls": {}, "data_removed": False,
            "base_url": "https://api.replicate.com/v1", "demo": False, "cost": {"usd": 0.03, "images": 1},
            "timings": {"client_seconds": 12.3}, "images": [{"file": "1.jpg", "url": "", "mime": "image/jpeg",
                                                             "width": 64, "height": 48, "sha256": "0" * 64,
                                                             "bytes": len(image)}],
            "package": "seedream-widgets (benchmark)", "saved_at": iso,
        }
        (folder / "prediction.json").write_text(json.dumps(sidecar), encoding="utf-8")
        ids.append(pid)
    return ids


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
