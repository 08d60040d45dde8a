"""A model the package does not know ("acme/painter"), as a service would describe it: every door must run it."""

from __future__ import annotations

from typing import Any


def painter_document() -> dict[str, Any]:
    """Shaped like a real Cog version's OpenAPI schema (an enum through allOf/$ref)."""
    return {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}, "paths": {}, "components": {"schemas": {
        "Input": {"type": "object", "required": ["prompt"], "properties": {
            "prompt": {"type": "string", "description": "What to paint", "x-order": 0},
            "style": {"allOf": [{"$ref": "#/components/schemas/style"}], "default": "photo",
                      "description": "The look", "x-order": 1},
            "steps": {"type": "integer", "default": 4, "minimum": 1, "maximum": 50, "description": "Denoising steps",
                      "x-order": 2},
            "tiled": {"type": "boolean", "default": False, "description": "Make it tile", "x-order": 3}}},
        "style": {"type": "string", "enum": ["photo", "anime", "sketch"], "description": "An enumeration."},
        "Output": {"type": "array", "items": {"type": "string", "format": "uri"}}}}}
