"""The checks of a ccxt exchange (``exchange = "<ccxt id>"``), each a :class:`CheckResult`.

=============  ==============================================================
check          ccxt call
=============  ==============================================================
health         the exchange's ping endpoint when ccxt has one (Binance
               ``GET /api/v3/ping``), else ``fetch_status()``, else ``fetch_time()``
latency        ``fetch_time()`` x ``requests``, ccxt's rate limiter off; each
               request's round trip is timed (median and max)
clock_skew     ``fetch_time()``: server time minus ours at the request midpoint
auth           ``fetch_balance()``: a signed request the exchange verifies;
               ``InvalidNonce`` (timestamp refused) is reported as clock skew
markets        ``load_markets()``: each of ``symbols`` listed and active; its
               precision and limits recorded
rate_limit     the rate-limit headers seen on any answer (informational)
=============  ==============================================================

Order and skipping follow the generic mode (:func:`~.checks.run_exchange`): a
dry run opens no connection (ccxt is not even imported), a failed health check
skips the rest.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Mapping
from typing import Any

from harness.plugins.api.ccxtio import CcxtFailed, CcxtSession
from harness.plugins.api.checks import (
    CheckResult,
    Credentials,
    check_rate_limit,
    offline_checks,
    skew_result,
)
from harness.plugins.api.configcheck import ca_bundle_problem, exchange_problems
from harness.plugins.api.httpio import ApiContext
from harness.plugins.api.settings import Exchange

__all__ = ["market_rules", "run_ccxt_exchange"]

_NETWORK = ("health", "latency", "clock_skew", "auth", "markets", "rate_limit")


def _failed(check: str, exc: CcxtFailed, **extra: Any) -> CheckResult:
    return CheckResult(
        check,
        "failed",
        str(exc),
        http_status=exc.http_status,
        attempts=exc.attempts,
        ccxt_error=exc.ccxt_error,
        **extra,
    )


def check_ccxt_config(ex: Exchange, ca_file: Any) -> CheckResult:
    """The entry's settings (the ``configure`` hook rejected them at start-up already)."""
    ca_problem = ca_bundle_problem(ex, ca_file)
    problems = [p.text for p in [*exchange_problems(ex), *([ca_problem] if ca_problem else [])]]
    if problems:
        return CheckResult("config", "failed", "; ".join(problems))
    planned = ["health", "latency", "clock_skew", "auth", "markets"]
    details: dict[str, Any] = {"ccxt": ex.exchange, "sandbox": ex.sandbox, "planned": planned}
    if ex.urls:
        details["urls"] = sorted(ex.urls)
    if ex.ca_bundle is not None:
        details["ca_bundle"] = ex.ca_bundle
    mode = " sandbox" if ex.sandbox else ""
    return CheckResult(
        "config",
        "passed",
        f"ccxt {ex.exchange}{mode}: {', '.join(planned)} configured",
        details=details,
    )


def check_health(s: CcxtSession) -> CheckResult:
    """Ping when ccxt has the endpoint, else ``fetch_status``, else ``fetch_time``."""
    api = s.api
    if hasattr(api, "public_get_ping"):
        call, fn = "ping", api.public_get_ping
    elif api.has.get("fetchStatus"):
        call, fn = "fetch_status", api.fetch_status
    else:
        call, fn = "fetch_time", api.fetch_time
    try:
        result, attempts = s.call("health", fn)
    except CcxtFailed as exc:
        return _failed("health", exc, details={"call": call})
    reply = s.last.reply
    ms = reply.elapsed * 1000.0 if reply is not None else 0.0
    status = result.get("status") if call == "fetch_status" and isinstance(result, dict) else None
    if status not in (None, "ok"):
        return CheckResult(
            "health",
            "failed",
            f"{call}: exchange status {status!r}",
            attempts=attempts,
            details={"call": call, "status": status},
        )
    return CheckResult(
        "health",
        "passed",
        f"{call} answered in {ms:.0f} ms" + (f" after {attempts} attempts" if attempts > 1 else ""),
        http_status=reply.status if reply is not None else None,
        attempts=attempts,
        details={"call": call},
        metrics={"health_ms": round(ms, 3)},
    )


