"""ccxt mode of the api phase, end to end against loopback fakes of Binance spot and Kraken.

The fakes verify signatures (HMAC-SHA256 query signing for Binance, HMAC-SHA512
over path and nonce with a base64 secret for Kraken) and timestamps the way the
real exchanges do; every run is a real ``harness run`` subprocess whose output
and run directory are scanned for every fragment of the keys and secrets.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Tls
from ccxt_fakes import BinanceFake, KrakenFake
from ccxt_run import ENV, api_phase, binance_entry, kraken_entry, run_harness
from test_api_run import assert_valid

pytest.importorskip("ccxt", reason="the ccxt extra is not installed: pip install -e '.[ccxt]'")


@pytest.fixture
def binance() -> Iterator[BinanceFake]:
    fake = BinanceFake().start()
    yield fake
    fake.close()


@pytest.fixture
def kraken() -> Iterator[KrakenFake]:
    fake = KrakenFake().start()
    yield fake
    fake.close()


def _statuses(run: object) -> dict[str, str]:
    return {c: d["status"] for c, d in run.checks().items()}  # type: ignore[attr-defined]


def test_binance_signed_checks_pass_and_markets_are_recorded(
    tmp_path: Path, binance: BinanceFake
) -> None:
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))})
    assert run.code == 0, run.stdout + run.stderr
    assert _statuses(run) == dict.fromkeys(
        ["config", "credentials", "health", "latency", "clock_skew", "auth", "markets"],
        "passed",
    ) | {"rate_limit": "passed"}
    [report] = run.summary["api"]["exchanges"]
    assert (report["ccxt"], report["status"]) == ("binance", "passed")
    checks = report["checks"]
    assert checks["latency"]["samples"] == 2
    assert checks["latency"]["latency_max_ms"] >= checks["latency"]["latency_median_ms"]
    markets = run.checks()["markets"]["details"]["markets"]
    assert markets["BTC/USDT"]["min_cost"] == 5.0
    assert markets["BTC/USDT"]["amount_precision"] == 0.00001
    assert markets["BTC/USDT"]["price_precision"] == 0.01
    # one signed request, verified by the fake (key header, HMAC, timestamp)
    assert binance.count("/api/v3/account") == 1
    assert binance.count("/api/v3/ping") == 1
    assert binance.real_orders == []
    assert_valid(run)


def test_binance_wrong_secret_fails_auth_with_one_request(
    tmp_path: Path, binance: BinanceFake
) -> None:
    env = ENV | {"BN_SECRET": "bnSECRET-wrong-000000"}
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))}, env=env)
    assert run.code == 1
    auth = run.checks()["auth"]
    assert auth["status"] == "failed"
    assert auth["ccxt_error"] == "AuthenticationError"
    assert auth["attempts"] == 1
    assert auth["reason"].startswith("binance auth: AuthenticationError: ")
    assert "not retried" in auth["reason"]
    assert binance.count("/api/v3/account") == 1
    assert run.retries("ccxt binance auth") == []
    assert "binance auth" in run.summary["phases"][0]["message"]
    assert "bnSECRET-wrong" not in run.stdout + run.stderr  # the wrong one is a secret too


def test_kraken_signature_scheme_right_and_wrong_key(tmp_path: Path, kraken: KrakenFake) -> None:
    run = run_harness(tmp_path / "ok", {"api": api_phase(kraken_entry(kraken))})
    assert run.code == 0, run.stdout + run.stderr
    assert run.checks()["auth"]["status"] == "passed"
    assert run.checks()["health"]["details"]["call"] == "fetch_status"
    assert kraken.count("/0/private/BalanceEx") == 1

    env = ENV | {"KR_KEY": "krKEY-wrong-000000"}
    bad = run_harness(tmp_path / "bad", {"api": api_phase(kraken_entry(kraken))}, env=env)
    assert bad.code == 1
    auth = bad.checks()["auth"]
    assert (auth["status"], auth["ccxt_error"], auth["attempts"]) == (
        "failed",
        "AuthenticationError",
        1,
    )
    assert kraken.count("/0/private/BalanceEx") == 2  # one each run: never retried


def test_clock_skew_fails_and_a_refused_timestamp_is_reported_as_skew(
    tmp_path: Path, binance: BinanceFake
) -> None:
    binance.time_offset_s = 30.0  # the exchange's clock runs 30 s ahead of ours
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))})
    assert run.code == 1
    checks = run.checks()
    skew = checks["clock_skew"]
    assert skew["status"] == "failed"
    assert "beyond max_skew_ms 1000" in skew["reason"]
    auth = checks["auth"]
    assert auth["ccxt_error"] == "InvalidNonce"
    assert auth["reason"].startswith("clock skew: ")
    assert auth["details"]["clock_skew"] is True
    assert binance.count("/api/v3/account") == 1  # not retried: waiting fixes no clock


def test_rate_limit_retry_after_is_honoured(tmp_path: Path, binance: BinanceFake) -> None:
    binance.throttle = (1, 429, "2")  # the first request (the ping) is throttled
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))})
    assert run.code == 0, run.stdout + run.stderr
    [retry] = run.retries("ccxt binance health")
    assert retry["delay_s"] == 2.0
    # ccxt's binance maps 429 to DDoSProtection (RateLimitExceeded's parent): both retried
    assert "DDoSProtection" in retry["error"] or "RateLimitExceeded" in retry["error"]
    assert run.checks()["health"]["attempts"] == 2


def test_503_is_retried_then_gives_up(tmp_path: Path, binance: BinanceFake) -> None:
    binance.throttle = (10, 503, "1")
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))})
    assert run.code == 1
    health = run.checks()["health"]
    assert health["ccxt_error"] == "ExchangeNotAvailable"
    assert health["attempts"] == 4  # max_retries 3
    assert [r["delay_s"] for r in run.retries("ccxt binance health")] == [1.0, 1.0, 1.0]
    assert binance.requests == 4


def test_market_missing_fails_naming_it(tmp_path: Path, binance: BinanceFake) -> None:
    entry = binance_entry(binance, symbols=["BTC/USDT", "DOGE/USDT", "OLD/USDT"])
    run = run_harness(tmp_path, {"api": api_phase(entry)})
    assert run.code == 1
    markets = run.checks()["markets"]
    assert markets["status"] == "failed"
    assert "DOGE/USDT not listed" in markets["reason"]
    assert "OLD/USDT listed but not active" in markets["reason"]


def test_private_ca_with_ca_bundle(tmp_path: Path, tls: Tls) -> None:
    fake = BinanceFake(tls.server).start()
    try:
        tls.write_ca(tmp_path / "ok" / "ca.pem")
        entry = binance_entry(fake, ca_bundle="ca.pem")
        run = run_harness(tmp_path / "ok", {"api": api_phase(entry)})
        assert run.code == 0, run.stdout + run.stderr
        assert fake.url.startswith("https://")

        seen = fake.requests
        untrusted = run_harness(tmp_path / "no-ca", {"api": api_phase(binance_entry(fake))})
        assert untrusted.code == 1
        health = untrusted.checks()["health"]
        assert "TLS certificate verification failed" in health["reason"]
        assert health["attempts"] == 1
        assert fake.requests == seen  # the handshake failed: nothing reached the fake
    finally:
        fake.close()


def test_dry_run_opens_no_connection(tmp_path: Path, binance: BinanceFake) -> None:
    run = run_harness(tmp_path, {"api": api_phase(binance_entry(binance))}, "--dry-run")
    assert run.code == 0, run.stdout + run.stderr
    assert binance.requests == 0
    assert run.checks()["auth"]["reason"] == "dry run"


def test_unknown_exchange_id_and_missing_extra_exit_4(tmp_path: Path) -> None:
    entry = {"name": "x", "exchange": "binanse"}
    run = run_harness(tmp_path / "typo", {"api": api_phase(entry)})
    assert run.code == 4
    assert "phases.api.exchanges[0].exchange" in run.stderr + run.stdout
    assert "binance" in run.stderr + run.stdout  # did you mean

    # ccxt made unimportable in the child: the message names the extra
    hide = (
        "import sys; sys.modules['ccxt'] = None; "
        "from harness.cli import main; raise SystemExit(main())"
    )
    run = run_harness(
        tmp_path / "missing",
        {"api": api_phase({"name": "x", "exchange": "binance"})},
        python=[sys.executable, "-c", hide],
    )
    assert run.code == 4
    text = run.stderr + run.stdout
    assert "pip install 'harness[ccxt]'" in text
    assert "Traceback" not in text
