"""Tests for `seedream_widgets.schema`: fields, rules, warnings, the payload and the output size."""

from __future__ import annotations

import math
import warnings
from typing import Any, get_args

import pytest

from seedream_widgets.errors import InvalidField, SeedreamWarning, ValidationError
from seedream_widgets.schema import (
    FIELDS,
    AspectRatio,
    SeedreamInput,
    SequentialMode,
    Size,
    check_payload,
    output_pixels,
)

URL = "https://example.com/fox.png"
DATA = "data:image/png;base64,iVBORw0KGgo="

SEED_EXAMPLE: dict[str, Any] = {
    # The example payload on the seed's API page: size 2K *and* width/height.
    "prompt": "a red fox in the snow",
    "size": "2K",
    "width": 2048,
    "height": 2048,
    "max_images": 2,
    "image_input": [],
    "aspect_ratio": "4:3",
    "sequential_image_generation": "auto",
}


def make(**kwargs: Any) -> SeedreamInput:
    """Build an input that must not warn (the caveat tests below cover warnings)."""
    kwargs.setdefault("prompt", "a red fox")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inp = SeedreamInput(**kwargs)
    assert [str(w.message) for w in caught] == []
    return inp


def rejected(**kwargs: Any) -> ValidationError:
    kwargs.setdefault("prompt", "a red fox")
    with pytest.raises(ValidationError) as info:
        SeedreamInput(**kwargs)
    return info.value


# -- valid edges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name", "expected"),
    [
        ({"prompt": "x"}, "prompt", "x"),
        ({"prompt": "  a fox  "}, "prompt", "  a fox  "),
        ({"image_input": []}, "image_input", ()),
        ({"image_input": [URL]}, "image_input", (URL,)),
        ({"image_input": [URL] * 10}, "image_input", (URL,) * 10),
        (
            {"image_input": ("http://example.com/a.jpg",)},
            "image_input",
            ("http://example.com/a.jpg",),
        ),
        (
            {"image_input": ["HTTPS://EXAMPLE.COM/A.PNG"]},
            "image_input",
            ("HTTPS://EXAMPLE.COM/A.PNG",),
        ),
        ({"image_input": [DATA]}, "image_input", (DATA,)),
        ({"size": "1K"}, "size", "1K"),
        ({"size": "4K"}, "size", "4K"),
        ({"size": "custom"}, "size", "custom"),
        ({"aspect_ratio": "21:9"}, "aspect_ratio", "21:9"),
        ({"size": "custom", "width": 1024}, "width", 1024),
        ({"size": "custom", "width": 4096}, "width", 4096),
        ({"size": "custom", "height": 4096}, "height", 4096),
        ({"size": "custom", "width": 2048.0}, "width", 2048),
        ({"size": "custom", "height": 4096.0}, "height", 4096),
        ({"sequential_image_generation": "auto"}, "sequential_image_generation", "auto"),
        ({"sequential_image_generation": "auto", "max_images": 15}, "max_images", 15),
        ({"sequential_image_generation": "auto", "max_images": 15.0}, "max_images", 15),
        ({"enhance_prompt": False}, "enhance_prompt", False),
    ],
)
def test_valid_values_are_accepted_and_normalised(
    kwargs: dict[str, Any], name: str, expected: Any
) -> None:
    value = getattr(make(**kwargs), name)
    assert value == expected
    assert type(value) is type(expected)  # 2048.0 becomes int 2048, lists become tuples


# -- invalid values ---------------------------------------------------------------------

_PROMPT = "a non-empty text"
_URIS = "up to 10 http(s) URLs or data: URIs of images"
_SIDE = "a whole number from 1024 to 4096"


