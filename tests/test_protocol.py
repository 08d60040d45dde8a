"""`seedream_widgets.protocol`'s pure rules, and the client's protocol over `httpx.MockTransport`.

The mock services here are deliberately unlike the demo backend: a base that answers a create
with only ``{"id", "status"}``, one that drops the connection after the create arrived, one
that streams from another host. End-to-end behaviour against the real demo server is in
``test_client.py`` and ``test_run.py``.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import json
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from seedream_widgets import (
    APIError,
    AsyncSeedream,
    AuthenticationError,
    NetworkError,
    NotFoundError,
    PredictionFailed,
    Result,
    SeedreamError,
    ValidationError,
    protocol,
)
from seedream_widgets.protocol import (
    MAX_WAIT_SECONDS,
    ServerSentEvent,
    SSEDecoder,
    backoff_delay,
    cancel_after_header,
    create_body,
    create_path,
    is_network_fault,
    is_surely_unsent,
    poll_interval,
    prefer_header,
    retry_after_seconds,
    stream_url,
)

TOKEN = "r8_" + secrets.token_hex(16)  # made per run: no token-like literal is committed
BASE = "https://api.example.test/v1"
FILES = "https://files.example.test"



def received(result: Any, image: bytes) -> bool:
    """Whether the stored image is the one the service sent: its hash as received (the sidecar's) and its pixels.

    (The stored file itself differs from the bytes sent by the provenance chunks the store inserts.)
    """
    import hashlib
    import json as _json

    from PIL import Image

    sidecar = _json.loads((result.folder / "prediction.json").read_text())
    with Image.open(result.paths[0]) as stored, Image.open(io.BytesIO(image)) as sent:
        same_pixels = stored.tobytes() == sent.tobytes()
    return bool(sidecar["images"][0]["received_sha256"] == hashlib.sha256(image).hexdigest() and same_pixels)

def png_bytes(size: tuple[int, int] = (40, 30), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


# -- server-sent events --------------------------------------------------------------------


def decode(lines: list[str]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for line in lines for event in decoder.feed(line)]


def test_sse_multi_line_data_is_joined_with_newlines() -> None:
    events = decode(["event: logs", "data: step 1", "data: step 2", "data:", "data: step 3", ""])
    assert events == [ServerSentEvent("logs", "step 1\nstep 2\n\nstep 3")]


def test_sse_comments_are_ignored_and_dispatch_nothing() -> None:
    assert decode([": keep-alive", ""]) == []
    assert decode(["event: output", ": a comment between fields", "data: https://x/1.png", ""]) == [
        ServerSentEvent("output", "https://x/1.png")]


def test_sse_ids_are_carried_and_persist_like_the_last_event_id() -> None:
    events = decode(["event: logs", "id: 7", "data: a", "", "event: logs", "data: b", "", "id: 9", "data: c", ""])
    assert [(e.event, e.data, e.id) for e in events] == [("logs", "a", "7"), ("logs", "b", "7"), ("message", "c", "9")]


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r", ""])
def test_sse_line_endings_are_stripped(ending: str) -> None:
    events = decode([f"event: output{ending}", f"data: https://x/1.png{ending}", ending])
    assert events == [ServerSentEvent("output", "https://x/1.png")]


def test_sse_event_without_data_is_dispatched_with_empty_data() -> None:
    assert decode(["event: done", ""]) == [ServerSentEvent("done", "")]


def test_sse_only_one_leading_space_is_removed_and_a_bare_field_is_empty() -> None:
    assert decode(["data:  two spaces", ""]) == [ServerSentEvent("message", " two spaces")]
    assert decode(["data:no space", ""]) == [ServerSentEvent("message", "no space")]
    assert decode(["data", ""]) == [ServerSentEvent("message", "")]


def test_sse_unknown_fields_are_ignored_and_state_resets_after_dispatch() -> None:
    events = decode(["event: logs", "retry: 1000", "foo: bar", "data: a", "", "data: b", ""])
    assert events == [ServerSentEvent("logs", "a"), ServerSentEvent("message", "b")]


def test_sse_blank_lines_alone_dispatch_nothing() -> None:
    assert decode(["", "", "\r\n"]) == []


# -- urls, headers, bodies --------------------------------------------------------------------


@pytest.mark.parametrize(("urls", "expected"), [
    ({"stream": f"{BASE}/predictions/p1/stream"}, (f"{BASE}/predictions/p1/stream", True)),
    ({"stream": "https://api.example.test/elsewhere/p1"}, ("https://api.example.test/elsewhere/p1", True)),
    ({"stream": "https://stream.example.test/v1/files/abc"}, ("https://stream.example.test/v1/files/abc", False)),
    ({"stream": "http://api.example.test/v1/predictions/p1/stream"},
     ("http://api.example.test/v1/predictions/p1/stream", False)),  # another scheme is another origin
    ({"stream": "https://api.example.test:8443/v1/p1/stream"}, ("https://api.example.test:8443/v1/p1/stream", False)),
    ({"stream": "javascript:alert(1)"}, None),
    ({"stream": ""}, None),
    ({"get": f"{BASE}/predictions/p1"}, None),
])
def test_stream_url_sends_the_token_only_to_the_same_origin(urls: dict[str, str],
                                                            expected: tuple[str, bool] | None) -> None:
    assert stream_url(urls, BASE) == expected


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, {}), (-3, {}), (0.2, {"Prefer": "wait=1"}), (1, {"Prefer": "wait=1"}), (2.6, {"Prefer": "wait=3"}),
    (60, {"Prefer": "wait=60"}), (61, {"Prefer": "wait=60"}), (3600, {"Prefer": f"wait={MAX_WAIT_SECONDS}"}),
])
def test_prefer_header_is_clamped_to_the_services_range(seconds: float, expected: dict[str, str]) -> None:
    assert prefer_header(seconds) == expected


def test_create_path_and_body_for_a_model_and_for_a_pinned_version() -> None:
    payload = {"prompt": "a fox", "size": "1K"}
    assert create_path("bytedance/seedream-4") == "models/bytedance/seedream-4/predictions"
    assert create_body("bytedance/seedream-4", payload) == {"input": payload}
    assert create_path("bytedance/seedream-4:abc123") == "predictions"
    body = create_body("bytedance/seedream-4:abc123", payload)
    assert body == {"input": payload, "version": "abc123"}
    assert body["input"] is not payload, "the body holds a copy of the payload"


@pytest.mark.parametrize(("seconds", "expected"), [
    (None, {}), (0, {}), (-1, {}), (float("nan"), {}), (float("inf"), {}),
    (1, {"Cancel-After": "1s"}), (90.2, {"Cancel-After": "91s"}), (600, {"Cancel-After": "600s"}),
])
def test_cancel_after_header_rounds_the_deadline_up(seconds: float | None, expected: dict[str, str]) -> None:
    assert cancel_after_header(seconds) == expected


# -- retry rules -------------------------------------------------------------------------------


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), ("0.5", 0.5), (" 2 ", 2.0), ("-4", 0.0), ("0", 0.0), (None, None), ("", None), ("soon", None),
])
def test_retry_after_seconds_as_a_delta(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_seconds_as_an_http_date() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds(http_date(now + 30), now=now) == pytest.approx(30.0)
    assert retry_after_seconds(http_date(now - 30), now=now) == 0.0, "a date in the past means now"
    later = retry_after_seconds(http_date(time.time() + 120))
    assert later is not None and 115 <= later <= 121, "without now= it counts from the clock"


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_delay_full_jitter_within_bounds(attempt: int) -> None:
    ceiling = min(8.0, 0.25 * 2 ** attempt)
    rng = random.Random(attempt)
    delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert max(delays) - min(delays) > ceiling / 10, "jittered, not constant"


def test_backoff_delay_is_reproducible_with_a_seeded_random() -> None:
    first = [backoff_delay(a, rng=random.Random(42)) for a in range(6)]
    again = [backoff_delay(a, rng=random.Random(42)) for a in range(6)]
    other = [backoff_delay(a, rng=random.Random(43)) for a in range(6)]
    assert first == again and first != other


@pytest.mark.parametrize(("retry_after", "expected"), [(0.0, 0.0), (3.0, 3.0), (31.5, 31.5), (600.0, 32.0)])
def test_backoff_delay_honours_retry_after_up_to_four_caps(retry_after: float, expected: float) -> None:
    assert backoff_delay(5, retry_after=retry_after, rng=random.Random(0)) == expected
    assert backoff_delay(0, retry_after=retry_after, cap=1.0, rng=random.Random(0)) == min(retry_after, 4.0)


def test_poll_interval_starts_short_grows_and_caps() -> None:
    intervals = [poll_interval(n) for n in range(12)]
    assert intervals[0] == 0.25
    assert intervals[1] == pytest.approx(0.375)
    assert intervals == sorted(intervals) and intervals[-1] == 2.0
    assert max(intervals) == 2.0
    assert poll_interval(50, cap=1.0) == 1.0


REQUEST = httpx.Request("GET", f"{BASE}/predictions")


@pytest.mark.parametrize(("exc", "fault", "unsent"), [
    (httpx.ConnectError("refused", request=REQUEST), True, True),
    (httpx.ConnectTimeout("slow", request=REQUEST), True, True),
    (httpx.PoolTimeout("pool", request=REQUEST), True, True),
    (httpx.ReadError("reset", request=REQUEST), True, False),
    (httpx.ReadTimeout("slow", request=REQUEST), True, False),
    (httpx.RemoteProtocolError("cut", request=REQUEST), True, False),
    (httpx.WriteError("broken pipe", request=REQUEST), True, False),
    (ValueError("bad json"), False, False),
    (TypeError("not serialisable"), False, False),
    (httpx.HTTPStatusError("500", request=REQUEST, response=httpx.Response(500, request=REQUEST)), False, False),
])
def test_network_faults_and_surely_unsent_requests(exc: BaseException, fault: bool, unsent: bool) -> None:
    assert is_network_fault(exc) is fault
    assert is_surely_unsent(exc) is unsent


# -- the client over a mock transport -----------------------------------------------------------


class FakeService:
    """A scripted predictions service: records every request, answers through ``routes``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.routes: list[tuple[str, str, Callable[[httpx.Request], httpx.Response]]] = []

    def on(self, method: str, url_prefix: str, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes.insert(0, (method, url_prefix, answer))  # later routes win

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        for method, prefix, answer in self.routes:
            if request.method == method and str(request.url).startswith(prefix):
                return answer(request)
        return httpx.Response(404, json={"title": "Not found", "detail": f"no route {request.url}"})

    def sent(self, method: str, url_prefix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and str(r.url).startswith(url_prefix)]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def prediction(pid: str, status: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": pid, "status": status, "input": payload, "created_at": now_iso(), **extra}


def run_client(service: FakeService, tmp_path: Path, body: Callable[[AsyncSeedream], Any], **options: Any) -> Any:
    async def main() -> Any:
        async with AsyncSeedream(token=TOKEN, base_url=BASE, output_dir=tmp_path / "out",
                                 transport=httpx.MockTransport(service.handler), **options) as client:
            return await body(client)

    return asyncio.run(main())


CREATE = f"{BASE}/models/bytedance/seedream-4/predictions"
PAYLOAD = {"prompt": "a fox", "size": "1K"}


def test_a_bare_create_answer_is_polled_to_the_end_and_its_output_saved(tmp_path: Path) -> None:
    """A base that answers the create with only {id, status} (no urls, no model, not held): polled by id."""
    image = png_bytes((40, 30))
    service = FakeService()
    polls = iter([
        prediction("p1", "starting", PAYLOAD),
        prediction("p1", "processing", PAYLOAD, logs="Using seed 1\n"),
        prediction("p1", "succeeded", PAYLOAD, logs="Using seed 1\ndone\n", output=[f"{FILES}/p1/0.png"]),
    ])
    service.on("POST", CREATE, lambda r: httpx.Response(201, json={"id": "p1", "status": "starting"}))
    service.on("GET", f"{BASE}/predictions/p1", lambda r: httpx.Response(200, json=next(polls)))
    service.on("GET", f"{FILES}/p1/0.png", lambda r: httpx.Response(200, content=image))

    result = run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    assert isinstance(result, Result) and result.id == "p1" and result.prediction.status == "succeeded"
    assert received(result, image) and result.paths[0].suffix == ".png"
    assert result.sizes == [(40, 30)]
    assert len(service.sent("POST", CREATE)) == 1
    assert len(service.sent("GET", f"{BASE}/predictions/p1")) == 3, "polled until it ended"
    (create,) = service.sent("POST", CREATE)
    assert json.loads(create.content) == {"input": PAYLOAD}
    assert create.headers["Prefer"] == "wait=1" and create.headers["Authorization"] == f"Bearer {TOKEN}"
    assert create.headers["Cancel-After"] == "600s", "the client's default deadline travels with the create"
    (download,) = service.sent("GET", FILES)
    assert "Authorization" not in download.headers, "output hosts never see the token"
    sidecar = json.loads((result.folder / "prediction.json").read_text())
    assert sidecar["model"] == "bytedance/seedream-4", "the client's model stands in for a missing one"
    assert sidecar["input"] == PAYLOAD and sidecar["images"][0]["width"] == 40


def test_a_dropped_create_is_resolved_by_listing_not_by_creating_again(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    made: list[dict[str, Any]] = []

    def create(request: httpx.Request) -> httpx.Response:
        made.append(prediction("p7", "processing", json.loads(request.content)["input"]))
        raise httpx.ReadError("connection reset after the request was sent", request=request)

    service.on("POST", CREATE, create)
    service.on("GET", f"{BASE}/predictions", lambda r: httpx.Response(200, json={"results": made}))
    service.on("GET", f"{BASE}/predictions/p7", lambda r: httpx.Response(200, json=prediction(
        "p7", "succeeded", PAYLOAD, output=[f"{FILES}/p7/0.png"])))
    service.on("GET", f"{FILES}/p7/0.png", lambda r: httpx.Response(200, content=image))

    result = run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"), create_grace=1.0)

    assert result.id == "p7" and received(result, image)
    assert len(service.sent("POST", CREATE)) == 1, "never created twice"
    assert next(str(r.url) for r in service.sent("GET", f"{BASE}/predictions")) == f"{BASE}/predictions"


def test_a_422_is_a_validation_error_and_is_never_retried(tmp_path: Path) -> None:
    service = FakeService()
    service.on("POST", CREATE, lambda r: httpx.Response(422, json={
        "title": "Input validation failed", "status": 422, "detail": "- input.size: size must be one of 2K, 4K",
        "invalid_fields": [{"type": "enum", "field": "input.size", "description": "size must be one of 2K, 4K"}]}))

    with pytest.raises(ValidationError) as info:
        run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    assert info.value.status == 422 and info.value.fields == ("size",)
    assert "rejected" in str(info.value) and "2K, 4K" in str(info.value)
    assert [(r.method, str(r.url)) for r in service.requests] == [("POST", CREATE)], "no retry, no listing"
    out = tmp_path / "out"
    assert not out.exists() or [p for p in out.rglob("*") if p.is_file()] == [], "no journal entry left"


def test_a_429_with_retry_after_is_honoured_then_the_create_succeeds(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    answers = iter([
        httpx.Response(429, headers={"Retry-After": "0.6"}, json={"title": "Too many requests"}),
        httpx.Response(201, json=prediction("p2", "succeeded", PAYLOAD, output=[f"{FILES}/p2/0.png"])),
    ])
    service.on("POST", CREATE, lambda r: next(answers))
    service.on("GET", f"{FILES}/p2/0.png", lambda r: httpx.Response(200, content=image))

    result = run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    assert result.id == "p2" and result.paths[0].is_file()
    creates = [t for r, t in zip(service.requests, service.times, strict=True) if r.method == "POST"]
    assert len(creates) == 2
    assert creates[1] - creates[0] >= 0.55, "waited as long as Retry-After said (jitter alone is at most 0.25 s)"


def test_a_stream_on_another_host_is_followed_without_the_token(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    stream = "https://stream.example.test/v1/files/p3"
    service.on("POST", CREATE, lambda r: httpx.Response(201, json=prediction(
        "p3", "processing", PAYLOAD, urls={"get": f"{BASE}/predictions/p3", "stream": stream})))
    events = (f"event: logs\nid: 1\ndata: Generating 1 image\n\n"
              f"event: output\nid: 2\ndata: {FILES}/p3/0.png\n\n"
              "event: done\nid: 3\ndata: {}\n\n")
    service.on("GET", stream, lambda r: httpx.Response(200, content=events.encode(),
                                                        headers={"Content-Type": "text/event-stream"}))
    service.on("GET", f"{BASE}/predictions/p3", lambda r: httpx.Response(200, json=prediction(
        "p3", "succeeded", PAYLOAD, output=[f"{FILES}/p3/0.png"], logs="Generating 1 image\n")))
    service.on("GET", f"{FILES}/p3/0.png", lambda r: httpx.Response(200, content=image))

    result = run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    assert received(result, image)
    (followed,) = service.sent("GET", stream)
    assert "Authorization" not in followed.headers and followed.headers["Accept"] == "text/event-stream"
    assert service.sent("GET", f"{BASE}/predictions/p3") == [], "the stream said it all: no read, no polling"
    assert result.prediction.status == "succeeded" and result.prediction.completed_at is not None


@pytest.mark.parametrize("events", [
    "event: logs\nid: 1\ndata: Generating 1 image\n\nevent: done\nid: 2\ndata: {{}}\n\n",
    "event: output\nid: 1\ndata: {files}/{pid}/0.png\n\nevent: done\nid: 2\ndata: {{\"reason\": \"error\"}}\n\n",
], ids=["no output streamed", "done with a reason"])
def test_a_stream_that_does_not_say_everything_is_followed_by_one_read(tmp_path: Path, events: str) -> None:
    image = png_bytes()
    pid = "p3-failed" if "reason" in events else "p3-quiet"  # ids are claimed process-wide: one per case
    service = FakeService()
    stream = f"https://stream.example.test/v1/files/{pid}"
    service.on("POST", CREATE, lambda r: httpx.Response(201, json=prediction(
        pid, "processing", PAYLOAD, urls={"get": f"{BASE}/predictions/{pid}", "stream": stream})))
    service.on("GET", stream, lambda r: httpx.Response(200, content=events.format(files=FILES, pid=pid).encode(),
                                                        headers={"Content-Type": "text/event-stream"}))
    final = "failed" if "reason" in events else "succeeded"
    service.on("GET", f"{BASE}/predictions/{pid}", lambda r: httpx.Response(200, json=prediction(
        pid, final, PAYLOAD, output=[f"{FILES}/{pid}/0.png"] if final == "succeeded" else None,
        error="it broke" if final == "failed" else None)))
    service.on("GET", f"{FILES}/{pid}/0.png", lambda r: httpx.Response(200, content=image))

    if final == "failed":
        with pytest.raises(PredictionFailed, match="it broke"):
            run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))
    else:
        assert received(run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K")), image)
    assert len(service.sent("GET", f"{BASE}/predictions/{pid}")) == 1, "one read after done, no polling"


def test_a_same_origin_stream_is_sent_the_token(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    stream = f"{BASE}/predictions/p4/stream"
    service.on("POST", CREATE, lambda r: httpx.Response(201, json=prediction("p4", "processing", PAYLOAD,
                                                                             urls={"stream": stream})))
    service.on("GET", stream, lambda r: httpx.Response(200, content=f"event: output\ndata: {FILES}/p4/0.png\n\n"
                                                       "event: done\ndata: {}\n\n".encode(),
                                                       headers={"Content-Type": "text/event-stream"}))
    service.on("GET", f"{BASE}/predictions/p4", lambda r: httpx.Response(200, json=prediction(
        "p4", "succeeded", PAYLOAD, output=[f"{FILES}/p4/0.png"])))
    service.on("GET", f"{FILES}/p4/0.png", lambda r: httpx.Response(200, content=image))

    run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    (followed,) = service.sent("GET", stream)
    assert followed.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_broken_stream_falls_back_to_polling(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    stream = f"{BASE}/predictions/p5/stream"
    reads = iter([prediction("p5", "processing", PAYLOAD),
                  prediction("p5", "succeeded", PAYLOAD, output=[f"{FILES}/p5/0.png"])])
    service.on("POST", CREATE, lambda r: httpx.Response(201, json=prediction("p5", "processing", PAYLOAD,
                                                                             urls={"stream": stream})))
    service.on("GET", stream, lambda r: httpx.Response(503, json={"title": "Unavailable"}))
    service.on("GET", f"{BASE}/predictions/p5", lambda r: httpx.Response(200, json=next(reads)))
    service.on("GET", f"{FILES}/p5/0.png", lambda r: httpx.Response(200, content=image))

    result = run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))

    assert result.paths[0].is_file()
    assert len(service.sent("GET", stream)) == 1 and len(service.sent("GET", f"{BASE}/predictions/p5")) == 2


# -- the token never reaches a message -----------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, {"title": "Unauthenticated", "detail": f"token {TOKEN} is not valid"}, AuthenticationError),
    (400, {"title": f"Bad request for {TOKEN}", "detail": "no"}, APIError),
    (402, {"title": "Payment required", "detail": f"the account of {TOKEN} has no credit"}, APIError),
    (422, {"title": "Input validation failed", "detail": f"echo {TOKEN}", "invalid_fields": [
        {"type": "enum", "field": "input.size", "description": f"bad size for {TOKEN}"}]}, ValidationError),
])
def test_the_token_echoed_in_an_error_answer_never_reaches_the_message(tmp_path: Path, status: int,
                                                                       body: dict[str, Any],
                                                                       error: type[SeedreamError]) -> None:
    service = FakeService()
    service.on("POST", CREATE, lambda r: httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))
    text = f"{info.value}\n{info.value!r}"
    assert TOKEN not in text and TOKEN[3:-4] not in text
    assert TOKEN[:3] + "…" in text, "the echo is shown masked, not dropped"
    assert all(TOKEN not in json.dumps(v, default=str) for v in vars(info.value).values())


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
def test_the_token_echoed_in_a_non_json_error_page_never_reaches_the_message(tmp_path: Path,
                                                                             content_type: str) -> None:
    service = FakeService()
    service.on("GET", f"{BASE}/predictions/p6", lambda r: httpx.Response(
        500, text=f"<h1>upstream failed</h1> Authorization: Bearer {TOKEN}", headers={"Content-Type": content_type}))
    with pytest.raises(APIError) as info:
        run_client(service, tmp_path, lambda c: c.get("p6"), max_retries=0)
    assert info.value.status == 500 and "upstream failed" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.body)


def test_the_token_echoed_by_a_failed_prediction_never_reaches_the_message(tmp_path: Path) -> None:
    service = FakeService()
    service.on("POST", CREATE, lambda r: httpx.Response(201, json=prediction(
        "p8", "failed", PAYLOAD, error=f"upstream refused {TOKEN}", logs=f"calling with {TOKEN}\nfailed\n")))
    with pytest.raises(PredictionFailed) as info:
        run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"))
    assert "upstream refused" in str(info.value) and TOKEN not in str(info.value)
    assert info.value.prediction is not None
    assert TOKEN not in (info.value.prediction.error or "") + info.value.prediction.logs


def test_a_not_found_read_is_not_retried(tmp_path: Path) -> None:
    service = FakeService()
    with pytest.raises(NotFoundError):
        run_client(service, tmp_path, lambda c: c.get("missing"))
    assert len(service.requests) == 1


def test_reads_are_retried_on_5xx_then_succeed(tmp_path: Path) -> None:
    service = FakeService()
    answers = iter([httpx.Response(502, text="bad gateway"), httpx.Response(503, headers={"Retry-After": "0"}),
                    httpx.Response(200, json=prediction("p9", "processing", PAYLOAD))])
    service.on("GET", f"{BASE}/predictions/p9", lambda r: next(answers))
    found = run_client(service, tmp_path, lambda c: c.get("p9"))
    assert found.id == "p9" and found.status == "processing" and len(service.requests) == 3


def test_credentials_in_the_base_url_never_reach_a_network_error(tmp_path: Path) -> None:
    password = "pw-" + secrets.token_hex(8)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def main() -> None:
        async with AsyncSeedream(token=TOKEN, base_url=f"https://proxy-user:{password}@api.example.test/v1",
                                 output_dir=tmp_path, transport=httpx.MockTransport(refuse), max_retries=0) as client:
            await client.get("p1")

    with pytest.raises(NetworkError) as info:
        asyncio.run(main())
    assert "api.example.test" in str(info.value)
    assert password not in str(info.value)


def test_local_validation_sends_nothing(tmp_path: Path) -> None:
    service = FakeService()
    with pytest.raises(ValidationError):
        run_client(service, tmp_path, lambda c: c.generate("a fox", size="3K"))
    assert service.requests == []


def test_a_pinned_version_creates_through_the_predictions_route(tmp_path: Path) -> None:
    image = png_bytes()
    service = FakeService()
    service.on("POST", f"{BASE}/predictions", lambda r: httpx.Response(201, json=prediction(
        "pa", "succeeded", PAYLOAD, output=[f"{FILES}/pa/0.png"])))
    service.on("GET", f"{FILES}/pa/0.png", lambda r: httpx.Response(200, content=image))

    run_client(service, tmp_path, lambda c: c.generate("a fox", size="1K"), model="bytedance/seedream-4:v123")
    (create,) = service.sent("POST", f"{BASE}/predictions")
    assert str(create.url) == f"{BASE}/predictions"
    assert json.loads(create.content) == {"input": PAYLOAD, "version": "v123"}


# -- the rate pacer, on a simulated clock ---------------------------------------------------------------------------

class _Limiter:
    """A service's create limit: a token bucket of ``rate`` per second holding ``burst``, answering 429 above it."""

    def __init__(self, rate: float, burst: float, *, stated: bool) -> None:
        self.rate, self.burst, self.tokens, self.at, self.stated = rate, burst, burst, 0.0, stated

    def create(self, now: float) -> tuple[bool, dict[str, str]]:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        ok = self.tokens >= 1.0
        if ok:
            self.tokens -= 1.0
        headers = {"RateLimit-Policy": f"{self.rate:g};w=1", "RateLimit-Remaining": str(int(self.tokens))} \
            if self.stated else {}
        return ok, headers


def _paced_batch(pacer: protocol.RatePacer, answer: Callable[[float], tuple[bool, dict[str, str]]],
                 items: int) -> tuple[list[float], int]:
    """Send ``items`` creates as fast as the pacer lets a batch (each answered at once; a 429 is sent again):
    the accepted creates' times and the number of 429s."""
    now, accepted, refused, probe_pending, steps = 1.0, [], 0, True, 0
    while len(accepted) < items:
        wait = pacer.delay(now)
        if wait > 0:
            now += max(wait, 1e-6)  # (a wait below the clock's resolution would not move it)
            steps += 1
            assert steps < 100_000, "the loop is bounded"
            continue
        probe = pacer.take(now, probe=probe_pending)
        ok, headers = answer(now)
        if ok:
            pacer.accepted(headers, now)
            accepted.append(now)
        else:
            refused += 1
            pacer.throttled(None, headers, now)
        if probe:
            pacer.probe_ended()
            probe_pending = False
        assert len(accepted) + refused < 10 * items, "the loop is bounded"
    return accepted, refused


def test_a_stated_limit_is_used_at_its_rate_without_429s() -> None:
    """The benchmark's case on a simulated clock: 5 creates/s with a burst of 5, stated in headers."""
    limiter = _Limiter(5.0, 5.0, stated=True)
    times, refused = _paced_batch(protocol.RatePacer(), limiter.create, 40)
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert refused <= 1 and 0.95 * 5.0 <= rate <= 5.0 * 1.3


def test_without_headers_429s_slow_it_and_accepts_let_it_grow_back() -> None:
    limiter = _Limiter(2.0, 2.0, stated=False)
    pacer = protocol.RatePacer()
    times, refused = _paced_batch(pacer, limiter.create, 60)
    late = times[20:]
    rate = (len(late) - 1) / (late[-1] - late[0])
    assert 1.0 <= rate <= 2.2, "paced near the unstated limit after learning from its 429s"
    assert refused < 60 * 0.35, f"{refused} creates refused: it keeps bouncing"


def test_stray_429s_do_not_collapse_the_rate() -> None:
    """A service that refuses 7 % of creates at random (no limit behind them): the rate stays useful."""
    rng = random.Random(7)
    pacer = protocol.RatePacer()
    times, refused = _paced_batch(pacer, lambda now: (rng.random() > 0.07, {}), 200)
    assert refused > 5 and pacer.rate > 2.0
    assert (times[-1] - times[0]) < 60, "200 creates at a few per second at least"


def test_the_probe_holds_a_batch_until_answered_and_single_runs_never_wait_for_it() -> None:
    pacer = protocol.RatePacer()
    assert pacer.take(1.0, probe=False) is False and pacer.delay(1.0) == 0.0  # a single run is no probe
    assert pacer.take(1.0, probe=True) is True and pacer.delay(1.0) > 0      # a batch's first create is
    assert pacer.take(1.0, probe=True) is False                              # (the pacer is asked again later)
    pacer.accepted({}, 1.1)
    assert pacer.delay(1.1) == 0.0


def test_retry_after_holds_every_create_and_a_stated_limit_is_not_halved() -> None:
    pacer = protocol.RatePacer()
    pacer.throttled(3.0, {}, now=10.0)
    assert pacer.delay(10.0) == pytest.approx(3.0) and pacer.rate == 5.0
    stated = protocol.RatePacer()
    stated.throttled(3.0, {"RateLimit-Policy": "4;w=1"}, now=10.0)
    assert stated.rate == pytest.approx(4 * 0.98) and stated.delay(10.0) < 1.0
