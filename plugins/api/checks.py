"""The checks of one exchange, each returning a :class:`CheckResult`.

Order: ``config``, ``credentials``, ``health``, ``latency``, ``clock_skew``,
``auth``, ``rate_limit`` (see :func:`run_exchange`). The first two need no
network and run in a dry run too; the others report ``skipped`` with reason
``dry run`` then, and ``skipped`` with the cause when an earlier check they
depend on failed.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.plugins.api.configcheck import ca_bundle_problem, exchange_problems, safe_url
from harness.plugins.api.httpio import ApiContext, ExchangeClient, RequestFailed
from harness.plugins.api.servertime import ServerTimeError, measure_skew, parse_server_time
from harness.plugins.api.settings import Exchange

__all__ = ["CheckResult", "Credentials", "run_exchange"]

CheckStatus = Literal["passed", "failed", "skipped"]
DRY_RUN = "dry run"
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check of one exchange (one ``api.check`` event)."""

    check: str
    status: CheckStatus
    reason: str
    path: str | None = None
    http_status: int | None = None
    attempts: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float | int] = field(default_factory=dict)
    ccxt_error: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """The credential values read from the environment (already registered as secrets)."""

    key: str | None
    secret: str | None

    def headers(self, ex: Exchange) -> dict[str, str]:
        out = {}
        if self.key is not None:
            out[ex.key_header] = self.key
        if self.secret is not None:
            out[ex.secret_header] = self.secret
        return out


def check_config(ex: Exchange, ca_file: Path | None = None) -> CheckResult:
    """Everything about the entry that the schema cannot say.

    ``ca_file`` is ``ex.ca_bundle`` resolved against the config file's folder.
    The plugin's ``configure`` hook already rejects these at start-up (exit 4);
    this is the safety net when the phase runs outside ``harness run``.
    """
    ca_problem = ca_bundle_problem(ex, ca_file)
    problems = [p.text for p in [*exchange_problems(ex), *([ca_problem] if ca_problem else [])]]
    if problems:
        return CheckResult("config", "failed", "; ".join(problems))
    planned = ["health", "latency"]
    planned += ["clock_skew"] if ex.time_path else []
    planned += ["auth"] if ex.auth_path else []
    details: dict[str, Any] = {"base_url": safe_url(ex.base_url), "planned": planned}
    trust = ""
    if ex.ca_bundle is not None:
        details["ca_bundle"] = ex.ca_bundle
        trust = f" (CA: {ex.ca_bundle})"
    return CheckResult(
        "config",
        "passed",
        f"{safe_url(ex.base_url)}: {', '.join(planned)} configured{trust}",
        details=details,
    )


def check_credentials(
    ex: Exchange, ctx: ApiContext, *, dry_run: bool, environ: Mapping[str, str] | None = None
) -> tuple[CheckResult, Credentials | None]:
    """Read the credential variables, register their values as secrets, check their format.

    Present values are checked in a dry run too; an unset variable fails the
    check, except in a dry run where it is ``skipped``. Messages name the
    variable, never its value.
    """
    env = os.environ if environ is None else environ
    wanted = [
        ("key", ex.key_env, ex.key_pattern),
        ("secret", ex.secret_env, ex.secret_pattern),
    ]
    wanted = [(kind, var, pat) for kind, var, pat in wanted if var]
    if not wanted:
        return CheckResult("credentials", "skipped", "no key_env or secret_env configured"), None
    values: dict[str, str | None] = {"key": None, "secret": None}
    state: dict[str, str] = {}
    malformed: list[str] = []
    missing: list[str] = []
    for kind, var, pattern in wanted:
        assert var is not None
        value = env.get(var, "")
        if not value:
            missing.append(var)
            state[var] = "not set"
            continue
        ctx.add_secret(value)
        values[kind] = value
        if not _HEADER_SAFE.fullmatch(value):
            malformed.append(f"${var} holds whitespace or non-ASCII characters")
            state[var] = "malformed"
        elif pattern is not None and not re.fullmatch(pattern, value):
            malformed.append(f"${var} does not match {kind}_pattern")
            state[var] = "malformed"
        else:
            state[var] = "present, well-formed" if pattern else "present"
    details = {"variables": state}
    if malformed:
        return CheckResult("credentials", "failed", "; ".join(malformed), details=details), None
    if missing:
        names = ", ".join(f"${v}" for v in missing)
        if dry_run:
            return CheckResult(
                "credentials", "skipped", f"{DRY_RUN}: {names} not set", details=details
            ), None
        return CheckResult("credentials", "failed", f"{names} not set", details=details), None
    checked = ", ".join(f"${var}" for _, var, _ in wanted)
    return (
        CheckResult("credentials", "passed", f"{checked} present and well-formed", details=details),
        Credentials(values["key"], values["secret"]),
    )


