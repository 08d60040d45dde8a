"""``binder/``: consistent with ``pyproject.toml``, and enough on its own to run the quickstart.

repo2docker ignores the root ``pyproject.toml`` once ``binder/`` exists and runs
``pip install -r binder/requirements.txt`` from the repository root, then ``binder/postBuild``.
The fast tests read the files; the slow one does what repo2docker does in a fresh venv (pip's
cache and the machine's package index, as any install here) and then uses only that venv: it
executes the quickstart with the venv's kernel, and serves the badge URLs (the lab on the
quickstart, the Voila app) with the venv's JupyterLab, whose settings come from postBuild.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _processes import stop
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the package supports 3.10, these checks need not

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

TRANSITIVE_PINS = {"jupyterlab-widgets": "ipywidgets' JupyterLab manager, pinned to match the ipywidgets pin"}
"""Pins of packages the project does not name itself, and why they are pinned."""
SUBSHELL_BUG = SpecifierSet(">=7.0,<7.4")
"""ipykernel releases that mishandle widget callbacks on subshell threads (ipykernel issue 1510)."""

INSTALL_TIMEOUT = 900
"""Seconds for ``pip install -r binder/requirements.txt`` (about 20 s with a warm pip cache)."""
EXECUTE_TIMEOUT = 240
SERVER_TIMEOUT = 90


def _requirement_lines() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in _requirement_lines():
        if line.startswith("-e"):
            continue
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{line!r}: pin an exact version (==)"
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{name} is pinned twice"
        pins[name] = Version(specs[0].version)
    return pins


def _declared_ranges() -> dict[str, list[SpecifierSet]]:
    """Every range pyproject.toml gives a package: dependencies and every extra."""
    ranges: dict[str, list[SpecifierSet]] = {}
    groups = [PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"].values()]
    for group in groups:
        for line in group:
            requirement = Requirement(line)
            ranges.setdefault(canonicalize_name(requirement.name), []).append(requirement.specifier)
    return ranges


# -- the files ------------------------------------------------------------------------------------------


def test_requirements_install_this_repository_and_nothing_of_the_same_name() -> None:
    lines = _requirement_lines()
    assert "-e ." in lines, "binder/requirements.txt must install the package from the repository (-e .)"
    assert PYPROJECT["project"]["name"] == "seedream-widgets"
    names = {canonicalize_name(Requirement(line).name) for line in lines if not line.startswith("-e")}
    assert "seedream-widgets" not in names, "the package must come from the repository, not from an index"


def test_pins_are_exact_and_inside_the_package_ranges() -> None:
    pins, ranges = _pins(), _declared_ranges()
    assert {"jupyterlab", "ipywidgets", "ipykernel", "voila"} <= set(pins)
    for name, version in pins.items():
        if name in TRANSITIVE_PINS:
            continue
        assert name in ranges, f"{name} is pinned for Binder but pyproject.toml does not depend on it"
        for specifier in ranges[name]:
            assert version in specifier, f"binder pins {name}=={version}, outside pyproject's {specifier}"


def test_the_kernel_pin_avoids_the_subshell_bug() -> None:
    pins = _pins()
    if pins["jupyterlab"] >= Version("4.4"):
        assert pins["ipykernel"] not in SUBSHELL_BUG, (
            f"ipykernel {pins['ipykernel']} with JupyterLab {pins['jupyterlab']}: widget callbacks on subshell "
            "threads break (ipykernel issue 1510); use 7.4 or later")
    assert pins["ipywidgets"] in SpecifierSet("~=8.1.0")
    assert pins["jupyterlab-widgets"] in SpecifierSet("~=3.0.0")  # the manager of ipywidgets 8.1
    assert pins["jupyterlab"] in SpecifierSet(">=4,<5")


def test_runtime_is_a_python_the_package_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"runtime.txt: {runtime!r} is not python-X.Y"
    assert Version(match.group(1)) in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_overrides_turn_off_the_news_toast() -> None:
    overrides = json.loads((BINDER / "overrides.json").read_text(encoding="utf-8"))
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification["fetchNews"] == "false"  # the setting is a string enum: "true" | "false" | "none"
    assert notification["checkForUpdates"] is False


def test_postbuild_copies_the_overrides_into_the_lab_settings(tmp_path: Path) -> None:
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK), "postBuild must be executable"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash") and re.search(r"^set -e", text, re.M)
    subprocess.run([str(script)], cwd=ROOT, env={**os.environ, "NB_PYTHON_PREFIX": str(tmp_path)},
                   check=True, timeout=30)
    copied = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert copied.read_bytes() == (BINDER / "overrides.json").read_bytes()


def test_postbuild_fails_loudly_without_its_prefix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NB_PYTHON_PREFIX"}
    done = subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env=env, capture_output=True, timeout=30)
    assert done.returncode != 0


# -- an environment built only from binder/ -----------------------------------------------------------------

RUNNER = textwrap.dedent("""
    # Runs inside the Binder venv: execute a notebook with nbclient and that venv's python3 kernel.
    import sys

    import nbformat
    from nbclient import NotebookClient

    source, target, workdir = sys.argv[1:4]
    nb = nbformat.read(source, as_version=4)
    # One extra cell, in this copy only: which interpreter and which package the kernel used.
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, seedream_widgets; print('KERNEL', sys.prefix, seedream_widgets.__file__)"))
    NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": workdir}}).execute()
    nbformat.write(nb, target)
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh venv made the way repo2docker makes the Binder image (requirements, then postBuild)."""
    base = tmp_path_factory.mktemp("binder")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
         "-r", "binder/requirements.txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert install.returncode == 0, f"pip install -r binder/requirements.txt failed:\n{install.stdout[-3000:]}" \
                                    f"\n{install.stderr[-3000:]}"
    subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env={**os.environ, "NB_PYTHON_PREFIX": str(venv)},
                   check=True, timeout=30)
    home = base / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SEEDREAM_", "REPLICATE_", "JUPYTER", "IPYTHON", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"))
    return {"venv": venv, "python": python, "env": env, "base": base}


@pytest.mark.slow
@pytest.mark.kernel
def test_the_binder_environment_resolves_to_the_pins(binder_env: dict[str, Any]) -> None:
    python = binder_env["python"]
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    frozen = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=120, check=True)
    installed = {canonicalize_name(p["name"]): p for p in json.loads(frozen.stdout)}
    for name, version in _pins().items():
        assert Version(installed[name]["version"]) == version, f"{name}: {installed[name]['version']} != {version}"
    package = installed["seedream-widgets"]
    assert Path(package.get("editable_project_location", "")).resolve() == ROOT


@pytest.mark.slow
@pytest.mark.kernel
def test_the_quickstart_runs_in_the_binder_environment(binder_env: dict[str, Any]) -> None:
    base: Path = binder_env["base"]
    workdir, outputs = base / "quickstart", base / "quickstart" / "outputs"
    workdir.mkdir()
    runner = base / "run_notebook.py"
    runner.write_text(RUNNER, encoding="utf-8")
    executed = workdir / "executed.ipynb"
    env = {**binder_env["env"], "SEEDREAM_OUTPUT_DIR": str(outputs)}
    done = subprocess.run([str(binder_env["python"]), str(runner), str(ROOT / "notebooks" / "01-quickstart.ipynb"),
                           str(executed), str(workdir)],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=EXECUTE_TIMEOUT)
    assert done.returncode == 0, f"the quickstart failed in the Binder venv:\n{done.stderr[-4000:]}"

    notebook = json.loads(executed.read_text(encoding="utf-8"))
    outputs_seen = [out for cell in notebook["cells"] if cell["cell_type"] == "code" for out in cell["outputs"]]
    assert not [out for out in outputs_seen if out["output_type"] == "error"]
    html = "".join("".join(out.get("data", {}).get("text/html", "")) for out in outputs_seen)
    assert html.count("<img") >= 2 and "data:image/jpeg;base64," in html  # the fox, and its history row
    text = "".join("".join(out.get("text", "")) for out in outputs_seen)
    kernel_line = next(line for line in text.splitlines() if line.startswith("KERNEL "))
    _, prefix, module = kernel_line.split(" ", 2)
    assert Path(prefix).resolve() == binder_env["venv"].resolve(), "the notebook ran on another interpreter"
    assert Path(module).resolve().is_relative_to(ROOT)  # the editable install of this repository
    assert len(list(outputs.rglob("prediction.json"))) == 1 and len(list(outputs.rglob("*.jpg"))) == 1


def readme_urlpaths() -> tuple[str, str]:
    """The README's two Binder ``?urlpath=`` values: the quickstart in JupyterLab, then the Voila app."""
    paths = re.findall(r"urlpath=([\w./-]+)", (ROOT / "README.md").read_text("utf-8"))
    lab = [p for p in paths if p.startswith("lab/tree/")]
    voila = [p for p in paths if p.startswith("voila/render/")]
    assert lab and voila, "the README says how to open the quickstart and the Voila app on Binder"
    for path in (lab[0], voila[0]):
        assert (ROOT / path.split("/", 2)[2]).is_file(), f"the README's Binder link {path} names no notebook"
    return lab[0], voila[0]