@pytest.mark.parametrize(
    ("name", "value", "type_", "shown", "allowed"),
    [
        ("prompt", "", "required", "empty", _PROMPT),
        ("prompt", "   \n\t", "required", "whitespace", _PROMPT),
        ("prompt", 42, "type", "int", _PROMPT),
        ("prompt", None, "type", "NoneType", _PROMPT),
        ("image_input", [URL] * 11, "max_items", "11 images", _URIS),
        ("image_input", URL, "type", "got str", _URIS),
        ("image_input", b"\x89PNG", "type", "got bytes", _URIS),
        ("image_input", ["file:///tmp/fox.png"], "format", "'file:'", _URIS),
        ("image_input", ["javascript:alert(1)"], "format", "'javascript:'", _URIS),
        ("image_input", ["ftp://example.com/fox.png"], "format", "'ftp:'", _URIS),
        ("image_input", ["/tmp/fox.png"], "format", "not a URL", _URIS),
        ("image_input", [b"\x89PNG"], "format", "bytes", _URIS),
        ("image_input", [URL, None], "format", "item 1", _URIS),
        ("image_input", ["data:image/png,rawbytes"], "format", "data:image/png;base64", _URIS),
        ("image_input", ["data:text/plain;base64,aGk="], "format", "data:image/png;base64", _URIS),
        ("image_input", ["data:;base64,aGk="], "format", "data:image/png;base64", _URIS),
        ("size", "2k", "enum", "'2k'", "1K, 2K, 4K, custom"),
        ("size", "8K", "enum", "'8K'", "1K, 2K, 4K, custom"),
        ("aspect_ratio", "4/3", "enum", "'4/3'", "match_input_image, 1:1, 4:3"),
        ("width", 1023, "greater_than_equal", "1023", _SIDE),
        ("width", 4097, "less_than_equal", "4097", _SIDE),
        ("height", 4097, "less_than_equal", "4097", _SIDE),
        ("width", 1023.0, "greater_than_equal", "1023", _SIDE),
        ("width", 2048.5, "type", "2048.5", _SIDE),
        ("width", math.nan, "type", "nan", _SIDE),
        ("height", math.inf, "type", "inf", _SIDE),
        ("height", True, "type", "True", _SIDE),
        ("width", "2048", "type", "'2048'", _SIDE),
        ("sequential_image_generation", "Auto", "enum", "'Auto'", "disabled, auto"),
        ("max_images", 0, "greater_than_equal", "0", "a whole number from 1 to 15"),
        ("max_images", 16, "less_than_equal", "16", "a whole number from 1 to 15"),
        ("max_images", False, "type", "False", "a whole number from 1 to 15"),
        ("enhance_prompt", "yes", "type", "'yes'", "true or false"),
        ("enhance_prompt", 1, "type", "1", "true or false"),
    ],
)
def test_invalid_values_are_rejected_with_a_clear_message(
    name: str, value: Any, type_: str, shown: str, allowed: str
) -> None:
    kwargs: dict[str, Any] = {name: value}
    if name != "prompt":
        kwargs["prompt"] = "a red fox"
    if name in ("width", "height"):
        kwargs["size"] = "custom"
    error = rejected(**kwargs)
    assert error.fields == (name,)
    (problem,) = error.invalid_fields
    assert problem.type == type_
    line = str(problem)
    assert line.startswith(f"{name}: ")
    assert shown in line
    assert allowed in line
    assert line in str(error)  # the exception's message lists the field's line


def test_missing_prompt_is_a_validation_error_in_payloads() -> None:
    (problem,) = check_payload({"size": "2K"})
    assert (problem.field, problem.type) == ("prompt", "required")
    with pytest.raises(ValidationError, match="prompt: is required") as info:
        SeedreamInput.from_payload({"size": "2K"})
    assert info.value.fields == ("prompt",)


def test_every_violation_is_reported_at_once_in_field_order() -> None:
    error = rejected(prompt=" ", size="8K", width=5000, max_images=0, enhance_prompt="no")
    assert error.fields == ("prompt", "size", "width", "max_images", "enhance_prompt")
    assert [p.value for p in error.invalid_fields] == [" ", "8K", 5000, 0, "no"]
    assert str(error).startswith("5 invalid fields in the Seedream input")
    assert str(error).count("\n  - ") == 5


def test_a_single_violation_is_worded_in_the_singular() -> None:
    assert str(rejected(size="8K")).startswith("1 invalid field in the Seedream input;")


# -- cross-field rule: inputs + outputs <= 15 -------------------------------------------


@pytest.mark.parametrize(
    ("n_inputs", "max_images", "ok"),
    [
        (10, 5, True),
        (10, 6, False),
        (0, 15, True),
        (1, 14, True),
        (1, 15, False),
        (5, 11, False),
    ],
)
def test_inputs_plus_max_images_is_at_most_fifteen(
    n_inputs: int, max_images: int, ok: bool
) -> None:
    kwargs = {
        "image_input": [URL] * n_inputs,
        "max_images": max_images,
        "sequential_image_generation": "auto",
    }
    if ok:
        assert make(**kwargs).max_images == max_images
        return
    error = rejected(**kwargs)
    assert error.fields == ("max_images",)
    (problem,) = error.invalid_fields
    assert problem.type == "constraint"
    assert f"{n_inputs} input images + max_images {max_images} = {n_inputs + max_images}" in str(
        problem
    )
    assert f"at most {15 - n_inputs} with {n_inputs} input images" in str(problem)


