"""HTTP/1.1 over sockets for the demo backend: keep-alive, one write per answer, clean shutdown.

Two details decide whether benchmarks measure the client or this server:
accepted sockets get ``TCP_NODELAY``, and every answer (status line, headers
and body) leaves in a single ``sendall``. A stdlib handler that writes headers
and body separately meets Nagle's algorithm and the peer's delayed ACK and
loses about 40 ms per response on loopback.

Nothing is logged: request headers carry bearer tokens.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .api import DemoApp, Request, Response, problem_response

MAX_BODY = 256 * 2**20
"""Largest request body accepted (ten 4K data URIs fit easily)."""
IDLE_TIMEOUT = 120.0
"""Seconds an idle keep-alive connection stays open."""


class DemoHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that counts connections and can close them all on shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: sixteen clients connecting at once overflow it, the
    # kernel drops the extra SYNs and those clients retry after TCP's 1 s (then 3 s) timeout.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: DemoApp, *, ipv6: bool = False) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.app = app
        self._open: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._track = threading.Lock()
        super().__init__(address, DemoRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can hang for
        # seconds without a network; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.app.stats.connection()
        with self._track:
            self._open.add(conn)
        return conn, addr

    def process_request(self, request: Any, client_address: Any) -> None:
        # Like ThreadingMixIn's, but every handler thread is remembered so stop() can join it.
        thread = threading.Thread(target=self._run_thread, args=(request, client_address),
                                  name="seedream-demo-connection", daemon=True)
        with self._track:
            self._handler_threads.add(thread)
        thread.start()

    def _run_thread(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._track:
                self._handler_threads.discard(threading.current_thread())

    def shutdown_request(self, request: Any) -> None:
        with self._track:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Cut every open connection (idle keep-alives, waits, streams) and join their threads."""
        with self._track:
            sockets, threads = list(self._open), list(self._handler_threads)
        for conn in sockets:
            with contextlib.suppress(OSError):  # already closed by its own thread
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal here (timeouts, drop tests); anything else is a bug.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # ConnectionError, TimeoutError, BrokenPipeError, ...
            return
        super().handle_error(request, client_address)


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Reads one request, asks the app, writes the answer in one piece."""

    protocol_version = "HTTP/1.1"
    server_version = "seedream-demo"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: DemoHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent on purpose: never risk writing a token anywhere."""

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(problem_response(411, "Length required", "Send a Content-Length; chunked request "
                                        "bodies are not supported by the demo backend."))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True  # the body was not read, so the connection cannot be reused
            self._send(problem_response(413, "Request too large", f"Bodies up to {MAX_BODY} bytes are accepted."))
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body, self._origin(headers.get("host", "")))
        try:
            response = self.server.app.handle(request)
        except Exception as exc:  # a bug in the demo: answer it rather than drop the connection
            response = problem_response(500, "Demo backend error", f"{type(exc).__name__}: {exc}")
        if response is None:
            self.close_connection = True  # a dropped connection: no answer at all
            return
        self._send(response)

    def _origin(self, host: str) -> str:
        # Absolute URLs follow the Host the client used (127.0.0.1 vs localhost); anything odd is ignored.
        if host and all(c.isalnum() or c in ".-:[]" for c in host):
            return f"http://{host}"
        return self.server.app.origin

    def _send(self, response: Response) -> None:
        status = HTTPStatus(response.status)
        streaming = response.stream is not None
        length = response.length if streaming else len(response.body)
        lines = [
            f"HTTP/1.1 {status.value} {status.phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {response.content_type}",
        ]
        # A stream of unknown length (the event stream) is sent in chunks to an HTTP/1.1 client, as real servers do,
        # so its connection can be reused once the stream ends; an HTTP/1.0 client reads it to the connection's end.
        chunked = length is None and self.request_version == "HTTP/1.1"
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is None:
            self.close_connection = True
        else:
            lines.append(f"Content-Length: {length}")
        lines += [f"{name}: {value}" for name, value in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if response.stream is None:
            self.wfile.write(head + response.body)  # one sendall: see the module docstring
            return
        self.wfile.write(head)
        for chunk in response.stream:
            if chunked and chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif not chunked:
                self.wfile.write(chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
