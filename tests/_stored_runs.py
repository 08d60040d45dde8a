"""Stored runs written straight to disk in the real layout (``{day}/{id}/1.jpg`` + ``prediction.json``).

>>> ids = write_runs(Path("outputs"), 1_000)      # doctest: +SKIP

For tests of what reads the output folder (the gallery widget) and for measuring it on a heavy
user's folder (100,000 runs): the sidecars look like the ones `Gallery.store` writes (id, model,
input, times, images with size and hash, cost, demo), the images are small real JPEGs. Bounded:
at most `MAX_RUNS`, newest last, spread over ``days`` days before ``end``.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

MAX_RUNS = 200_000
MODELS = ("bytedance/seedream-4", "bytedance/seedream-4.5", "bytedance/seedream-5-lite")
_SUBJECTS = ("a red fox", "a lighthouse", "an old tram", "a paper boat", "a snow owl", "a city street", "a teapot",
             "a mountain lake", "a robot gardener", "a night market")
_PLACES = ("in the snow", "at dusk", "in the rain", "under neon lights", "on a foggy morning", "in a meadow",
           "on the moon", "by the sea")
_STYLES = ("watercolor", "35mm photo", "isometric render", "oil painting", "ink sketch", "studio light")
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _jpeg(seed: int, px: int) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (px, px * 3 // 4), tuple(rng.randrange(40, 220) for _ in range(3)))
    image.paste(tuple(rng.randrange(0, 255) for _ in range(3)), (px // 4, px // 5, px * 3 // 4, px // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def write_runs(root: Path, count: int, *, days: int = 365, images: int = 1, px: int = 128,
               end: datetime | None = None, seed: int = 17, demo_every: int = 5, star_every: int = 50) -> list[str]:
    """Write ``count`` complete runs under ``root``; returns their ids, oldest first.

    Run ``i`` has prompt ``"<subject> <place>, <style> #i"``, model ``MODELS[i % 3]``, is a demo run
    when ``i % demo_every == 0`` and starred when ``i % star_every == 0``; runs are evenly spaced over
    ``days`` days ending at ``end`` (default: now).
    """
    if not 0 <= count <= MAX_RUNS:
        raise ValueError(f"count must be within 0..{MAX_RUNS}")
    rng = random.Random(seed)
    end = end or datetime.now(timezone.utc)
    step = timedelta(days=days) / max(1, count)
    pictures = [_jpeg(seed * 100 + k, px) for k in range(8)]
    digests = [hashlib.sha256(p).hexdigest() for p in pictures]
    ids: list[str] = []
    for i in range(count):
        created = end - step * (count - i)
        run_id = "".join(rng.choice(_ALPHABET) for _ in range(26))
        folder = root / created.strftime("%Y-%m-%d") / run_id
        folder.mkdir(parents=True, exist_ok=True)
        stored = []
        for k in range(images):
            picture = (i + k) % len(pictures)
            (folder / f"{k + 1}.jpg").write_bytes(pictures[picture])
            stored.append({"file": f"{k + 1}.jpg", "mime": "image/jpeg", "width": px, "height": px * 3 // 4,
                           "bytes": len(pictures[picture]), "sha256": digests[picture]})
        model, demo = MODELS[i % len(MODELS)], i % demo_every == 0
        prompt = f"{_SUBJECTS[i % 10]} {_PLACES[(i // 10) % 8]}, {_STYLES[(i // 80) % 6]} #{i}"
        stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        done = (created + timedelta(seconds=14)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        usd = 0.0 if demo else 0.03 * images
        sidecar = {
            "id": run_id, "model": model, "version": "hidden", "status": "succeeded",
            "input": {"prompt": prompt, "size": "2K", "aspect_ratio": "4:3"},
            "created_at": stamp, "completed_at": done, "saved_at": done, "demo": demo,
            "cost": {"usd": usd, "images": images, "usd_per_image": usd / images if images else 0.0},
            "images": stored, **({"starred": True} if i % star_every == 0 else {}),
        }
        (folder / "prediction.json").write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
        ids.append(run_id)
    return ids
