"""Helpers of the api plugin tests: a real HTTP exchange on 127.0.0.1, a fake ctx.

:class:`ExchangeServer` is a ``ThreadingHTTPServer`` on an ephemeral port whose
routes are plain functions ``(request, n) -> Answer``, where ``n`` counts the
requests to that path (1 for the first). It records every request it saw.
Given an ``ssl.SSLContext`` it serves HTTPS: the listening socket is wrapped, so
the TLS handshake happens on accept (a client that rejects the certificate never
reaches a route, and the server drops it silently).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

KEY = "sk-live-ABCDEF123456"
SECRET = "sh-SECRET-9f8e7d6c5b4a"
KEY_ENV = "HARNESS_TEST_KEY"
SECRET_ENV = "HARNESS_TEST_SECRET"


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]


@dataclass
class Answer:
    """What a route answers; ``close=True`` drops the connection without a word."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False


Route = Callable[[Seen, int], Answer]


def now_ms(offset_s: float = 0.0) -> int:
    return int((time.time() + offset_s) * 1000)


def healthy_routes(time_offset_s: float = 0.0) -> dict[str, Route]:
    """A well-behaved exchange: ping, server time, and an account path that checks the key."""

    def ping(req: Seen, n: int) -> Answer:
        return Answer(200, {"ok": True}, {"X-RateLimit-Remaining": str(1000 - n)})

    def server_time(req: Seen, n: int) -> Answer:
        return Answer(200, {"serverTime": now_ms(time_offset_s)})

    def account(req: Seen, n: int) -> Answer:
        if req.headers.get("x-api-key") == KEY and req.headers.get("x-api-secret") == SECRET:
            return Answer(200, {"balances": []})
        # A careless exchange echoes what it got: it must not reach our output.
        got = req.headers.get("x-api-key", "")
        return Answer(401, {"error": f"invalid key {got}"}, {"X-Echo": got})

    return {"/ping": ping, "/time": server_time, "/account": account}


class ExchangeServer:
    """A real HTTP(S) server in a thread; ``url`` is ``http(s)://127.0.0.1:<port>``."""

    def __init__(self, routes: dict[str, Route], tls: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self.counts: dict[str, int] = {}
        self.stop = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, delayed ACKs
                # add ~40 ms to every answer on a keep-alive connection
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                req = Seen(path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.seen.append(req)
                    n = server.counts[path] = server.counts.get(path, 0) + 1
                route = server.routes.get(path)
                answer = route(req, n) if route else Answer(404, {"error": "no route"})
                if answer.delay:
                    server.stop.wait(answer.delay)
                if answer.close:
                    self.close_connection = True
                    return
                body = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.seen)

    def __enter__(self) -> ExchangeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def exchange_entry(url: str, **overrides: Any) -> dict[str, Any]:
    """A ``[[phases.api.exchanges]]`` entry for a local server."""
    entry: dict[str, Any] = {
        "name": "local",
        "base_url": url,
        "health_path": "/ping",
        "time_path": "/time",
        "time_field": "serverTime",
        "time_format": "ms",
        "auth_path": "/account",
        "key_env": KEY_ENV,
        "secret_env": SECRET_ENV,
        "key_pattern": "sk-live-[A-Z0-9]{12}",
    }
    entry.update(overrides)
    return entry


@dataclass(frozen=True)
class Tls:
    """A private CA (``trustme``) and a server context with its cert for 127.0.0.1/localhost."""

    ca_pem: bytes
    server: ssl.SSLContext

    def write_ca(self, path: Path) -> Path:
        """Write the CA certificate (PEM) to ``path``, creating its folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.ca_pem)
        return path


class FakeCtx:
    """A stand-in for ``PhaseContext`` for calling the check functions directly.

    ``retry`` follows the documented contract of ``ctx.retry``: a
    :class:`NonRetryableError` is raised at once, a :class:`RetryableError` is
    retried up to ``max_retries`` times; the waits asked for are recorded, not slept.
    """

    def __init__(
        self, *, dry_run: bool = False, max_retries: int = 3, root: Path | None = None
    ) -> None:
        self.dry_run = dry_run
        self.root = Path.cwd() if root is None else root
        self.max_retries = max_retries
        self.metrics: dict[str, float | int] = {}
        self.secrets: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.waits: list[float | None] = []
        self.operations: list[str] = []
        self.artifacts = _Artifacts()

    def retry(self, fn: Callable[..., Any], *args: Any, name: str, **kwargs: Any) -> Any:
        from harness.errors import NonRetryableError, RetryableError

        for attempt in range(self.max_retries + 1):
            self.operations.append(name)
            try:
                return fn(*args, **kwargs)
            except NonRetryableError:
                raise
            except RetryableError as exc:
                if attempt == self.max_retries:
                    raise
                self.waits.append(exc.retry_after)
        raise AssertionError("unreachable")

    def add_secret(self, value: str) -> None:
        self.secrets.append(value)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def deadline_in(self) -> float | None:
        return None

    def resolve_path(self, path: str | Path) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.root / p

    def emit(self, type: str, message: str = "", **kwargs: Any) -> None:
        self.events.append({"type": type, "message": message, **kwargs})


class _Artifacts:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def put(self, key: str, value: Any) -> None:
        self.values[key] = value

    def get(self, key: str, kind: type | None = None) -> Any:
        return self.values[key]
