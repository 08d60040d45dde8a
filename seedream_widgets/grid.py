"""A comparison's cells: which keywords are axes, ``{placeholder}`` templates, and every combination validated.

>>> template_placeholders("a {animal} in the {weather}")
['animal', 'weather']
>>> compare_axes({"size": ["1K", "2K"], "image_input": ["a.png"], "aspect_ratio": "1:1"})
{'size': ['1K', '2K']}

`expand` turns a prompt (or a list of prompts, or a template) and its keywords into the cells a
comparison runs, checking every cell against its own model before anything is sent. The client
starts them (`AsyncSeedream.start_compare`); the magic's and the CLI's previews read them too.
"""

from __future__ import annotations

import contextlib
import itertools
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import InvalidField, SeedreamWarning, ValidationError
from .models import ModelSchema
from .schema import SeedreamInput

__all__ = ["CompareCells", "caveats_once", "compare_axes", "expand", "fill_template", "template_placeholders"]


@dataclass(frozen=True)
class CompareCells:
    """The cells of a comparison before it runs: prompt (or template), axes, settings, inputs and notes per cell."""

    prompt: str
    axes: dict[str, list[Any]]
    combos: list[dict[str, Any]]
    inputs: list[SeedreamInput]
    notes: list[str]


def template_placeholders(template: str) -> list[str]:
    """The ``{name}`` placeholders of a prompt, in order, once each (``{{ }}`` are literal braces).

    >>> template_placeholders("a {animal} in the {weather}, {animal} again, {{not one}}")
    ['animal', 'weather']

    Raises `ValidationError` (on ``prompt``) for braces that do not pair up.
    """
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValidationError([InvalidField("prompt", f"its braces do not pair up ({exc}); double them ({{{{ }}}}) "
                                            "for literal ones", "format", template[:60], "{name} placeholders")]) \
            from None
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise ValidationError([InvalidField("prompt", f"{{{bad[0]}}} is not a placeholder name (letters, digits, _); "
                                            "double the braces for literal ones", "format", bad[0],
                                            "{name} placeholders")])
    return list(dict.fromkeys(names))


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """The prompt with each ``{name}`` replaced by its value."""
    return string.Formatter().vformat(template, (), {k: str(v) for k, v in values.items()})


def compare_axes(axes_and_fields: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The keyword arguments of `compare` that are axes: those given a list of values (image_input is a list
    by nature, never an axis)."""
    return {k: list(v) for k, v in axes_and_fields.items() if isinstance(v, (list, tuple)) and k != "image_input"}


def expand(prompt: str | Sequence[str], axes_and_fields: Mapping[str, Any], *, default_model: str,
           schema_for: Callable[[str | None], ModelSchema],
           build_input: Callable[..., SeedreamInput]) -> CompareCells:
    """Every cell of a comparison, validated (all problems of all cells at once, `ValidationError`).

    Axes are keywords with a list of values (any field, ``model``, or a ``{placeholder}`` of the
    prompt); ``prompt`` itself is an axis when it is a list. A placeholder given one value is
    filled in every cell. With a ``model`` axis each cell is checked against its own model and a
    setting that model lacks is left out of that cell (its note says so). ``schema_for(model)`` and
    ``build_input(text, model=..., **fields)`` are the client's (a model new to it is read first).
    """
    prompts = list(prompt) if isinstance(prompt, (list, tuple)) else None
    template = "" if prompts is not None else str(prompt)
    placeholders = [] if prompts is not None else template_placeholders(template)
    axes = compare_axes(axes_and_fields)
    if prompts is not None:
        axes = {"prompt": prompts, **axes}
    models = [m for m in ([*axes.get("model", [])] or [axes_and_fields.get("model")]) if m] or [None]
    fields: set[str] = {"model"}
    for model in models:
        fields.update(schema_for(model).names)
    unknown = [k for k in axes_and_fields if k not in fields and k not in placeholders]
    missing = [p for p in placeholders if p not in axes_and_fields]
    problems = [InvalidField(k, f"is neither a field of {', '.join(m or default_model for m in models)} nor "
                             "a {placeholder} of the prompt", "unknown_axis", k,
                             f"fields: {', '.join(sorted(fields - {'prompt'}))}; placeholders: "
                             f"{', '.join(placeholders) or 'none'}") for k in unknown]
    problems += [InvalidField(p, f"the prompt has a {{{p}}} placeholder but no values for it: give {p}=[...] "
                              "(or double the braces, {{ }}, for literal ones)", "required", None,
                              "a list of values, or one value")
                 for p in missing]
    if not axes:
        problems.append(InvalidField(
            "axes", "compare() needs at least one axis: a list of prompts, or a setting or {placeholder} with a "
            "list of values, e.g. size=['1K', '2K']", "required", None, "a list of values"))
    if problems:
        raise ValidationError(problems)
    fixed_fills = {p: axes_and_fields[p] for p in placeholders if p not in axes}
    shared = {k: v for k, v in axes_and_fields.items() if k not in axes and k not in placeholders}
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    inputs: list[SeedreamInput] = []
    notes: list[str] = []
    with caveats_once():
        for combo in combos:  # every problem of every cell, before anything is sent
            text = combo.get("prompt") if prompts is not None else fill_template(
                template, {**fixed_fills, **{p: combo[p] for p in placeholders if p in combo}})
            cell = {**shared, **{k: v for k, v in combo.items() if k != "prompt" and k not in placeholders}}
            model = cell.pop("model", None)
            note = ""
            if "model" in axes:
                schema = schema_for(model)
                dropped = sorted(k for k in cell if k not in schema)
                cell = {k: v for k, v in cell.items() if k in schema}
                note = f"{schema.model} has no {', '.join(dropped)}: left out" if dropped else ""
            notes.append(note)
            try:
                inputs.append(build_input(str(text), model=model, **cell))
            except ValidationError as exc:
                problems.extend(p for p in exc.invalid_fields if p not in problems)
    if problems:
        raise ValidationError(problems)
    return CompareCells(template or " | ".join(prompts or []), axes, combos, inputs, notes)


class caveats_once(contextlib.AbstractContextManager[None]):
    """Inside: each distinct `SeedreamWarning` is shown once (a batch's items, a grid's cells often share one)."""

    def __enter__(self) -> None:
        self._catcher = warnings.catch_warnings(record=True)
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always", SeedreamWarning)

    def __exit__(self, *exc: object) -> None:
        self._catcher.__exit__(None, None, None)
        seen: set[str] = set()
        for warning in self._caught:
            text = str(warning.message)
            if issubclass(warning.category, SeedreamWarning) and text in seen:
                continue
            seen.add(text)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