def check_latency(s: CcxtSession) -> CheckResult:
    """``requests`` x ``fetch_time()``, rate limiter off; each round trip is timed."""
    ex, api = s.ex, s.api
    samples: list[float] = []
    attempts = 0
    limiter = api.enableRateLimit
    api.enableRateLimit = False  # its spacing would be timed too
    try:
        for i in range(ex.requests):
            try:
                _, n = s.call("latency", api.fetch_time)
            except CcxtFailed as exc:
                failed = _failed("latency", exc)
                return CheckResult(
                    "latency",
                    "failed",
                    f"sample {i + 1}/{ex.requests}: {failed.reason}",
                    http_status=failed.http_status,
                    attempts=attempts + failed.attempts,
                    ccxt_error=failed.ccxt_error,
                )
            attempts += n
            if s.last.reply is not None:
                samples.append(s.last.reply.elapsed * 1000.0)
    finally:
        api.enableRateLimit = limiter
    median, worst = statistics.median(samples), max(samples)
    metrics = {
        "latency_median_ms": round(median, 3),
        "latency_max_ms": round(worst, 3),
        "latency_min_ms": round(min(samples), 3),
        "samples": len(samples),
    }
    text = f"fetch_time median {median:.1f} ms, max {worst:.1f} ms over {len(samples)} requests"
    ok = median <= ex.max_latency_ms
    return CheckResult(
        "latency",
        "passed" if ok else "failed",
        text if ok else f"{text}: median above max_latency_ms {ex.max_latency_ms:g}",
        attempts=attempts,
        details={"call": "fetch_time", "rate_limiter": "off while timing"},
        metrics=metrics,
    )


def check_clock(s: CcxtSession) -> CheckResult:
    """``fetch_time()`` against our clock at the midpoint of its request."""
    ex = s.ex
    try:
        server_ms, attempts = s.call("clock_skew", s.api.fetch_time)
    except CcxtFailed as exc:
        return _failed("clock_skew", exc)
    reply = s.last.reply
    if reply is None or not isinstance(server_ms, int | float) or server_ms <= 0:
        return CheckResult(
            "clock_skew", "failed", f"fetch_time gave no usable time ({server_ms!r})"
        )
    return skew_result(
        server_ms / 1000.0,
        reply.sent,
        reply.received,
        ex.max_skew_ms,
        http_status=reply.status,
        attempts=attempts,
        details={"call": "fetch_time"},
    )


def check_auth(s: CcxtSession, creds: Credentials | None) -> CheckResult:
    """``fetch_balance()``: the exchange verifies our signature; never retried when refused."""
    if creds is None or not creds.key or not creds.secret:
        return CheckResult("auth", "skipped", "credentials unavailable")
    try:
        balance, attempts = s.call("auth", s.api.fetch_balance)
    except CcxtFailed as exc:
        if exc.ccxt_error == "InvalidNonce":
            return CheckResult(
                "auth",
                "failed",
                f"clock skew: the exchange refused our timestamp/nonce ({exc})",
                http_status=exc.http_status,
                attempts=exc.attempts,
                ccxt_error=exc.ccxt_error,
                details={"call": "fetch_balance", "clock_skew": True},
            )
        return _failed("auth", exc, details={"call": "fetch_balance"})
    total = balance.get("total") if isinstance(balance, dict) else None
    assets = sum(1 for v in (total or {}).values() if v) if isinstance(total, dict) else 0
    return CheckResult(
        "auth",
        "passed",
        f"signed fetch_balance accepted ({assets} assets with a balance)",
        attempts=attempts,
        details={"call": "fetch_balance"},
        metrics={"assets": assets},
    )