def _failed(check: str, path: str, exc: RequestFailed) -> CheckResult:
    return CheckResult(
        check, "failed", str(exc), path=path, http_status=exc.http_status, attempts=exc.attempts
    )


def check_health(client: ExchangeClient) -> CheckResult:
    ex = client.exchange
    try:
        reply = client.get(ex.health_path, check="health", expected=ex.expected_status)
    except RequestFailed as exc:
        return _failed("health", ex.health_path, exc)
    ms = reply.elapsed * 1000.0
    retried = f" after {reply.attempts} attempts" if reply.attempts > 1 else ""
    return CheckResult(
        "health",
        "passed",
        f"HTTP {reply.status} in {ms:.0f} ms{retried}",
        path=ex.health_path,
        http_status=reply.status,
        attempts=reply.attempts,
        metrics={"health_ms": round(ms, 3)},
    )


def check_latency(client: ExchangeClient) -> CheckResult:
    """``requests`` sequential GETs of ``latency_path``; the median must stay under the limit.

    Each sample is retried by the policy on its own; only the successful
    attempt is timed.
    """
    ex = client.exchange
    samples: list[float] = []
    attempts = 0
    for i in range(ex.requests):
        try:
            reply = client.get(ex.latency_path, check="latency", expected=ex.expected_status)
        except RequestFailed as exc:
            failed = _failed("latency", ex.latency_path, exc)
            return CheckResult(
                "latency",
                "failed",
                f"sample {i + 1}/{ex.requests}: {failed.reason}",
                path=failed.path,
                http_status=failed.http_status,
                attempts=attempts + failed.attempts,
            )
        attempts += reply.attempts
        samples.append(reply.elapsed * 1000.0)
    median, worst = statistics.median(samples), max(samples)
    metrics = {
        "latency_median_ms": round(median, 3),
        "latency_max_ms": round(worst, 3),
        "latency_min_ms": round(min(samples), 3),
        "samples": len(samples),
    }
    text = f"median {median:.1f} ms, max {worst:.1f} ms over {len(samples)} requests"
    if median > ex.max_latency_ms:
        return CheckResult(
            "latency",
            "failed",
            f"{text}: median above max_latency_ms {ex.max_latency_ms:g}",
            path=ex.latency_path,
            attempts=attempts,
            metrics=metrics,
        )
    return CheckResult(
        "latency", "passed", text, path=ex.latency_path, attempts=attempts, metrics=metrics
    )


def signed_ms(ms: float) -> str:
    """``+12``, ``-3``, and ``0`` (never ``-0`` or ``+0``) for a rounded millisecond count."""
    rounded = round(ms)
    return f"{rounded:+d}" if rounded else "0"


def check_clock(client: ExchangeClient) -> CheckResult:
    """Server time minus local time at the request's midpoint, against ``max_skew_ms``."""
    ex = client.exchange
    if ex.time_path is None:
        return CheckResult("clock_skew", "skipped", "no time_path configured")
    try:
        reply = client.get(ex.time_path, check="time", expected=200)
    except RequestFailed as exc:
        return _failed("clock_skew", ex.time_path, exc)
    try:
        server = parse_server_time(reply.body, ex.time_field, ex.time_format)
    except ServerTimeError as exc:
        return CheckResult(
            "clock_skew",
            "failed",
            f"GET {ex.time_path}: {exc} (time_format {ex.time_format})",
            path=ex.time_path,
            http_status=reply.status,
            attempts=reply.attempts,
        )
    return skew_result(
        server,
        reply.sent,
        reply.received,
        ex.max_skew_ms,
        path=ex.time_path,
        http_status=reply.status,
        attempts=reply.attempts,
    )