def test_total_rule_also_applies_when_sequential_is_disabled() -> None:
    assert rejected(image_input=[URL] * 10, max_images=6).fields == ("max_images",)


def test_total_rule_is_not_repeated_when_a_count_is_already_invalid() -> None:
    # 11 inputs and max_images 16 are each reported once; no extra "constraint" line on top.
    problems = check_payload({"prompt": "x", "image_input": [URL] * 11, "max_images": 16})
    assert [(p.field, p.type) for p in problems] == [
        ("image_input", "max_items"),
        ("max_images", "less_than_equal"),
    ]


# -- warnings: valid but ignored inputs -------------------------------------------------


def test_the_seed_api_example_warns_once_about_width_and_height() -> None:
    with pytest.warns(SeedreamWarning) as record:
        inp = SeedreamInput(**SEED_EXAMPLE)
    assert len(record) == 1
    message = str(record[0].message)
    assert "width/height are ignored because size is '2K'" in message
    assert "size='custom'" in message
    assert "2304x1728" in message  # what 2K at 4:3 really produces
    assert record[0].filename == __file__  # points at the caller's line, not into the package
    assert inp.pixels == (2304, 1728)
    assert inp.to_payload() == SEED_EXAMPLE


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 1536}, r"width/height are ignored because size is '2K'.*2048x2048"),
        (
            {"height": 1536, "size": "1K", "aspect_ratio": "16:9"},
            r"ignored because size is '1K'.*1280x720",
        ),
        (
            {"width": 2048, "height": 2048, "size": "4K", "aspect_ratio": "1:1"},
            r"size is '4K'.*4096x4096",
        ),
        (
            {"max_images": 4},
            r"max_images=4 has no effect while sequential_image_generation is 'disabled'",
        ),
        (
            {"max_images": 2, "sequential_image_generation": "disabled"},
            r"set sequential_image_generation='auto'",
        ),
        (
            {"aspect_ratio": "match_input_image"},
            r"'match_input_image' has no input image to match.*1:1",
        ),
        (
            {"aspect_ratio": "16:9", "size": "custom"},
            r"aspect_ratio is ignored because size is 'custom'",
        ),
        (
            {"aspect_ratio": "1:1", "size": "custom", "width": 1024},
            r"width and height decide the shape",
        ),
    ],
)
def test_ignored_inputs_warn_once(kwargs: dict[str, Any], match: str) -> None:
    with pytest.warns(SeedreamWarning, match=match) as record:
        SeedreamInput("a red fox", **kwargs)
    assert len(record) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"size": "2K", "aspect_ratio": "4:3"},
        {"size": "custom", "width": 1024, "height": 4096},
        {"max_images": 1},
        {"max_images": 4, "sequential_image_generation": "auto"},
        {"aspect_ratio": "match_input_image", "image_input": [URL]},
        {"image_input": []},
        {"enhance_prompt": True, "sequential_image_generation": "disabled"},
    ],
)
def test_sensible_inputs_do_not_warn(kwargs: dict[str, Any]) -> None:
    make(**kwargs)


def test_custom_size_with_match_input_image_warns_only_that_aspect_is_ignored() -> None:
    with pytest.warns(
        SeedreamWarning, match="aspect_ratio is ignored because size is 'custom'"
    ) as record:
        SeedreamInput("a red fox", size="custom", aspect_ratio="match_input_image", width=1536)
    assert [str(w.message) for w in record] == [
        "aspect_ratio is ignored because size is 'custom'; width and height decide the shape"
    ]


def test_width_caveat_does_not_claim_a_square_output_when_matching_an_input_image() -> None:
    with pytest.warns(SeedreamWarning, match="width/height are ignored") as record:
        SeedreamInput("a red fox", image_input=(URL,), width=1536)
    assert len(record) == 1
    assert "2048x2048" not in str(record[0].message)