def test_the_readme_has_no_placeholder_repository() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    assert "ORG/REPO" not in text and "mybinder.org/v2/gh/<owner>/<repo>/main?urlpath=" in text
    readme_urlpaths()


@pytest.mark.slow
@pytest.mark.kernel
def test_the_binder_urls_serve_the_quickstart_and_the_voila_app(binder_env: dict[str, Any]) -> None:
    """The two Binder urlpaths the README gives, on the venv's own JupyterLab, with postBuild's settings."""
    lab_path, voila_path = readme_urlpaths()
    base: Path = binder_env["base"]
    root = base / "repo"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")  # the server writes nothing into the repository
    token, port = secrets.token_hex(16), _free_port()
    env = {**binder_env["env"], "SEEDREAM_OUTPUT_DIR": str(base / "lab-outputs")}
    log = base / "lab.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(binder_env["python"]), "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--allow-root", "--LabApp.news_url="],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            assert server.poll() is None, f"JupyterLab exited:\n{log.read_text(errors='replace')[-3000:]}"
            try:
                if _get(f"{url}/api/status?token={token}", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"JupyterLab did not start:\n{log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.25)

        status, _ = _get(f"{url}/{lab_path}?token={token}")
        assert status == 200
        status, body = _get(f"{url}/lab/api/extensions?token={token}")
        assert status == 200 and "jupyter-widgets-jupyterlab-manager" in body
        status, body = _get(f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}")
        properties = json.loads(body)["schema"]["properties"]
        assert properties["fetchNews"]["default"] == "false"  # postBuild's overrides.json is in effect
        status, body = _get(f"{url}/{voila_path}?token={token}", timeout=SERVER_TIMEOUT)
        assert status == 200, body[-2000:]
        assert "application/vnd.jupyter.widget-view+json" in body and "SeedreamPanel ready" in body
        assert "Traceback" not in body
    finally:
        stop(server, grace=20)