def market_rules(market: Mapping[str, Any]) -> dict[str, Any]:
    """A ccxt market's precision and limits as plain numbers (``None`` when unknown)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def limit(kind: str, end: str) -> float | None:
        value = (limits.get(kind) or {}).get(end)
        return float(value) if isinstance(value, int | float) else None

    def prec(kind: str) -> float | None:
        value = precision.get(kind)
        return float(value) if isinstance(value, int | float) else None

    return {
        "active": market.get("active") is not False,
        "amount_precision": prec("amount"),
        "price_precision": prec("price"),
        "min_amount": limit("amount", "min"),
        "max_amount": limit("amount", "max"),
        "min_price": limit("price", "min"),
        "max_price": limit("price", "max"),
        "min_cost": limit("cost", "min"),
        "max_cost": limit("cost", "max"),
    }


def check_markets(s: CcxtSession) -> CheckResult:
    """``load_markets()``: every configured symbol is listed and active."""
    try:
        markets, attempts = s.call("markets", s.api.load_markets)
    except CcxtFailed as exc:
        return _failed("markets", exc, details={"call": "load_markets"})
    wanted = s.ex.symbols
    found = {sym: market_rules(markets[sym]) for sym in wanted if sym in markets}
    details: dict[str, Any] = {"call": "load_markets", "markets": found}
    metrics = {"markets_listed": len(markets)}
    missing = [sym for sym in wanted if sym not in markets]
    inactive = [sym for sym, rules in found.items() if not rules["active"]]
    if missing or inactive:
        import difflib

        problems = []
        for sym in missing:
            near = difflib.get_close_matches(sym, list(markets), n=2)
            hint = f" (close: {', '.join(near)})" if near else ""
            problems.append(f"{sym} not listed{hint}")
        problems += [f"{sym} listed but not active" for sym in inactive]
        return CheckResult(
            "markets",
            "failed",
            f"{'; '.join(problems)} ({len(markets)} markets)",
            attempts=attempts,
            details=details,
            metrics=metrics,
        )
    if not wanted:
        text = f"{len(markets)} markets loaded; no symbols configured to look up"
    else:
        text = f"{', '.join(wanted)} listed and active ({len(markets)} markets)"
    return CheckResult(
        "markets", "passed", text, attempts=attempts, details=details, metrics=metrics
    )


def run_ccxt_exchange(
    ex: Exchange,
    ctx: ApiContext,
    *,
    dry_run: bool,
    environ: Mapping[str, str] | None = None,
) -> Iterator[CheckResult]:
    """Every check of a ccxt exchange in order, each yielded as soon as it is known."""
    ca_file = None if ex.ca_bundle is None else ctx.resolve_path(ex.ca_bundle)
    go, creds = yield from offline_checks(
        check_ccxt_config(ex, ca_file), _NETWORK, ex, ctx, dry_run=dry_run, environ=environ
    )
    if not go:
        return
    pair = (creds.key, creds.secret) if creds is not None else (None, None)
    started = time.perf_counter()
    try:
        session = CcxtSession(ex, ctx, credentials=pair, ca_file=ca_file)
    except Exception as exc:  # the extra missing, or sandbox NotSupported by this exchange
        reason = ctx.redact(f"ccxt setup: {type(exc).__name__}: {' '.join(str(exc).split())}")
        yield CheckResult("health", "failed", reason, ccxt_error=type(exc).__name__)
        for name in ("latency", "clock_skew", "auth", "markets", "rate_limit"):
            yield CheckResult(name, "skipped", "ccxt setup failed")
        return
    ctx.metrics["ccxt_setup_ms"] = round((time.perf_counter() - started) * 1000.0, 1)
    try:
        health = check_health(session)
        yield health
        if health.status == "failed":
            for name in ("latency", "clock_skew", "auth", "markets"):
                yield CheckResult(name, "skipped", "health check failed")
        else:
            yield check_latency(session)
            yield check_clock(session)
            yield check_auth(session, creds)
            yield check_markets(session)
        yield check_rate_limit(session.http)
    finally:
        session.close()