# -- payload -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "payload"),
    [
        ({}, {"prompt": "a red fox"}),
        # explicit even when equal to the default:
        ({"size": "2K"}, {"prompt": "a red fox", "size": "2K"}),
        ({"enhance_prompt": True}, {"prompt": "a red fox", "enhance_prompt": True}),
        ({"image_input": []}, {"prompt": "a red fox", "image_input": []}),
        ({"image_input": (URL, DATA)}, {"prompt": "a red fox", "image_input": [URL, DATA]}),
        (
            {"enhance_prompt": False, "size": "custom", "width": 1536.0, "height": 1024},
            {
                "prompt": "a red fox",
                "size": "custom",
                "width": 1536,
                "height": 1024,
                "enhance_prompt": False,
            },
        ),
        (
            {"max_images": 3, "sequential_image_generation": "auto", "aspect_ratio": "3:2"},
            {
                "prompt": "a red fox",
                "aspect_ratio": "3:2",
                "sequential_image_generation": "auto",
                "max_images": 3,
            },
        ),
    ],
)
def test_payload_is_prompt_plus_exactly_the_explicit_fields(
    kwargs: dict[str, Any], payload: dict[str, Any]
) -> None:
    sent = make(**kwargs).to_payload()
    assert sent == payload
    assert list(sent) == [spec.name for spec in FIELDS if spec.name in payload]  # schema order
    assert all(type(sent[k]) is type(payload[k]) for k in payload)  # lists, ints


def test_unset_fields_still_read_as_the_defaults() -> None:
    inp = make()
    assert {spec.name: getattr(inp, spec.name) for spec in FIELDS[1:]} == {
        spec.name: spec.default for spec in FIELDS[1:]
    }
    assert inp.explicit == {"prompt"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"size": "2K"},
        {"image_input": []},
        {"image_input": [URL] * 10, "max_images": 5, "sequential_image_generation": "auto"},
        {"image_input": [DATA], "aspect_ratio": "match_input_image", "enhance_prompt": False},
        {"size": "custom", "width": 1024, "height": 4096},
        {"size": "1K", "aspect_ratio": "21:9", "enhance_prompt": True},
    ],
)
def test_from_payload_round_trips(kwargs: dict[str, Any]) -> None:
    original = make(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = SeedreamInput.from_payload(original.to_payload())
    assert back == original
    assert back.explicit == original.explicit  # `==` ignores `explicit`; the payload must not
    assert back.to_payload() == original.to_payload()


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("aspect", "aspect_ratio"),
        ("max_image", "max_images"),
        ("image_inputs", "image_input"),
        ("enhance", "enhance_prompt"),
    ],
)
def test_from_payload_rejects_unknown_keys_with_a_suggestion(key: str, suggestion: str) -> None:
    with pytest.raises(ValidationError, match=f"did you mean '{suggestion}'") as info:
        SeedreamInput.from_payload({"prompt": "a red fox", key: 1})
    assert info.value.fields == (key,)
    assert info.value.invalid_fields[0].type == "unknown_field"


def test_unknown_key_without_a_near_name_lists_the_fields() -> None:
    with pytest.raises(ValidationError) as info:
        SeedreamInput.from_payload({"prompt": "a red fox", "seed": 7})
    line = str(info.value.invalid_fields[0])
    assert "did you mean" not in line
    assert "seed: is not a field of bytedance/seedream-4" in line
    assert ", ".join(spec.name for spec in FIELDS) in line


def test_from_payload_reports_unknown_keys_together_with_other_violations() -> None:
    with pytest.raises(ValidationError) as info:
        SeedreamInput.from_payload({"aspect": "4:3", "size": "8K"})
    assert set(info.value.fields) == {"aspect", "prompt", "size"}


