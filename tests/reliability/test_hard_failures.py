"""Hard failures: each ends in one specific exception with a clear message, and nothing half-written.

One table, one set of checks for every row: the exact exception class, the words
its message must contain (what happened and what to do next), no token in it,
an escaped error box, no partial folder, no image and no journal entry left in
the gallery. The deadline rows are the exception: their journal entry stays and
``resume`` later finishes the run with the backend's exact bytes.

Several rows fail a sequential set *after* its first image was already saved
into the staging folder, which is where "nothing half-written" is really tested.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _stored import stored_as_sent

from seedream_widgets import (
    AuthenticationError,
    DeadlineExceeded,
    NotFoundError,
    OutputExpired,
    PaymentRequiredError,
    PredictionCanceled,
    PredictionFailed,
    Seedream,
    SeedreamError,
    ValidationError,
)
from seedream_widgets.client import Update
from seedream_widgets.demo import DemoServer
from seedream_widgets.demo.faults import HARD_KINDS, INVALID_FIELDS
from seedream_widgets.display import error_html

from .conftest import SENTINEL, Figures, journal_ids, leftovers


def client_for(server: DemoServer, root: Path, **options: Any) -> Seedream:
    return Seedream(token=SENTINEL, base_url=server.base_url, output_dir=root, **options)


def generate(server: DemoServer, root: Path, prompt: str = "a hard failure", **fields: Any) -> Any:
    if "timeout" in fields:
        server.configure(cancel_after=False)  # resumable after the deadline: a service that drops Cancel-After
    with client_for(server, root, wait=1) as client:
        return client.generate(prompt, size="1K", **fields)


def a_set(server: DemoServer, root: Path, after_first_image: Callable[[DemoServer, str], None] | None = None,
          **fields: Any) -> Any:
    """A sequential set of three, images 0.8 s apart; a hook runs once the first image is saved."""
    server.configure(per_image_seconds=0.8)
    fired: list[str] = []

    def on_update(update: Update) -> None:
        if update.event == "image" and not fired:
            fired.append(update.prediction.id)
            staged = [p for p in root.glob(".partial-*/*") if p.is_file()]
            assert staged, "the first image is in the staging folder before the set ends"
            if after_first_image is not None:
                after_first_image(server, update.prediction.id)

    with client_for(server, root, wait=1) as client:
        return client.generate("a story in three panels", size="1K", sequential_image_generation="auto",
                               max_images=3, on_update=on_update, **fields)


def wrong_token(server: DemoServer, root: Path) -> Any:
    server.configure(token="the-right-token-0123456789")
    return generate(server, root)


def injected(kind: str, route: str = "create", **params: Any) -> Callable[[DemoServer, Path], Any]:
    def run(server: DemoServer, root: Path) -> Any:
        server.inject(kind, route=route, **params)
        return generate(server, root)

    return run


def unknown_model(server: DemoServer, root: Path) -> Any:
    with client_for(server, root, model="nobody/nothing") as client:
        return client.generate("x", size="1K")


def expire_second_output(server: DemoServer, root: Path) -> Any:
    server.inject("latency", route="file", seconds=0)  # the first download passes (queued faults go in order)
    server.inject("expire", route="file")
    return a_set(server, root)


def canceled_from_elsewhere(server: DemoServer, root: Path) -> Any:
    """Someone presses Cancel on the web page while this client polls."""
    def cancel_once_created() -> None:
        deadline = time.monotonic() + 10
        while not server.stats.prediction_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        server.cancel_from_elsewhere(server.stats.prediction_ids[0])

    helper = threading.Thread(target=cancel_once_created)
    helper.start()
    try:
        return generate(server, root, "[demo:slow=5] a fox")
    finally:
        helper.join(15)


def deadline_mid_set(server: DemoServer, root: Path) -> Any:
    server.configure(cancel_after=False)  # resumable after the deadline: a service that drops Cancel-After
    return a_set(server, root, timeout=1.5)  # image 1 at 0.9 s, image 2 at 1.7 s


@dataclass(frozen=True)
class Hard:
    error: type[SeedreamError]
    words: tuple[str, ...]
    run: Callable[[DemoServer, Path], Any]
    resumable: bool = False
    """A deadline: the journal keeps the id and ``resume`` finishes the run."""
    refused_at_create: bool = False
    """The service refused the create: one create request, no prediction, no retry."""
    refused_before_create: bool = False
    """Refused before any create was sent (e.g. the model's schema: one read of /models, 404)."""


CASES: dict[str, Hard] = {
    "401 wrong token": Hard(AuthenticationError, ("401", "Unauthenticated", "SEEDREAM_API_TOKEN"), wrong_token,
                             refused_at_create=True),
    "401 injected on create": Hard(AuthenticationError, ("401", "valid authentication token", "token="),
                                   injected("401"), refused_at_create=True),
    "402 no credit": Hard(PaymentRequiredError, ("402", "Insufficient credit", "Add credit"), injected("402"),
                          refused_at_create=True),
    # A model the package does not know: its schema is read from the service first, which says 404 (no create).
    "404 unknown model": Hard(NotFoundError, ("404", "nobody/nothing", "Check the model name"), unknown_model,
                              refused_before_create=True),
    "404 injected on create": Hard(NotFoundError, ("404", "Not found", "model name"), injected("404"),
                                   refused_at_create=True),
    "422 several invalid fields": Hard(ValidationError, ("rejected the input (3 fields)", "size:", "1K",
                                                        "max_images:", "15", "enhance_prompt", "fix these"),
                                       injected("422"), refused_at_create=True),
    "prediction failed": Hard(PredictionFailed, ("failed: the GPU caught fire", "try again"),
                              lambda s, r: generate(s, r, "[demo:fail=the GPU caught fire] a fox")),
    "prediction failed (injected)": Hard(PredictionFailed, ("failed: CUDA out of memory", "try again"),
                                         injected("fail", message="CUDA out of memory")),
    "canceled from elsewhere": Hard(PredictionCanceled, ("was canceled", "nothing was saved"),
                                    canceled_from_elsewhere),
    "canceled from elsewhere after image 1 of 3": Hard(
        PredictionCanceled, ("was canceled", "nothing was saved"),
        lambda s, r: a_set(s, r, lambda server, pid: server.cancel_from_elsewhere(pid))),
    "every output expired": Hard(OutputExpired, ("is gone (404)", "about an hour", "Run it again"),
                                 injected("expire")),
    "output 2 of 3 expired": Hard(OutputExpired, ("is gone (404)", "about an hour"), expire_second_output),
    # Resumable after its deadline only on a service that ignores Cancel-After (a proxy): this backend is told
    # to; the default, where the service ends it at the deadline, is tests/test_client.py's.
    "deadline before any output": Hard(DeadlineExceeded, ("still", "deadline", "resume("),
                                       lambda s, r: generate(s, r, "[demo:slow=1.5] a fox", timeout=0.6),
                                       resumable=True),
    "deadline after image 1 of 3": Hard(DeadlineExceeded, ("processing", "deadline", "resume(", "timeout="),
                                        deadline_mid_set, resumable=True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hard_failure_is_one_clear_exception_and_leaves_nothing(name: str, server: DemoServer, tmp_path: Path,
                                                                figures: Figures) -> None:
    case = CASES[name]
    root = tmp_path / "gallery"
    with pytest.raises(SeedreamError) as info:
        case.run(server, root)
    exc = info.value
    assert type(exc) is case.error, f"{type(exc).__name__}: {exc}"
    message = str(exc)
    for word in case.words:
        assert word in message, f"{word!r} missing from: {message}"
    assert SENTINEL not in message and SENTINEL not in repr(exc)
    assert "Traceback" not in message
    box = error_html(exc)
    assert type(exc).__name__ in box and "<script" not in box
    assert server.stats.creates <= 1, "a hard failure is never retried into a second prediction"
    if case.refused_at_create:
        assert server.stats.creates == 0 and server.stats.requests.get("create") == 1, server.stats.requests
    if case.refused_before_create:
        assert server.stats.creates == 0 and "create" not in server.stats.requests, server.stats.requests
        assert server.stats.requests.get("model") == 1, server.stats.requests

    left = leftovers(root)
    if not case.resumable:
        assert left == [], f"left behind: {left}"
        figures.refuse("hard failures")
        return
    # A deadline keeps the id in the journal (and nothing else), so resume() can finish the run later.
    prediction = getattr(exc, "prediction", None)
    assert prediction is not None
    assert left == [f".journal/{prediction.id}.json"]
    with client_for(server, root) as client:
        assert [entry["id"] for entry in client.in_flight()] == [prediction.id]
        result = client.resume(prediction.id, timeout=10)
    for index, path in enumerate(result.paths):
        assert stored_as_sent(path, server.output_bytes(prediction.id, index))
    assert journal_ids(root) == [] and not [p for p in leftovers(root) if ".partial" in p]
    assert server.stats.creates == 1
    figures.refuse("hard failures")
    figures.finished()


def test_a_token_revoked_mid_run_keeps_the_run_resumable(server: DemoServer, tmp_path: Path,
                                                         figures: Figures) -> None:
    """401 on a poll: the prediction still runs on the service, so the journal keeps it for resume()."""
    server.inject("401", route="get", times=50)
    with client_for(server, tmp_path, wait=1, max_retries=1, stream=False) as client:  # polls: reads it
        with pytest.raises(AuthenticationError, match="401"):
            client.generate("[demo:slow=1.2] a fox", size="1K")
        (entry,) = client.in_flight()
    assert leftovers(tmp_path) == [f".journal/{entry['id']}.json"]
    server.clear_faults()
    with client_for(server, tmp_path) as client:
        result = client.resume(entry["id"])
    assert stored_as_sent(result.paths[0], server.output_bytes(entry["id"], 0))
    assert journal_ids(tmp_path) == []
    figures.refuse("hard failures")
    figures.finished()


# -- the demo backend's hard status kinds themselves ---------------------------------------------------


@pytest.fixture
def api(server: DemoServer) -> Any:
    with httpx.Client(base_url=server.base_url + "/", headers={"Authorization": "Bearer t"}, timeout=10) as c:
        yield c


def create(api: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.post("models/bytedance/seedream-4/predictions", json={"input": {"prompt": "x", "size": "1K"}},
                    headers=headers)


@pytest.mark.parametrize("kind", HARD_KINDS)
@pytest.mark.parametrize("how", ["inject", "header"])
def test_hard_status_kinds_answer_problem_json_and_create_nothing(server: DemoServer, api: httpx.Client, kind: str,
                                                                  how: str) -> None:
    if how == "inject":
        server.inject(kind, route="create")
        response = create(api)
    else:
        response = create(api, {"X-Seedream-Demo-Fault": kind})
    assert response.status_code == int(kind)
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == int(kind) and body["title"] and body["detail"]
    if kind == "422":
        assert body["invalid_fields"] == list(INVALID_FIELDS)
        assert all(f["field"].startswith("input") for f in body["invalid_fields"])
        assert body["detail"].count("\n") == len(INVALID_FIELDS)
    assert server.stats.creates == 0 and server.stats.faults_injected == {kind: 1}
    assert create(api).status_code == 201, "spent after one request"


def test_hard_kinds_apply_to_their_routes_only(server: DemoServer, api: httpx.Client) -> None:
    for kind, route in [("402", "get"), ("422", "list"), ("401", "file"), ("404", "file")]:
        with pytest.raises(ValueError, match="cannot apply"):
            server.inject(kind, route=route)
    server.inject("401", route="get")
    prediction = create(api).json()
    assert api.get(f"predictions/{prediction['id']}").status_code == 401
    assert api.get(f"predictions/{prediction['id']}").status_code == 200


def test_422_names_the_fields_it_is_given(server: DemoServer, api: httpx.Client, tmp_path: Path) -> None:
    fields = [{"type": "required", "field": "input.prompt", "description": "prompt is required"},
              {"type": "enum", "field": "input.aspect_ratio", "description": "aspect_ratio must be one of 1:1, 4:3"}]
    server.inject("422", route="create", invalid_fields=fields)
    with client_for(server, tmp_path) as client, pytest.raises(ValidationError) as info:
        client.generate("x", size="1K")
    assert info.value.status == 422 and info.value.fields == ("prompt", "aspect_ratio")
    assert "prompt is required" in str(info.value) and "aspect_ratio must be one of" in str(info.value)
    assert leftovers(tmp_path) == []
