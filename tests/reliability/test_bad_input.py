"""Bad input battery: every case is refused before any request, with a message naming the field and what is allowed.

Three tables: the Python API (``Seedream.generate`` and friends), local files
and URLs given as input images, and the ``%%seedream`` magic's options. For
every row the demo backend must have seen no request at all
(``stats.total_requests == 0``), and the message must name the field (or the
option) and say what would be accepted.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from seedream_widgets import CostLimitExceeded, Seedream, SeedreamError, ValidationError
from seedream_widgets.demo import DemoServer
from seedream_widgets.schema import MAX_INPUT_IMAGES

from .conftest import SENTINEL, Figures, leftovers

URL = "https://example.com/cat.png"
ELEVEN = [f"https://example.com/{i}.png" for i in range(MAX_INPUT_IMAGES + 1)]
TEN = ELEVEN[:MAX_INPUT_IMAGES]
SIZES = "1K, 2K, 4K, custom"
RATIOS = "match_input_image, 1:1, 4:3"
WIDTHS = "a whole number from 1024 to 4096"
MAX_IMAGES = "a whole number from 1 to 15"
BOOL = "true or false"
URIS = "http(s) URLs or data: URIs"


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    return buffer.getvalue()


# (id, prompt, fields, the fields the error must name, words the message must contain)
API_CASES: list[tuple[str, Any, dict[str, Any], set[str], tuple[str, ...]]] = [
    ("empty prompt", "", {}, {"prompt"}, ("prompt", "must not be empty")),
    ("whitespace prompt", " \n\t ", {}, {"prompt"}, ("prompt", "must not be empty")),
    ("None prompt", None, {}, {"prompt"}, ("prompt", "must be text, got NoneType")),
    ("int prompt", 42, {}, {"prompt"}, ("prompt", "must be text, got int")),
    ("bytes prompt", b"a fox", {}, {"prompt"}, ("prompt", "must be text, got bytes")),
    ("list prompt", ["a", "fox"], {}, {"prompt"}, ("prompt", "must be text")),
    ("size 3K", "x", {"size": "3K"}, {"size"}, ("size", "'3K'", SIZES)),
    ("size lower case", "x", {"size": "1k"}, {"size"}, ("size", "'1k'", SIZES)),
    ("size as pixels", "x", {"size": 2048}, {"size"}, ("size", "2048", SIZES)),
    ("size None", "x", {"size": None}, {"size"}, ("size", SIZES)),
    ("aspect ratio 5:4", "x", {"aspect_ratio": "5:4"}, {"aspect_ratio"}, ("aspect_ratio", "'5:4'", RATIOS)),
    ("aspect ratio 16/9", "x", {"aspect_ratio": "16/9"}, {"aspect_ratio"}, ("aspect_ratio", RATIOS)),
    ("aspect ratio float", "x", {"aspect_ratio": 1.5}, {"aspect_ratio"}, ("aspect_ratio", RATIOS)),
    ("width too small", "x", {"size": "custom", "width": 512}, {"width"}, ("width", "at least 1024", WIDTHS)),
    ("width too large", "x", {"size": "custom", "width": 8192}, {"width"}, ("width", "at most 4096", WIDTHS)),
    ("width negative", "x", {"size": "custom", "width": -2048}, {"width"}, ("width", "at least 1024")),
    ("width fractional", "x", {"size": "custom", "width": 2048.5}, {"width"}, ("width", "whole number", WIDTHS)),
    ("width NaN", "x", {"size": "custom", "width": math.nan}, {"width"}, ("width", "nan", WIDTHS)),
    ("width infinite", "x", {"size": "custom", "width": math.inf}, {"width"}, ("width", "inf", WIDTHS)),
    ("height as text", "x", {"size": "custom", "height": "2048"}, {"height"}, ("height", "whole number", WIDTHS)),
    ("height as bool", "x", {"size": "custom", "height": True}, {"height"}, ("height", "whole number")),
    ("max_images 0", "x", {"sequential_image_generation": "auto", "max_images": 0}, {"max_images"},
     ("max_images", "at least 1", MAX_IMAGES)),
    ("max_images 16", "x", {"sequential_image_generation": "auto", "max_images": 16}, {"max_images"},
     ("max_images", "at most 15", MAX_IMAGES)),
    ("max_images negative", "x", {"max_images": -3}, {"max_images"}, ("max_images", "at least 1")),
    ("max_images float", "x", {"max_images": 2.5}, {"max_images"}, ("max_images", "whole number", MAX_IMAGES)),
    ("max_images NaN", "x", {"max_images": math.nan}, {"max_images"}, ("max_images", "whole number")),
    ("sequential on", "x", {"sequential_image_generation": "on"}, {"sequential_image_generation"},
     ("sequential_image_generation", "disabled, auto")),
    ("sequential True", "x", {"sequential_image_generation": True}, {"sequential_image_generation"},
     ("sequential_image_generation", "disabled, auto")),
    ("enhance yes", "x", {"enhance_prompt": "yes"}, {"enhance_prompt"}, ("enhance_prompt", BOOL)),
    ("enhance 1", "x", {"enhance_prompt": 1}, {"enhance_prompt"}, ("enhance_prompt", BOOL)),
    ("11 input images", "x", {"image_input": ELEVEN}, {"image_input"}, ("image_input", "11 images", "at most 10")),
    ("inputs + max_images over 15", "x",
     {"image_input": TEN, "sequential_image_generation": "auto", "max_images": 6}, {"max_images"},
     ("max_images", "10 input images + max_images 6", "at most 5 with 10 input images")),
    ("file: URL", "x", {"image_input": ["file:///etc/passwd"]}, {"image_input"}, ("image_input", "'file:'", URIS)),
    ("javascript: URL", "x", {"image_input": ["javascript:alert(1)"]}, {"image_input"},
     ("image_input", "'javascript:'", URIS)),
    ("JAVASCRIPT: upper case", "x", {"image_input": ["JAVASCRIPT:alert(1)"]}, {"image_input"},
     ("image_input", "JAVASCRIPT", URIS)),
    ("ftp: URL", "x", {"image_input": ["ftp://example.com/cat.png"]}, {"image_input"}, ("image_input", "'ftp:'", URIS)),
    ("data URI not an image", "x", {"image_input": ["data:text/html;base64,PHNjcmlwdD4="]}, {"image_input"},
     ("image_input", "data:image/png;base64")),
    ("data URI over the inline cap", "x",
     {"image_input": ["data:image/png;base64," + "A" * (15 * 2**20)]}, {"image_input"},
     ("image_input", "MB", "at most 10 MB")),
    ("image as a number", "x", {"image_input": [42]}, {"image_input"}, ("image_input", "int", URIS)),
    ("image as an object", "x", {"image_input": [object()]}, {"image_input"}, ("image_input", "object", URIS)),
    ("bytes that are no image", "x", {"image_input": [b"GIF? no, just text"]}, {"image_input"},
     ("image_input", "not an image", "PNG, JPEG")),
    ("unknown keyword aspect", "x", {"aspect": "4:3"}, {"aspect"},
     ("aspect", "did you mean 'aspect_ratio'", "prompt, image_input, size")),
    ("unknown keyword seed", "x", {"seed": 7}, {"seed"}, ("seed", "is not a field", "prompt, image_input, size")),
    ("unknown keyword num_outputs", "x", {"num_outputs": 2}, {"num_outputs"}, ("num_outputs", "is not a field")),
    ("unknown keyword negative_prompt", "x", {"negative_prompt": "blur"}, {"negative_prompt"},
     ("negative_prompt", "is not a field")),
    ("several at once", " ", {"size": "3K", "max_images": 99, "aspect": "4:3"},
     {"prompt", "size", "max_images", "aspect"}, ("prompt", "size", SIZES, "max_images", "at most 15", "aspect")),
]


@pytest.fixture
def client(server: DemoServer, tmp_path: Path) -> Iterator[Seedream]:
    with Seedream(token=SENTINEL, base_url=server.base_url, output_dir=tmp_path / "out") as c:
        yield c


def check_refusal(exc: BaseException, server: DemoServer | None, fields: set[str], words: tuple[str, ...]) -> None:
    assert isinstance(exc, ValidationError), f"{type(exc).__name__}: {exc}"
    assert set(exc.fields) == fields
    message = str(exc)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert all(f.allowed for f in exc.invalid_fields), "every violation says what is allowed"
    if server is not None:
        assert server.stats.total_requests == 0, "refused before any request"


@pytest.mark.parametrize(("name", "prompt", "fields", "named", "words"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_bad_input_before_any_request(name: str, prompt: Any, fields: dict[str, Any], named: set[str],
                                                  words: tuple[str, ...], client: Seedream, server: DemoServer,
                                                  tmp_path: Path, figures: Figures) -> None:
    with pytest.raises(SeedreamError) as info:
        client.generate(prompt, **fields)
    check_refusal(info.value, server, named, words)
    assert leftovers(tmp_path / "out") == []
    figures.refuse("bad input: API")


# -- local files as input images -------------------------------------------------------------------


def make_file(kind: str, root: Path) -> str:
    """A path that cannot be used as an input image, of the given kind."""
    path = root / f"{kind}.png"
    if kind == "missing":
        return str(root / "no-such-dir" / "cat.png")
    if kind == "directory":
        path.mkdir()
    elif kind == "dangling symlink":
        path.symlink_to(root / "nowhere.png")
    elif kind == "unreadable":
        if os.geteuid() != 0:
            path.write_bytes(png())
            path.chmod(0)
        else:  # root reads any file: a regular file whose read fails instead
            return "/proc/self/mem"
    elif kind == "text named .png":
        path.write_text("<html><script>alert(1)</script></html>")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":
        with open(path, "wb") as fh:  # sparse: 11 MB on paper, nothing on disk
            fh.write(png())
            fh.truncate(11 * 2**20)
    elif kind == "truncated header":
        path.write_bytes(png()[:6])
    return str(path)


FILE_CASES = [
    ("missing", ("cannot read", "no-such-dir")),
    ("directory", ("is not a file",)),
    ("dangling symlink", ("cannot read",)),
    ("unreadable", ("cannot read",)),
    ("text named .png", ("not an image", "PNG, JPEG")),
    ("empty", ("not an image",)),
    ("huge", ("11.5 MB", "at most 10 MB", "resize it")),
    ("truncated header", ("not an image",)),
]


@pytest.mark.parametrize(("kind", "words"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unusable_files_are_refused_before_any_request(kind: str, words: tuple[str, ...], client: Seedream,
                                                       server: DemoServer, tmp_path: Path, figures: Figures) -> None:
    source = make_file(kind, tmp_path)
    with pytest.raises(SeedreamError) as info:
        client.generate("edit this", image_input=[source], size="1K")
    check_refusal(info.value, server, {"image_input"}, ("image_input", *words))
    figures.refuse("bad input: files")


# -- the other doors of the API -------------------------------------------------------------------------


OTHER_DOORS: list[tuple[str, Callable[[Seedream], Any], set[str], tuple[str, ...]]] = [
    ("build_input unknown field", lambda c: c.build_input("x", sizes="1K"), {"sizes"}, ("did you mean 'size'",)),
    ("create low level bad size", lambda c: c.create("x", size="8K"), {"size"}, (SIZES,)),
    ("generate_many item without prompt", lambda c: c.generate_many([{"size": "1K"}], progress=False)[0],
     {"prompt"}, ("is required",)),
    ("generate_many shared bad field", lambda c: c.generate_many(["a", "b"], aspect_ratio="2:1", progress=False)[1],
     {"aspect_ratio"}, (RATIOS,)),
    ("compare without an axis", lambda c: c.compare("x", size="1K", progress=False), {"axes"},
     ("at least one axis",)),
    ("timeout negative", lambda c: c.generate("x", size="1K", timeout=-5), {"timeout"}, ("above 0",)),
    ("timeout NaN", lambda c: c.generate("x", size="1K", timeout=math.nan), {"timeout"}, ("above 0",)),
    ("timeout as text", lambda c: c.generate("x", size="1K", timeout="10"), {"timeout"}, ("number of seconds",)),
]


@pytest.mark.parametrize(("name", "call", "named", "words"), OTHER_DOORS, ids=[c[0] for c in OTHER_DOORS])
def test_other_api_doors_refuse_before_any_request(name: str, call: Callable[[Seedream], Any], named: set[str],
                                                   words: tuple[str, ...], client: Seedream, server: DemoServer,
                                                   figures: Figures) -> None:
    try:
        outcome = call(client)
    except SeedreamError as exc:
        outcome = exc
    check_refusal(outcome, server, named, words)
    figures.refuse("bad input: API")


def test_compare_refuses_a_bad_axis_value_without_a_request_for_it(client: Seedream, server: DemoServer) -> None:
    """compare() checks every cell before it sends anything: a bad axis value refuses the grid, naming it."""
    with pytest.raises(ValidationError) as info:
        client.compare("x", size=["1K", "5K"], progress=False)
    check_refusal(info.value, None, {"size"}, ("'5K'", SIZES))
    assert server.stats.total_requests == 0 and server.stats.creates == 0


def test_data_uri_at_the_cap_is_accepted(client: Seedream, server: DemoServer) -> None:
    """The inline cap refuses only what is really over it: a real image as a data URI still goes through."""
    uri = "data:image/png;base64," + base64.b64encode(png((300, 200))).decode("ascii")
    result = client.generate("edit this", image_input=[uri], size="1K")
    assert result.paths[0].is_file() and server.stats.creates == 1


# -- the magic's options ---------------------------------------------------------------------------------


# (id, the %%seedream line, the cell body, the exception class, words the message must contain: fields are
# named as the options that set them, -n/--max-images)
MAGIC_CASES: list[tuple[str, str, str, type[BaseException], tuple[str, ...]]] = [
    ("underscore spelling", "--aspect_ratio 4:3", "a fox", UsageError, ("--aspect_ratio", "--aspect-ratio")),
    ("plural spelling", "--sizes 1K", "a fox", UsageError, ("--sizes", "--size")),
    ("other API's name", "--num-outputs 2", "a fox", UsageError, ("--num-outputs", "known options are", "--size")),
    ("not a field", "--seed 42", "a fox", UsageError, ("--seed", "did you mean")),
    ("unknown short", "-x", "a fox", UsageError, ("-x",)),
    ("long flip", "--no-enhance-prompt", "a fox", UsageError, ("--no-enhance-prompt", "--no-enhance")),
    ("ambiguous prefix", "--n 2", "a fox", UsageError, ("--n", "--no-enhance", "--no-wait")),
    ("size value", "--size 3K", "a fox", ValidationError, ("size", "'3K'", SIZES)),
    ("aspect value", "-a 5:4", "a fox", ValidationError, ("-a/--aspect-ratio", "'5:4'", RATIOS)),
    ("width NaN", "--size custom --width nan", "a fox", ValidationError, ("width", "'nan'", "1024 to 4096")),
    ("width float", "--size custom --width 1.5", "a fox", ValidationError, ("width", "'1.5'", "1024 to 4096")),
    ("width out of range", "--size custom --width 100", "a fox", ValidationError, ("width", "at least 1024")),
    ("max images negative", "-n -3", "a fox", ValidationError, ("-n/--max-images", "at least 1", MAX_IMAGES)),
    ("max images word", "-n many", "a fox", ValidationError, ("-n/--max-images", "whole number", "'many'", "1 to 15")),
    ("sequential value", "--sequential on", "a fox", ValidationError, ("--sequential", "auto")),
    ("file: image", "--image file:///etc/passwd", "a fox", ValidationError, ("-i/--image", "'file:'")),
    ("javascript: image", "--image javascript:alert(1)", "a fox", ValidationError, ("-i/--image", "'javascript:'")),
    ("ftp: image", "--image ftp://example.com/a.png", "a fox", ValidationError, ("-i/--image", "'ftp:'")),
    ("11 images", " ".join(f"--image {u}" for u in ELEVEN), "a fox", ValidationError, ("-i/--image", "at most 10")),
    ("images + n over 15", " ".join(f"--image {u}" for u in TEN) + " -n 6", "a fox", ValidationError,
     ("-n/--max-images", "at most 5 with 10 input images")),
    ("empty body", "--size 1K", "", UsageError, ("cell body is empty",)),  # IPython's own refusal
    ("whitespace body", "--size 1K", "  \n\t\n ", ValidationError, ("prompt", "must not be empty")),
    ("timeout negative", "--timeout -1", "a fox", UsageError, ("--timeout", "positive")),
    ("timeout NaN", "--timeout nan", "a fox", UsageError, ("--timeout", "positive", "nan")),
    ("compare unknown field", "--compare seed=1,2", "a fox", UsageError, ("seed", "axes:")),
    ("compare bad value", "--compare size=1K,5K", "a fox", ValidationError, ("size", "'5K'", SIZES)),
    # other models' options (issue 15), cost and provenance options, templates (issue 21)
    ("4.5 has no 1K", "--model seedream-4.5 --size 1K", "a fox", ValidationError, ("-s/--size", "2K, 4K, custom")),
    ("5-lite has no custom", "--model bytedance/seedream-5-lite --size custom", "a fox", ValidationError,
     ("-s/--size", "2K, 3K")),
    ("5-lite option on seedream-4", "--output-format png", "a fox", UsageError, ("--output-format",)),
    ("model axis, bad option", "--compare model=seedream-4,seedream-5-lite --frobnicate", "a fox", UsageError,
     ("--frobnicate",)),
    ("max cost negative", "--max-cost -1", "a fox", UsageError, ("--max-cost", "US dollars")),
    ("over max cost", "-s 1K -n 3 --max-cost 0.01", "a fox", CostLimitExceeded, ("--max-cost", "nothing was sent")),
    ("metadata value", "--metadata some", "a fox", UsageError, ("--metadata", "full")),
    ("placeholder without values", "--compare animal=fox,owl", "a {animal} in the {weather}", ValidationError,
     ("{weather}", "--compare weather=A,B")),
    ("placeholder misspelt", "--compare animl=fox,owl", "a {animal}", UsageError, ("animl", "did you mean animal")),
    ("unclosed value quote", "--compare 'style=\"oil, paint'", "a {style}", UsageError, ("double quote",)),
]


@pytest.mark.parametrize(("name", "line", "body", "error", "words"), MAGIC_CASES, ids=[c[0] for c in MAGIC_CASES])
def test_magic_refuses_bad_options_before_any_request(name: str, line: str, body: str, error: type[BaseException],
                                                      words: tuple[str, ...], magic_shell: InteractiveShell,
                                                      server: DemoServer, tmp_path: Path, figures: Figures) -> None:
    with capture_output() as captured:
        outcome = magic_shell.run_cell(f"%%seedream {line}\n{body}")
    exc = outcome.error_in_exec
    assert isinstance(exc, error), f"{type(exc).__name__}: {exc}"
    shown = captured.stdout + captured.stderr + "".join(
        str(o.data.get("text/html", "")) + str(o.data.get("text/plain", "")) for o in captured.outputs)
    for word in words:
        assert word in shown, f"{word!r} missing from: {shown}"
    assert "Traceback" not in shown
    assert SENTINEL not in shown
    assert server.stats.total_requests == 0, "refused before any request"
    assert leftovers(tmp_path / "magic-out") == []
    figures.refuse("bad input: magic")


# -- the command line's options ----------------------------------------------------------------------------


# (id, the arguments after "seedream generate", words stderr must contain)
CLI_CASES: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("underscore spelling", ["a fox", "--aspect_ratio", "4:3"], ("--aspect_ratio",)),
    ("not a field", ["a fox", "--seed", "3"], ("--seed",)),
    ("size value", ["a fox", "--size", "3K"], ("-s/--size: ", "'3K'", SIZES)),
    ("max images 0", ["a fox", "-n", "0"], ("-n/--max-images: ", "at least 1")),
    ("width NaN", ["a fox", "--size", "custom", "--width", "nan"], ("--width", "nan")),
    ("file: image", ["a fox", "--image", "file:///etc/passwd"], ("-i/--image: ", "'file:'")),
    ("javascript: image", ["a fox", "--image", "javascript:alert(1)"], ("-i/--image: ", "'javascript:'")),
    ("11 images", ["a fox", *[a for u in ELEVEN for a in ("--image", u)]], ("-i/--image: ", "at most 10")),
    ("timeout NaN", ["a fox", "--timeout", "nan"], ("--timeout", "nan")),
    ("timeout negative", ["a fox", "--timeout=-1"], ("--timeout",)),
    ("whitespace prompt", ["  "], ("prompt", "must not be empty")),
]


@pytest.mark.parametrize(("name", "argv", "words"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_command_line_refuses_bad_options_before_any_request(name: str, argv: list[str], words: tuple[str, ...],
                                                             server: DemoServer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str],
                                                             figures: Figures) -> None:
    from seedream_widgets.cli import EXIT_USAGE, main

    monkeypatch.setenv("SEEDREAM_BASE_URL", server.base_url)
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)
    monkeypatch.setenv("SEEDREAM_OUTPUT_DIR", str(tmp_path / "cli-out"))
    try:
        status = main(["generate", *argv])
    except SystemExit as exit_:  # argparse's own refusals
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert status == EXIT_USAGE, captured
    for word in words:
        assert word in captured.err, f"{word!r} missing from: {captured.err}"
    assert "Traceback" not in captured.err and SENTINEL not in captured.err + captured.out
    assert server.stats.total_requests == 0, "refused before any request"
    assert leftovers(tmp_path / "cli-out") == []
    figures.refuse("bad input: command line")
