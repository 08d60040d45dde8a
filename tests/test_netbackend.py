"""The asyncio network backend (`seedream_widgets.netbackend`) over real sockets on 127.0.0.1.

Through httpx (keep-alive, bodies, streaming, timeouts, stale connections, TLS with a trustme CA,
read back-pressure) and directly against the httpcore stream interface. The servers are threaded
and stopped (threads joined, sockets closed) by their context managers; no loop waits unbounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpcore
import httpx
import pytest
import trustme

from seedream_widgets import netbackend
from seedream_widgets.netbackend import HIGH_WATER, AsyncioBackend, AsyncioStream, fast_transport

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")
BODY = random.Random(8).randbytes(20_000_000)  # served in slices by /big?n=...; random: no compression luck


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def _collect_leaks() -> Iterator[None]:
    """A socket or transport left open warns (ResourceWarning) when collected: make it this test's failure."""
    yield
    gc.collect()


# -- a small HTTP/1.1 server ----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 10  # an idle keep-alive connection the client forgot ends the thread in the end
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()  # here, in the connection's thread, not in the accept loop
        with self.server.lock:
            self.server.connections += 1

    def _send(self, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        view = memoryview(body)
        for start in range(0, len(view), 1 << 20):
            self.wfile.write(view[start : start + (1 << 20)])

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/small":
            self._send(b"hello")
        elif url.path == "/big":
            self._send(BODY[: int(query["n"][0])])
        elif url.path == "/close-after":  # answer as if keep-alive, then close while idle
            self._send(b"bye")
            self.close_connection = True
        elif url.path == "/junk-after":  # answer, then send bytes nobody asked for once told to
            self._send(b"ok")
            self.server.go.wait(5)
            self.wfile.write(b"HTTP/1.1 200 OK\r\n\r\njunk")
            self.server.junk_sent.set()
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = {"got": json.loads(body), "type": self.headers["Content-Type"]}
        self._send(json.dumps(answer).encode(), "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released each time the server closed a connection
        self.go = threading.Event()
        self.junk_sent = threading.Event()

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.server_address[1]}"

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up, a failed TLS handshake: expected in these tests


@contextlib.contextmanager
def serve(ssl_context: ssl.SSLContext | None = None) -> Iterator[_Server]:
    server = _Server(ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.go.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


class _RawServer:
    """Accepts connections and hands each to on_accept (in the accept thread); closes them all at the end."""

    def __init__(
        self, on_accept: Callable[[socket.socket], None] = lambda conn: None, *, threaded: bool = False
    ) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port: int = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._on_accept = on_accept
        self._threaded = threaded  # on_accept in a thread of its own per connection (it may block)
        self._handlers: list[threading.Thread] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conns.append(conn)
            if self._threaded:
                handler = threading.Thread(target=self._on_accept, args=(conn,), daemon=True)
                self._handlers.append(handler)
                handler.start()
            else:
                self._on_accept(conn)

    def __enter__(self) -> _RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._thread.join(5)
        for handler in self._handlers:
            handler.join(5)
        for conn in self.conns:
            conn.close()
        self.sock.close()


def client(**kwargs: Any) -> httpx.AsyncClient:
    transport_options = {k: kwargs.pop(k) for k in ("verify", "retries") if k in kwargs}
    return httpx.AsyncClient(transport=fast_transport(**transport_options), **kwargs)


# -- through httpx -------------------------------------------------------------------------


def test_keep_alive_post_big_body_and_streaming() -> None:
    async def main(server: _Server) -> None:
        async with client(base_url=server.url) as http:
            first = await http.get("/small")
            second = await http.get("/small")
            assert first.content == second.content == b"hello"
            assert isinstance(first.extensions["network_stream"], AsyncioStream)
            assert server.connections == 1  # the second request reused the connection

            posted = await http.post("/echo", json={"prompt": "a fox", "n": [1, 2]})
            assert posted.json() == {"got": {"prompt": "a fox", "n": [1, 2]}, "type": "application/json"}

            big = await http.get("/big", params={"n": 5_000_000})
            assert len(big.content) == 5_000_000 and sha(big.content) == sha(BODY[:5_000_000])

            digest = hashlib.sha256()
            chunks = 0
            async with http.stream("GET", "/big", params={"n": 3_000_001}) as response:
                async for chunk in response.aiter_bytes():
                    digest.update(chunk)
                    chunks += 1
            assert digest.hexdigest() == sha(BODY[:3_000_001]) and chunks > 1
            assert server.connections == 1

    with serve() as server:
        run(main(server))


def test_concurrent_requests_each_get_their_bytes() -> None:
    async def main(server: _Server) -> None:
        async with client(base_url=server.url) as http:
            sizes = [100_000 + 7919 * i for i in range(8)]
            responses = await asyncio.gather(*(http.get("/big", params={"n": n}) for n in sizes))
            for n, response in zip(sizes, responses, strict=True):
                assert response.content == BODY[:n]
            again = await asyncio.gather(*(http.get("/small") for _ in range(8)))
            assert all(r.content == b"hello" for r in again)
            assert 2 <= server.connections <= 8

    with serve() as server:
        run(main(server))


def test_read_timeout_when_the_server_never_answers() -> None:
    async def main(port: int) -> float:
        async with client(timeout=httpx.Timeout(5.0, read=0.3)) as http:
            start = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"http://127.0.0.1:{port}/")
            return time.monotonic() - start

    with _RawServer() as silent:
        elapsed = run(main(silent.port))
    assert 0.25 <= elapsed < 2.0


def test_connect_error_on_a_closed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening, closed below: connect is refused

    async def main() -> None:
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{port}/")

    run(main())


def test_connect_timeout_when_the_accept_queue_is_full() -> None:
    # listen(0) and no accept(): one connection fills the queue, Linux drops further SYNs, connect() hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]

        async def main() -> float:
            async with client(timeout=httpx.Timeout(5.0, connect=0.3)) as http:
                start = time.monotonic()
                with pytest.raises(httpx.ConnectTimeout):
                    await http.get(f"http://127.0.0.1:{port}/")
                return time.monotonic() - start

        with socket.create_connection(("127.0.0.1", port)):
            elapsed = run(main())
    assert 0.25 <= elapsed < 2.0


def test_write_timeout_when_the_server_does_not_read() -> None:
    async def main(port: int) -> None:
        async with client(timeout=httpx.Timeout(5.0, write=0.3)) as http:
            with pytest.raises(httpx.WriteTimeout):
                await http.post(f"http://127.0.0.1:{port}/", content=bytes(64_000_000))

    with _RawServer() as deaf:
        run(main(deaf.port))


@pytest.mark.parametrize("loop_ran", [True, False], ids=["loop-idle", "loop-blocked"])
def test_an_idle_connection_the_server_closed_is_not_reused(loop_ran: bool) -> None:
    async def main(server: _Server) -> None:
        async with client(base_url=server.url) as http:
            assert (await http.get("/close-after")).content == b"bye"
            if loop_ran:  # the loop runs while waiting: the protocol sees EOF
                assert await asyncio.to_thread(server.closed.acquire, True, 5)
            else:  # the loop is blocked while the FIN arrives (httpcore's pool lock yields to it before it checks)
                assert server.closed.acquire(True, 5)
                time.sleep(0.05)
            assert (await http.get("/small")).content == b"hello"
            assert server.connections == 2

    with serve() as server:
        run(main(server))


def test_an_idle_connection_that_received_junk_is_not_reused() -> None:
    async def main(server: _Server) -> None:
        async with client(base_url=server.url) as http:
            assert (await http.get("/junk-after")).content == b"ok"
            server.go.set()
            assert await asyncio.to_thread(server.junk_sent.wait, 5)
            await asyncio.sleep(0.05)
            assert (await http.get("/small")).content == b"hello"
            assert server.connections == 2

    with serve() as server:
        run(main(server))


def test_read_back_pressure_bounds_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    pauses: list[int] = []
    data_received = netbackend._StreamProtocol.data_received

    def recording(self: netbackend._StreamProtocol, data: bytes) -> None:
        data_received(self, data)
        sizes.append(self._size)

    monkeypatch.setattr(netbackend._StreamProtocol, "data_received", recording)

    async def main(server: _Server) -> None:
        async with client(base_url=server.url) as http:
            digest = hashlib.sha256()
            async with http.stream("GET", "/big", params={"n": 20_000_000}) as response:
                stream = response.extensions["network_stream"]
                assert isinstance(stream, AsyncioStream)
                transport = stream._transport
                pause = transport.pause_reading

                def counting_pause() -> None:
                    pauses.append(stream._protocol._size)
                    pause()

                monkeypatch.setattr(transport, "pause_reading", counting_pause)
                async for chunk in _slowly(response.aiter_raw(65536)):
                    digest.update(chunk)
            assert digest.hexdigest() == sha(BODY)

    with serve() as server:
        run(main(server))
    assert pauses, "the reader was slow, so reading must have been paused"
    assert max(sizes) <= HIGH_WATER + 256 * 1024  # one transport read (256 KiB at most) over the mark


async def _slowly(chunks: Any) -> Any:
    count = 0
    async for chunk in chunks:
        count += 1
        if count % 32 == 0:
            await asyncio.sleep(0.02)  # long enough for the server to fill every buffer on the way
        yield chunk


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[_Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(["http/1.1"])
    with serve(context) as server:
        yield server


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_tls_get_keep_alive_and_alpn(ca: trustme.CA, tls_server: _Server) -> None:
    async def main() -> None:
        async with client(base_url=tls_server.url, verify=_trusting(ca)) as http:
            small = await http.get("/small")
            assert small.content == b"hello" and small.http_version == "HTTP/1.1"
            stream = small.extensions["network_stream"]
            assert isinstance(stream, AsyncioStream)
            ssl_object = stream.get_extra_info("ssl_object")
            assert isinstance(ssl_object, ssl.SSLObject)
            assert ssl_object.selected_alpn_protocol() == "http/1.1"  # what httpcore checks for h2
            big = await http.get("/big", params={"n": 5_000_000})
            assert sha(big.content) == sha(BODY[:5_000_000])
            posted = await http.post("/echo", json={"x": 1})
            assert posted.json()["got"] == {"x": 1}
            assert tls_server.connections == 1

            assert (await http.get("/close-after")).content == b"bye"
            assert await asyncio.to_thread(tls_server.closed.acquire, True, 5)
            assert (await http.get("/small")).content == b"hello"
            assert tls_server.connections == 2

    run(main())


def test_tls_wrong_hostname_or_unknown_ca_is_a_connect_error(ca: trustme.CA, tls_server: _Server) -> None:
    async def main() -> None:
        async with client(verify=_trusting(ca)) as http:
            with pytest.raises(httpx.ConnectError, match=r"(?i)hostname"):
                await http.get(f"{tls_server.url}/small", extensions={"sni_hostname": "wrong.example"})
        async with client(verify=ssl.create_default_context()) as http:
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate verify failed"):
                await http.get(f"{tls_server.url}/small")
        async with client(verify=_trusting(ca)) as http:  # and the right name still works afterwards
            assert (await http.get(f"{tls_server.url}/small")).content == b"hello"

    run(main())


def test_tls_handshake_timeout_is_a_connect_timeout(ca: trustme.CA) -> None:
    async def main(port: int) -> float:
        async with client(verify=_trusting(ca), timeout=httpx.Timeout(5.0, connect=0.3)) as http:
            start = time.monotonic()
            with pytest.raises(httpx.ConnectTimeout):
                await http.get(f"https://127.0.0.1:{port}/")
            return time.monotonic() - start

    with _RawServer() as silent:  # accepts TCP, never answers the ClientHello
        elapsed = run(main(silent.port))
    assert 0.25 <= elapsed < 2.0


# -- the stream interface directly ----------------------------------------------------------


def test_stream_read_write_extra_info_and_close() -> None:
    def echo_once(conn: socket.socket) -> None:
        conn.sendall(conn.recv(100).upper())

    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        assert isinstance(stream, AsyncioStream)
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("nonsense") is None
        assert stream.get_extra_info("is_readable") is False
        await stream.write(b"ping")
        received = b""
        while len(received) < 4:
            received += await stream.read(2, timeout=2.0)  # max_bytes is honoured
        assert received == b"PING"
        await stream.aclose()
        await stream.aclose()  # idempotent
        assert stream.get_extra_info("is_readable") is True
        with pytest.raises(httpcore.ReadError):
            await stream.read(10)
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"x")

    with _RawServer(echo_once) as server:
        run(main(server.port))


def test_socket_options_are_applied() -> None:
    async def main(port: int) -> None:
        options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0, socket_options=options)
        try:
            assert stream.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        finally:
            await stream.aclose()

    with _RawServer() as server:
        run(main(server.port))


