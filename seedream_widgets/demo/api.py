"""Request handling of the demo backend: routing, auth, faults, and each route's answer.

`DemoApp.handle` turns one parsed `Request` into one `Response` (or None: drop
the connection unanswered). It knows nothing about sockets; `transport` does.
Routes are matched on the path suffix, so ``/v1/...`` works under any prefix
(``/replicate/v1/...``, the quickrouter proxy shape), and every URL in an answer
is absolute under the prefix the request came in on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .catalog import DemoModel, demo_models
from .faults import HEADER, HTML_PAYLOAD, NOT_IMAGE_HTML, STATUS_KINDS, Fault, FaultPlan, bomb_png, junk
from .render import RenderCache, render_image
from .settings import IMAGE_FORMATS, DemoSettings
from .stats import DemoStats, StatsRecorder
from .store import PredictionRecord, PredictionState, PredictionStore, plan_prediction
from .wire import (
    dumps,
    iso,
    model_json,
    output_urls,
    prediction_json,
    problem,
    validation_problem,
    version_json,
)

JSON = "application/json"
PROBLEM = "application/problem+json"
MAX_WAIT = 60.0
"""The longest ``Prefer: wait`` honoured, in seconds (Replicate's limit)."""


@dataclass(frozen=True)
class Request:
    """One HTTP request as the app sees it; header names are lower-case."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes = b""
    origin: str = "http://127.0.0.1"
    """``http://host:port`` the client addressed: absolute URLs in answers start with it."""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


@dataclass
class Response:
    """One answer. A ``stream`` is sent as it comes: with ``length`` as Content-Length, or, without
    one, in HTTP/1.1 chunks (to an HTTP/1.0 client: until the connection closes)."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterable[bytes] | None = None
    length: int | None = None


def json_response(status: int, document: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, dumps(document), JSON, headers or [])


def problem_response(status: int, title: str, detail: str, headers: list[tuple[str, str]] | None = None,
                     **extra: Any) -> Response:
    return Response(status, dumps(problem(status, title, detail, **extra)), PROBLEM, headers or [])


def prefer_wait(header: str | None) -> float | None:
    """Seconds to hold a create from ``Prefer: wait`` (60) or ``wait=N`` (clamped to 1..60)."""
    for preference in (header or "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        try:
            seconds = float(value.strip().strip('"')) if value.strip() else MAX_WAIT
        except ValueError:
            seconds = MAX_WAIT
        return min(MAX_WAIT, max(1.0, seconds))
    return None


Handler = Callable[[Request, "re.Match[str]", "Fault | None"], Response]


def _suffix(pattern: str) -> re.Pattern[str]:
    # Any prefix of whole path segments, then the API path itself.
    return re.compile(r"^(?P<prefix>(?:/[^/]+)*?)" + pattern + r"/?$")


_ID = r"(?P<id>[^/]+)"


class DemoApp:
    """The demo backend's behaviour, shared by all handler threads."""

    def __init__(self, settings: DemoSettings, models: Mapping[str, DemoModel] | None = None) -> None:
        self.settings = settings
        self.models: dict[str, DemoModel] = dict(models) if models is not None else demo_models()
        self.files = FileStore()
        self.limiter = CreateLimiter()
        self.store = PredictionStore()
        self.faults = FaultPlan()
        self.stats = StatsRecorder()
        self.renders = RenderCache()
        self.origin = "http://127.0.0.1"
        """Where the server listens; used when there is no request (the Python-side API)."""
        model = r"/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        self._routes: list[tuple[re.Pattern[str], dict[str, tuple[str, Handler]]]] = [
            (_suffix(model + "/predictions"), {"POST": ("create", self._create_for_model)}),
            (_suffix(model + r"/versions/(?P<version>[^/]+)"), {"GET": ("model", self._version)}),
            (_suffix(model), {"GET": ("model", self._model)}),
            (_suffix("/v1/predictions"), {"POST": ("create", self._create_for_version),
                                          "GET": ("list", self._list)}),
            (_suffix(f"/v1/predictions/{_ID}"), {"GET": ("get", self._get)}),
            (_suffix(f"/v1/predictions/{_ID}/cancel"), {"POST": ("cancel", self._cancel)}),
            (_suffix(f"/v1/predictions/{_ID}/stream"), {"GET": ("stream", self._stream)}),
            (_suffix("/v1/files"), {"POST": ("upload", self._upload)}),
            (_suffix(f"/v1/files/{_ID}"), {"GET": ("upload_info", self._upload_info)}),
            (_suffix(f"/v1/files/{_ID}/download"), {"GET": ("upload_get", self._upload_get)}),
            (_suffix(rf"/files/{_ID}/(?P<index>[0-9]+)\.(?P<ext>[a-z]+)"), {"GET": ("file", self._file)}),
        ]
        self._admin = re.compile(r"^(?:/[^/]+)*?/_demo/(?P<what>[^?]+?)/?$")

    # -- entry point ---------------------------------------------------------------

    def handle(self, request: Request) -> Response | None:
        """The answer to ``request``, or None to close the connection without one."""
        path = request.path
        admin = self._admin.match(path)
        if admin:
            return self._handle_admin(request, admin.group("what"))
        route, handler, match = self._resolve(request)
        self.stats.request(route, len(request.body))
        try:
            fault = self.faults.pick(route, request.headers.get(HEADER.lower()))
        except ValueError as exc:
            return problem_response(400, "Bad demo fault header", str(exc))
        kind = fault.kind if fault else ""
        if fault:
            self.stats.fault(kind)
        if kind == "latency" and fault:
            self.store.pause(fault.number("seconds", 0.5))
        if kind in STATUS_KINDS and fault:
            status, body, headers = fault.problem()
            return Response(status, dumps(body), PROBLEM, headers)
        if kind == "drop":
            return None
        if handler is None or match is None:
            response = self._unrouted(request)
        elif route not in _OPEN_ROUTES and not self._authorized(request):
            response = problem_response(401, "Unauthenticated", "You did not pass a valid authentication token")
        else:
            response = handler(request, match, fault)
        if kind == "drop_after":
            return None
        if kind == "malformed" and response.stream is None:
            # Right status and headers, a body cut in half: valid HTTP, invalid JSON.
            response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def _resolve(self, request: Request) -> tuple[str, Handler | None, re.Match[str] | None]:
        for pattern, methods in self._routes:
            match = pattern.match(request.path)
            if match and request.method in methods:
                route, handler = methods[request.method]
                return route, handler, match
        return "unknown", None, None

    def _unrouted(self, request: Request) -> Response:
        allowed = sorted({m for pattern, methods in self._routes if pattern.match(request.path) for m in methods})
        if allowed:
            return problem_response(405, "Method not allowed", f"{request.method} is not allowed here; "
                                    f"use {', '.join(allowed)}", [("Allow", ", ".join(allowed))])
        return problem_response(404, "Not found", f"The demo backend has no route {request.path}.")

    @staticmethod
    def _no_route(request: Request) -> Response:
        """What a proxy that forwards predictions only answers for the routes it lacks."""
        return problem_response(404, "Not found", f"The demo backend has no route {request.path}.")

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        expected = self.settings.token
        # Constant-time compare: the demo is a test bed for clients, so it behaves like a real server.
        return expected is None or hmac.compare_digest(token.encode(), expected.encode())

    # -- predictions ---------------------------------------------------------------

    def _create_for_model(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        model = self.models.get(f"{match.group('owner')}/{match.group('name')}")
        if model is None:
            return self._no_model(f"{match.group('owner')}/{match.group('name')}")
        return self._create(request, match, fault, model, None)

    def _create_for_version(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        return self._create(request, match, fault, None, "version")

    def _create(self, request: Request, match: re.Match[str], fault: Fault | None, model: DemoModel | None,
                version_key: str | None) -> Response:
        try:
            document = json.loads(request.body or b"null")
        except (UnicodeDecodeError, ValueError) as exc:
            return problem_response(400, "Invalid JSON", f"The request body is not valid JSON: {exc}")
        if not isinstance(document, dict):
            return problem_response(400, "Invalid JSON", "The request body must be a JSON object.")
        if version_key is not None:
            model = self._model_of_version(str(document.get(version_key) or ""))
            if model is None:
                # What Replicate answers for an unknown version id (a 422, not a 404).
                return problem_response(422, "Invalid version or not permitted", "The specified version does "
                                        "not exist (or perhaps you don't have permission to use it?)")
        assert model is not None
        payload = document.get("input")
        if not isinstance(payload, dict):
            got = "nothing" if payload is None else type(payload).__name__
            return problem_response(422, "Input validation failed", f"- input: must be an object, got {got}\n",
                                    invalid_fields=[{"type": "type", "field": "input",
                                                     "description": f"must be an object, got {got}"}])
        invalid = model.schema.check(payload)
        if invalid:
            body = validation_problem(invalid)
            return Response(422, dumps(body), PROBLEM)
        cancel_after = parse_duration(request.headers.get("cancel-after")) if self.settings.cancel_after else None
        if self.settings.cancel_after and request.headers.get("cancel-after") and cancel_after is None:
            return problem_response(400, "Invalid Cancel-After", "Cancel-After must be a duration such as 90s, "
                                    "5m, 1h30m or 500ms.")
        throttled, limit_headers = self.limiter.take(self.settings.create_rate, self.settings.create_burst)
        if throttled is not None:
            self.stats.throttled()
            return problem_response(429, "Request was throttled",
                                    f"Request was throttled. Expected available in {math.ceil(throttled)} second.",
                                    [("Retry-After", str(max(1, math.ceil(throttled)))), *limit_headers])

        kind = fault.kind if fault else ""
        fail_message, fail_logs = None, ""
        if kind == "fail" and fault:
            fail_message = fault.text("message", "The demo backend failed this prediction (fault injection).")
        elif kind == "html":
            fail_message, fail_logs = f"Model error: {HTML_PAYLOAD}", f"{HTML_PAYLOAD}\n"
        plan = plan_prediction(payload, self.settings, model.schema, fail_message=fail_message, fail_logs=fail_logs)
        record = self.store.create(payload, plan, model=model.name, version=model.version, cancel_after=cancel_after)
        self.stats.created(record.id)
        self._mark(record, fault)
        if self.settings.minimal_create:
            # The seed page's own example answer: no urls, no model, no version, never held.
            return json_response(201, {"id": record.id, "status": "starting"}, limit_headers)

        wait = prefer_wait(request.headers.get("prefer")) if self.settings.hold_creates else None
        if wait is not None:
            self.store.wait(record, wait)
        state = self.store.state(record)
        outputs = None
        if (wait is not None and self.settings.inline_outputs and state.status == "succeeded"
                and not record.hostile_urls and not self._data_removed(record, state)):
            mime = IMAGE_FORMATS[record.plan.image_format][1]
            outputs = [f"data:{mime};base64,{base64.b64encode(self._image(record, i)).decode('ascii')}"
                       for i in range(state.ready)]
        document = self._prediction(record, state, request.origin, match.group("prefix"), outputs)
        return json_response(201, document, [("Location", document["urls"]["get"]), *limit_headers])

    def _model_of_version(self, version: str) -> DemoModel | None:
        name, _, bare = version.rpartition(":")
        for model in self.models.values():
            if bare == model.version and name in ("", model.name):
                return model
        return None

    def _no_model(self, name: str) -> Response:
        return problem_response(404, "Not found", f"Model {name} does not exist (the demo backend serves "
                                f"{', '.join(self.models)}).")

    def _get(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        record = self.store.get(match.group("id"))
        if record is None:
            return self._no_prediction(match.group("id"))
        self._mark(record, fault)
        return json_response(200, self._prediction(record, self.store.state(record), request.origin,
                                                   match.group("prefix")))

    def _cancel(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        record = self.store.get(match.group("id"))
        if record is None:
            return self._no_prediction(match.group("id"))
        self.stats.canceled()
        self.store.cancel(record)
        return json_response(200, self._prediction(record, self.store.state(record), request.origin,
                                                   match.group("prefix")))

    def _list(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        before = None
        cursor = (request.query.get("cursor") or [""])[0]
        if cursor:
            try:
                before = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode().removeprefix("before:"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                return problem_response(400, "Invalid cursor", "The cursor is not one this server gave out.")
        records, next_before = self.store.page(before, self.settings.page_size)
        prefix = match.group("prefix")
        next_url = None
        if next_before is not None:
            token = base64.urlsafe_b64encode(f"before:{next_before}".encode()).decode().rstrip("=")
            next_url = f"{request.origin}{prefix}/v1/predictions?cursor={token}"
        results = [self._prediction(r, self.store.state(r), request.origin, prefix) for r in records]
        return json_response(200, {"previous": None, "next": next_url, "results": results})

    def _stream(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        """Server-sent events: ``output`` per new image URL, ``logs`` per new line, then ``done``."""
        record = self.store.get(match.group("id"))
        if record is None:
            return self._no_prediction(match.group("id"))

        def event(name: str, data: str, number: int) -> bytes:
            # Every event carries an id: the official client drops events without one.
            lines = "".join(f"data: {line}\n" for line in data.split("\n"))
            return f"event: {name}\nid: {number}\n{lines}\n".encode()

        def events() -> Iterator[bytes]:
            sent_outputs, sent_logs, number = 0, 0, 0
            while True:
                state = self.store.state(record)
                urls = output_urls(record, state.ready, request.origin)
                lines = state.logs.splitlines()
                fresh = [("output", url) for url in urls[sent_outputs:]]
                fresh += [("logs", line) for line in lines[sent_logs:]]
                sent_outputs, sent_logs = len(urls), len(lines)
                if state.terminal or self.store.closed:
                    if state.status == "failed":
                        fresh.append(("error", json.dumps({"detail": state.error})))
                    reason = "" if state.status == "succeeded" else state.status
                    fresh.append(("done", json.dumps({"reason": reason} if reason else {})))
                for name, data in fresh:
                    number += 1
                    yield event(name, data, number)
                if fresh and fresh[-1][0] == "done":
                    return
                self.store.wait(record, 0.05)

        return Response(200, content_type="text/event-stream", headers=[("Cache-Control", "no-store")],
                        stream=events())

    # -- files and model -------------------------------------------------------------

    def _file(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        record = self.store.get(match.group("id"))
        index = int(match.group("index"))
        if record is None:
            return problem_response(404, "Not found", "No such output file.")
        state = self.store.state(record)
        ext, mime = IMAGE_FORMATS[record.plan.image_format]
        if index >= state.ready or match.group("ext") != ext:
            return problem_response(404, "Not found", "No such output file.")
        kind = fault.kind if fault else ""
        if kind == "expire" or self._data_removed(record, state):
            return problem_response(404, "Not found", "This output has expired: outputs are deleted "
                                    "after the output TTL (about an hour on Replicate).")
        if kind == "oversize" and fault:
            size = int(fault.number("bytes", 64 * 2**20))
            return Response(200, content_type="image/jpeg", stream=junk(size), length=size)
        if kind == "not_image":
            return Response(200, NOT_IMAGE_HTML, "image/png")
        if kind == "bomb":
            return Response(200, bomb_png(), "image/png")
        return Response(200, self._image(record, index), mime, [("Cache-Control", "public, max-age=3600")])

    def _model(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        if not self.settings.models_route:
            return self._no_route(request)
        model = self.models.get(f"{match.group('owner')}/{match.group('name')}")
        if model is None:
            return self._no_model(f"{match.group('owner')}/{match.group('name')}")
        runs = sum(1 for record in self.store.records() if record.model == model.name)
        return json_response(200, model_json(model, run_count=runs))

    def _version(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        if not self.settings.models_route:
            return self._no_route(request)
        name = f"{match.group('owner')}/{match.group('name')}"
        model = self.models.get(name)
        if model is None or match.group("version") != model.version:
            return problem_response(404, "Not found", f"Version {match.group('version')} of {name} does "
                                    "not exist.")
        return json_response(200, version_json(model))

    # -- the Files API ----------------------------------------------------------------

    def _upload(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        """``POST /v1/files`` (multipart: content, filename, type, metadata), as Replicate's Files API."""
        if not self.settings.files_route:
            return self._no_route(request)
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return problem_response(400, "Bad request", "Upload a file as multipart/form-data with a 'content' part.")
        message = BytesParser(policy=email_policy).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        content = parts.get("content")
        if content is None:
            return problem_response(400, "Bad request", "The upload has no 'content' part.")
        raw = content.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
        name = content.get_filename() or "file"
        meta_part = parts.get("metadata")
        metadata: Any = {}
        if meta_part is not None:
            try:
                metadata = json.loads(meta_part.get_content())
            except (ValueError, TypeError):
                metadata = {}
        kind = str(parts["type"].get_content()).strip() if "type" in parts else content.get_content_type()
        self.stats.uploaded()
        stored = self.files.add(data, name, kind, metadata)
        return json_response(201, self._file_json(stored, request.origin, match.group("prefix")))

    def _upload_info(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        stored = self.files.get(match.group("id"))
        if stored is None or not self.settings.files_route:
            return problem_response(404, "Not found", "No such file.")
        return json_response(200, self._file_json(stored, request.origin, match.group("prefix")))

    def _upload_get(self, request: Request, match: re.Match[str], fault: Fault | None) -> Response:
        stored = self.files.get(match.group("id"))
        if stored is None:
            return problem_response(404, "Not found", "No such file.")
        return Response(200, stored.data, stored.content_type)

    @staticmethod
    def _file_json(stored: StoredFile, origin: str, prefix: str) -> dict[str, Any]:
        return {"id": stored.id, "name": stored.name, "content_type": stored.content_type, "size": len(stored.data),
                "etag": stored.sha256[:32], "checksums": {"sha256": stored.sha256}, "metadata": stored.metadata,
                "created_at": iso(stored.created), "expires_at": iso(stored.created + 24 * 3600),
                "urls": {"get": f"{origin}{prefix}/v1/files/{stored.id}/download"}}

    # -- helpers -----------------------------------------------------------------------

    def _mark(self, record: PredictionRecord, fault: Fault | None) -> None:
        if fault and fault.kind in ("expire", "output_scheme"):
            self.store.mark(record, expired=fault.kind == "expire", hostile_urls=fault.kind == "output_scheme")

    def _data_removed(self, record: PredictionRecord, state: PredictionState) -> bool:
        if record.expired:
            return True
        return state.completed_at is not None and self.store.age(record) - state.completed_at >= \
            self.settings.output_ttl

    def _prediction(self, record: PredictionRecord, state: PredictionState, origin: str, prefix: str,
                    outputs: list[str] | None = None) -> dict[str, Any]:
        return prediction_json(record, state, origin=origin, prefix=prefix,
                               data_removed=self._data_removed(record, state), outputs=outputs,
                               stream=self.settings.stream and not state.terminal)

    def _image(self, record: PredictionRecord, index: int) -> bytes:
        plan = record.plan
        return self.renders.get(
            (plan.digest, index, plan.image_format),
            lambda: render_image(record.input, index, plan.count, plan.width, plan.height, plan.image_format))

    @staticmethod
    def _no_prediction(prediction_id: str) -> Response:
        return problem_response(404, "Not found", f"Prediction {prediction_id} does not exist.")

    # -- the Python-side API of DemoServer ----------------------------------------------

    def prediction(self, prediction_id: str) -> dict[str, Any]:
        record = self.store.require(prediction_id)
        return self._prediction(record, self.store.state(record), self.origin, "")

    def output_bytes(self, prediction_id: str, index: int) -> bytes:
        record = self.store.require(prediction_id)
        if not 0 <= index < record.plan.count:
            raise IndexError(f"prediction {prediction_id} has outputs 0 to {record.plan.count - 1}, not {index}")
        return self._image(record, index)

    def cancel_from_elsewhere(self, prediction_id: str) -> None:
        self.store.cancel(self.store.require(prediction_id))

    def snapshot(self) -> DemoStats:
        return self.stats.snapshot()

    # -- admin (no auth, not counted, never faulted) --------------------------------------

    def _handle_admin(self, request: Request, what: str) -> Response:
        try:
            document = json.loads(request.body) if request.body else {}
        except (UnicodeDecodeError, ValueError) as exc:
            return problem_response(400, "Invalid JSON", str(exc))
        if not isinstance(document, dict):
            return problem_response(400, "Invalid JSON", "The body must be a JSON object.")
        try:
            return self._admin_action(request.method, what, document)
        except (TypeError, ValueError) as exc:
            return problem_response(400, "Bad demo admin request", str(exc))

    def _admin_action(self, method: str, what: str, document: dict[str, Any]) -> Response:
        if (method, what) == ("GET", "stats"):
            return json_response(200, self.stats.snapshot().to_json())
        if (method, what) == ("POST", "reset"):
            self.faults.clear()
            self.stats.reset()
            return json_response(200, {"ok": True})
        if what == "config" and method in ("GET", "POST"):
            if method == "POST":
                self.settings.update(**document)
            return json_response(200, self.settings.public())
        if what == "faults" and method == "DELETE":
            self.faults.clear()
            return json_response(200, {"ok": True})
        if what == "faults" and method == "POST":
            if "rate" in document:
                kinds = document.get("kinds")
                self.faults.set_rate(float(document["rate"]), tuple(kinds) if kinds else None,
                                     int(document.get("seed", 0)))
            else:
                params = document.get("params") or {}
                if not isinstance(params, dict):
                    raise ValueError("params must be an object")
                self.faults.inject(str(document.get("kind", "")), route=str(document.get("route", "any")),
                                   times=document.get("times", 1), params=params)
            return json_response(200, {"ok": True})
        found = re.fullmatch(rf"predictions/{_ID}(?P<cancel>/cancel)?", what)
        if found:
            record = self.store.get(found.group("id"))
            if record is None:
                return self._no_prediction(found.group("id"))
            if found.group("cancel") and method == "POST":
                self.store.cancel(record)
            elif found.group("cancel") or method != "GET":
                return problem_response(405, "Method not allowed", f"{method} is not allowed here.")
            document = self._prediction(record, self.store.state(record), self.origin, "")
            # When it was created and when it ends, on this machine's monotonic clock (benchmarks compare a
            # client's "I know it ended" with these; time.monotonic is one clock for every process here).
            document["demo_clock"] = {"created": record.created_mono, "ends": record.created_mono + min(
                record.plan.end_time, record.cancel_after if record.cancel_after is not None else math.inf)}
            return json_response(200, document)
        return problem_response(404, "Not found", f"No demo admin endpoint {method} /_demo/{what}.")


_OPEN_ROUTES = frozenset({"file", "stream", "upload_get"})
"""Routes readable without the token: output files (replicate.delivery), event streams (stream.replicate.com)
and uploaded files' signed download URLs."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str | None) -> float | None:
    """Seconds from a ``Cancel-After`` value (``90s``, ``5m``, ``1h30m``, ``500ms``, or bare seconds); None if bad.

    >>> parse_duration("1m30s"), parse_duration("45"), parse_duration("soon")
    (90.0, 45.0, None)
    """
    if text is None:
        return None
    value = text.strip().lower()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(f"{n}{unit}" for n, unit in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[unit] for n, unit in parts)


@dataclass(frozen=True)
class StoredFile:
    id: str
    data: bytes
    name: str
    content_type: str
    metadata: Any
    created: float
    sha256: str


class FileStore:
    """Files uploaded to a demo backend (kept in memory while it runs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}

    def add(self, data: bytes, name: str, content_type: str, metadata: Any) -> StoredFile:
        stored = StoredFile(secrets.token_hex(12), data, name, content_type, metadata, time.time(),
                            hashlib.sha256(data).hexdigest())
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def by_url(self, url: str) -> StoredFile | None:
        """The file behind one of this backend's download URLs (``.../v1/files/<id>/download``)."""
        found = re.search(r"/v1/files/([^/]+)/download$", urlsplit(url).path)
        return self.get(found.group(1)) if found else None


class CreateLimiter:
    """A token bucket for creates (``create_rate`` per second, ``create_burst`` at once), like a throttled account."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._at = 0.0
        self._rate = 0.0

    def take(self, rate: float, burst: int) -> tuple[float | None, list[tuple[str, str]]]:
        """(None, headers) when a create may go ahead, else (seconds until it may, headers)."""
        if rate <= 0:
            return None, []
        with self._lock:
            now = time.monotonic()
            if rate != self._rate:
                self._rate, self._tokens, self._at = rate, float(burst), now
            self._tokens = min(float(burst), self._tokens + (now - self._at) * rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                wait = None
            else:
                wait = (1.0 - self._tokens) / rate
            reset = (burst - self._tokens) / rate
            headers = [("RateLimit-Policy", f"{rate:g};w=1"), ("RateLimit-Limit", f"{rate:g}"),
                       ("RateLimit-Remaining", str(int(self._tokens))), ("RateLimit-Reset", f"{math.ceil(reset)}")]
            return wait, headers
