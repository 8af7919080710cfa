"""The api checks called directly against a real local HTTP server (no harness run)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from api_helpers import (
    KEY,
    KEY_ENV,
    SECRET,
    SECRET_ENV,
    Answer,
    ExchangeServer,
    FakeCtx,
    exchange_entry,
    healthy_routes,
)

from harness.plugins.api.checks import check_config, run_exchange
from harness.plugins.api.httpio import parse_retry_after
from harness.plugins.api.phase import run_phase
from harness.plugins.api.servertime import ServerTimeError, measure_skew, parse_server_time
from harness.plugins.api.settings import parse_exchanges

ENV = {KEY_ENV: KEY, SECRET_ENV: SECRET}
Serve = Callable[[dict[str, Any]], ExchangeServer]


def settings(url: str, **overrides: Any) -> dict[str, Any]:
    phase = {"requests": 3, "request_timeout": 0.5, "connect_timeout": 0.5}
    phase.update({k: overrides.pop(k) for k in list(overrides) if k in ("requests", "dry_run")})
    return {**phase, "exchanges": [exchange_entry(url, **overrides)]}


def run(url: str, ctx: FakeCtx, env: dict[str, str] = ENV, **overrides: Any) -> dict[str, Any]:
    [ex] = parse_exchanges(settings(url, **overrides))
    results = list(run_exchange(ex, ctx, dry_run=ctx.dry_run, environ=env))
    return {r.check: r for r in results}


def assert_no_secret(ctx: FakeCtx, *values: Any) -> None:
    text = json.dumps([ctx.events, [str(v) for v in values]], default=str)
    assert KEY not in text
    assert SECRET not in text


# ---------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1.0), (" 2.5 ", 2.5), ("-1", None), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7)
    assert parse_retry_after(formatdate(now - 7, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize(
    ("body", "field", "fmt", "expected"),
    [
        (b'{"serverTime": 1700000000123}', "serverTime", "ms", 1700000000.123),
        (b'{"data": {"t": "1700000000.5"}}', "data.t", "s", 1700000000.5),
        (b'{"iso": "2023-11-14T22:13:20Z"}', "iso", "iso", 1700000000.0),
        (b'{"iso": "2023-11-14T22:13:20"}', "iso", "iso", 1700000000.0),
        (b'{"r": [{"t": 1700000000}]}', "r.0.t", "s", 1700000000.0),
    ],
)
def test_parse_server_time(body: bytes, field: str, fmt: str, expected: float) -> None:
    assert parse_server_time(body, field, fmt) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("body", "fmt", "needle"),
    [
        (b"<html>", "ms", "not JSON"),
        (b'{"other": 1}', "ms", "not found"),
        (b'{"serverTime": true}', "ms", "not a number"),
        (b'{"serverTime": "x"}', "iso", "ISO 8601"),
        (b'{"serverTime": 5}', "iso", "ISO 8601 string"),
    ],
)
def test_parse_server_time_errors(body: bytes, fmt: str, needle: str) -> None:
    with pytest.raises(ServerTimeError, match=needle):
        parse_server_time(body, "serverTime", fmt)


def test_skew_uses_request_midpoint() -> None:
    skew = measure_skew(server_time=101.0, sent=100.0, received=100.4)
    assert skew.skew_ms == pytest.approx(800.0)
    assert skew.round_trip_ms == pytest.approx(400.0)
    assert skew.uncertainty_ms == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"base_url": "http://api.example.com"}, "loopback hosts only"),
        ({"base_url": "https://user:pw@api.example.com"}, "user or password"),
        ({"base_url": "https://api.example.com?k=1"}, "query"),
        ({"key_pattern": "("}, "not a valid regex"),
        ({"key_env": None, "secret_env": None, "key_pattern": None}, "auth_path is set"),
        ({"secret_header": "x-api-key"}, "same header"),
    ],
)
def test_config_check_names_the_problem(override: dict[str, Any], needle: str) -> None:
    entry = {k: v for k, v in exchange_entry("https://api.example.com", **override).items() if v}
    [ex] = parse_exchanges({"exchanges": [entry]})
    result = check_config(ex)
    assert result.status == "failed"
    assert needle in result.reason


# ---------------------------------------------------------------- against a server


def test_healthy_exchange_passes(serve: Serve) -> None:
    server = serve(healthy_routes())
    ctx = FakeCtx()
    checks = run(server.url, ctx)
    assert {c: r.status for c, r in checks.items()} == {
        "config": "passed",
        "credentials": "passed",
        "health": "passed",
        "latency": "passed",
        "clock_skew": "passed",
        "auth": "passed",
        "rate_limit": "passed",
    }
    assert checks["latency"].metrics["samples"] == 3
    assert (
        checks["latency"].metrics["latency_max_ms"]
        >= checks["latency"].metrics["latency_median_ms"]
    )
    assert abs(checks["clock_skew"].metrics["skew_ms"]) < 1000
    assert "x-ratelimit-remaining" in checks["rate_limit"].details["headers"]
    assert ctx.secrets == [KEY, SECRET]
    # the credentials went in the configured headers, on the auth path only
    auth = [s for s in server.seen if s.path == "/account"]
    assert auth[0].headers["x-api-key"] == KEY
    assert auth[0].headers["x-api-secret"] == SECRET
    assert all("x-api-key" not in s.headers for s in server.seen if s.path != "/account")
    assert ctx.waits == []
    assert_no_secret(ctx, *checks.values())


def test_slow_server_times_out(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(200, {}, delay=3.0)
    server = serve(routes)
    ctx = FakeCtx(max_retries=1)
    start = time.monotonic()
    checks = run(server.url, ctx, request_timeout=0.3)
    assert time.monotonic() - start < 2.5
    assert checks["health"].status == "failed"
    assert "timed out" in checks["health"].reason
    assert checks["health"].attempts == 2
    assert checks["latency"].status == "skipped"
    assert checks["latency"].reason == "health check failed"


def test_503_twice_then_ok_is_retried(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(503, {}) if n <= 2 else Answer(200, {})
    server = serve(routes)
    ctx = FakeCtx()
    checks = run(server.url, ctx)
    assert checks["health"].status == "passed"
    assert checks["health"].attempts == 3
    assert ctx.waits == [None, None]
    assert ctx.operations[:3] == ["GET local health"] * 3


def test_429_honours_retry_after(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: (
        Answer(429, {}, {"Retry-After": "1"}) if n == 1 else Answer(200, {})
    )
    server = serve(routes)
    ctx = FakeCtx()
    checks = run(server.url, ctx)
    assert checks["health"].status == "passed"
    assert ctx.waits == [1.0]


def test_503_retry_after_http_date(serve: Serve) -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: (
        Answer(503, {}, {"Retry-After": when}) if n == 1 else Answer(200, {})
    )
    server = serve(routes)
    ctx = FakeCtx()
    checks = run(server.url, ctx)
    assert checks["health"].status == "passed"
    [wait] = ctx.waits
    assert wait is not None
    assert 27 < wait <= 30


def test_401_on_auth_fails_at_once_without_leaking(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/account"] = lambda req, n: Answer(
        401, {"error": f"bad key {req.headers.get('x-api-key')}"}, {"X-Echo": KEY}
    )
    server = serve(routes)
    ctx = FakeCtx()
    checks = run(server.url, ctx)
    auth = checks["auth"]
    assert auth.status == "failed"
    assert auth.http_status == 401
    assert auth.attempts == 1
    assert "credentials rejected" in auth.reason
    assert server.counts["/account"] == 1
    assert_no_secret(ctx, *checks.values())


def test_other_4xx_is_not_retried(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(404, {})
    server = serve(routes)
    checks = run(server.url, FakeCtx())
    assert checks["health"].status == "failed"
    assert "HTTP 404, expected 200" in checks["health"].reason
    assert server.counts["/ping"] == 1


def test_server_time_10s_off_fails(serve: Serve) -> None:
    server = serve(healthy_routes(time_offset_s=10.0))
    checks = run(server.url, FakeCtx())
    skew = checks["clock_skew"]
    assert skew.status == "failed"
    assert 9000 < skew.metrics["skew_ms"] < 11000
    assert "beyond max_skew_ms 1000" in skew.reason


def test_closed_connection_is_retried_then_fails(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(close=True)
    server = serve(routes)
    ctx = FakeCtx(max_retries=2)
    checks = run(server.url, ctx)
    assert checks["health"].status == "failed"
    assert "connection failed" in checks["health"].reason
    assert server.counts["/ping"] == 3


def test_missing_credentials_fail_outside_dry_run(serve: Serve) -> None:
    server = serve(healthy_routes())
    checks = run(server.url, FakeCtx(), env={})
    assert checks["credentials"].status == "failed"
    assert f"${KEY_ENV}" in checks["credentials"].reason
    assert checks["auth"].status == "skipped"


def test_malformed_key_fails_without_echoing_it(serve: Serve) -> None:
    server = serve(healthy_routes())
    ctx = FakeCtx()
    bad = "sk-test-lowercase-nope"
    checks = run(server.url, ctx, env={KEY_ENV: bad, SECRET_ENV: SECRET})
    assert checks["credentials"].status == "failed"
    assert "does not match key_pattern" in checks["credentials"].reason
    assert bad in ctx.secrets
    assert bad not in json.dumps([str(r) for r in checks.values()])


def test_dry_run_sends_nothing(serve: Serve) -> None:
    server = serve(healthy_routes())
    ctx = FakeCtx(dry_run=True)
    checks = run(server.url, ctx, env={})
    assert server.requests == 0
    assert checks["config"].status == "passed"
    assert checks["credentials"].status == "skipped"
    assert "dry run" in checks["credentials"].reason
    for name in ("health", "latency", "clock_skew", "auth", "rate_limit"):
        assert (checks[name].status, checks[name].reason) == ("skipped", "dry run")


def test_dry_run_setting_checks_present_credentials(serve: Serve) -> None:
    server = serve(healthy_routes())
    ctx = FakeCtx()
    result = run_phase("api", settings(server.url, dry_run=True), ctx, environ=ENV)
    assert server.requests == 0
    assert result.status == "skipped"  # a dry run is not "the exchange is fine" (issue 12)
    assert "dry run" in result.message
    statuses = {e["data"]["check"]: e["data"]["status"] for e in ctx.events}
    assert statuses["credentials"] == "passed"
    assert statuses["health"] == "skipped"


def test_phase_result_names_the_failure(serve: Serve) -> None:
    server = serve(healthy_routes(time_offset_s=-10.0))
    ctx = FakeCtx()
    result = run_phase("api", settings(server.url), ctx, environ=ENV)
    assert result.status == "failed"
    assert result.message.startswith("local clock_skew: server clock -")
    assert [e["type"] for e in ctx.events] == ["api.check"] * 7
    assert ctx.artifacts.values["api.report"][0]["status"] == "failed"


def test_import_and_dry_run_do_not_import_httpx(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import harness.plugins.api
assert "httpx" not in sys.modules, "imported by the plugin module"
from api_helpers import FakeCtx, exchange_entry
from harness.plugins.api.phase import run_phase
result = run_phase("api", {{"exchanges": [exchange_entry("https://api.example.com")]}},
                   FakeCtx(dry_run=True), environ={{}})
assert result.status == "skipped", result
assert "httpx" not in sys.modules, "imported in a dry run"
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
