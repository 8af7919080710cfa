"""End to end: ``harness run`` in a subprocess against a real local exchange.

Every run gets known secret values in its environment; every byte of its
stdout, stderr and run directory is searched for them afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from api_helpers import (
    KEY,
    KEY_ENV,
    SECRET,
    SECRET_ENV,
    Answer,
    ExchangeServer,
    exchange_entry,
    healthy_routes,
)

Serve = Callable[[dict[str, Any]], ExchangeServer]
#: Fragments that must not appear either (a secret cut in half still leaks).
LEAKS = [KEY, SECRET, "ABCDEF123456", "9f8e7d6c5b4a"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    run_dir: Path
    events: list[dict[str, Any]]
    summary: dict[str, Any]

    def checks(self) -> dict[str, dict[str, Any]]:
        return {e["data"]["check"]: e["data"] for e in self.events if e["type"] == "api.check"}

    def retries(self, operation: str) -> list[dict[str, Any]]:
        return [
            e["data"]
            for e in self.events
            if e["type"] == "retry" and e["data"].get("operation") == operation
        ]


def _scan_for_secrets(tmp_path: Path, *texts: str) -> None:
    blobs = [("stdout/stderr", t.encode()) for t in texts]
    blobs += [(str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()]
    assert len(blobs) > 3
    for where, blob in blobs:
        for leak in LEAKS:
            assert leak.encode() not in blob, f"secret fragment {leak[:4]}... leaked in {where}"


def harness_run(
    tmp_path: Path,
    phase: dict[str, Any] | None,
    *args: str,
    env: dict[str, str] | None = None,
    retry: dict[str, Any] | None = None,
) -> Run:
    """Write a harness.toml with ``[phases.api] = phase`` and run it; scan for secrets."""
    config: dict[str, Any] = {
        "harness": {"runs_dir": "runs"},
        "plugins": {"retry": retry or {"max_retries": 3, "base_delay": 0.01, "max_delay": 5.0}},
    }
    if phase is not None:
        config["phases"] = {"api": phase}
    (tmp_path / "harness.toml").write_text(tomli_w.dumps(config), "utf-8")
    full_env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, SECRET_ENV)}
    full_env.update(
        {"HARNESS_NO_SLEEP": "1", "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}
    )
    full_env.update({KEY_ENV: KEY, SECRET_ENV: SECRET} if env is None else env)
    run_dir = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--output-dir", str(run_dir), *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _scan_for_secrets(tmp_path, proc.stdout, proc.stderr)
    events_file = run_dir / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text("utf-8").splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    return Run(proc.returncode, proc.stdout, proc.stderr, run_dir, events, summary)


def assert_valid(run: Run) -> None:
    """``harness validate`` accepts the run's events (api.check included) and summary."""
    for name in ("events.jsonl", "summary.json"):
        proc = subprocess.run(
            [sys.executable, "-m", "harness", "validate", str(run.run_dir / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def api_phase(url: str, **overrides: Any) -> dict[str, Any]:
    phase: dict[str, Any] = {"requests": 3, "request_timeout": 5.0, "connect_timeout": 5.0}
    for key in ("requests", "request_timeout", "dry_run"):
        if key in overrides:
            phase[key] = overrides.pop(key)
    phase["exchanges"] = [exchange_entry(url, **overrides)]
    return phase


def test_healthy_exchange_passes(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes())
    run = harness_run(tmp_path, api_phase(server.url))
    assert run.code == 0, run.stderr + run.stdout
    checks = run.checks()
    assert {c: d["status"] for c, d in checks.items()} == dict.fromkeys(
        ["config", "credentials", "health", "latency", "clock_skew", "auth", "rate_limit"],
        "passed",
    )
    section = run.summary["api"]
    assert section["checks"] == {"passed": 7, "failed": 0, "skipped": 0}
    [exchange] = section["exchanges"]
    assert exchange["exchange"] == "local"
    assert exchange["status"] == "passed"
    latency = exchange["checks"]["latency"]
    assert latency["samples"] == 3
    assert latency["latency_max_ms"] >= latency["latency_median_ms"]
    # the key went out in the configured header, and nowhere in our output
    assert [s.headers.get("x-api-key") for s in server.seen if s.path == "/account"] == [KEY]
    assert_valid(run)


def test_slow_server_fails_on_timeout(tmp_path: Path, serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(200, {}, delay=3.0)
    server = serve(routes)
    run = harness_run(
        tmp_path,
        api_phase(server.url, request_timeout=0.3),
        retry={"max_retries": 1, "base_delay": 0.01},
    )
    assert run.code == 1
    health = run.checks()["health"]
    assert health["status"] == "failed"
    assert "timed out" in health["reason"]
    assert health["attempts"] == 2
    assert len(run.retries("GET local health")) == 1
    assert run.summary["phases"][0]["status"] == "failed"
    assert "local health" in run.summary["phases"][0]["message"]


def test_503_twice_then_200_passes_after_retries(tmp_path: Path, serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(503, {}) if n <= 2 else Answer(200, {})
    server = serve(routes)
    run = harness_run(tmp_path, api_phase(server.url))
    assert run.code == 0, run.stdout
    assert run.checks()["health"]["attempts"] == 3
    retries = run.retries("GET local health")
    assert [r["attempt"] for r in retries] == [1, 2]
    assert all("HTTP 503" in r["error"] for r in retries)


def test_429_honours_retry_after(tmp_path: Path, serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: (
        Answer(429, {}, {"Retry-After": "1"}) if n == 1 else Answer(200, {})
    )
    server = serve(routes)
    run = harness_run(tmp_path, api_phase(server.url))
    assert run.code == 0, run.stdout
    [retry] = run.retries("GET local health")
    assert retry["delay_s"] == 1.0
    assert "HTTP 429" in retry["error"]


def test_401_on_auth_fails_at_once(tmp_path: Path, serve: Serve) -> None:
    # healthy_routes' /account echoes the key it got in its body and a header
    server = serve(healthy_routes())
    run = harness_run(
        tmp_path, api_phase(server.url), env={KEY_ENV: KEY[:-1] + "7", SECRET_ENV: SECRET}
    )
    assert run.code == 1
    auth = run.checks()["auth"]
    assert auth["status"] == "failed"
    assert auth["http_status"] == 401
    assert auth["attempts"] == 1
    assert "credentials rejected" in auth["reason"]
    assert server.counts["/account"] == 1
    assert run.retries("GET local auth") == []
    assert_valid(run)


def test_401_never_leaks_the_sent_key(tmp_path: Path, serve: Serve) -> None:
    routes = healthy_routes()
    routes["/account"] = lambda req, n: Answer(
        401, {"error": f"bad {req.headers.get('x-api-key')}"}, {"X-Echo": KEY}
    )
    server = serve(routes)
    run = harness_run(tmp_path, api_phase(server.url))  # scans every byte for KEY
    assert run.code == 1
    assert run.checks()["auth"]["status"] == "failed"


def test_server_time_10s_off_fails(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes(time_offset_s=10.0))
    run = harness_run(tmp_path, api_phase(server.url))
    assert run.code == 1
    skew = run.checks()["clock_skew"]
    assert skew["status"] == "failed"
    assert "beyond max_skew_ms 1000" in skew["reason"]
    event = next(e for e in run.events if e["type"] == "api.check" and e["data"] is skew)
    assert 9000 < event["metrics"]["skew_ms"] < 11000
    assert "clock_skew" in run.summary["phases"][0]["message"]


def test_closed_connection_fails_after_retries(tmp_path: Path, serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(close=True)
    server = serve(routes)
    run = harness_run(tmp_path, api_phase(server.url), retry={"max_retries": 2})
    assert run.code == 1
    health = run.checks()["health"]
    assert health["status"] == "failed"
    assert "connection failed" in health["reason"]
    assert server.counts["/ping"] == 3


def test_dry_run_flag_opens_no_connection(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes())
    run = harness_run(tmp_path, api_phase(server.url), "--dry-run", env={})
    assert run.code == 0, run.stdout
    assert server.requests == 0
    checks = run.checks()
    assert checks["config"]["status"] == "passed"
    assert checks["credentials"]["status"] == "skipped"
    for name in ("health", "latency", "clock_skew", "auth", "rate_limit"):
        assert (checks[name]["status"], checks[name]["reason"]) == ("skipped", "dry run")
    assert run.summary["api"]["exchanges"][0]["dry_run"] is True


def test_dry_run_setting_checks_present_credentials(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes())
    run = harness_run(tmp_path, api_phase(server.url, dry_run=True))
    assert run.code == 0, run.stdout
    assert server.requests == 0
    assert run.checks()["credentials"]["status"] == "passed"


def test_dry_run_still_rejects_a_malformed_key(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes())
    run = harness_run(
        tmp_path, api_phase(server.url), "--dry-run", env={KEY_ENV: "sk-test-ABCDEF123456"}
    )
    assert run.code == 1
    assert server.requests == 0
    creds = run.checks()["credentials"]
    assert creds["status"] == "failed"
    assert "does not match key_pattern" in creds["reason"]


def test_bad_setting_is_a_config_error(tmp_path: Path) -> None:
    phase = api_phase("https://api.example.com")
    phase["exchanges"][0]["time_format"] = "minutes"
    run_dir = tmp_path / "out"
    (tmp_path / "harness.toml").write_text(tomli_w.dumps({"phases": {"api": phase}}), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--output-dir", str(run_dir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 4
    assert "time_format" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_default_config_dry_run_passes_offline(tmp_path: Path) -> None:
    from harness.config import builtin_default_text

    if "[phases.api]" not in builtin_default_text():
        pytest.skip("the built-in default config has no [phases.api] yet")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_KEY", "_SECRET"))}
    env["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    run_dir = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--config",
            "builtin:demo",
            "--dry-run",
            "--phase",
            "api",
            "--output-dir",
            str(run_dir),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["api"]["checks"]["failed"] == 0
    assert all(e["dry_run"] for e in summary["api"]["exchanges"])
