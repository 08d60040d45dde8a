"""`seedream_widgets.options`: the one text-to-field module of the magic and the command line."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import pytest

from seedream_widgets.errors import SeedreamWarning, ValidationError
from seedream_widgets.models import FieldSpec, ModelSchema, builtin_schema
from seedream_widgets.options import (
    OptionError,
    add_field_options,
    caveat_notes,
    field_for,
    field_values,
    imply_sequential,
    option_arguments,
    option_label,
    option_names,
    parse_axes,
    parse_field_text,
    problem_lines,
    speak_options,
)
from seedream_widgets.schema import FIELD, SeedreamInput


def _builtin(model: str) -> ModelSchema:
    found = builtin_schema(model)
    assert found is not None
    return found


S45 = _builtin("bytedance/seedream-4.5")


# -- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "options"), [
    ("prompt", ()),
    ("size", ("-s", "--size")),
    ("aspect_ratio", ("-a", "--aspect-ratio")),
    ("max_images", ("-n", "--max-images")),
    ("image_input", ("-i", "--image")),
    ("sequential_image_generation", ("--sequential",)),
    ("enhance_prompt", ("--no-enhance",)),
    ("width", ("--width",)),
])
def test_option_names(name: str, options: tuple[str, ...]) -> None:
    assert option_names(FIELD[name]) == options


def test_a_bool_defaulting_to_false_gets_a_plain_flag() -> None:
    assert option_names(S45.field("disable_safety_checker")) == ("--disable-safety-checker",)
    assert option_names(FieldSpec("fast_mode", "bool", True, "")) == ("--no-fast-mode",)


@pytest.mark.parametrize(("name", "label"), [
    ("max_images", "-n/--max-images"), ("size", "-s/--size"), ("width", "--width"), ("prompt", "prompt"),
    ("not_a_field", "not_a_field"),
])
def test_option_label(name: str, label: str) -> None:
    assert option_label(name) == label


# -- values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "value"), [
    ("enhance_prompt", "y", True), ("enhance_prompt", "on", True), ("enhance_prompt", "TRUE", True),
    ("enhance_prompt", " yes ", True), ("enhance_prompt", "1", True),
    ("enhance_prompt", "n", False), ("enhance_prompt", "off", False), ("enhance_prompt", "No", False),
    ("enhance_prompt", "0", False), ("enhance_prompt", "maybe", "maybe"),
    ("width", "2048", 2048), ("width", "2048.0", 2048), ("width", " 1024 ", 1024), ("width", "2e3", 2000),
    ("width", "2048.5", "2048.5"), ("width", "wide", "wide"), ("max_images", "four", "four"),
    ("size", " 2K ", "2K"), ("size", "3K", "3K"),
    ("prompt", " a fox ", " a fox "),
    ("image_input", "a.png|https://x/b.jpg", ["a.png", "https://x/b.jpg"]),
    ("image_input", " a.png | b.png |", ["a.png", "b.png"]),
    ("image_input", "a.png\nb.png", ["a.png", "b.png"]),
    ("image_input", "", []),
])
def test_parse_field_text(name: str, text: str, value: Any) -> None:
    parsed = parse_field_text(FIELD[name], text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("text", "value"), [("2.5", 2.5), ("3", 3), ("-1", -1), ("x", "x")])
def test_parse_field_text_for_a_number_field(text: str, value: Any) -> None:
    parsed = parse_field_text(FieldSpec("guidance", "number", 3.5, ""), text)
    assert parsed == value and type(parsed) is type(value)


def test_text_that_does_not_parse_is_named_by_the_schema() -> None:
    with pytest.raises(ValidationError) as info:
        SeedreamInput("a fox", max_images=parse_field_text(FIELD["max_images"], "four"))
    assert problem_lines(info.value) == ["-n/--max-images: must be a whole number, got 'four' "
                                         "(allowed: a whole number from 1 to 15)"]


@pytest.mark.parametrize(("name", "spec"), [
    ("-a", "aspect_ratio"), ("--aspect-ratio", "aspect_ratio"), ("aspect-ratio", "aspect_ratio"),
    ("aspect_ratio", "aspect_ratio"), (" -n ", "max_images"), ("--max-images", "max_images"), ("-s", "size"),
    ("--image", "image_input"), ("image", "image_input"), ("-i", "image_input"), ("image_input", "image_input"),
    ("--sequential", "sequential_image_generation"), ("enhance_prompt", "enhance_prompt"),
    ("enhance-prompt", "enhance_prompt"),
])
def test_field_for_a_name_or_an_option(name: str, spec: str) -> None:
    found = field_for(name)
    assert found is not None and found.name == spec


@pytest.mark.parametrize("name", ["--no-enhance", "no-enhance", "--bogus", "-x", "", "images"])
def test_field_for_refuses_flags_and_unknown_names(name: str) -> None:
    assert field_for(name) is None


def test_field_for_follows_the_schema() -> None:
    assert field_for("width", S45) is not None
    found = field_for("--disable-safety-checker", S45)
    assert found is not None and found.name == "disable_safety_checker", "a flag that is the field's own name"
    assert field_for("disable_safety_checker") is None, "not a field of seedream-4"


# -- the argparse options -------------------------------------------------------------------------------------


def parsed(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_field_options(parser)
    return field_values(parser.parse_args(argv))


def test_options_parse_into_field_values() -> None:
    assert parsed(["-s", "1K", "-n", "3.0", "--no-enhance", "-i", "a.png", "--image", "b.png", "-a", "16:9"]) == {
        "size": "1K", "max_images": 3, "enhance_prompt": False, "image_input": ["a.png", "b.png"],
        "aspect_ratio": "16:9"}
    assert parsed([]) == {}, "unset options keep the service's defaults"
    assert parsed(["--width", "wide"]) == {"width": "wide"}, "left for the schema to name"


def test_option_arguments_of_a_bool_and_an_int() -> None:
    names, kwargs = option_arguments(FIELD["enhance_prompt"])
    assert names == ["--no-enhance"] and kwargs["const"] is False and kwargs["action"] == "store_const"
    names, kwargs = option_arguments(FIELD["max_images"])
    assert names == ["-n", "--max-images"] and kwargs["dest"] == "max_images" and kwargs["default"] is None
    assert "only when sequential_image_generation is auto" in kwargs["help"]


# -- axes -----------------------------------------------------------------------------------------------------


def test_parse_axes_types_values_like_options() -> None:
    axes = parse_axes(["size=1K,2K", "-n=2,3.0", "enhance_prompt=y,off", "--width=2048.0,1024", "-a=1:1,16:9,"], {})
    assert axes == {"size": ["1K", "2K"], "max_images": [2, 3], "enhance_prompt": [True, False],
                    "width": [2048, 1024], "aspect_ratio": ["1:1", "16:9"]}
    assert [type(v) for v in axes["max_images"] + axes["width"]] == [int] * 4


def test_parse_axes_keeps_extra_axes_as_text() -> None:
    assert parse_axes(["model= a/b , c/d"], {}, extra=("model",)) == {"model": ["a/b", "c/d"]}


@pytest.mark.parametrize(("items", "fixed", "match"), [
    (["size"], {}, r"expected NAME=VALUE,VALUE"),
    (["=1K"], {}, r"expected NAME=VALUE,VALUE"),
    (["size=,"], {}, r"expected NAME=VALUE,VALUE"),
    (["sise=1K,2K"], {}, r"'sise' is not a field of bytedance/seedream-4; did you mean size\?"),
    (["zzz=1"], {}, r"'zzz' is not a field of bytedance/seedream-4 \(axes: size, aspect_ratio"),
    (["size=1K", "-s=2K"], {}, r"names size twice"),
    (["size=1K,2K"], {"size": "4K"}, r"-s/--size is both an option and a --compare axis"),
    (["prompt=a,b"], {}, r"cannot vary prompt"),
    (["image_input=a.png,b.png"], {}, r"cannot vary image_input"),
])
def test_parse_axes_refuses_malformed_lines(items: list[str], fixed: dict[str, Any], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        parse_axes(items, fixed)


def test_option_error_is_a_value_error() -> None:
    assert issubclass(OptionError, ValueError)


# -- implied settings -----------------------------------------------------------------------------------------


def test_imply_sequential_from_an_option_and_from_an_axis() -> None:
    fields, notes = imply_sequential({"max_images": 3})
    assert fields == {"max_images": 3, "sequential_image_generation": "auto"}
    assert notes == ["-n/--max-images 3 implies --sequential auto (a set of up to 3 images); "
                     "add --sequential disabled for one image"]
    fields, notes = imply_sequential({"size": "1K"}, {"max_images": [1, 4, 2]})
    assert fields == {"size": "1K", "sequential_image_generation": "auto"}
    assert len(notes) == 1 and notes[0].startswith("-n/--max-images 4 implies --sequential auto")


@pytest.mark.parametrize(("fields", "axes"), [
    ({"max_images": 1}, None),
    ({}, {"max_images": [1]}),
    ({"max_images": 3, "sequential_image_generation": "disabled"}, None),
    ({}, {"max_images": [2, 3], "sequential_image_generation": ["auto", "disabled"]}),
    ({"max_images": "four"}, None),
    ({"max_images": True}, None),
])
def test_imply_sequential_leaves_explicit_or_single_settings_alone(fields: dict[str, Any],
                                                                    axes: dict[str, list[Any]] | None) -> None:
    assert imply_sequential(fields, axes) == (fields, [])


def test_imply_sequential_does_nothing_for_a_model_without_sets() -> None:
    from dataclasses import replace

    table = _builtin("bytedance/seedream-4")

    single = replace(table, fields=tuple(f for f in table.fields if f.name != "sequential_image_generation"))
    assert imply_sequential({"max_images": 3}, schema=single) == ({"max_images": 3}, [])


# -- messages in option words ---------------------------------------------------------------------------------


def test_caveat_notes_speak_option_words_each_note_once() -> None:
    with caveat_notes() as notes:
        SeedreamInput("a fox", width=1500)
        SeedreamInput("a fox", width=1500)
        SeedreamInput("a fox", max_images=4)
    assert len(notes) == 2
    assert "--width/--height are ignored because --size is '2K'" in notes[0] and "--size custom" in notes[0]
    assert notes[1].startswith("-n/--max-images 4 has no effect while --sequential is 'disabled'")
    assert "--sequential auto" in notes[1]
    for note in notes:
        assert "max_images" not in note and "size='custom'" not in note and "sequential_image_generation" not in note


def test_caveat_notes_in_python_words() -> None:
    with caveat_notes(options=False) as notes:
        SeedreamInput("a fox", max_images=4)
    assert notes == ["max_images=4 has no effect while sequential_image_generation is 'disabled' (one image); "
                     "set sequential_image_generation='auto' for a set"]


def test_caveat_notes_capture_only_seedream_warnings() -> None:
    with pytest.warns(DeprecationWarning, match="something else"), caveat_notes() as notes:
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
        warnings.warn("width/height are ignored", SeedreamWarning, stacklevel=1)
    assert notes == ["--width/--height are ignored"]


def test_caveat_notes_collect_even_when_the_block_raises() -> None:
    collected: list[list[str]] = []
    with pytest.raises(ValidationError), caveat_notes() as notes:
        collected.append(notes)
        SeedreamInput("a fox", max_images=4)
        SeedreamInput("a fox", size="3K")
    (notes,) = collected
    assert len(notes) == 1 and notes[0].startswith("-n/--max-images 4")


@pytest.mark.parametrize(("text", "spoken"), [
    ("set size='custom' to use them", "set -s/--size custom to use them"),
    ("max_images=4 has no effect", "-n/--max-images 4 has no effect"),
    ("aspect_ratio is ignored", "--aspect-ratio is ignored"),
    ("enhance_prompt is off", "enhance_prompt is off"),  # a bool's flag means the opposite: not renamed
    ("the prompt is empty", "the prompt is empty"),
    ("my_size=3 and unknown='x'", "my_size=3 and unknown='x'"),
])
def test_speak_options(text: str, spoken: str) -> None:
    assert speak_options(text) == spoken


def test_problem_lines_name_each_invalid_field_as_its_option() -> None:
    with pytest.raises(ValidationError) as info:
        SeedreamInput(" ", max_images=0, size="3K", aspect_ratio="5:4")
    lines = problem_lines(info.value)
    assert len(lines) == len(info.value.invalid_fields) == 4
    assert lines[0].startswith("prompt: must not be empty")
    assert lines[1] == "-s/--size: got '3K'; allowed: 1K, 2K, 4K, custom"
    assert lines[2].startswith("-a/--aspect-ratio: got '5:4'; allowed: match_input_image, 1:1")
    assert lines[3].startswith("-n/--max-images: got 0; must be at least 1")


def test_problem_lines_follow_the_schema() -> None:
    with pytest.raises(ValidationError) as info:
        SeedreamInput("x", model="bytedance/seedream-4.5", disable_safety_checker="sure")
    assert problem_lines(info.value, S45) == ["--disable-safety-checker: must be true or false, got 'sure'"]
