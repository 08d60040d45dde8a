"""What ``%seedream``'s commands show: settings, stored runs, costs, models and an image's record, as text and HTML.

Each function returns ``(text, html)``: the magic prints the text in a terminal and shows both
forms in a notebook. Styles, escaping and thumbnails are `seedream_widgets.display`'s.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import display as render
from ..options import option_label, option_names, speak_options

if TYPE_CHECKING:
    from ..gallery import RunRecord
    from ..models import FieldSpec, ModelSchema
    from ..provenance import ForeignRecord, GenerationRecord

__all__ = ["compares_listing", "config_listing", "cost_listing", "history_listing", "magic_line", "models_listing",
           "record_listing"]

Listing = tuple[str, str]


def _table(rows: Iterable[Sequence[str]], head: Sequence[str] = (), *, name: str, raw: int = -1) -> str:
    """An HTML table in the theme's colours (cells escaped, except column ``raw``, which is HTML already)."""
    cell = f'style="text-align:left;vertical-align:top;padding:1px 12px 1px 0;{render.MUTED}font-weight:500"'
    top = "".join(f"<th {cell}>{render.esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        f'<td style="text-align:left;vertical-align:top;padding:1px 12px 1px 0;overflow-wrap:anywhere">'
        f'{value if i == raw else render.esc(value)}</td>' for i, value in enumerate(row)) + "</tr>" for row in rows)
    return (f'<table class="seedream-{name}" style="{render.FONT}color:{render.COLORS["text"]};border-collapse:'
            f'collapse">{f"<tr>{top}</tr>" if top else ""}{body}</table>')


def _pairs(rows: Mapping[str, Any], *, name: str) -> Listing:
    width = max(len(k) for k in rows)
    text = "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows.items())
    cell = f'style="text-align:left;vertical-align:top;padding-right:12px;{render.MUTED}font-weight:500"'
    body = "".join(f'<tr><th {cell}>{render.esc(k)}</th><td style="text-align:left;overflow-wrap:anywhere">'
                   f'{render.esc(v)}</td></tr>' for k, v in rows.items())
    return text, (f'<table class="seedream-{name}" style="{render.FONT}color:{render.COLORS["text"]};'
                  f'border-collapse:collapse">{body}</table>')


def config_listing(rows: Mapping[str, str]) -> Listing:
    return _pairs(rows, name="config")


# -- stored runs --------------------------------------------------------------------------------------


def history_listing(records: Sequence[RunRecord]) -> Listing:
    """One line per run: id, time, images, model, a star when starred, and the prompt (thumbnails in HTML)."""
    def cells(r: RunRecord) -> list[str]:
        count = f"{len(r.paths)} image{'s' if len(r.paths) != 1 else ''}"
        return [r.id, r.created_at[:19], count, r.model.rsplit("/", 1)[-1] or "?",
                ("★ " if r.starred else "") + render.shorten(r.prompt, 60)]

    text = "\n".join("  ".join(cells(r)) for r in records)
    rows = [[_thumbnail(r), *cells(r)] for r in records]
    return text, _table(rows, ["", "id", "created", "images", "model", "prompt"], name="history", raw=0)


def compares_listing(groups: Sequence[Mapping[str, Any]]) -> Listing:
    """One line per kept comparison: its id (for ``%seedream open``), time, cells, axes and prompt."""
    rows = [[str(g.get("id", "")), str(g.get("created_at", ""))[:19], f"{len(g.get('combos') or [])} runs",
             " × ".join(f"{name} ({len(values)})" for name, values in (g.get("axes") or {}).items()),
             render.shorten(str(g.get("prompt", "")), 60)] for g in groups]
    return "\n".join("  ".join(row) for row in rows), _table(rows, ["id", "created", "runs", "axes", "prompt"],
                                                              name="compares")


def _thumbnail(record: RunRecord) -> str:
    paths = [p for p in record.paths if p.is_file()]
    try:
        return (f'<img src="{render.thumbnail_data_uri(paths[0], max_px=96)}" alt="" '
                f'style="max-width:64px;max-height:64px;border-radius:3px"/>') if paths else ""
    except OSError:
        return ""


