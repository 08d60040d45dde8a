"""A model's input fields read from the OpenAPI document Replicate serves for each model version.

``GET {base}/models/{owner}/{name}`` answers ``latest_version.openapi_schema``; the input is
``components.schemas.Input.properties``. Cog writes each enum as ``allOf: [{"$ref":
"#/components/schemas/<name>"}]`` pointing at a component that holds ``enum``; bounds as
``minimum``/``maximum``, list limits as ``maxItems``, the order as ``x-order``. A type this
module does not know (an object, ``anyOf``) becomes a ``json`` field: accepted as sent, shown with
its own help text, judged by the service.

>>> fields = parse_input_fields({"components": {"schemas": {
...     "Input": {"required": ["prompt"], "properties": {
...         "prompt": {"type": "string", "x-order": 0},
...         "size": {"allOf": [{"$ref": "#/components/schemas/size"}], "default": "2K", "x-order": 1}}},
...     "size": {"type": "string", "enum": ["2K", "3K"]}}}})
>>> [(f.name, f.kind, f.choices) for f in fields]
[('prompt', 'str', ()), ('size', 'enum', ('2K', '3K'))]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fields import FieldKind, FieldSpec

__all__ = ["SchemaFormatError", "input_properties", "parse_input_fields"]


class SchemaFormatError(ValueError):
    """The document has no usable ``components.schemas.Input``."""


def input_properties(document: Mapping[str, Any]) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """(the Input properties, the required names, every component) of an OpenAPI document."""
    components = document.get("components") if isinstance(document, Mapping) else None
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    input_schema = schemas.get("Input") if isinstance(schemas, Mapping) else None
    properties = input_schema.get("properties") if isinstance(input_schema, Mapping) else None
    if not isinstance(properties, Mapping) or not properties:
        raise SchemaFormatError("the OpenAPI document has no components.schemas.Input.properties")
    required = input_schema.get("required") if isinstance(input_schema, Mapping) else None
    names = {str(n) for n in required} if isinstance(required, list) else set()
    assert isinstance(schemas, Mapping)
    return {str(k): v for k, v in properties.items() if isinstance(v, Mapping)}, names, dict(schemas)


def _resolve(prop: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """The property with ``$ref``/``allOf`` folded in (the property's own keys win)."""
    merged: dict[str, Any] = {}
    parts = list(prop.get("allOf") or []) if isinstance(prop.get("allOf"), list) else []
    if "$ref" in prop:
        parts.append({"$ref": prop["$ref"]})
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        ref = part.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = components.get(ref.rsplit("/", 1)[1])
            if isinstance(target, Mapping):
                merged.update({k: v for k, v in target.items() if k not in ("title", "description")})
        else:
            merged.update(part)
    merged.update({k: v for k, v in prop.items() if k not in ("allOf", "$ref")})
    return merged


def _kind(prop: Mapping[str, Any]) -> FieldKind:
    type_ = prop.get("type")
    if isinstance(prop.get("enum"), list) and all(isinstance(v, str) for v in prop["enum"]) and prop["enum"]:
        return "enum"
    if type_ == "string":
        return "str"
    if type_ == "integer":
        return "int"
    if type_ == "number":
        return "number"
    if type_ == "boolean":
        return "bool"
    if type_ == "array":
        items = prop.get("items")
        if isinstance(items, Mapping) and items.get("type") == "string":
            return "uris"
    return "json"


def _bound(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_input_fields(document: Mapping[str, Any]) -> tuple[FieldSpec, ...]:
    """Every input field of an OpenAPI document, in ``x-order`` (then document) order."""
    properties, required, components = input_properties(document)
    fields = []
    for position, (name, raw) in enumerate(properties.items()):
        prop = _resolve(raw, components)
        kind = _kind(prop)
        default = prop.get("default")
        if kind == "uris":
            default = tuple(default) if isinstance(default, list) else ()
        elif kind == "int" and isinstance(default, float) and default.is_integer():
            default = int(default)
        order = prop.get("x-order")
        max_items = prop.get("maxItems")
        max_length = prop.get("maxLength")
        fields.append(FieldSpec(
            name=name,
            kind=kind,
            default=default,
            help=str(prop.get("description") or raw.get("title") or name.replace("_", " ")).strip(),
            choices=tuple(prop["enum"]) if kind == "enum" else (),
            low=_bound(prop.get("minimum")),
            high=_bound(prop.get("maximum")),
            max_items=max_items if isinstance(max_items, int) and not isinstance(max_items, bool) else None,
            max_length=max_length if isinstance(max_length, int) and not isinstance(max_length, bool) else None,
            required=name in required,
            order=order if isinstance(order, int) and not isinstance(order, bool) else 1000 + position,
        ))
    return tuple(sorted(fields, key=lambda f: f.order))
