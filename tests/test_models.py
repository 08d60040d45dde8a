"""`seedream_widgets.models`: field tables read from OpenAPI documents, the built-in schemas, family rules, cost."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest

from seedream_widgets.errors import SeedreamWarning, ValidationError
from seedream_widgets.models import (
    KNOWN_MODELS,
    MAX_TOTAL_IMAGES,
    PRICES,
    Estimate,
    FieldSpec,
    ModelSchema,
    SchemaFormatError,
    builtin_schema,
    family_for,
    parse_input_fields,
    snapshot_document,
)
from seedream_widgets.schema import SeedreamInput

URL = "https://example.com/in.png"


def schema(model: str) -> ModelSchema:
    found = builtin_schema(model)
    assert found is not None
    return found


S4, S45, S5 = (schema(m) for m in KNOWN_MODELS)


def problems(table: ModelSchema, **values: Any) -> dict[str, Any]:
    """``{field: value}`` of every violation (prompt filled in)."""
    return {p.field: p.value for p in table.check({"prompt": "a fox", **values}, ignore_unknown=False)}


# -- reading OpenAPI documents ------------------------------------------------------------------------------


def cog_document() -> dict[str, Any]:
    """Shaped like a real Cog model version's ``openapi_schema`` (trimmed)."""
    return {
        "openapi": "3.0.2",
        "info": {"title": "Cog", "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": {
            "Input": {"type": "object", "title": "Input", "required": ["prompt"], "properties": {
                "steps": {"type": "integer", "title": "Steps", "default": 4.0, "minimum": 1, "maximum": 50,
                          "x-order": 3},
                "prompt": {"type": "string", "title": "Prompt", "description": "  What to draw  ",
                           "maxLength": 300, "x-order": 0},
                "style": {"allOf": [{"$ref": "#/components/schemas/style"}], "default": "photo",
                          "description": "The look", "x-order": 2},
                "quality": {"type": "string", "enum": ["low", "high"], "default": "high", "x-order": 1},
                "images": {"type": "array", "items": {"type": "string", "format": "uri"}, "maxItems": 3,
                           "default": ["https://x/a.png"], "x-order": 4},
                "guidance": {"type": "number", "minimum": 0, "maximum": 7.5, "default": 3.5, "x-order": 5},
                "tiled": {"type": "boolean", "default": False, "x-order": 6},
                "extra": {"type": "object", "title": "Extra", "x-order": 7},
                "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Seed", "x-order": 8},
                "unordered_b": {"type": "string", "title": "Unordered B"},
                "unordered_a": {"type": "string", "description": "comes later in the document"},
                "direct_ref": {"$ref": "#/components/schemas/style", "description": "own words win"},
                "numbers": {"type": "array", "items": {"type": "integer"}, "x-order": 9},
            }},
            "style": {"type": "string", "title": "style", "enum": ["photo", "anime", "sketch"],
                      "description": "An enumeration."},
            "Output": {"type": "array", "items": {"type": "string", "format": "uri"}},
        }},
    }


def test_fields_come_in_x_order_then_document_order() -> None:
    names = [f.name for f in parse_input_fields(cog_document())]
    assert names == ["prompt", "quality", "style", "steps", "images", "guidance", "tiled", "extra", "seed",
                     "numbers", "unordered_b", "unordered_a", "direct_ref"]


def test_kinds_choices_bounds_limits_and_defaults() -> None:
    by_name = {f.name: f for f in parse_input_fields(cog_document())}
    assert (by_name["prompt"].kind, by_name["prompt"].max_length, by_name["prompt"].required) == ("str", 300, True)
    assert by_name["prompt"].help == "What to draw"
    style = by_name["style"]
    assert (style.kind, style.choices, style.default, style.help) == ("enum", ("photo", "anime", "sketch"), "photo",
                                                                      "The look")
    assert (by_name["quality"].kind, by_name["quality"].choices) == ("enum", ("low", "high"))
    steps = by_name["steps"]
    assert (steps.kind, steps.default, steps.low, steps.high) == ("int", 4, 1, 50)
    assert type(steps.default) is int, "a whole float default of an integer becomes an int"
    assert (by_name["guidance"].kind, by_name["guidance"].high, by_name["guidance"].default) == ("number", 7.5, 3.5)
    assert (by_name["images"].kind, by_name["images"].max_items, by_name["images"].default) == (
        "uris", 3, ("https://x/a.png",))
    assert (by_name["tiled"].kind, by_name["tiled"].default) == ("bool", False)
    assert not any(f.required for name, f in by_name.items() if name != "prompt")


