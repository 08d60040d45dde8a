"""The package's public surface: ``seedream_widgets.__all__`` is sorted, resolvable and complete.

Like httpx's ``tests/test_exported_members.py``; the order is ruff's RUF022 ("isort-style"):
SCREAMING_SNAKE_CASE names first, then CamelCase, then everything else, each group in natural order.
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import seedream_widgets

NOT_API = {"annotations", "TYPE_CHECKING", "Any"}
"""What ``__init__`` imports for itself (``from __future__``, ``typing``): not part of the API."""


def ruf022_key(name: str) -> tuple[int, list[Any]]:
    if name.isupper() or (name.upper() == name and "_" in name):
        group = 0  # SCREAMING_SNAKE_CASE
    elif name[:1].isupper():
        group = 1  # CamelCase
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def test_all_is_sorted_the_way_ruff_sorts_it() -> None:
    exported = list(seedream_widgets.__all__)
    assert exported == sorted(exported, key=ruf022_key)
    assert len(exported) == len(set(exported)), "no name twice"


def test_the_sort_key_agrees_with_ruff(tmp_path: Path) -> None:
    """RUF022 itself, run on the live ``__all__`` and on a shuffled copy (so the check can fail)."""
    ruff = Path(sys.executable).with_name("ruff")
    assert ruff.is_file(), "ruff comes with the test extra"
    names = [*seedream_widgets.__all__, "a10", "a9", "Zeta2", "Zeta10"]
    ordered = sorted(names, key=ruf022_key)
    assert ordered.index("a9") < ordered.index("a10") and ordered.index("Zeta2") < ordered.index("Zeta10")
    for body, clean in ((ordered, True), (list(reversed(ordered)), False)):
        module = tmp_path / f"exports_{clean}.py"
        module.write_text("__all__ = [\n" + "".join(f"    {name!r},\n" for name in body) + "]\n")
        done = subprocess.run([str(ruff), "check", "--isolated", "--select", "RUF022", "--no-cache", str(module)],
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode == 0) is clean, done.stdout + done.stderr


def test_every_exported_name_resolves() -> None:
    for name in seedream_widgets.__all__:
        value = getattr(seedream_widgets, name)
        assert value is not None, name
        if isinstance(value, type) and name != "Update":
            assert value.__name__ == name, f"{name} is {value!r}"


def test_every_public_name_at_the_top_level_is_exported() -> None:
    exported = set(seedream_widgets.__all__)
    public = {name for name, value in vars(seedream_widgets).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public - NOT_API - exported == set()
    assert set(vars(seedream_widgets)) >= NOT_API, "the exclusions are real names of the namespace"
    lazy = set(seedream_widgets._LAZY)  # reachable through the module's __getattr__
    assert lazy - exported == set()


def test_every_exported_name_is_listed_by_dir() -> None:
    assert set(seedream_widgets.__all__) <= set(dir(seedream_widgets))


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        seedream_widgets.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_star_import_gives_exactly_all_in_a_fresh_interpreter() -> None:
    script = """
import seedream_widgets
namespace = {}
exec("from seedream_widgets import *", namespace)
namespace.pop("__builtins__")
assert sorted(namespace) == sorted(seedream_widgets.__all__), sorted(set(namespace) ^ set(seedream_widgets.__all__))
print(len(namespace))
"""
    done = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(seedream_widgets.__all__)


def test_the_exceptions_are_all_exported() -> None:
    from seedream_widgets import errors

    assert set(errors.__all__) <= set(seedream_widgets.__all__)
    for name in errors.__all__:
        assert getattr(seedream_widgets, name) is getattr(errors, name)
