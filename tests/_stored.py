"""Is a stored image the one the service sent? Its hash as received, and its pixels.

The store inserts a provenance record into every image (issue 16), so the file on disk is not
byte-equal to what the service sent; its sidecar keeps the hash of the bytes as received and of
the stored file, and the decoded pixels are the same. These helpers check exactly that.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path


def received_sha256(path: Path) -> str:
    """The sha256 of a stored image as it was received, after checking the file is the one its sidecar describes."""
    sidecar = json.loads((path.parent / "prediction.json").read_text(encoding="utf-8"))
    entry = next(image for image in sidecar["images"] if image["file"] == path.name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"{path} changed since it was stored"
    return str(entry["received_sha256"])


def stored_as_sent(path: Path, sent: bytes) -> bool:
    """True when ``path`` holds what the service sent (``sent``): the same hash as received, the same pixels."""
    from PIL import Image

    if received_sha256(path) != hashlib.sha256(sent).hexdigest():
        return False
    with Image.open(path) as stored, Image.open(io.BytesIO(sent)) as original:
        return stored.size == original.size and stored.tobytes() == original.tobytes()