@pytest.mark.parametrize("name", ["extra", "seed", "numbers"])
def test_types_the_package_does_not_know_become_json_fields(name: str) -> None:
    spec = {f.name: f for f in parse_input_fields(cog_document())}[name]
    assert spec.kind == "json" and spec.choices == () and spec.max_items is None


def test_a_ref_straight_on_the_property_resolves_and_its_own_description_wins() -> None:
    spec = {f.name: f for f in parse_input_fields(cog_document())}["direct_ref"]
    assert spec.kind == "enum" and spec.choices == ("photo", "anime", "sketch") and spec.help == "own words win"


def test_help_falls_back_to_the_title_then_the_name() -> None:
    by_name = {f.name: f for f in parse_input_fields(cog_document())}
    assert by_name["unordered_b"].help == "Unordered B" and by_name["quality"].help == "quality"


@pytest.mark.parametrize("document", [
    {},
    {"components": {}},
    {"components": {"schemas": {"Output": {"type": "string"}}}},
    {"components": {"schemas": {"Input": {"type": "object"}}}},
    {"components": {"schemas": {"Input": {"type": "object", "properties": {}}}}},
    {"components": {"schemas": {"Input": "not an object"}}},
    ["not", "a", "document"],
])
def test_a_document_without_an_input_schema_is_refused(document: Any) -> None:
    with pytest.raises(SchemaFormatError, match="Input"):
        parse_input_fields(document)
    with pytest.raises(SchemaFormatError):
        ModelSchema.from_openapi("someone/something", document)


def test_a_schema_of_an_unknown_model_has_no_family_rules() -> None:
    table = ModelSchema.from_openapi("someone/painter:v1", cog_document(), version="v1")
    assert table.model == "someone/painter" and table.label == "someone/painter", "the latest version unless pinned"
    pinned = ModelSchema.from_openapi("someone/painter:v1", cog_document(), version="v1", pinned=True)
    assert pinned.label == "someone/painter:v1"
    assert table.family.name == "" and table.pixels({}) is None and table.expected_images({}) == 1
    assert all(f.active_when == () for f in table.fields)
    assert table.estimate({}).unpriced == ("someone/painter",) and table.estimate({}).usd == 0.0
    assert set(problems(table, quality="medium", steps=0, guidance=8, images=[URL] * 4, tiled="yes",
                        stepz=1)) == {"quality", "steps", "guidance", "images", "tiled", "stepz"}
    assert problems(table, extra={"any": ["json"]}, seed=None, numbers=[1, 2]) == {}, "json fields: the service judges"


def test_the_built_in_snapshots_parse_to_the_built_in_schemas() -> None:
    for model in KNOWN_MODELS:
        document = snapshot_document(model)
        assert document is not None
        again = ModelSchema.from_openapi(model, copy.deepcopy(document), source="built-in", price=PRICES[model])
        assert again == schema(model)
    assert snapshot_document("someone/else") is None and builtin_schema("someone/else") is None
    assert builtin_schema("bytedance/seedream-4:abcdef") == S4, "a version suffix is ignored"


# -- the three built-in schemas -----------------------------------------------------------------------------


def test_seedream_45_takes_14_input_images_and_the_safety_switch_but_no_1k() -> None:
    assert problems(S45, image_input=[URL] * 14) == {}
    assert problems(S45, image_input=[URL] * 15) == {"image_input": 15}
    assert problems(S45, disable_safety_checker=True) == {}
    assert problems(S45, size="1K") == {"size": "1K"}
    assert problems(S45, prompt="x" * 4000) == {} and problems(S45, prompt="x" * 4001) == {"prompt": 4001}
    assert "enhance_prompt" in problems(S45, enhance_prompt=False)
    assert SeedreamInput("a fox", model="bytedance/seedream-4.5", size="4K", disable_safety_checker=True).to_payload() \
        == {"prompt": "a fox", "size": "4K", "disable_safety_checker": True}


