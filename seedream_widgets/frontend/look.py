"""The look the anywidget pieces share: JupyterLab's theme variables (with fallbacks) as CSS, and how a widget
names its ES module and stylesheet (files beside its Python module, shipped as package data)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["asset", "stylesheet"]

THEME = Path(__file__).resolve().with_name("theme.css")


def asset(module_file: str, suffix: str) -> Path:
    """The file beside a Python module with its name and ``suffix``: ``asset(__file__, ".js")``."""
    return Path(module_file).resolve().with_suffix(suffix)


@cache
def stylesheet(module_file: str) -> str:
    """``theme.css`` followed by the module's own ``.css`` (anywidget gives each widget class one stylesheet)."""
    return THEME.read_text(encoding="utf-8") + "\n" + asset(module_file, ".css").read_text(encoding="utf-8")
