"""Start-up checks, secrets registered at session start, masked base URLs, message wording.

Configuration errors run ``harness run`` as a subprocess: exit code 4, one
stderr line naming the file and the key path, no traceback, no credential.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
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
    FakeCtx,
    exchange_entry,
    healthy_routes,
)

import harness.plugins.api as api_plugin
from harness.plugins.api.checks import check_config, signed_ms
from harness.plugins.api.configcheck import exchange_problems, safe_url
from harness.plugins.api.phase import exchange_report, run_phase
from harness.plugins.api.settings import parse_exchanges

Serve = Callable[[dict[str, Any]], ExchangeServer]
REMOTE = "https://api.example.com"
#: Credentials put in base URLs below: none may reach stderr, stdout or a file.
URL_SECRETS = ["qa-user-77", "hunter2-PW-555", "QS-SECRET-123", "frag-SECRET-9"]


def _env(**extra: str) -> dict[str, str]:
    ours = (KEY_ENV, SECRET_ENV, "QA_KEY", "QA_VENUE_ID")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update({"HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1", "HARNESS_NO_SLEEP": "1"})
    env.update({KEY_ENV: KEY, SECRET_ENV: SECRET})
    env.update(extra)
    return env


def _run(
    tmp_path: Path, config: dict[str, Any], env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "harness.toml").write_text(tomli_w.dumps(config), "utf-8")
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", "--output-dir", str(tmp_path / "out"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ------------------------------------------------------------ config errors: exit 4


def _entry(**overrides: Any) -> dict[str, Any]:
    return {k: v for k, v in exchange_entry(REMOTE, **overrides).items() if v is not None}


@pytest.mark.parametrize(
    ("phase_name", "entries", "key", "needles"),
    [
        ("api", [_entry(key_pattern="(")], "exchanges[0].key_pattern", ["valid regular"]),
        ("api", [_entry(secret_pattern="[a-")], "exchanges[0].secret_pattern", ['"[a-"']),
        (
            "api",
            [_entry(base_url="https://qa-user-77:hunter2-PW-555@api.example.com/v1")],
            "exchanges[0].base_url",
            ['"https://***@api.example.com/v1"', "user or password"],
        ),
        (
            "api",
            [_entry(base_url="https://api.example.com/v1?apikey=QS-SECRET-123")],
            "exchanges[0].base_url",
            ['"https://api.example.com/v1?***"', "query or fragment"],
        ),
        (
            "api",
            [_entry(base_url="https://api.example.com#frag-SECRET-9")],
            "exchanges[0].base_url",
            ['"https://api.example.com#***"'],
        ),
        (
            "api",
            [_entry(base_url="http://api.example.com")],
            "exchanges[0].base_url",
            ["https://", "loopback", '"http://api.example.com"'],
        ),
        (
            "api",
            [_entry(key_env=None, secret_env=None, key_pattern=None)],
            "exchanges[0].auth_path",
            ['"/account"', "key_env or secret_env"],
        ),
        ("api", [_entry(key_env=None)], "exchanges[0].key_pattern", ["key_env"]),
        ("api", [_entry(secret_header="X-Api-Key")], "exchanges[0].secret_header", ["key_header"]),
        ("api", [_entry(time_format="minutes")], "exchanges[0].time_format", ['"minutes"']),
        (
            "venues",
            [_entry(), _entry(name="second", base_url="https://qa-user-77@api.example.com")],
            "exchanges[1].base_url",
            ["https://***@api.example.com"],
        ),
    ],
)
def test_config_error_exits_4_at_start_up(
    tmp_path: Path, phase_name: str, entries: list[dict[str, Any]], key: str, needles: list[str]
) -> None:
    # a command phase first: it must not run (the check happens before anything runs)
    marker = tmp_path / "ran"
    config = {
        "phases": {
            "first": {
                "plugin": "command",
                "run": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
            },
            phase_name: {"plugin": "api", "exchanges": entries},
        }
    }
    proc = _run(tmp_path, config, _env())
    assert proc.returncode == 4, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    [line] = lines
    assert str(tmp_path / "harness.toml") in line
    assert f"phases.{phase_name}.{key}" in line
    for needle in needles:
        assert needle in line
    assert "Traceback" not in proc.stderr + proc.stdout
    for leak in [*URL_SECRETS, KEY, SECRET]:
        assert leak not in proc.stderr + proc.stdout
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_loopback_http_and_the_shipped_example_are_accepted() -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000/v1", REMOTE):
        [ex] = parse_exchanges({"exchanges": [exchange_entry(url)]})
        assert exchange_problems(ex) == [], url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host/v1?k=1#f", "https://***@host/v1?***#***"),
        ("https://a@b@host:443", "https://***@host:443"),
        ("https://host/p@x?q=secret", "https://host/p@x?***"),
        ("https://user:pw@[::1", "https://***@[::1"),
        ("http://127.0.0.1:8080/base", "http://127.0.0.1:8080/base"),
    ],
)
def test_safe_url_masks_credentials(url: str, shown: str) -> None:
    assert safe_url(url) == shown


# ------------------------------------------------------------ secrets from session start


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("QA_KEY", "qa-KEY-0123456789abcdef"),
        # the core masks secret-looking names (*_KEY) itself, but not a newline-less copy
        ("QA_KEY", "qa-KEY-0123456789abcdef\n"),
        # nor a name that does not look secret: only the api plugin knows it is one
        ("QA_VENUE_ID", "qa-KEY-0123456789abcdef"),
    ],
)
def test_key_printed_by_an_earlier_phase_is_masked(tmp_path: Path, var: str, value: str) -> None:
    config = {
        "harness": {"runs_dir": "runs"},
        "phases": {
            "show": {
                "plugin": "command",
                "run": [sys.executable, "-c", f"import os; print(os.environ[{var!r}])"],
            },
            "api": {
                "dry_run": True,
                "exchanges": [{"name": "qa", "base_url": REMOTE, "key_env": var}],
            },
        },
    }
    proc = _run(tmp_path, config, _env(**{var: value}), "-v")
    # a value with a newline fails the credentials check (not header-safe), still masked
    assert proc.returncode == (0 if value == value.strip() else 1), proc.stdout + proc.stderr
    secret = value.strip().encode()
    blobs = [("stdout", proc.stdout.encode()), ("stderr", proc.stderr.encode())]
    blobs += [(str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()]
    assert len(blobs) > 4
    for where, blob in blobs:
        assert secret not in blob, f"${var} leaked in {where}"
        assert secret[:12] not in blob, f"part of ${var} leaked in {where}"
    # the command's output was recorded, masked: the test did see the value go by
    events = (tmp_path / "out" / "events.jsonl").read_text("utf-8")
    show_end = [
        json.loads(line)
        for line in events.splitlines()
        if '"phase_end"' in line and '"show"' in line
    ]
    assert show_end
    assert "***" in json.dumps(show_end)


# ------------------------------------------------------------ base_url in the summary


def test_summary_base_url_never_holds_credentials() -> None:
    url = "https://qa-user-77:hunter2-PW-555@api.example.com/v1?apikey=QS-SECRET-123"
    ctx = FakeCtx(dry_run=True)
    settings = {"exchanges": [exchange_entry(url)]}
    result = run_phase("api", settings, ctx, environ={})
    assert result.status == "failed"  # the run-time safety net: config check fails

    class Session:
        artifacts = ctx.artifacts

    section = api_plugin.summarize(Session())  # type: ignore[arg-type]
    assert section is not None
    [exchange] = section["api"]["exchanges"]
    assert exchange["base_url"] == "https://***@api.example.com/v1?***"
    text = json.dumps([section, ctx.events, result.message])
    for leak in URL_SECRETS:
        assert leak not in text


def test_report_and_config_check_show_a_masked_url() -> None:
    report = exchange_report("api", "x", "https://u:pw-123@h.example/v1#frag", False, [])
    assert report["base_url"] == "https://***@h.example/v1#***"
    [ex] = parse_exchanges({"exchanges": [exchange_entry("https://u:pw-123@h.example")]})
    result = check_config(ex)
    assert result.status == "failed"
    assert "pw-123" not in json.dumps([result.reason, dict(result.details)])


def test_healthy_run_summary_keeps_a_clean_base_url(tmp_path: Path, serve: Serve) -> None:
    server = serve(healthy_routes())
    config = {"phases": {"api": {"requests": 1, "exchanges": [exchange_entry(server.url)]}}}
    proc = _run(tmp_path, config, _env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["api"]["exchanges"][0]["base_url"] == server.url


# ------------------------------------------------------------ wording


def test_failure_messages_name_exchange_and_check_once(serve: Serve) -> None:
    routes = healthy_routes()
    routes["/ping"] = lambda req, n: Answer(404, {})
    server = serve(routes)
    ctx = FakeCtx()
    settings = {"requests": 1, "exchanges": [exchange_entry(server.url)]}
    result = run_phase("api", settings, ctx, environ={KEY_ENV: KEY, SECRET_ENV: SECRET})
    assert result.message == "local health: GET /ping: HTTP 404, expected 200"
    [health] = [e for e in ctx.events if e["data"]["check"] == "health"]
    assert health["message"] == "local health failed: GET /ping: HTTP 404, expected 200"
    assert "local health: local health" not in json.dumps(ctx.events)


@pytest.mark.parametrize(
    ("ms", "text"),
    [(-0.4, "0"), (0.0, "0"), (0.49, "0"), (-0.6, "-1"), (12.2, "+12"), (-3.6, "-4")],
)
def test_skew_sign_is_never_on_zero(ms: float, text: str) -> None:
    assert signed_ms(ms) == text
