# ruff: noqa: F811  (the shared fixtures are imported from test_magics, and named again as test arguments)
"""Issues 16, 17 and 19 through the magic: provenance options and ``%seedream info``, ``%seedream history``'s
search and filters, an edit shown with its inputs, theme colours only, and messages in option words."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image
from test_magics import fresh, magics, png_bytes, run  # noqa: F401  (fixtures)

from seedream_widgets.demo import DemoServer
from seedream_widgets.magics import SeedreamMagics
from seedream_widgets.provenance import ForeignRecord, GenerationRecord, read_generation

SENTINEL = "r8_" + secrets.token_hex(16)


# -- provenance (issue 16) ---------------------------------------------------------------------------------


def received(server: DemoServer, prediction_id: str) -> str:
    return hashlib.sha256(server.output_bytes(prediction_id, 0)).hexdigest()


def test_metadata_options_choose_what_each_stored_image_carries(shell: InteractiveShell, magics: SeedreamMagics,
                                                                fresh: DemoServer) -> None:
    assert run(shell, "%%seedream -s 1K -o full\na fox with its record").error is None
    assert run(shell, "%%seedream -s 1K --no-metadata -o bare\na fox without one").error is None
    assert run(shell, "%%seedream -s 1K --metadata label -o label\na fox with only the label").error is None
    full, bare, label = (shell.user_ns.pop(name) for name in ("full", "bare", "label"))
    record = read_generation(full.path)
    assert isinstance(record, GenerationRecord) and record.prompt == "a fox with its record"
    assert record.prediction_id == full.id
    assert read_generation(bare.path) is None
    assert hashlib.sha256(bare.path.read_bytes()).hexdigest() == received(fresh, bare.id)  # the bytes as received
    labelled = read_generation(label.path)
    assert isinstance(labelled, ForeignRecord) and labelled.prompt == ""  # the AI label, not the prompt
    assert "a fox with only the label" not in label.path.read_bytes().decode("latin-1")
    assert len({id(magics.client()), *map(id, magics._clients.values())}) == 3  # a client per setting, reused
    assert run(shell, "%%seedream -s 1K --no-metadata\nagain").error is None
    assert len(magics._clients) == 3


@pytest.mark.parametrize("mode", ["text", "html"])
def test_info_prints_the_record_read_back_from_an_image(shell: InteractiveShell, magics: SeedreamMagics,
                                                        fresh: DemoServer, tmp_path: Path, mode: str) -> None:
    assert run(shell, "%%seedream --model seedream-5-lite -s 3K -a 4:3 --output-format png -o fox\n"
                      "a red fox, 'quoted'").error is None
    fox = shell.user_ns.pop("fox")
    copy = tmp_path / "copied into a slide deck.png"
    copy.write_bytes(fox.path.read_bytes())  # the record travels with the file
    magics.display_mode = mode
    requests = fresh.stats.total_requests
    cell = run(shell, f'%seedream info "{copy}"')
    assert cell.error is None, cell.text
    shown = cell.stdout if mode == "text" else cell.html()
    for words in ("a red fox, ", "bytedance/seedream-5-lite", fox.id, "-s/--size", "3K", "-a/--aspect-ratio",
                  "--output-format", "png", "the local demo backend"):
        assert words in shown, words
    again = "%%seedream --model bytedance/seedream-5-lite --size 3K --aspect-ratio 4:3 --output-format png"
    assert again in shown
    if mode == "html":
        assert 'class="seedream-info"' in shown and "&#x27;quoted&#x27;" in shown  # escaped
    else:
        assert not cell.outputs
    assert fresh.stats.total_requests == requests  # read from the file alone


def test_info_of_a_file_without_a_record_and_of_no_file(shell: InteractiveShell, magics: SeedreamMagics,
                                                        fresh: DemoServer, tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    plain.write_bytes(png_bytes())
    cell = run(shell, f"%seedream info {plain}")
    assert cell.error is None and "no generation record" in cell.stdout
    cell = run(shell, f"%seedream info {tmp_path / 'missing.png'}")
    assert type(cell.error) is UsageError and "no such file" in cell.text


# -- history through the index (issue 17) -------------------------------------------------------------------


def test_history_searches_and_filters_through_the_index(shell: InteractiveShell, magics: SeedreamMagics,
                                                        fresh: DemoServer) -> None:
    for line, prompt in [("-s 1K", "a red fox in the snow"), ("-s 1K", "a snowy owl"),
                         ("--model seedream-5-lite -s 2K", "a red fox at dusk")]:
        assert run(shell, f"%%seedream {line}\n{prompt}").error is None
    gallery = magics.client().gallery
    owl = gallery.search("owl")[0]
    gallery.star(owl.id)
    magics.display_mode = "text"

    def listed(line: str) -> list[str]:
        cell = run(shell, f"%seedream history {line}")
        assert cell.error is None, cell.text
        return [row.split("  ")[-1] for row in cell.stdout.splitlines()]

    assert listed("") == ["a red fox at dusk", "★ a snowy owl", "a red fox in the snow"]
    assert listed('--search "red fox"') == ["a red fox at dusk", "a red fox in the snow"]
    assert listed("1 --search fox") == ["a red fox at dusk"]
    assert listed("--starred") == ["★ a snowy owl"]
    assert listed("--model seedream-5-lite") == ["a red fox at dusk"]
    assert listed("--model bytedance/seedream-4 --search fox") == ["a red fox in the snow"]
    cell = run(shell, "%seedream history --search zebra --starred")
    assert cell.stdout.startswith("no stored runs matching 'zebra' starred in ")
    magics.display_mode = "html"
    html = run(shell, "%seedream history --starred").html()
    assert 'class="seedream-history"' in html and "★ a snowy owl" in html and "<img" in html


# -- what a person sees (issue 19) ------------------------------------------------------------------------------


def test_an_edit_is_shown_with_its_inputs(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer,
                                          tmp_path: Path) -> None:
    source = tmp_path / "cat.png"
    Image.new("RGB", (96, 64), "orange").save(source)
    cell = run(shell, f"%%seedream -s 1K -i {source}\ngive the cat a hat")
    assert cell.error is None, cell.text
    final = cell.final()[-1]["text/html"]
    assert 'class="seedream-result"' in final and 'class="seedream-inputs"' in final
    assert final.count("<img") == 2 and "input 1" in final  # the source, then the output


def test_the_magic_draws_with_the_theme_colours_only() -> None:
    from seedream_widgets import magics

    for path in Path(str(magics.__file__)).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b(?![\w-])", source.replace("#x27", "")), path  # no hex colours
        assert not re.search(r"\b(?:rgba?|hsla?)\(", source), path
        assert not re.search(r"[;\"'](?:color|background)\s*:\s*(?!\{|var\()", source), path  # CSS colours


PYTHON_WORDS = ("resume(", "max_cost", "=[", "='", "timeout=", "sequential_image_generation", "max_images",
                "image_input", "enhance_prompt", "in_flight()")
"""How the engine spells things for Python; a magic user types options and %seedream commands."""


@pytest.mark.parametrize(("line", "body"), [
    ("-s 1K -n 3 --sequential disabled", "a fox"),
    ("-s 1K --width 1024", "a fox"),
    ("--size 3K -n 99 -a 5:4", "a fox"),
    ("--model seedream-4.5 --size 1K --no-enhance", "a fox"),
    ("--model seedream-5-lite --size custom --width 1024", "a fox"),
    ("-s 1K --compare animal=fox,owl", "a {animal} in the {weather}"),
    ("-s 1K --compare animl=fox,owl", "a {animal}"),
    ("-s 1K -n 3 --max-cost 0.01", "a fox"),
    ("-s 1K --timeout 0.3", "[demo:slow=3] a fox"),
    ("-s 1K -i notes.txt", "a fox"),
])
@pytest.mark.parametrize("mode", ["text", "html"])
def test_every_message_speaks_options(shell: InteractiveShell, magics: SeedreamMagics, fresh: DemoServer,
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path, line: str, body: str,
                                      mode: str) -> None:
    monkeypatch.setenv("SEEDREAM_API_TOKEN", SENTINEL)  # priced, so --max-cost applies
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("not an image", encoding="utf-8")
    magics.display_mode = mode
    cell = run(shell, f"%%seedream {line}\n{body}")
    boxes = re.findall(r'class="seedream-(?:note|error)".*?</div>', cell.html(), re.S)  # notes and errors only
    said = "\n".join([cell.text, *boxes, *(o.data.get("text/plain", "") for o in cell.outputs
                                          if 'class="seedream-note"' in o.data.get("text/html", ""))])
    assert "note: " in said or cell.error is not None, said  # every case says something
    for words in PYTHON_WORDS:
        assert words not in said, f"{words!r} in: {said[:2000]}"
    if "--timeout" in line:
        assert isinstance(cell.error, Exception) and re.search(r"%seedream open \w+", said), said[:2000]
