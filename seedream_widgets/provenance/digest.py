"""The sha256 of bytes and of files, in hex: what sidecars record and what a record holds for a data: URI."""

from __future__ import annotations

import hashlib
import os


def sha256_hex(data: bytes) -> str:
    """The sha256 of some bytes, in hex (what sidecars record)."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
