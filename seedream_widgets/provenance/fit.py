"""A record's longest texts shortened just enough to fit a size limit (a JPEG segment's 64 KB)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .record import GenerationRecord
from .redact import map_strings


def fit(record: GenerationRecord, fits: Callable[[GenerationRecord], bool]) -> GenerationRecord | None:
    """``record`` with its longest texts shortened just enough to pass ``fits``; None when nothing does.

    The shortened fields are named in the record's ``truncated``.
    """
    if fits(record):
        return record
    lengths: list[int] = [len(record.prompt)]
    map_strings(record.input, lambda text: lengths.append(len(text)))
    # The longest cut every string fits under, by bisection (a record that fits at length n fits below it).
    low, high, best = 0, max(lengths), None
    while low <= high:
        middle = (low + high) // 2
        candidate = _shortened(record, middle)
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _shortened(record: GenerationRecord, limit: int) -> GenerationRecord:
    cut: list[str] = []

    def shorten(value: Any, name: str) -> Any:
        def cut_text(text: str) -> str:
            if len(text) <= limit:
                return text
            if name not in cut:
                cut.append(name)
            return text[:limit] + "…"

        return map_strings(value, cut_text)

    prompt = shorten(record.prompt, "prompt")
    payload = {k: shorten(v, "prompt" if k == "prompt" else f"input.{k}") for k, v in record.input.items()}
    return replace(record, prompt=prompt, input=payload, truncated=tuple(dict.fromkeys((*record.truncated, *cut))))