def cost_listing(rows: Sequence[Mapping[str, Any]]) -> Listing:
    """What was spent by day and model (demo runs cost nothing), then the total."""
    def usd(row: Mapping[str, Any]) -> str:
        if row["demo"]:
            return "$0 (demo)"
        unpriced = f" + {row['unpriced']} unpriced" if row.get("unpriced") else ""
        return f"${float(row['usd'] or 0):.3f}{unpriced}"

    lines = [[str(r["day"]), str(r["model"]), str(r["runs"]), str(r["images"]), usd(r)] for r in rows]
    real = [r for r in rows if not r["demo"]]
    total = sum(float(r["usd"] or 0) for r in real)
    unpriced = sum(int(r.get("unpriced") or 0) for r in real)
    summary = (f"total ${total:.3f} over {sum(int(r['runs']) for r in real)} runs on the service"
               + (f" ({unpriced} runs of models without a known price not counted)" if unpriced else "")
               + ("; demo runs cost nothing" if len(real) < len(rows) else ""))
    head = ["day", "model", "runs", "images", "cost"]
    widths = [max(len(x) for x in column) for column in zip(head, *lines, strict=True)]
    text = "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in [head, *lines])
    html = _table(lines, head, name="cost") + f'<div style="{render.FONT}">{render.esc(summary)}</div>'
    return f"{text}\n{summary}", html


# -- models ---------------------------------------------------------------------------------------------


def models_listing(schemas: Sequence[ModelSchema]) -> Listing:
    """Each model: its name, price and where its schema comes from, then one line per option (sizes included)."""
    blocks = []
    for schema in schemas:
        lines = [schema.describe().splitlines()[0]]
        lines += [f"  {_field_line(spec, schema)}" for spec in schema.fields]
        blocks.append("\n".join(lines))
    text = "\n\n".join(blocks)
    style = f"{render.MONO}color:{render.COLORS['text']}"
    return text, f'<pre class="seedream-models" style="{style}">{render.esc(text)}</pre>'


def _field_line(spec: FieldSpec, schema: ModelSchema) -> str:
    if not option_names(spec):
        return f"the cell's text: {spec.allowed}"
    if spec.kind == "bool":
        line = f"{option_label(spec.name, schema)}: sets {spec.name} to {str(not spec.default).lower()} " \
               f"(default {str(spec.default).lower()})"
    else:
        default = "" if spec.default in (None, ()) else f" [default {spec.default}]"
        line = f"{option_label(spec.name, schema)}: {spec.allowed}{default}"
    return line + (f" ({speak_options(spec.inactive_note, schema)})" if spec.inactive_note else "")


# -- an image's record ------------------------------------------------------------------------------------


def magic_line(model: str, payload: Mapping[str, Any], schema: ModelSchema) -> str:
    """The ``%%seedream`` line that sends ``payload`` again (input images left out: the file has only their hashes)."""
    words = ["%%seedream", "--model", model]
    for name, value in payload.items():
        spec = schema.get(name)
        if spec is None or name == "prompt" or spec.kind == "uris":
            continue
        flag = option_names(spec)[-1]
        if spec.kind == "bool":
            words += [flag] if value != spec.default else []
        else:
            words += [flag, shlex.quote(str(value))]
    return " ".join(words)


def record_listing(path: str, record: GenerationRecord | ForeignRecord, again: str, notes: Sequence[str],
                   schema: ModelSchema | None = None) -> Listing:
    """How an image was made: our own record (model, prediction, fields in option words), or another tool's."""
    from ..provenance import GenerationRecord

    rows: dict[str, Any] = {"file": path}
    if isinstance(record, GenerationRecord):
        rows.update({"prompt": record.prompt, "model": record.model})
        optional = {"version": record.version, "prediction": record.prediction_id, "created": record.created_at,
                    "size": record.size, "seed": record.seed,
                    "image": f"{record.index} of {record.count}" if record.count > 1 else "",
                    "made by": "the local demo backend (not the model)" if record.demo else "",
                    "service": record.base_url, "software": record.software}
        rows.update({k: v for k, v in optional.items() if v not in ("", None)})
        for name, value in record.input.items():
            if name != "prompt":
                rows[option_label(name, schema)] = _shown(value)
    else:
        rows.update({"written by": record.tool, "prompt": record.prompt or "(none)"})
        rows.update({k: _shown(v) for k, v in record.fields.items() if k != "prompt"})
        rows.update({f"{record.tool}: {k}": v for k, v in record.settings.items()})
        notes = list(dict.fromkeys([*notes, *record.notes]))
    if again:
        rows["again"] = again
    for i, note in enumerate(notes, 1):
        rows[f"note {i}" if len(notes) > 1 else "note"] = note
    return _pairs(rows, name="info")


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"{len(value)} image{'s' if len(value) != 1 else ''}: " + ", ".join(
            render.shorten(str(v.get("sha256", v)) if isinstance(v, Mapping) else str(v), 40) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)
