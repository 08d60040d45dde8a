"""``seedream`` and provenance (issue 16): ``--no-metadata``/``--metadata label``, ``info``, ``verify``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from test_cli import no_traceback, seedream

from seedream_widgets.demo import DemoServer
from seedream_widgets.provenance import ForeignRecord, GenerationRecord, read_generation


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def made(server: DemoServer, cwd: Path, *args: str) -> dict[str, object]:
    result = seedream("generate", *args, "--json", "-q", server=server, cwd=cwd)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def sidecar(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((path.parent / "prediction.json").read_text())
    return data


@pytest.mark.parametrize(("options", "kind"), [([], GenerationRecord), (["--metadata", "label"], ForeignRecord),
                                                (["--no-metadata"], type(None)), (["--metadata", "off"], type(None))])
def test_metadata_options_choose_what_each_file_carries(demo: DemoServer, workdir: Path, options: list[str],
                                                        kind: type) -> None:
    data = made(demo, workdir, "a red fox", "--size", "1K", *options)
    path = Path(str(data["paths"][0]))  # type: ignore[index]
    record = read_generation(path)
    assert isinstance(record, kind)
    image = sidecar(path)["images"][0]  # type: ignore[index]
    backend = hashlib.sha256(demo.output_bytes(str(data["id"]), 0)).hexdigest()
    assert image["received_sha256"] == backend
    if kind is type(None):
        assert image["sha256"] == backend and image["metadata"]["mode"] == "off"  # the bytes as received
    else:
        assert image["sha256"] != backend
    if isinstance(record, ForeignRecord):
        assert record.prompt == "" and "DigitalSourceType: trainedAlgorithmicMedia" in record.notes


def test_info_prints_our_record_and_the_command_that_makes_it_again(demo: DemoServer, workdir: Path) -> None:
    data = made(demo, workdir, "a red fox in the snow", "--size", "1K", "-a", "16:9", "--no-enhance")
    path = str(data["paths"][0])  # type: ignore[index]
    result = seedream("info", path, server=demo, cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()[1:]}
    assert result.stdout.splitlines()[0] == f"{path}: a seedream-widgets record"
    assert lines["prompt"] == "a red fox in the snow" and lines["prediction"] == data["id"]
    assert lines["model"].startswith("bytedance/seedream-4") and lines["image"] == "1 of 1, 1280x720"
    assert lines["again"] == "seedream generate 'a red fox in the snow' --size 1K --aspect-ratio 16:9 --no-enhance"
    info = json.loads(seedream("info", path, "--json", server=demo, cwd=workdir).stdout)
    assert info[0]["kind"] == "seedream" and info[0]["record"]["prediction_id"] == data["id"]
    assert info[0]["record"]["input"] == {"prompt": "a red fox in the snow", "size": "1K", "aspect_ratio": "16:9",
                                          "enhance_prompt": False}


def test_info_reads_automatic1111_files_and_says_when_there_is_nothing(demo_server: DemoServer, workdir: Path) -> None:
    meta = PngImagePlugin.PngInfo()
    meta.add_text("parameters", "a castle on a hill\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, "
                                "Size: 1536x1024, Model: dreamshaper_8")
    Image.new("RGB", (64, 48), "white").save(workdir / "a1111.png", pnginfo=meta)
    Image.new("RGB", (64, 48), "white").save(workdir / "plain.png")
    result = seedream("info", "a1111.png", "plain.png", "missing.png", server=demo_server, cwd=workdir)
    assert result.returncode == 2  # a file that cannot be read wins over one without a record
    assert "a1111.png: AUTOMATIC1111 metadata" in result.stdout and "a castle on a hill" in result.stdout
    assert "dreamshaper_8" in result.stdout and "seedream generate 'a castle on a hill'" in result.stdout
    assert "plain.png: no generation record" in result.stdout
    assert "seedream info: missing.png: no such file" in result.stderr
    no_traceback(result)
    nothing = seedream("info", "plain.png", server=demo_server, cwd=workdir)
    assert nothing.returncode == 1


def test_info_reads_a_comfyui_png(demo_server: DemoServer, workdir: Path) -> None:
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "positive": ["6", 0],
                                                         "negative": ["7", 0], "model": ["4", 0]}},
             "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
             "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse in a storm"}},
             "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}}}
    meta = PngImagePlugin.PngInfo()
    meta.add_text("prompt", json.dumps(graph))
    Image.new("RGB", (64, 64), "white").save(workdir / "comfy.png", pnginfo=meta)
    result = seedream("info", "comfy.png", "--json", server=demo_server, cwd=workdir)
    assert result.returncode == 0, result.stderr
    (info,) = json.loads(result.stdout)
    assert info["kind"] == "ComfyUI" and info["record"]["prompt"] == "a lighthouse in a storm"
    assert info["record"]["model"] == "sd_xl_base_1.0.safetensors"
    assert info["again"].startswith("seedream generate 'a lighthouse in a storm'")


def test_verify_checks_files_hashes_and_records(demo: DemoServer, workdir: Path) -> None:
    runs = [made(demo, workdir, prompt, "--size", "1K", *extra)
            for prompt, extra in (("a fox", ["-n", "2"]), ("an owl", []), ("a heron", []), ("a lark", []))]
    clean = seedream("verify", server=demo, cwd=workdir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("ok: 4 runs, 5 images in ")
    fox, owl, heron, lark = (Path(str(run["paths"][0])) for run in runs)  # type: ignore[index]
    fox.with_name("2.jpg").unlink()                                     # a missing image
    owl.write_bytes(owl.read_bytes() + b"\0")                           # changed after it was stored
    (heron.parent / "prediction.json").write_text("{not json")         # an unreadable sidecar
    stripped = Image.open(lark)
    stripped.save(workdir / "plain.jpg")
    data = (workdir / "plain.jpg").read_bytes()
    lark.write_bytes(data)                                              # its record gone (and its hash)
    found = seedream("verify", server=demo, cwd=workdir)
    assert found.returncode == 1, found.stdout
    assert found.stdout.startswith("4 problems in 4 runs")
    rows = {line.split()[0].split("/")[1]: " ".join(line.split()[1:]) for line in found.stdout.splitlines()[2:]}
    assert rows[str(runs[0]["id"])] == "2.jpg missing"
    assert rows[str(runs[1]["id"])].startswith("1.jpg its sha256 is not the one recorded")
    assert rows[str(runs[2]["id"])].startswith("prediction.json missing, not readable JSON")
    assert rows[str(runs[3]["id"])].startswith("1.jpg its sha256")  # re-encoded: another hash, no record
    report = json.loads(seedream("verify", str(workdir / "out"), "--json", server=demo, cwd=workdir).stdout)
    assert report["ok"] is False and report["runs"] == 4 and len(report["problems"]) == 4
    missing = seedream("verify", "no-such-folder", server=demo, cwd=workdir)
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_verify_notices_an_embedded_record_that_names_another_run(demo: DemoServer, workdir: Path) -> None:
    first, second = (made(demo, workdir, prompt, "--size", "1K") for prompt in ("a fox", "an owl"))
    one, two = (Path(str(run["paths"][0])) for run in (first, second))  # type: ignore[index]
    two.write_bytes(one.read_bytes())
    entry = json.loads((two.parent / "prediction.json").read_text())
    entry["images"][0]["sha256"] = hashlib.sha256(one.read_bytes()).hexdigest()  # the hash agrees now
    (two.parent / "prediction.json").write_text(json.dumps(entry))
    found = seedream("verify", server=demo, cwd=workdir)
    assert found.returncode == 1 and "names another prediction" in found.stdout
