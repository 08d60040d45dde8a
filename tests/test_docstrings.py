"""The examples in the package's docstrings run and show what they say (those marked ``+SKIP`` need a service)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import seedream_widgets

MODULES = sorted(info.name for info in pkgutil.walk_packages(seedream_widgets.__path__, "seedream_widgets.")
                 if not info.name.endswith("__main__"))


def test_there_are_examples_to_run() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name)))
    assert len(MODULES) > 50 and examples > 100


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False,
                              report=True)
    assert outcome.failed == 0, f"{outcome.failed} of {outcome.attempted} examples in {name} failed (see above)"
