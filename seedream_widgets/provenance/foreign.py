"""Other tools' records (AUTOMATIC1111, ComfyUI, an XMP AI label), mapped to Seedream fields as far as they go."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..models import DEFAULT_MODEL, ModelSchema, builtin_schema
from .parameters import parse_parameters
from .record import ForeignRecord, GenerationRecord, record_from_parameters
from .xmp import xmp_values

_NEGATIVE_NOTE = "Seedream has no negative prompt; it is kept in settings['Negative prompt']"


def a1111_record(text: str) -> GenerationRecord | ForeignRecord:
    """An AUTOMATIC1111 ``parameters`` text (our own record when seedream-widgets wrote it)."""
    prompt, negative, settings = parse_parameters(text)
    own = record_from_parameters(prompt, settings)
    if own is not None:
        return own
    fields: dict[str, Any] = {"prompt": prompt} if prompt else {}
    notes: list[str] = []
    size = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", settings.get("Size", ""))
    if size:
        fields.update(_map_size(int(size.group(1)), int(size.group(2))))
    if negative:
        notes.append(_NEGATIVE_NOTE)
        settings = {"Negative prompt": negative, **settings}
    unmapped = [k for k in settings if k not in ("Size", "Negative prompt")]
    if unmapped:
        notes.append(f"no Seedream equivalent for {', '.join(unmapped)}")
    return ForeignRecord("AUTOMATIC1111", fields, text, settings, model=settings.get("Model", ""),
                         notes=tuple(notes), raw={"parameters": text})


def comfy_record(prompt_text: str, workflow_text: str) -> ForeignRecord | None:
    """ComfyUI's ``prompt`` graph (else its ``workflow``): the positive prompt, the size, the sampler's settings."""
    raw = {k: v for k, v in (("prompt", prompt_text), ("workflow", workflow_text)) if v}
    graph = _json_or_none(prompt_text)
    workflow = _json_or_none(workflow_text)
    if not isinstance(graph, dict) and not isinstance(workflow, dict):
        return None
    fields: dict[str, Any] = {}
    settings: dict[str, str] = {}
    notes: list[str] = []
    model = ""
    texts: list[str] = []
    if isinstance(graph, dict):
        nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and isinstance(v.get("class_type"), str)}

        def text_of(link: Any) -> str | None:
            # A sampler's input is a link [node id, output index]; follow it to a text encoder's text,
            # through one node that holds the string (a primitive or a string literal node).
            for _ in range(3):
                if not (isinstance(link, list) and link and str(link[0]) in nodes):
                    return link if isinstance(link, str) else None
                inputs = nodes[str(link[0])].get("inputs") or {}
                link = next((inputs[k] for k in ("text", "text_g", "string", "value", "prompt") if k in inputs), None)
            return link if isinstance(link, str) else None

        for node in nodes.values():
            kind, inputs = node["class_type"], node.get("inputs") or {}
            if "TextEncode" in kind:
                text = text_of(inputs.get("text", inputs.get("text_g")))
                if text is not None:
                    texts.append(text)
            if "Sampler" in kind and "positive" in inputs:
                positive, negative = text_of(inputs.get("positive")), text_of(inputs.get("negative"))
                if positive is not None and "prompt" not in fields:
                    fields["prompt"] = positive
                if negative:
                    settings["Negative prompt"] = negative
                for key in ("seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"):
                    if isinstance(inputs.get(key), (int, float, str)):
                        settings[key] = str(inputs[key])
            if "LatentImage" in kind and isinstance(inputs.get("width"), int) and isinstance(inputs.get("height"), int):
                settings["size"] = f"{inputs['width']}x{inputs['height']}"
                fields.update(_map_size(inputs["width"], inputs["height"]))
            for key in ("ckpt_name", "unet_name"):
                if isinstance(inputs.get(key), str) and not model:
                    model = inputs[key]
    if not texts and isinstance(workflow, dict):
        for node in workflow.get("nodes") or ():
            values = node.get("widgets_values") if isinstance(node, dict) else None
            if "TextEncode" in str(node.get("type", "")) and isinstance(values, list) and values \
                    and isinstance(values[0], str):
                texts.append(values[0])
    if "prompt" not in fields:
        distinct = list(dict.fromkeys(t for t in texts if t.strip()))
        if len(distinct) == 1:
            fields["prompt"] = distinct[0]
        elif distinct:
            notes.append(f"{len(distinct)} prompt texts and no clear positive one; see the text")
    if "Negative prompt" in settings:
        notes.append(_NEGATIVE_NOTE)
    return ForeignRecord("ComfyUI", fields, prompt_text or workflow_text, settings, model=model, notes=tuple(notes),
                         raw=raw)


def xmp_label_record(packet: str) -> ForeignRecord | None:
    """An XMP packet's AI label (and prompt, when it has one); None when it carries neither."""
    values = xmp_values(packet)
    if not ({"DigitalSourceType", "AISystemUsed", "AIPromptInformation"} & set(values)):
        return None
    prompt = values.get("AIPromptInformation", "")
    source = values.get("DigitalSourceType", "")
    notes = () if prompt else ("the file carries an AI label but no prompt",)
    return ForeignRecord(values.get("CreatorTool") or values.get("AISystemUsed") or "XMP",
                         {"prompt": prompt} if prompt else {}, packet,
                         {k: v for k, v in values.items() if k != "record"}, model=values.get("AISystemUsed", ""),
                         notes=notes + ((f"DigitalSourceType: {source.rsplit('/', 1)[-1]}",) if source else ()),
                         raw={"xmp": packet})


def closest_ratio(width: int, height: int, schema: ModelSchema | None = None) -> str:
    """The aspect ratio choice of ``schema`` (default seedream-4) nearest to ``width`` x ``height``."""
    def distance(ratio: str) -> float:
        a, b = (int(x) for x in ratio.split(":"))
        return abs(math.log(width / height) - math.log(a / b))
    return min(_aspect_choices(schema), key=distance)


def _aspect_choices(schema: ModelSchema | None = None) -> tuple[str, ...]:
    table = schema or builtin_schema(DEFAULT_MODEL)
    assert table is not None
    spec = table.get("aspect_ratio")
    ratios = tuple(c for c in (spec.choices if spec else ()) if re.fullmatch(r"\d+:\d+", c))
    return ratios or ("1:1",)


def _map_size(width: int, height: int) -> dict[str, Any]:
    """A foreign size as Seedream fields: custom when both sides fit 1024..4096, else the nearest aspect ratio."""
    if width <= 0 or height <= 0:
        return {}
    if 1024 <= width <= 4096 and 1024 <= height <= 4096:
        return {"size": "custom", "width": width, "height": height}
    return {"aspect_ratio": closest_ratio(width, height)}


def _json_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