def test_eof_and_reset_and_readability() -> None:
    gate = threading.Event()

    def talk_then_close(conn: socket.socket) -> None:
        gate.wait(5)
        conn.sendall(b"last words")
        conn.shutdown(socket.SHUT_WR)

    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        try:
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(100, timeout=0.05)
            assert stream.get_extra_info("is_readable") is False
            gate.set()
            data = await stream.read(100, timeout=2.0)
            data += await stream.read(100, timeout=2.0) if data != b"last words" else b""
            assert data == b"last words"
            assert await stream.read(100, timeout=2.0) == b""  # EOF, and again
            assert await stream.read(100, timeout=2.0) == b""
            assert stream.get_extra_info("is_readable") is True
        finally:
            await stream.aclose()

    reset_gate = threading.Event()

    def reset(conn: socket.socket) -> None:
        reset_gate.wait(5)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST

    async def main_reset(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        reset_gate.set()
        try:
            with pytest.raises(httpcore.ReadError):
                await stream.read(100, timeout=2.0)
            with pytest.raises(httpcore.WriteError):
                await stream.write(b"anyone there?")
        finally:
            await stream.aclose()

    with _RawServer(talk_then_close, threaded=True) as server:
        run(main(server.port))
    with _RawServer(reset, threaded=True) as server:
        run(main_reset(server.port))


def test_is_readable_polls_the_socket_when_the_loop_has_not_seen_the_close() -> None:
    gate = threading.Event()
    closed = threading.Event()

    def close(conn: socket.socket) -> None:
        gate.wait(5)
        conn.close()
        closed.set()

    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        assert isinstance(stream, AsyncioStream)
        await asyncio.sleep(0.02)
        assert stream.get_extra_info("is_readable") is False
        gate.set()
        try:
            assert closed.wait(5)
            time.sleep(0.05)  # blocks the loop: the FIN is in the kernel, the protocol has not seen it
            assert not stream._protocol._eof
            assert stream.get_extra_info("is_readable") is True
            assert await stream.read(10, timeout=2.0) == b""
        finally:
            await stream.aclose()

    with _RawServer(close, threaded=True) as server:
        run(main(server.port))


def test_a_peer_that_speaks_and_hangs_up_at_once_is_heard() -> None:
    def banner(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)

    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        try:
            received = b""
            for _ in range(10):
                data = await stream.read(1000, timeout=2.0)
                if not data:
                    break
                received += data
            assert received.startswith(b"HTTP/1.1 503 Busy")
        finally:
            await stream.aclose()

    with _RawServer(banner) as server:
        run(main(server.port))


def test_start_tls_refuses_plaintext_received_before_the_handshake(ca: trustme.CA) -> None:
    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        deadline = time.monotonic() + 5
        while not stream.get_extra_info("is_readable") and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        with pytest.raises(httpcore.ConnectError, match="before the handshake"):
            await stream.start_tls(_trusting(ca), server_hostname="127.0.0.1", timeout=2.0)
        with pytest.raises(httpcore.ReadError):  # closed by the failed start_tls
            await stream.read(10)

    with _RawServer(lambda conn: conn.sendall(b"220 welcome, plaintext\r\n")) as server:
        run(main(server.port))


def test_cancelled_read_leaves_the_stream_usable() -> None:
    gate = threading.Event()

    def late(conn: socket.socket) -> None:
        gate.wait(5)
        conn.sendall(b"late")

    async def main(port: int) -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2.0)
        try:
            reader = asyncio.ensure_future(stream.read(10))
            await asyncio.sleep(0.05)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            gate.set()
            assert await stream.read(10, timeout=2.0) == b"late"
        finally:
            await stream.aclose()

    with _RawServer(late, threaded=True) as server:
        run(main(server.port))