def test_seedream_5_lite_takes_3k_and_png_but_no_custom_size_nor_width() -> None:
    assert problems(S5, size="3K", output_format="png") == {}
    assert problems(S5, output_format="jpeg") == {}
    assert problems(S5, output_format="webp") == {"output_format": "webp"}
    assert problems(S5, size="custom") == {"size": "custom"}
    assert set(problems(S5, width=2048)) == {"width"}
    assert SeedreamInput("a fox", model="bytedance/seedream-5-lite", size="3K", aspect_ratio="1:1").pixels == (3072,
                                                                                                               3072)


def test_seedream_4_keeps_its_rules() -> None:
    assert S4.field("size").choices == ("1K", "2K", "4K", "custom")
    assert S4.field("image_input").max_items == 10
    assert (S4.field("width").low, S4.field("width").high) == (1024, 4096)
    assert problems(S4, size="3K") == {"size": "3K"}
    assert problems(S4, size="custom", width=1023) == {"width": 1023}
    assert problems(S4, max_images=16) == {"max_images": 16}
    assert problems(S4, image_input=[URL] * 11) == {"image_input": 11}
    assert problems(S4, disable_safety_checker=True) == {"disable_safety_checker": None}
    assert problems(S4, enhance_prompt=False, size="custom", width=4096, height=1024) == {}
    assert S4.field("prompt").required and S4.field("enhance_prompt").default is True


@pytest.mark.parametrize("table", [S4, S45, S5], ids=lambda t: t.model)
def test_every_schema_refuses_an_empty_prompt_and_names_unknown_fields(table: ModelSchema) -> None:
    assert "prompt" in problems(table, prompt="   ")
    unknown = table.check({"prompt": "x", "aspect": "1:1"}, ignore_unknown=False)
    assert [p.field for p in unknown] == ["aspect"] and "did you mean 'aspect_ratio'" in unknown[0].description
    assert table.check({"prompt": "x", "aspect": "1:1"}) == [], "unknown fields are ignored by default"


# -- family rules --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "inputs"), [(S4, 10), (S45, 14), (S5, 14), (S45, 5)], ids=str)
def test_inputs_plus_max_images_are_at_most_15(table: ModelSchema, inputs: int) -> None:
    most = MAX_TOTAL_IMAGES - inputs
    fine = {"image_input": [URL] * inputs, "sequential_image_generation": "auto", "max_images": most}
    assert problems(table, **fine) == {}
    over = table.check({"prompt": "x", **fine, "max_images": most + 1})
    assert [(p.field, p.value) for p in over] == [("max_images", most + 1)]
    assert f"at most {most} with {inputs} input images" == over[0].allowed


def test_the_total_rule_is_not_reported_over_a_field_already_broken() -> None:
    assert problems(S4, image_input=[URL] * 11, max_images=15) == {"image_input": 11}


def test_width_and_height_are_active_only_with_a_custom_size() -> None:
    assert S4.active({})["width"] is False and S4.active({})["height"] is False
    assert S4.active({"size": "custom"})["width"] is True and S4.active({"size": "custom"})["height"] is True
    assert S4.active({"size": "custom"})["aspect_ratio"] is False and S4.active({})["aspect_ratio"] is True
    assert S4.active({})["max_images"] is False
    assert S4.active({"sequential_image_generation": "auto"})["max_images"] is True
    assert S4.active({})["prompt"] and S4.active({})["size"] and S4.active({})["enhance_prompt"]
    assert S5.active({})["aspect_ratio"] is True, "no custom size in 5-lite: aspect_ratio always counts"


def test_inactive_notes_say_when_a_field_counts() -> None:
    assert S4.field("width").inactive_note == "only when size is custom"
    assert S4.field("aspect_ratio").inactive_note == "ignored when size is custom"
    assert S4.field("max_images").inactive_note == "only when sequential_image_generation is auto"
    assert S4.field("size").inactive_note == "" and S5.field("aspect_ratio").inactive_note == ""
    spec = S4.field("width")
    assert spec.is_active({"size": "custom"}, S4.defaults) and not spec.is_active({}, S4.defaults)


def test_family_for_names_the_seedream_family() -> None:
    assert family_for("bytedance/seedream-4").name == "seedream"
    assert family_for("bytedance/seedream-9:v1").name == "seedream"
    assert family_for("bytedance/other").name == "" and family_for("someone/seedream").name == ""