def test_replace_keeps_explicit_fields_and_marks_the_changes_explicit() -> None:
    base = make(size="1K", image_input=[URL])
    changed = base.replace(prompt="a grey wolf", aspect_ratio="16:9")
    assert changed.to_payload() == {
        "prompt": "a grey wolf",
        "image_input": [URL],
        "size": "1K",
        "aspect_ratio": "16:9",
    }
    # the original is unchanged:
    assert base.to_payload() == {"prompt": "a red fox", "image_input": [URL], "size": "1K"}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"size": "8K"}, ("size",)),
        ({"prompt": ""}, ("prompt",)),
        # the 10 inputs are kept, so 6 more is one too many:
        ({"max_images": 6, "sequential_image_generation": "auto"}, ("max_images",)),
        ({"aspect": "4:3"}, ("aspect",)),
    ],
)
def test_replace_validates_again(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    base = make(image_input=[URL] * 10)
    with pytest.raises(ValidationError) as info:
        base.replace(**changes)
    assert info.value.fields == fields


def test_replace_warns_about_the_new_combination() -> None:
    base = make(aspect_ratio="4:3")
    with pytest.warns(
        SeedreamWarning, match="aspect_ratio is ignored because size is 'custom'"
    ) as record:
        base.replace(size="custom")
    assert len(record) == 1


# -- output size ---------------------------------------------------------------------------

_2K = {
    "1:1": (2048, 2048),
    "4:3": (2304, 1728),
    "3:4": (1728, 2304),
    "16:9": (2560, 1440),
    "9:16": (1440, 2560),
    "3:2": (2496, 1664),
    "2:3": (1664, 2496),
    "21:9": (3024, 1296),
}


@pytest.mark.parametrize(("aspect_ratio", "pixels"), list(_2K.items()))
def test_output_pixels_at_2k_follow_the_published_table(
    aspect_ratio: str, pixels: tuple[int, int]
) -> None:
    assert output_pixels("2K", aspect_ratio) == pixels
    w, h = pixels
    assert output_pixels("1K", aspect_ratio) == (w // 2, h // 2)
    assert output_pixels("4K", aspect_ratio) == (w * 2, h * 2)
    assert make(aspect_ratio=aspect_ratio).pixels == pixels


def test_the_2k_table_covers_every_fixed_aspect_ratio() -> None:
    assert set(_2K) == set(get_args(AspectRatio)) - {"match_input_image"}


@pytest.mark.parametrize(
    ("size", "pixels"),
    [("1K", (1024, 1024)), ("2K", (2048, 2048)), ("4K", (4096, 4096))],
)
def test_match_input_image_without_an_input_is_square(size: str, pixels: tuple[int, int]) -> None:
    assert output_pixels(size, "match_input_image") == pixels
    assert output_pixels(size, "match_input_image", input_aspect=None) == pixels
    assert make(size=size).pixels == pixels


@pytest.mark.parametrize(
    ("size", "input_aspect"),
    [("2K", 1.5), ("1K", 1.5), ("4K", 1.5), ("2K", 2 / 3), ("2K", 16 / 9), ("2K", 1.0)],
)
def test_match_input_image_takes_the_input_shape_at_the_same_area(
    size: str, input_aspect: float
) -> None:
    w, h = output_pixels(size, "match_input_image", input_aspect=input_aspect)
    side = {"1K": 1024, "2K": 2048, "4K": 4096}[size]
    assert w % 16 == 0 and h % 16 == 0
    assert w / h == pytest.approx(input_aspect, rel=0.01)
    assert w * h == pytest.approx(side * side, rel=0.02)


def test_match_input_image_at_3_to_2_is_near_the_table_size() -> None:
    w, h = output_pixels("2K", "match_input_image", input_aspect=1.5)
    assert abs(w - 2496) <= 32 and abs(h - 1664) <= 32


@pytest.mark.parametrize(
    ("input_aspect", "clamped"),
    [(10.0, 3.0), (0.05, 1 / 3)],
)
def test_extreme_input_shapes_are_clamped_to_3_to_1(input_aspect: float, clamped: float) -> None:
    assert output_pixels("2K", "match_input_image", input_aspect=input_aspect) == output_pixels(
        "2K", "match_input_image", input_aspect=clamped
    )


@pytest.mark.parametrize("aspect_ratio", ["match_input_image", "1:1", "21:9"])
def test_custom_size_is_width_by_height_whatever_the_aspect(aspect_ratio: str) -> None:
    assert output_pixels("custom", aspect_ratio, 1536, 1024) == (1536, 1024)
    assert output_pixels("custom", aspect_ratio, 4096, 1024, input_aspect=0.5) == (4096, 1024)


def test_custom_size_pixels_of_an_input() -> None:
    assert make(size="custom", width=4096, height=1024).pixels == (4096, 1024)
    assert make(size="custom").pixels == (2048, 2048)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 1),
        ({"max_images": 1}, 1),
        ({"max_images": 5, "sequential_image_generation": "auto"}, 5),
    ],
)
def test_expected_images(kwargs: dict[str, Any], expected: int) -> None:
    assert make(**kwargs).expected_images == expected