# -- fast_transport --------------------------------------------------------------------------


def test_fast_transport_swaps_the_backend() -> None:
    transport = fast_transport(retries=1, http1=True)
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
    assert isinstance(transport._pool._network_backend, AsyncioBackend)
    assert transport._pool._retries == 1  # the keyword arguments went to httpx

    proxied = fast_transport(proxy="http://127.0.0.1:9")
    assert not isinstance(proxied._pool._network_backend, AsyncioBackend)


def test_fast_transport_without_a_pool_is_returned_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTransport:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", FakeTransport)
    transport: Any = fast_transport(verify=False)
    assert type(transport) is FakeTransport and transport.kwargs == {"verify": False}
    assert vars(transport) == {"kwargs": {"verify": False}}

    class PoolWithoutBackend(FakeTransport):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._pool = object()

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", PoolWithoutBackend)
    transport = fast_transport()
    assert type(transport._pool) is object


def test_unix_socket(tmp_path: Any) -> None:
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(conn.recv(100)[::-1])

    async def main() -> None:
        stream = await AsyncioBackend().connect_unix_socket(path, timeout=2.0)
        try:
            await stream.write(b"olleh")
            assert await stream.read(100, timeout=2.0) == b"hello"
            assert await stream.read(100, timeout=2.0) == b""
        finally:
            await stream.aclose()

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    try:
        run(main())
    finally:
        thread.join(5)
        listener.close()


def test_a_connection_made_after_the_timeout_is_closed_not_leaked() -> None:
    discarded: list[object] = []

    async def late(result: object) -> object:
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:  # like a connect that completes in the loop pass its cancel arrives
            await asyncio.sleep(0.05)
        return result

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(netbackend._Expired):
            await netbackend._with_timeout(loop, late("first"), 0.01, discarded.append)
        assert await netbackend._with_timeout(loop, late("second"), 1.0, discarded.append) == "second"
        waiting = asyncio.ensure_future(netbackend._with_timeout(loop, late("third"), 1.0, discarded.append))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0.2)

    run(main())
    # Finished after the caller gave up (on the timeout, on being cancelled): handed to discard, not lost.
    assert discarded == ["first", "third"]