def test_pixels_follow_size_and_aspect_ratio() -> None:
    assert S4.pixels({"size": "2K", "aspect_ratio": "4:3"}) == (2304, 1728)
    assert S4.pixels({"size": "1K", "aspect_ratio": "16:9"}) == (1280, 720)
    assert S4.pixels({"size": "4K", "aspect_ratio": "1:1"}) == (4096, 4096)
    assert S4.pixels({"size": "custom", "width": 1536, "height": 1024}) == (1536, 1024)
    assert S4.pixels({}) == (2048, 2048), "match_input_image without an input is 1:1"
    assert S4.pixels({"size": "1K"}, input_aspect=1.5) == (1248, 832)


# -- cost --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "values", "images"), [
    (S4, {}, 1),
    (S4, {"max_images": 4}, 1),  # no set without sequential auto
    (S4, {"sequential_image_generation": "auto", "max_images": 4}, 4),
    (S45, {"sequential_image_generation": "auto", "max_images": 15}, 15),
    (S5, {"sequential_image_generation": "auto"}, 1),
], ids=str)
def test_estimate_counts_images_at_most_and_prices_them(table: ModelSchema, values: dict[str, Any],
                                                        images: int) -> None:
    estimate = table.estimate(values)
    price = PRICES[table.model].usd_per_image
    assert estimate == Estimate(images, round(images * price, 6))
    assert estimate.describe().startswith(f"at most {images} image")
    assert f"${images * price:.3f}" in estimate.describe()
    demo = table.estimate(values, demo=True)
    assert (demo.images, demo.usd, demo.demo) == (images, 0.0, True) and "nothing is billed" in demo.describe()


def test_estimates_add_up() -> None:
    total = S4.estimate({}) + S4.estimate({"sequential_image_generation": "auto", "max_images": 3})
    assert (total.images, total.usd, total.runs) == (4, 0.12, 2)
    assert total.describe() == "2 runs, at most 4 images, at most $0.120"
    mixed = S4.estimate({}) + ModelSchema.from_openapi("a/b", cog_document()).estimate({})
    assert mixed.unpriced == ("a/b",) and "no price known for a/b" in mixed.describe()


def test_an_input_estimates_through_its_schema() -> None:
    inp = SeedreamInput("a fox", model="bytedance/seedream-4.5", sequential_image_generation="auto", max_images=3)
    assert inp.estimate() == S45.estimate({"sequential_image_generation": "auto", "max_images": 3})
    assert inp.expected_images == 3 and inp.estimate(demo=True).usd == 0.0


@pytest.mark.parametrize("table", [S4, S45, S5], ids=lambda t: t.model)
def test_describe_lists_every_field_with_what_it_allows(table: ModelSchema) -> None:
    lines = table.describe().splitlines()
    assert lines[0].startswith(table.model) and str(table.price) in lines[0] and "built-in snapshot" in lines[0]
    assert [line.split(":")[0].strip() for line in lines[1:]] == list(table.names)
    for spec, line in zip(table.fields, lines[1:], strict=True):
        assert spec.allowed in line
        if spec.inactive_note:
            assert line.endswith(f" ({spec.inactive_note})")
        else:
            assert not line.endswith(")")


def test_price_and_field_lookup() -> None:
    assert str(S4.price) == "$0.030/image" and str(S45.price).endswith("(unverified)")
    with pytest.raises(KeyError, match="not a field of bytedance/seedream-5-lite"):
        S5.field("width")
    assert S5.get("width") is None and "size" in S5 and "width" not in S5 and 3 not in S5


def test_field_spec_allowed_in_words() -> None:
    assert S4.field("max_images").allowed == "a whole number from 1 to 15"
    assert S4.field("size").allowed == "1K, 2K, 4K, custom"
    assert S4.field("enhance_prompt").allowed == "true or false"
    assert S4.field("max_images").label == "Max images"
    assert FieldSpec("some_thing", "str", None, "").label == "Some thing"


def test_validation_errors_name_every_field_at_once() -> None:
    with pytest.raises(ValidationError) as info, warnings.catch_warnings():
        warnings.simplefilter("error", SeedreamWarning)
        SeedreamInput("", model="bytedance/seedream-5-lite", size="custom", width=2048, output_format="gif")
    assert set(info.value.fields) == {"prompt", "size", "width", "output_format"}
