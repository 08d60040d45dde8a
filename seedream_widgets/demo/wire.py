"""The JSON shapes of Replicate's API as the demo backend writes them: prediction, model, problem.

Field names, ISO 8601 timestamps with ``Z``, absolute ``urls`` under the prefix
the request came in on, problem documents with ``invalid_fields``: what a
client (ours or the official ``replicate`` package) parses from the real
service. Validation itself comes from `seedream_widgets.schema` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidField
from .catalog import VERSION_CREATED_AT, DemoModel, version_id
from .faults import HOSTILE_URLS
from .settings import IMAGE_FORMATS
from .store import PredictionRecord, PredictionState

MODEL = "bytedance/seedream-4"
VERSION = version_id(MODEL)
"""The demo's version id of seedream-4 (64 hex digits, like a real one)."""
COG_VERSION = "0.16.8"


def iso(timestamp: float) -> str:
    """``2025-01-02T03:04:05.678901Z``: UTC with a Z, as Replicate writes it."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_path(record: PredictionRecord, index: int) -> str:
    """``/files/<id>/<index>.<ext>`` of output ``index`` (0-based, like ``output[index]``)."""
    ext = IMAGE_FORMATS[record.plan.image_format][0]
    return f"/files/{record.id}/{index}.{ext}"


def output_urls(record: PredictionRecord, ready: int, origin: str) -> list[str]:
    if record.hostile_urls:
        return [HOSTILE_URLS[i % len(HOSTILE_URLS)] for i in range(ready)]
    return [origin + file_path(record, i) for i in range(ready)]


def prediction_json(record: PredictionRecord, state: PredictionState, *, origin: str, prefix: str,
                    data_removed: bool, outputs: Sequence[str] | None = None, stream: bool = True) -> dict[str, Any]:
    """The prediction object of ``GET /v1/predictions/{id}`` (``outputs`` overrides the URLs).

    ``urls.stream`` (server-sent events) is offered while the prediction runs, as Replicate does,
    unless ``stream`` is off.
    """
    api = f"{origin}{prefix}/v1/predictions/{record.id}"
    links = {"get": api, "cancel": f"{api}/cancel"}
    if stream:
        links["stream"] = f"{origin}{prefix}/v1/predictions/{record.id}/stream"
    links["web"] = f"{origin}/_demo/predictions/{record.id}"
    urls = list(outputs) if outputs is not None else output_urls(record, state.ready, origin)
    metrics: dict[str, Any] = {}
    if state.started_at is not None and state.completed_at is not None:
        metrics = {
            "predict_time": round(state.completed_at - state.started_at, 6),
            "total_time": round(state.completed_at, 6),
            "image_count": state.ready,
        }
    return {
        "id": record.id,
        "model": record.model or MODEL,
        "version": record.version or VERSION,
        "input": record.input,
        "logs": state.logs,
        "output": urls or None,
        "data_removed": data_removed,
        "error": state.error,
        "source": "api",
        "status": state.status,
        "created_at": iso(record.created_wall),
        "started_at": None if state.started_at is None else iso(record.created_wall + state.started_at),
        "completed_at": None if state.completed_at is None else iso(record.created_wall + state.completed_at),
        "urls": links,
        "metrics": metrics,
    }


def version_json(model: DemoModel) -> dict[str, Any]:
    """``GET /v1/models/{owner}/{name}/versions/{id}``: the version with its OpenAPI document."""
    return {"id": model.version, "created_at": VERSION_CREATED_AT, "cog_version": COG_VERSION,
            "openapi_schema": model.document}


def model_json(model: DemoModel, run_count: int) -> dict[str, Any]:
    """``GET /v1/models/{owner}/{name}``: every field the official client requires."""
    return {
        "url": f"https://replicate.com/{model.name}",
        "owner": model.owner,
        "name": model.short_name,
        "description": model.description,
        "visibility": "public",
        "github_url": None,
        "paper_url": None,
        "license_url": None,
        "run_count": run_count,
        "cover_image_url": None,
        "default_example": None,
        "latest_version": version_json(model),
    }


def problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "status": status, **extra}


def validation_problem(fields: Sequence[InvalidField]) -> dict[str, Any]:
    """The 422 answer for invalid input, worded like Replicate's ("- input.x: ...")."""
    wire = [f.to_wire() for f in fields]
    detail = "".join(f"- {item['field']}: {item['description']}\n" for item in wire)
    return problem(422, "Input validation failed", detail, invalid_fields=wire)


def dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