def skew_result(
    server: float, sent: float, received: float, max_skew_ms: float, **fields: Any
) -> CheckResult:
    """The ``clock_skew`` verdict for a server time (s) read by a request sent/received then.

    The one place both API modes (generic HTTP and ccxt) judge clock skew;
    ``fields`` are the :class:`CheckResult`'s other fields (path, status, attempts...).
    """
    skew = measure_skew(server, sent, received)
    metrics = {
        "skew_ms": round(skew.skew_ms, 3),
        "round_trip_ms": round(skew.round_trip_ms, 3),
        "uncertainty_ms": round(skew.uncertainty_ms, 3),
    }
    text = (
        f"server clock {signed_ms(skew.skew_ms)} ms from ours "
        f"(+-{skew.uncertainty_ms:.0f} ms, round trip {skew.round_trip_ms:.0f} ms)"
    )
    ok = abs(skew.skew_ms) <= max_skew_ms
    return CheckResult(
        "clock_skew",
        "passed" if ok else "failed",
        text if ok else f"{text}: beyond max_skew_ms {max_skew_ms:g}",
        metrics=metrics,
        **fields,
    )


def check_auth(client: ExchangeClient, creds: Credentials | None) -> CheckResult:
    """One authenticated GET; 401/403 fails at once (not retried)."""
    ex = client.exchange
    if ex.auth_path is None:
        return CheckResult("auth", "skipped", "no auth_path configured")
    if creds is None:
        return CheckResult("auth", "skipped", "credentials unavailable", path=ex.auth_path)
    try:
        reply = client.get(
            ex.auth_path, check="auth", expected=ex.auth_expected_status, headers=creds.headers(ex)
        )
    except RequestFailed as exc:
        return _failed("auth", ex.auth_path, exc)
    return CheckResult(
        "auth",
        "passed",
        f"credentials accepted (HTTP {reply.status})",
        path=ex.auth_path,
        http_status=reply.status,
        attempts=reply.attempts,
    )


def check_rate_limit(client: ExchangeClient) -> CheckResult:
    """Report the rate-limit headers seen on any answer (informational)."""
    seen = dict(sorted(client.rate_limits.items()))
    if not seen:
        return CheckResult("rate_limit", "skipped", "no rate-limit headers in the answers")
    text = ", ".join(f"{k}: {v}" for k, v in seen.items())
    return CheckResult("rate_limit", "passed", text, details={"headers": seen})


def offline_checks(
    config: CheckResult,
    network: Sequence[str],
    ex: Exchange,
    ctx: ApiContext,
    *,
    dry_run: bool,
    environ: Mapping[str, str] | None,
) -> Generator[CheckResult, None, tuple[bool, Credentials | None]]:
    """The checks before any request, for both modes (generic HTTP and ccxt).

    Yields the configuration check, then the credentials check; when either
    stops the exchange (invalid configuration, dry run) every ``network`` check
    is yielded as skipped. Returns ``(go on with the network checks, credentials)``.
    """
    yield config
    if config.status == "failed":
        yield CheckResult("credentials", "skipped", "configuration invalid")
        for name in network:
            yield CheckResult(name, "skipped", "configuration invalid")
        return False, None
    creds_result, creds = check_credentials(ex, ctx, dry_run=dry_run, environ=environ)
    yield creds_result
    if dry_run:
        for name in network:
            yield CheckResult(name, "skipped", DRY_RUN)
        return False, None
    return True, creds


def run_exchange(
    ex: Exchange,
    ctx: ApiContext,
    *,
    dry_run: bool,
    environ: Mapping[str, str] | None = None,
) -> Iterator[CheckResult]:
    """Run every check of ``ex`` in order, yielding each result as soon as it is known.

    Never raises for a failed check. In a dry run no :class:`ExchangeClient` is
    built, so httpx is not even imported.
    """
    network = ("health", "latency", "clock_skew", "auth", "rate_limit")
    ca_file = None if ex.ca_bundle is None else ctx.resolve_path(ex.ca_bundle)
    go, creds = yield from offline_checks(
        check_config(ex, ca_file), network, ex, ctx, dry_run=dry_run, environ=environ
    )
    if not go:
        return
    client = ExchangeClient(ex, ctx, ca_file)
    try:
        health = check_health(client)
        yield health
        if health.status == "failed":
            for name in ("latency", "clock_skew", "auth"):
                yield CheckResult(name, "skipped", "health check failed")
        else:
            yield check_latency(client)
            yield check_clock(client)
            yield check_auth(client, creds)
        yield check_rate_limit(client)
    finally:
        client.close()