# -- the field table -----------------------------------------------------------------------


def test_fields_cover_the_model_in_schema_order() -> None:
    assert [spec.name for spec in FIELDS] == [
        "prompt",
        "image_input",
        "size",
        "aspect_ratio",
        "width",
        "height",
        "sequential_image_generation",
        "max_images",
        "enhance_prompt",
    ]


@pytest.mark.parametrize(
    ("name", "kind", "default", "choices", "low", "high"),
    [
        ("prompt", "str", None, (), None, None),
        ("image_input", "uris", (), (), None, None),
        ("size", "enum", "2K", get_args(Size), None, None),
        ("aspect_ratio", "enum", "match_input_image", get_args(AspectRatio), None, None),
        ("width", "int", 2048, (), 1024, 4096),
        ("height", "int", 2048, (), 1024, 4096),
        ("sequential_image_generation", "enum", "disabled", get_args(SequentialMode), None, None),
        ("max_images", "int", 1, (), 1, 15),
        ("enhance_prompt", "bool", True, (), None, None),
    ],
)
def test_field_table_rows(
    name: str, kind: str, default: Any, choices: tuple[str, ...], low: Any, high: Any
) -> None:
    (spec,) = [spec for spec in FIELDS if spec.name == name]
    assert (spec.kind, spec.default, spec.choices, spec.low, spec.high) == (
        kind,
        default,
        choices,
        low,
        high,
    )
    assert spec.help
    if spec.choices:
        assert spec.allowed == ", ".join(choices)


def test_enum_choices_match_the_design() -> None:
    assert get_args(Size) == ("1K", "2K", "4K", "custom")
    assert get_args(AspectRatio) == (
        "match_input_image",
        "1:1",
        "4:3",
        "3:4",
        "16:9",
        "9:16",
        "3:2",
        "2:3",
        "21:9",
    )
    assert get_args(SequentialMode) == ("disabled", "auto")


def test_front_door_flags_are_unique() -> None:
    from seedream_widgets.options import option_names

    flags = [option_names(spec)[-1] for spec in FIELDS if option_names(spec)]
    shorts = [option_names(spec)[0] for spec in FIELDS if len(option_names(spec)) == 2]
    assert len(flags) == len(set(flags)) == len(FIELDS) - 1  # every field but the prompt has a flag
    assert len(shorts) == len(set(shorts))
    assert all(flag.startswith("--") for flag in flags)


# -- check_payload and the wire form ---------------------------------------------------------


def test_check_payload_ignores_unknown_keys_by_default() -> None:
    assert check_payload({"prompt": "a red fox", "seed": 7, "enhance_prompt": True}) == []


def test_check_payload_reports_unknown_keys_when_asked() -> None:
    problems = check_payload(
        {"prompt": "a red fox", "aspect": "4:3", "size": "8K"}, ignore_unknown=False
    )
    assert [(p.field, p.type) for p in problems] == [("aspect", "unknown_field"), ("size", "enum")]
    assert "did you mean 'aspect_ratio'?" in problems[0].description


def test_check_payload_accepts_the_seed_example_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_payload(SEED_EXAMPLE) == []


@pytest.mark.parametrize(
    ("payload", "wire"),
    [
        (
            {"prompt": "a red fox", "max_images": 16},
            {
                "type": "less_than_equal",
                "field": "input.max_images",
                "description": "got 16; must be at most 15 (allowed: a whole number from 1 to 15)",
            },
        ),
        (
            {"prompt": "a red fox", "size": "2k"},
            {
                "type": "enum",
                "field": "input.size",
                "description": "got '2k'; allowed: 1K, 2K, 4K, custom",
            },
        ),
        (
            {"size": "2K"},
            {
                "type": "required",
                "field": "input.prompt",
                "description": "is required (allowed: a non-empty text)",
            },
        ),
    ],
)
def test_invalid_field_wire_form(payload: dict[str, Any], wire: dict[str, str]) -> None:
    (problem,) = check_payload(payload)
    assert problem.to_wire() == wire


def test_invalid_field_wire_form_without_allowed() -> None:
    assert InvalidField("width", "is odd", "custom_rule", 3).to_wire() == {
        "type": "custom_rule",
        "field": "input.width",
        "description": "is odd",
    }
