"""TLS: a real HTTPS exchange on 127.0.0.1 with a certificate from a private CA (trustme).

Against the default trust store the certificate does not verify: the health
check fails at once (a certificate is not a transient error) with a one-line
reason. With ``ca_bundle`` naming the CA's PEM file (relative to the config
file) the same server passes. There is no setting that turns verification off.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from api_helpers import KEY, SECRET, ExchangeServer, FakeCtx, Tls, healthy_routes
from test_api_config import _entry, _env, _run
from test_api_run import api_phase, assert_valid, harness_run

from harness.plugins.api.checks import run_exchange
from harness.plugins.api.settings import parse_exchanges

Serve = Callable[..., ExchangeServer]


@pytest.fixture(autouse=True)
def _default_trust_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store is certifi's: no SSL_CERT_FILE/DIR from the caller's environment."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def _lines_without_traceback(text: str) -> None:
    assert "Traceback" not in text
    assert "SSLCertVerificationError" not in text


def test_private_ca_cert_fails_health_once_without_retry(
    tmp_path: Path, serve: Serve, tls: Tls
) -> None:
    server = serve(healthy_routes(), tls.server)
    assert server.url.startswith("https://127.0.0.1:")
    run = harness_run(tmp_path, api_phase(server.url))  # also scans every byte for secrets
    assert run.code == 1, run.stdout + run.stderr
    _lines_without_traceback(run.stdout + run.stderr)
    checks = run.checks()
    health = checks["health"]
    assert health["status"] == "failed"
    reason = health["reason"]
    assert "\n" not in reason
    assert reason.startswith("GET /ping: TLS certificate verification failed (")
    assert "unable to get local issuer certificate" in reason
    assert "not retried" in reason
    assert "ca_bundle" in reason
    assert health["attempts"] == 1
    assert run.retries("GET local health") == []
    assert [e for e in run.events if e["type"] == "retry"] == []
    assert server.requests == 0  # the handshake failed: no request reached a route
    for name in ("latency", "clock_skew", "auth"):
        assert (checks[name]["status"], checks[name]["reason"]) == (
            "skipped",
            "health check failed",
        )
    [phase] = run.summary["phases"]
    assert phase["status"] == "failed"
    assert "local health" in phase["message"]
    assert "TLS certificate verification failed" in phase["message"]
    console = [line for line in run.stdout.splitlines() if "certificate verification" in line]
    assert console, run.stdout
    assert_valid(run)


def test_ca_bundle_relative_to_the_config_file_passes(
    tmp_path: Path, serve: Serve, tls: Tls
) -> None:
    server = serve(healthy_routes(), tls.server)
    tls.write_ca(tmp_path / "certs" / "testnet-ca.pem")
    run = harness_run(tmp_path, api_phase(server.url, ca_bundle="certs/testnet-ca.pem"))
    assert run.code == 0, run.stdout + run.stderr
    checks = run.checks()
    assert {c: d["status"] for c, d in checks.items()} == dict.fromkeys(checks, "passed")
    assert checks["health"]["attempts"] == 1
    assert checks["config"]["details"]["ca_bundle"] == "certs/testnet-ca.pem"
    # the key went out over TLS and nowhere in our output
    assert [s.headers.get("x-api-key") for s in server.seen if s.path == "/account"] == [KEY]
    assert_valid(run)


def test_ca_bundle_resolves_against_the_config_folder_not_the_cwd(
    tmp_path: Path, serve: Serve, tls: Tls
) -> None:
    server = serve(healthy_routes(), tls.server)
    conf_dir = tmp_path / "conf"
    tls.write_ca(conf_dir / "ca.pem")
    phase = api_phase(server.url, ca_bundle="ca.pem")
    (conf_dir / "harness.toml").write_text(
        tomli_w.dumps({"harness": {"runs_dir": "runs"}, "phases": {"api": phase}}), "utf-8"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--config",
            str(conf_dir / "harness.toml"),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        cwd=elsewhere,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_ca_bundle_of_another_ca_still_fails_without_retry(
    tmp_path: Path, serve: Serve, tls: Tls
) -> None:
    trustme = pytest.importorskip("trustme")
    server = serve(healthy_routes(), tls.server)
    (tmp_path / "other.pem").write_bytes(trustme.CA().cert_pem.bytes())
    run = harness_run(tmp_path, api_phase(server.url, ca_bundle="other.pem"))
    assert run.code == 1
    health = run.checks()["health"]
    assert "TLS certificate verification failed" in health["reason"]
    assert "a private CA can be trusted" not in health["reason"]  # already given one: no hint
    assert health["attempts"] == 1


def test_host_name_is_still_checked_with_a_ca_bundle(tmp_path: Path, tls: Tls) -> None:
    """A cert for 127.0.0.1/localhost presented as another name fails, even with its CA trusted."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("exchange.example").configure_cert(context)
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    with ExchangeServer(healthy_routes(), context) as server:
        [ex] = parse_exchanges(
            {"exchanges": [_entry(base_url=server.url, ca_bundle="ca.pem", auth_path=None)]}
        )
        results = {r.check: r for r in run_exchange(ex, FakeCtx(root=tmp_path), dry_run=False)}
    health = results["health"]
    assert health.status == "failed"
    assert "TLS certificate verification failed" in health.reason
    assert "mismatch" in health.reason.lower() or "not valid" in health.reason.lower()
    assert health.attempts == 1


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ({"ca_bundle": "missing.pem"}, "no such file"),
        ({"ca_bundle": "junk.pem"}, "no PEM CA certificate"),
        ({"ca_bundle": "."}, "not a file"),
        ({"ca_bundle": ""}, "ca_bundle"),
        ({"ca_bundle": False}, "ca_bundle"),
        ({"verify": False}, "verify"),
        ({"insecure": True}, "insecure"),
    ],
)
def test_bad_or_disabling_tls_settings_exit_4(
    tmp_path: Path, setting: dict[str, Any], needle: str
) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate\n", "utf-8")
    config = {"phases": {"api": {"exchanges": [_entry(**setting)]}}}
    proc = _run(tmp_path, config, _env(), "--dry-run")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert needle in line
    assert "Traceback" not in proc.stderr + proc.stdout
    for leak in (KEY, SECRET):
        assert leak not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_ca_bundle_problem_fails_the_config_check_outside_harness_run(tmp_path: Path) -> None:
    [ex] = parse_exchanges({"exchanges": [_entry(ca_bundle="gone.pem")]})
    results = list(run_exchange(ex, FakeCtx(root=tmp_path), dry_run=False))
    assert results[0].check == "config"
    assert results[0].status == "failed"
    assert "ca_bundle unusable: no such file" in results[0].reason
    assert all(r.status == "skipped" for r in results[1:])
