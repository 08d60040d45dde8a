"""The Seedream family's input schemas: one `ModelSchema` per model, built from its OpenAPI document.

>>> from seedream_widgets.models import builtin_schema
>>> schema = builtin_schema("bytedance/seedream-4.5")
>>> schema.field("size").choices, schema.field("image_input").max_items
(('2K', '4K', 'custom'), 14)

A schema holds each field's type, default, allowed values, bounds, list limits, help text and
order (`FieldSpec`), which fields take effect when (the family's rules: width/height only with a
custom size), the checks built on them, the output size in pixels and the price. Schemas are
read from the service by `seedream_widgets.catalog`; the built-in snapshots serve until then.
Nothing here does I/O beyond reading the package's own snapshot files.
"""

from __future__ import annotations

from .builtin import DEFAULT_MODEL, KNOWN_MODELS, PRICES, builtin_schema, snapshot_document
from .family import MAX_TOTAL_IMAGES, Family, family_for, output_pixels
from .fields import Condition, FieldKind, FieldSpec, check_text, check_value, normalise
from .model import Estimate, ModelSchema, Price
from .openapi import SchemaFormatError, parse_input_fields

__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "MAX_TOTAL_IMAGES",
    "PRICES",
    "Condition",
    "Estimate",
    "Family",
    "FieldKind",
    "FieldSpec",
    "ModelSchema",
    "Price",
    "SchemaFormatError",
    "builtin_schema",
    "check_text",
    "check_value",
    "family_for",
    "normalise",
    "output_pixels",
    "parse_input_fields",
    "snapshot_document",
]
