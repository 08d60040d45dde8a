"""AUTOMATIC1111's ``parameters`` text: the prompt, then one ``Key: value, ...`` line, written and parsed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_PARAM_KEYS = {"size": "Size preset"}
"""Seedream fields whose plain label would collide with an A1111 key (A1111's ``Size`` is pixels)."""
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def param_key(name: str) -> str:
    """The label a Seedream field is written under (``aspect_ratio`` -> ``Aspect ratio``)."""
    return _PARAM_KEYS.get(name) or name.replace("_", " ").capitalize()


def param_name(key: str) -> str:
    """The Seedream field a label names (the inverse of `param_key`)."""
    for name, label in _PARAM_KEYS.items():
        if label.lower() == key.lower():
            return name
    return key.strip().lower().replace(" ", "_").replace("-", "_")


def param_value(value: Any) -> str:
    """A field's value as text: booleans as ``true``/``false``, lists and mappings as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, Mapping)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def parse_value(text: str) -> Any:
    """A value read back from the text (the inverse of `param_value`, as far as text allows)."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def format_parameters(prompt: str, items: Iterable[tuple[str, str]]) -> str:
    """The prompt, then the ``Key: value`` pairs on one line.

    Values holding a comma, colon, quote or newline are JSON-quoted, as A1111 does, so its
    PNG Info tab (and `parse_parameters`) split the line back correctly.
    """
    return f"{prompt}\n" + ", ".join(f"{key}: {_quote(value)}" for key, value in items)


def parse_parameters(text: str) -> tuple[str, str, dict[str, str]]:
    """(prompt, negative prompt, settings) of an A1111 ``parameters`` text."""
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    found = _PARAM.findall(lines[-1])
    if len(found) >= 3:  # A1111's own rule for "the last line holds the settings"
        lines = lines[:-1]
        for key, value in found:
            settings[key.strip()] = _unquote(value)
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if line.strip().startswith("Negative prompt:"):
            in_negative = True
            line = line.strip()[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    return "\n".join(prompt).strip(), "\n".join(negative).strip(), settings


def _quote(text: str) -> str:
    if any(c in text for c in ',:"\n'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
            return value if isinstance(value, str) else text
        except ValueError:
            return text
    return text
