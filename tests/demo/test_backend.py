"""The demo backend over real sockets with plain httpx: routes, auth, errors, life cycle, faults, images."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from seedream_widgets.demo import VERSION, DemoServer, embedded_server
from seedream_widgets.demo.api import prefer_wait
from seedream_widgets.demo.faults import HTML_PAYLOAD, parse_header
from seedream_widgets.schema import data_uri, output_pixels

from .conftest import TERMINAL, TOKEN, create, wait_done

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def png_bytes(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def problem_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and isinstance(body["detail"], str)
    return body


# -- create, read, the prediction object ------------------------------------------------------


def test_create_answers_201_at_once_with_a_starting_prediction(fast: DemoServer, api: httpx.Client) -> None:
    response = create(api, size="1K")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "starting"
    assert body["output"] is None and body["error"] is None and body["logs"] == ""
    assert re.fullmatch(r"[a-z0-9]{26}", body["id"])
    assert body["model"] == "bytedance/seedream-4"
    assert re.fullmatch(r"[0-9a-f]{64}", body["version"]) and body["version"] == VERSION
    assert body["input"] == {"prompt": "a red fox in the snow", "size": "1K"}
    assert ISO_Z.match(body["created_at"]) and body["started_at"] is None and body["completed_at"] is None
    assert body["data_removed"] is False
    get = f"{fast.base_url}/predictions/{body['id']}"
    assert body["urls"]["get"] == get and body["urls"]["cancel"] == get + "/cancel"
    assert set(body["urls"]) == {"get", "cancel", "stream", "web"}
    assert response.headers["location"] == get
    assert fast.stats.creates == 1 and fast.stats.prediction_ids == (body["id"],)


def test_prefer_wait_holds_until_the_prediction_is_done(fast: DemoServer, api: httpx.Client) -> None:
    body = create(api, prefer="wait", size="2K", aspect_ratio="4:3").json()
    assert body["status"] == "succeeded"
    assert len(body["output"]) == 1 and body["output"][0].startswith(f"{fast.url}/files/{body['id']}/0.")
    assert "Generating 2304x1728 image with aspect ratio 4:3 at 2K resolution\n" in body["logs"]
    assert ISO_Z.match(body["started_at"]) and ISO_Z.match(body["completed_at"])
    assert body["metrics"]["image_count"] == 1 and body["metrics"]["predict_time"] > 0
    assert body == fast.prediction(body["id"])


def test_prefer_wait_times_out_then_polling_finishes(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(base_seconds=1.6)
    started = time.monotonic()
    body = create(api, prefer="wait=1").json()
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5
    assert body["status"] not in TERMINAL and body["output"] is None
    assert wait_done(api, body["id"])["status"] == "succeeded"


@pytest.mark.parametrize(("header", "seconds"), [
    ("wait", 60.0), ("wait=5", 5.0), ("wait=0", 1.0), ("wait=600", 60.0), ("respond-async, wait=3", 3.0),
    ("respond-async", None), (None, None), ("wait=soon", 60.0),
])
def test_prefer_header_is_read_and_clamped(header: str | None, seconds: float | None) -> None:
    assert prefer_wait(header) == seconds


def test_outputs_and_logs_grow_while_processing(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(base_seconds=0.1, per_image_seconds=0.25)
    body = create(api, sequential_image_generation="auto", max_images=3, size="1K").json()
    seen: list[tuple[str, int]] = []
    while body["status"] not in TERMINAL:
        body = api.get(f"predictions/{body['id']}").json()
        seen.append((body["status"], len(body["output"] or [])))
        time.sleep(0.02)
    counts = [n for _, n in seen]
    assert counts == sorted(counts)
    assert {("processing", 1), ("processing", 2), ("succeeded", 3)} <= set(seen)
    assert ("processing", 3) not in seen  # it succeeds the moment the last image appears
    assert body["logs"].endswith("Generated image 1 of 3\nGenerated image 2 of 3\nGenerated image 3 of 3\n")
    assert [u.rsplit("/", 1)[1] for u in body["output"]] == ["0.jpg", "1.jpg", "2.jpg"]


def test_create_by_version_id(fast: DemoServer, api: httpx.Client) -> None:
    for version in (VERSION, f"bytedance/seedream-4:{VERSION}"):
        response = api.post("predictions", json={"version": version, "input": {"prompt": "a fox"}})
        assert response.status_code == 201 and response.json()["version"] == VERSION
    unknown = api.post("predictions", json={"version": "0" * 64, "input": {"prompt": "a fox"}})
    assert unknown.status_code == 422  # what Replicate answers for an unknown version
    assert problem_of(unknown)["title"] == "Invalid version or not permitted"
    assert fast.stats.creates == 2


def test_model_and_version_routes(api: httpx.Client) -> None:
    model = api.get("models/bytedance/seedream-4").json()
    assert (model["owner"], model["name"]) == ("bytedance", "seedream-4")
    assert model["latest_version"]["id"] == VERSION
    schema = model["latest_version"]["openapi_schema"]["components"]["schemas"]
    # Cog's shape: an enum is a component the property points at through allOf/$ref.
    assert schema["Input"]["properties"]["size"]["allOf"] == [{"$ref": "#/components/schemas/size"}]
    assert schema["size"]["enum"] == ["1K", "2K", "4K", "custom"]
    assert schema["Output"]["type"] == "array"
    assert api.get(f"models/bytedance/seedream-4/versions/{VERSION}").json()["id"] == VERSION
    assert problem_of(api.get("models/bytedance/seedream-3"))["status"] == 404
    assert problem_of(api.get("models/bytedance/seedream-4/versions/abc"))["status"] == 404


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "bearer", "Token abc", "Basic dXNlcjpw"])
def test_401_without_a_bearer_token(fast: DemoServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    with httpx.Client(base_url=fast.base_url + "/", headers=headers) as client:
        for response in (create(client), client.get("predictions"), client.get("models/bytedance/seedream-4")):
            assert response.status_code == 401
            assert problem_of(response) == {"title": "Unauthenticated",
                                            "detail": "You did not pass a valid authentication token",
                                            "status": 401}
    assert fast.stats.creates == 0


def test_a_configured_token_is_the_only_one_that_passes(fast: DemoServer) -> None:
    fast.configure(token="s3cret-token-value")
    with httpx.Client(base_url=fast.base_url + "/") as client:
        wrong = create(client, headers={"Authorization": "Bearer not-it"})
        right = create(client, headers={"Authorization": "Bearer s3cret-token-value"}, prefer="wait")
        config = client.get(f"{fast.url}/_demo/config")
    assert wrong.status_code == 401 and right.status_code == 201
    for response in (wrong, right, config):
        assert "s3cret" not in response.text and "s3cret" not in str(response.headers)
    assert config.json()["token_required"] is True
    with httpx.Client() as anonymous:  # output files need no token, like replicate.delivery
        assert anonymous.get(right.json()["output"][0]).status_code == 200


def test_404_for_unknown_model_prediction_and_route(fast: DemoServer, api: httpx.Client) -> None:
    unknown_model = api.post("models/black-forest-labs/flux-schnell/predictions", json={"input": {"prompt": "x"}})
    assert problem_of(unknown_model)["status"] == 404
    assert "bytedance/seedream-4" in unknown_model.json()["detail"]
    assert problem_of(api.get("predictions/nosuchprediction0000000000"))["status"] == 404
    assert problem_of(api.post("predictions/nosuchprediction0000000000/cancel"))["status"] == 404
    assert problem_of(api.get("nothing/here"))["status"] == 404
    not_allowed = api.delete("predictions")
    assert problem_of(not_allowed)["status"] == 405 and not_allowed.headers["allow"] == "GET, POST"
    assert fast.stats.creates == 0


def test_422_names_every_invalid_field_at_once(fast: DemoServer, api: httpx.Client) -> None:
    response = create(api, "  ", size="8K", max_images=99, width=100, enhance_prompt="yes")
    assert response.status_code == 422
    body = problem_of(response)
    assert body["title"] == "Input validation failed"
    assert body["invalid_fields"] == [
        {"type": "required", "field": "input.prompt",
         "description": "must not be empty or only whitespace (allowed: a non-empty text)"},
        {"type": "enum", "field": "input.size", "description": "got '8K'; allowed: 1K, 2K, 4K, custom"},
        {"type": "greater_than_equal", "field": "input.width",
         "description": "got 100; must be at least 1024 (allowed: a whole number from 1024 to 4096)"},
        {"type": "less_than_equal", "field": "input.max_images",
         "description": "got 99; must be at most 15 (allowed: a whole number from 1 to 15)"},
        {"type": "type", "field": "input.enhance_prompt", "description": "must be true or false, got 'yes'"},
    ]
    assert body["detail"] == "".join(f"- {f['field']}: {f['description']}\n" for f in body["invalid_fields"])
    assert fast.stats.creates == 0


def test_422_for_the_inputs_plus_outputs_rule_and_a_missing_input(api: httpx.Client) -> None:
    tiny = data_uri(png_bytes(8, 8), "image/png")
    body = create(api, image_input=[tiny] * 10, sequential_image_generation="auto", max_images=6).json()
    assert [(f["type"], f["field"]) for f in body["invalid_fields"]] == [("constraint", "input.max_images")]
    missing = api.post("models/bytedance/seedream-4/predictions", json={"webhook": "https://example.com/hook"})
    assert problem_of(missing)["invalid_fields"][0]["field"] == "input"
    no_prompt = api.post("models/bytedance/seedream-4/predictions", json={"input": {"size": "1K"}})
    assert [f["field"] for f in no_prompt.json()["invalid_fields"]] == ["input.prompt"]
    not_json = api.post("models/bytedance/seedream-4/predictions", content=b"{nope",
                        headers={"Content-Type": "application/json"})
    assert problem_of(not_json)["status"] == 400


# -- cancel, list, prefix, expiry ------------------------------------------------------------------


def test_cancel_a_running_and_a_finished_prediction(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(base_seconds=0.5)
    running = create(api).json()
    canceled = api.post(f"predictions/{running['id']}/cancel")
    assert canceled.status_code == 200
    body = canceled.json()
    assert body["status"] == "canceled" and ISO_Z.match(body["completed_at"]) and body["output"] is None
    time.sleep(0.7)  # past the moment it would have succeeded: it stays canceled
    assert api.get(f"predictions/{running['id']}").json()["status"] == "canceled"

    fast.configure(base_seconds=0.05)
    done = create(api, prefer="wait").json()
    again = api.post(f"predictions/{done['id']}/cancel").json()
    assert again["status"] == "succeeded" and again["output"] == done["output"]
    assert fast.stats.cancels == 2


def test_cancel_from_elsewhere_ends_a_prefer_wait_hold(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(base_seconds=5.0)

    def cancel_soon() -> None:
        deadline = time.monotonic() + 5
        while not fast.stats.prediction_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        fast.cancel_from_elsewhere(fast.stats.prediction_ids[0])

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    started = time.monotonic()
    body = create(api, prefer="wait").json()
    thread.join()
    assert body["status"] == "canceled" and time.monotonic() - started < 2
    assert fast.stats.cancels == 0  # not through the API


def test_list_is_paginated_newest_first(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(page_size=2)
    created = [create(api, f"prompt {i}").json()["id"] for i in range(5)]
    pages: list[list[str]] = []
    url: str | None = "predictions"
    while url:
        page = api.get(url).json()
        assert page["previous"] is None
        pages.append([p["id"] for p in page["results"]])
        url = page["next"]
        assert url is None or url.startswith(f"{fast.base_url}/predictions?cursor=")
    assert pages == [created[4:2:-1], created[2:0:-1], created[0:1]]
    first = api.get("predictions").json()["results"][0]
    assert first["input"] == {"prompt": "prompt 4"} and "status" in first
    assert problem_of(api.get("predictions", params={"cursor": "!!not-a-cursor"}))["status"] == 400


def test_routes_work_under_a_proxy_prefix(fast: DemoServer) -> None:
    base = f"{fast.url}/replicate/v1"
    with httpx.Client(base_url=base + "/", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        body = create(client, prefer="wait").json()
        assert body["urls"]["get"] == f"{base}/predictions/{body['id']}"
        assert client.get(body["urls"]["get"]).json()["status"] == "succeeded"
        assert client.post(body["urls"]["cancel"]).json()["status"] == "succeeded"
        fast.configure(page_size=1)
        create(client)
        listing = client.get("predictions").json()
        assert listing["next"].startswith(f"{base}/predictions?cursor=")
        assert client.get(listing["next"]).json()["results"][0]["id"] == body["id"]
        assert client.get("models/bytedance/seedream-4").json()["name"] == "seedream-4"
        assert client.get(body["output"][0]).status_code == 200
    assert fast.stats.requests["create"] == 2


def test_outputs_expire_after_the_ttl(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(output_ttl=0.4)
    body = create(api, prefer="wait").json()
    assert api.get(body["output"][0]).status_code == 200
    time.sleep(0.5)
    expired = api.get(body["output"][0])
    assert problem_of(expired)["status"] == 404 and "expired" in expired.json()["detail"]
    assert api.get(f"predictions/{body['id']}").json()["data_removed"] is True
    fast.configure(output_ttl=3600)  # the TTL applies at read time
    assert api.get(body["output"][0]).status_code == 200


def test_a_file_that_does_not_exist_yet_is_404(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(base_seconds=1.0)
    body = create(api).json()
    assert api.get(f"{fast.url}/files/{body['id']}/0.jpg").status_code == 404
    assert api.get(f"{fast.url}/files/{body['id']}/0.png").status_code == 404
    assert api.get(f"{fast.url}/files/nosuch/0.jpg").status_code == 404


# -- prompt directives -------------------------------------------------------------------------------


def test_prompt_directive_fail(fast: DemoServer, api: httpx.Client) -> None:
    custom = create(api, "a fox [demo:fail=GPU on fire]", prefer="wait").json()
    assert custom["status"] == "failed" and custom["error"] == "GPU on fire" and custom["output"] is None
    assert custom["started_at"] is not None and "Generating" in custom["logs"]
    plain = create(api, "[demo:fail] a fox", prefer="wait").json()
    assert plain["status"] == "failed" and "[demo:fail]" in plain["error"]


def test_prompt_directive_slow(fast: DemoServer, api: httpx.Client) -> None:
    started = time.monotonic()
    body = create(api, "a fox [demo:slow=0.5]", prefer="wait").json()
    assert body["status"] == "succeeded" and time.monotonic() - started >= 0.5


# -- faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "504"])
@pytest.mark.parametrize("how", ["inject", "header"])
def test_status_faults_answer_without_processing(fast: DemoServer, api: httpx.Client, kind: str, how: str) -> None:
    if how == "inject":
        fast.inject(kind, route="create", retry_after=3)
        response = create(api)
    else:
        response = create(api, headers={"X-Seedream-Demo-Fault": f"{kind};retry_after=3"})
    assert response.status_code == int(kind)
    problem_of(response)
    if kind == "429":
        assert response.headers["retry-after"] == "3"
    assert fast.stats.creates == 0 and fast.stats.faults_injected == {kind: 1}
    assert create(api).status_code == 201  # spent: the next request is fine


def test_injected_faults_match_route_and_times(fast: DemoServer, api: httpx.Client) -> None:
    fast.inject("500", route="get", times=2)
    body = create(api).json()
    assert create(api).status_code == 201
    statuses = [api.get(f"predictions/{body['id']}").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    # A kind waits for a route it applies to: a queued bomb is not spent on a create.
    fast.inject("bomb")
    done = create(api, prefer="wait").json()
    with pytest.raises(Image.DecompressionBombError):
        open_image(api.get(done["output"][0]).content)
    assert fast.stats.faults_injected == {"500": 2, "bomb": 1}
    with pytest.raises(ValueError, match="cannot apply"):
        fast.inject("bomb", route="create")
    with pytest.raises(ValueError, match="unknown demo fault"):
        fast.inject("meteor")


def test_latency_fault(fast: DemoServer, api: httpx.Client) -> None:
    fast.inject("latency", route="list", seconds=0.3)
    started = time.monotonic()
    assert api.get("predictions").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get("predictions", headers={"X-Seedream-Demo-Fault": "latency;seconds=0.2"})
    assert time.monotonic() - started >= 0.2
    assert fast.stats.faults_injected == {"latency": 2}


@pytest.mark.parametrize("how", ["inject", "header"])
def test_drop_closes_without_answer_and_without_creating(fast: DemoServer, api: httpx.Client, how: str) -> None:
    if how == "inject":
        fast.inject("drop", route="create")
    headers = {"X-Seedream-Demo-Fault": "drop"} if how == "header" else None
    with pytest.raises(httpx.RemoteProtocolError):
        create(api, headers=headers)
    assert fast.stats.creates == 0 and api.get("predictions").json()["results"] == []
    assert create(api).status_code == 201


@pytest.mark.parametrize("how", ["inject", "header"])
def test_drop_after_creates_then_closes_without_answer(fast: DemoServer, api: httpx.Client, how: str) -> None:
    if how == "inject":
        fast.inject("drop_after", route="create")
    headers = {"X-Seedream-Demo-Fault": "drop_after"} if how == "header" else None
    with pytest.raises(httpx.RemoteProtocolError):
        create(api, "the ambiguous create", headers=headers)
    assert fast.stats.creates == 1  # the prediction exists: a naive retry would bill twice
    (listed,) = api.get("predictions").json()["results"]
    assert listed["id"] == fast.stats.prediction_ids[0] and listed["input"]["prompt"] == "the ambiguous create"


def test_malformed_answers_the_right_status_with_a_broken_body(fast: DemoServer, api: httpx.Client) -> None:
    fast.inject("malformed", route="create")
    response = create(api)
    assert response.status_code == 201
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert fast.stats.creates == 1
    broken = api.get("predictions", headers={"X-Seedream-Demo-Fault": "malformed"})
    assert broken.status_code == 200 and int(broken.headers["content-length"]) == len(broken.content)
    with pytest.raises(json.JSONDecodeError):
        broken.json()


def test_fail_and_html_faults_fail_the_prediction(fast: DemoServer, api: httpx.Client) -> None:
    fast.inject("fail", message="CUDA out of memory")
    failed = create(api, prefer="wait").json()
    assert failed["status"] == "failed" and failed["error"] == "CUDA out of memory"
    html = create(api, prefer="wait", headers={"X-Seedream-Demo-Fault": "html"}).json()
    assert html["status"] == "failed"
    assert HTML_PAYLOAD in html["error"] and HTML_PAYLOAD in html["logs"]
    assert fast.stats.faults_injected == {"fail": 1, "html": 1}


def test_expire_fault_on_a_prediction_and_on_one_file(fast: DemoServer, api: httpx.Client) -> None:
    body = create(api, prefer="wait", sequential_image_generation="auto", max_images=2).json()
    first, second = body["output"]
    assert api.get(first, headers={"X-Seedream-Demo-Fault": "expire"}).status_code == 404
    assert api.get(first).status_code == 200  # only that request
    fast.inject("expire", route="get")
    assert api.get(f"predictions/{body['id']}").json()["data_removed"] is True
    assert api.get(second).status_code == 404  # from now on, for the whole prediction


def test_output_scheme_fault_makes_hostile_urls(fast: DemoServer, api: httpx.Client) -> None:
    fast.inject("output_scheme", route="create")
    body = create(api, prefer="wait", sequential_image_generation="auto", max_images=2).json()
    assert body["output"] == ["file:///etc/passwd", "javascript:alert(1)"]


def test_oversize_not_image_and_bomb_files(fast: DemoServer, api: httpx.Client) -> None:
    url = create(api, prefer="wait").json()["output"][0]
    size = 3 * 2**20 + 17
    with api.stream("GET", url, headers={"X-Seedream-Demo-Fault": f"oversize;bytes={size}"}) as response:
        assert response.headers["content-type"] == "image/jpeg"
        assert int(response.headers["content-length"]) == size
        assert sum(len(chunk) for chunk in response.iter_bytes()) == size
    fast.inject("not_image")
    page = api.get(url)
    assert page.headers["content-type"] == "image/png" and page.content.startswith(b"<!doctype html>")
    bomb = api.get(url, headers={"X-Seedream-Demo-Fault": "bomb"})
    assert bomb.headers["content-type"] == "image/png" and len(bomb.content) < 1000
    with pytest.raises(Image.DecompressionBombError):
        open_image(bomb.content)
    assert open_image(api.get(url).content).size == (2048, 2048)


def test_a_bad_fault_header_is_a_400(api: httpx.Client) -> None:
    response = api.get("predictions", headers={"X-Seedream-Demo-Fault": "meteor;size=big"})
    assert problem_of(response)["status"] == 400
    assert parse_header(" 429 ; retry_after = 2 ").params == {"retry_after": "2"}


def test_random_faults_are_seeded_and_bounded_by_the_rate(fast: DemoServer, api: httpx.Client) -> None:
    def statuses() -> list[int]:
        return [api.get("predictions").status_code for _ in range(40)]

    fast.set_fault_rate(0.5, kinds=("500", "503"), seed=7)
    first = statuses()
    fast.set_fault_rate(0.5, kinds=("500", "503"), seed=7)
    assert statuses() == first
    assert set(first) == {200, 500, 503} and 8 <= first.count(200) <= 32
    fast.set_fault_rate(1.0, kinds=("502",))
    assert set(statuses()) == {502}
    fast.clear_faults()
    assert set(statuses()) == {200}


def test_random_transient_faults_from_the_constructor() -> None:
    with DemoServer(base_seconds=0.01, per_image_seconds=0.01, fault_rate=0.6, seed=3) as server, \
            httpx.Client(base_url=server.base_url + "/", headers={"Authorization": "Bearer x"}) as client:
        outcomes = set()
        for _ in range(40):
            try:
                outcomes.add(client.get("predictions").status_code)
            except httpx.RemoteProtocolError:
                outcomes.add(-1)  # drop or drop_after
        assert {200, -1} <= outcomes and len(outcomes & {429, 500, 502, 503}) >= 2
        assert set(server.stats.faults_injected) <= {"latency", "429", "500", "502", "503", "drop",
                                                      "drop_after", "malformed"}


# -- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "pixels"), [
    ({"size": "1K", "aspect_ratio": "16:9"}, (1280, 720)),
    ({"size": "2K", "aspect_ratio": "4:3"}, (2304, 1728)),
    ({"size": "custom", "width": 1536, "height": 1024}, (1536, 1024)),
    ({}, (2048, 2048)),
])
def test_images_have_the_model_pixel_size(api: httpx.Client, fields: dict[str, Any],
                                          pixels: tuple[int, int]) -> None:
    body = create(api, prefer="wait", **fields).json()
    response = api.get(body["output"][0])
    assert response.headers["content-type"] == "image/jpeg"
    assert int(response.headers["content-length"]) == len(response.content)
    image = open_image(response.content)
    assert image.format == "JPEG" and image.size == pixels
    assert f"Generating {pixels[0]}x{pixels[1]} image" in body["logs"]


def test_custom_size_log_line(api: httpx.Client) -> None:
    body = create(api, prefer="wait", size="custom", width=1536, height=1024).json()
    assert "Generating 1536x1024 image with aspect ratio 3:2 at custom resolution\n" in body["logs"]


def test_renders_are_deterministic(fast: DemoServer, api: httpx.Client) -> None:
    one = create(api, "same prompt", prefer="wait", size="1K").json()
    two = create(api, "same prompt", prefer="wait", size="1K").json()
    other = create(api, "another prompt", prefer="wait", size="1K").json()
    first = api.get(one["output"][0]).content
    assert api.get(two["output"][0]).content == first == fast.output_bytes(one["id"], 0)
    assert api.get(other["output"][0]).content != first
    with pytest.raises(IndexError):
        fast.output_bytes(one["id"], 1)
    with pytest.raises(KeyError):
        fast.output_bytes("nosuch", 0)


def test_images_of_a_set_differ(api: httpx.Client) -> None:
    body = create(api, prefer="wait", size="1K", sequential_image_generation="auto", max_images=3).json()
    contents = [api.get(url).content for url in body["output"]]
    assert len(set(contents)) == 3


@pytest.mark.parametrize(("image_format", "ext", "mime", "pil"), [
    ("png", "png", "image/png", "PNG"), ("webp", "webp", "image/webp", "WEBP"),
])
def test_configurable_image_format(fast: DemoServer, api: httpx.Client, image_format: str, ext: str, mime: str,
                                   pil: str) -> None:
    fast.configure(image_format=image_format)
    url = create(api, prefer="wait", size="1K", aspect_ratio="1:1").json()["output"][0]
    assert url.endswith(f"/0.{ext}")
    response = api.get(url)
    assert response.headers["content-type"] == mime
    image = open_image(response.content)
    assert image.format == pil and image.size == (1024, 1024)


def test_match_input_image_follows_a_data_uri_input(api: httpx.Client) -> None:
    wide = data_uri(png_bytes(400, 200), "image/png")
    expected = output_pixels("1K", "match_input_image", input_aspect=2.0)
    assert expected[0] > expected[1]
    body = create(api, "make it blue", prefer="wait", image_input=[wide], size="1K").json()
    assert open_image(api.get(body["output"][0]).content).size == expected
    assert f"Generating {expected[0]}x{expected[1]} image with aspect ratio 91:45 at 1K resolution" in body["logs"]
    square = create(api, "make it blue", prefer="wait", size="1K").json()
    assert open_image(api.get(square["output"][0]).content).size == (1024, 1024)
    assert "with aspect ratio 1:1 at 1K resolution" in square["logs"]


def test_input_images_shape_the_result(api: httpx.Client) -> None:
    def mean_colour(uri_colour: tuple[int, int, int]) -> tuple[float, ...]:
        uri = data_uri(png_bytes(64, 64, uri_colour), "image/png")
        body = create(api, "edit", prefer="wait", image_input=[uri], size="1K", aspect_ratio="1:1").json()
        image = open_image(api.get(body["output"][0]).content).convert("RGB").resize((1, 1), Image.Resampling.BOX)
        return tuple(image.getpixel((0, 0)))  # type: ignore[arg-type]

    red, blue = mean_colour((255, 0, 0)), mean_colour((0, 0, 255))
    assert red[0] > blue[0] + 40 and blue[2] > red[2] + 40


def test_a_4k_image_renders_quickly(api: httpx.Client) -> None:
    body = create(api, prefer="wait", size="4K", aspect_ratio="1:1").json()
    started = time.monotonic()
    data = api.get(body["output"][0]).content
    assert time.monotonic() - started < 2.0
    assert open_image(data).size == (4096, 4096)


def test_inline_outputs_answer_a_finished_wait_with_data_uris(fast: DemoServer, api: httpx.Client) -> None:
    fast.configure(inline_outputs=True)
    body = create(api, prefer="wait", size="1K").json()
    (uri,) = body["output"]
    assert uri.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == fast.output_bytes(body["id"], 0)
    assert api.get(f"predictions/{body['id']}").json()["output"][0].startswith("http://")


# -- transport, stream, admin, life cycle -----------------------------------------------------------


def test_a_keep_alive_client_uses_one_connection(fast: DemoServer, api: httpx.Client) -> None:
    body = create(api, prefer="wait").json()
    for _ in range(5):
        api.get(f"predictions/{body['id']}")
    api.get(body["output"][0])
    assert fast.stats.connections == 1 and fast.stats.total_requests == 7
    with httpx.Client(headers={"Authorization": "Bearer x"}) as other:
        other.get(f"{fast.base_url}/predictions")
    assert fast.stats.connections == 2


def test_answers_are_fast_on_loopback(fast: DemoServer, api: httpx.Client) -> None:
    # Nagle plus delayed ACK would make each answer take about 40 ms; one write and TCP_NODELAY avoid it.
    body = create(api, prefer="wait").json()
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        api.get(f"predictions/{body['id']}")
        api.post("models/bytedance/seedream-4/predictions", json={"input": {"prompt": ""}})
        timings.append(time.perf_counter() - started)
    timings.sort()
    assert timings[len(timings) // 2] < 0.02


def test_stream_sends_outputs_then_done(api: httpx.Client) -> None:
    body = create(api, sequential_image_generation="auto", max_images=2).json()
    with api.stream("GET", body["urls"]["stream"]) as response:
        assert response.headers["content-type"] == "text/event-stream"
        text = "".join(response.iter_text())
    events = [dict(line.split(": ", 1) for line in block.split("\n")) for block in text.strip().split("\n\n")]
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    outputs = [e["data"] for e in events if e["event"] == "output"]
    assert len(outputs) == 2
    assert all(url.startswith("http://") for url in outputs)
    assert events[-1] == {"event": "done", "id": str(len(events)), "data": "{}"}


def test_admin_endpoints(fast: DemoServer, api: httpx.Client) -> None:
    admin = f"{fast.url}/_demo"
    with httpx.Client() as plain:  # no token needed
        body = create(api, prefer="wait").json()
        stats = plain.get(f"{admin}/stats").json()
        assert stats["creates"] == 1 and stats["prediction_ids"] == [body["id"]]
        assert stats == fast.stats.to_json()

        assert plain.post(f"{admin}/faults", json={"kind": "503", "route": "get", "times": 1}).status_code == 200
        assert api.get(f"predictions/{body['id']}").status_code == 503
        assert plain.post(f"{admin}/faults", json={"kind": "429", "params": {"retry_after": 5}}).status_code == 200
        assert api.get("predictions").headers["retry-after"] == "5"
        assert plain.post(f"{admin}/faults", json={"rate": 1.0, "kinds": ["500"], "seed": 1}).status_code == 200
        assert api.get("predictions").status_code == 500
        assert plain.delete(f"{admin}/faults").status_code == 200
        assert api.get("predictions").status_code == 200
        bad = plain.post(f"{admin}/faults", json={"kind": "meteor"})
        assert problem_of(bad)["status"] == 400

        config = plain.post(f"{admin}/config", json={"page_size": 7, "token": "abc-secret"})
        assert config.json()["page_size"] == 7 and "abc-secret" not in config.text
        assert api.get("predictions").status_code == 401  # the token now applies
        fast.configure(token=None)
        assert problem_of(plain.post(f"{admin}/config", json={"page_size": 0}))["status"] == 400
        assert problem_of(plain.post(f"{admin}/config", json={"colour": "red"}))["status"] == 400

        admin_view = plain.get(f"{admin}/predictions/{body['id']}").json()
        clock = admin_view.pop("demo_clock")  # the admin view adds when it was created and ends (monotonic)
        assert admin_view == fast.prediction(body["id"]) and clock["ends"] >= clock["created"] > 0
        fast.configure(base_seconds=2.0)
        slow = create(api).json()
        assert plain.post(f"{admin}/predictions/{slow['id']}/cancel").json()["status"] == "canceled"

        fast.inject("500")
        assert plain.post(f"{admin}/reset").json() == {"ok": True}
        assert fast.stats.total_requests == 0 and fast.stats.creates == 0
        assert api.get("predictions").status_code == 200  # the queued fault is gone too
        assert plain.get(f"{admin}/nothing").status_code == 404


def test_reset_stats(fast: DemoServer, api: httpx.Client) -> None:
    create(api)
    fast.reset_stats()
    assert fast.stats.total_requests == 0 and fast.stats.prediction_ids == ()
    assert api.get("predictions").json()["results"]  # predictions themselves remain


def test_stop_closes_connections_and_waits(fast: DemoServer) -> None:
    fast.configure(base_seconds=30.0)
    result: list[object] = []

    def hold() -> None:
        with httpx.Client(base_url=fast.base_url + "/", headers={"Authorization": "Bearer x"}) as client:
            try:
                result.append(create(client, prefer="wait").json()["status"])
            except httpx.HTTPError as exc:
                result.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    while not fast.stats.creates:
        time.sleep(0.01)
    url = fast.base_url
    started = time.monotonic()
    fast.stop()
    thread.join(5)
    assert time.monotonic() - started < 3 and result
    fast.stop()  # idempotent
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.get(url + "/predictions")


def test_server_urls_and_life_cycle() -> None:
    server = DemoServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    with server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.base_url == server.url + "/v1"
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    with pytest.raises(ValueError, match="image_format"):
        DemoServer(image_format="gif")
    with pytest.raises(TypeError, match="unknown demo setting"):
        DemoServer().configure(colour="red")


def test_embedded_server_is_one_running_singleton() -> None:
    server = embedded_server()
    assert embedded_server() is server
    with httpx.Client(headers={"Authorization": "Bearer demo-token"}) as client:
        assert client.get(f"{server.base_url}/models/bytedance/seedream-4").status_code == 200
