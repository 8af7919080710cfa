"""One exchange's HTTP traffic: every GET goes through the run's retry policy.

httpx is imported when the first client is built, never at module import, and
never in a dry run (no client is built then). TLS certificates are always
verified, against the default trust store or the exchange's ``ca_bundle``
(there is no way to turn verification off); redirects are not followed (a
redirect is reported as an unexpected status). Each attempt raises
:class:`~harness.errors.RetryableError` for connection errors, timeouts and 5xx
(429 and 503 with the ``Retry-After`` wait the server asked for) and
:class:`~harness.errors.NonRetryableError` for a certificate that does not
verify, an unusable ``ca_bundle`` and any other unexpected status;
``ctx.retry`` turns that into retries or a give-up.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness import NonRetryableError, RetryableError
from harness.plugins.api.tls import cert_failure

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from harness.plugins.api.settings import Exchange

__all__ = [
    "ApiContext",
    "ExchangeClient",
    "Reply",
    "RequestFailed",
    "one_line",
    "parse_retry_after",
]

T = TypeVar("T")
_RETRY_AFTER_STATUSES = (429, 503)
_REJECTED = (401, 403)


class ApiContext(Protocol):
    """The part of :class:`~harness.context.PhaseContext` this plugin uses."""

    metrics: dict[str, float | int]

    @property
    def dry_run(self) -> bool: ...

    def retry(self, fn: Callable[..., T], *args: Any, name: str, **kwargs: Any) -> T: ...

    def redact(self, text: str) -> str: ...

    def add_secret(self, value: str) -> None: ...

    def deadline_in(self) -> float | None: ...

    def resolve_path(self, path: str | Path) -> Path: ...

    def emit(
        self,
        type: str,
        message: str = "",
        *,
        level: Any = "info",
        data: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float | int] | None = None,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A response that had the expected status.

    :param sent: wall clock (``time.time()``) just before the request was sent.
    :param received: wall clock when the whole answer was read.
    :param elapsed: seconds between the two on the monotonic clock.
    :param attempts: attempts it took (1 = no retry).
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    sent: float
    received: float
    elapsed: float
    attempts: int = 1


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    Returns ``None`` when absent or unparsable; a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class RequestFailed(Exception):
    """A GET failed for good (the policy gave up or the error was not retryable).

    :param attempts: attempts made; :param http_status: the last status seen,
    ``None`` when no answer came; :param rejected: 401/403 (credentials rejected).
    The message is one line, redacted.
    """

    def __init__(
        self, message: str, *, attempts: int, http_status: int | None, rejected: bool
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.http_status = http_status
        self.rejected = rejected


@dataclass
class ExchangeClient:
    """Sends the GETs of one exchange; collects rate-limit headers on the way.

    Build it only when the network may be used; call :meth:`close` at the end.
    ``ca_file``: the exchange's ``ca_bundle``, resolved; ``None`` for the default
    trust store.
    """

    exchange: Exchange
    ctx: ApiContext
    ca_file: Path | None = None
    rate_limits: dict[str, str] = field(default_factory=dict)
    requests_sent: int = 0
    _client: httpx.Client | None = None
    _last_status: int | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            import ssl

            import httpx

            from harness.plugins.api.tls import CaBundleError, ca_bundle_context

            verify: ssl.SSLContext | bool = True  # never False: no setting leads there
            if self.ca_file is not None:
                try:
                    verify = ca_bundle_context(self.ca_file)
                except CaBundleError as exc:
                    raise NonRetryableError(f"ca_bundle: {one_line(str(exc))}") from None
            ex = self.exchange
            self._client = httpx.Client(
                base_url=ex.base_url,
                verify=verify,
                follow_redirects=False,
                timeout=httpx.Timeout(ex.request_timeout, connect=ex.connect_timeout),
                headers={"User-Agent": "harness-api-check"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(
        self,
        path: str,
        *,
        check: str,
        expected: int,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """GET ``path`` under the retry policy; the :class:`Reply` if it had ``expected``.

        Raises the last :class:`RetryableError` / :class:`NonRetryableError` when the
        policy gives up. Messages name the path (the retry operation, ``GET <exchange>
        <check>``, names the rest), never a header.
        """
        attempts = 0

        def attempt() -> Reply:
            nonlocal attempts
            attempts += 1
            reply = self._send(path, expected=expected, headers=headers)
            return Reply(
                reply.status,
                reply.headers,
                reply.body,
                reply.sent,
                reply.received,
                reply.elapsed,
                attempts,
            )

        self._last_status = None
        try:
            return self.ctx.retry(attempt, name=f"GET {self.exchange.name} {check}")
        except (RetryableError, NonRetryableError) as exc:
            raise RequestFailed(
                self.ctx.redact(one_line(str(exc), 300)),
                attempts=attempts,
                http_status=self._last_status,
                rejected=self._last_status in _REJECTED,
            ) from None

    def _timeout(self) -> Any:
        """The request timeout, shortened so that no request outlives the phase."""
        import httpx

        ex = self.exchange
        left = self.ctx.deadline_in()
        read = ex.request_timeout if left is None else max(0.05, min(ex.request_timeout, left))
        return httpx.Timeout(read, connect=min(ex.connect_timeout, read))

    def _send(self, path: str, *, expected: int, headers: Mapping[str, str] | None) -> Reply:
        reply = self.send("GET", path, headers=headers)
        what = f"GET {path}"
        status = reply.status
        if status == expected:
            return reply
        if status in _RETRY_AFTER_STATUSES:
            wait = parse_retry_after(reply.headers.get("retry-after"))
            after = "" if wait is None else f", Retry-After {wait:g} s"
            raise RetryableError(f"{what}: HTTP {status}{after}", retry_after=wait)
        if status >= 500:
            raise RetryableError(f"{what}: HTTP {status}")
        if status in _REJECTED:
            raise NonRetryableError(f"{what}: HTTP {status}, credentials rejected")
        raise NonRetryableError(f"{what}: HTTP {status}, expected {expected}")

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        what: str | None = None,
    ) -> Reply:
        """One request, no retry and no status check: the answer, whatever its status.

        ``url`` is a path under ``base_url`` or an absolute URL (the ccxt transport
        sends those). Connection errors and timeouts raise :class:`RetryableError`,
        a certificate that does not verify :class:`NonRetryableError`; messages
        start with ``what`` (default ``<method> <url>``), never a header.
        """
        import httpx

        # no "<exchange> <check>:" prefix: the retry operation name, the api.check
        # event and the phase message already say which exchange and check
        what = what or f"{method} {url}"
        client = self._http()
        self._last_status = None
        self.requests_sent += 1
        self.ctx.metrics["api_requests"] = self.ctx.metrics.get("api_requests", 0) + 1
        sent = time.time()
        start = time.perf_counter()
        try:
            response = client.request(
                method, url, headers=dict(headers or {}), content=content, timeout=self._timeout()
            )
            body = response.read()
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{what}: timed out ({self._describe(exc)})") from None
        except httpx.ConnectError as exc:
            reason = cert_failure(exc)
            if reason is None:
                raise RetryableError(f"{what}: connection failed ({self._describe(exc)})") from None
            # not transient: the same certificate will be rejected on every attempt
            hint = (
                "" if self.ca_file is not None else "; a private CA can be trusted with ca_bundle"
            )
            raise NonRetryableError(
                f"{what}: TLS certificate verification failed "
                f"({self.ctx.redact(one_line(reason))}), not retried{hint}"
            ) from None
        except httpx.TransportError as exc:
            raise RetryableError(f"{what}: connection failed ({self._describe(exc)})") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise NonRetryableError(f"{what}: {self._describe(exc)}") from None
        elapsed = time.perf_counter() - start
        received = time.time()
        self._collect_rate_limits(response.headers)
        self._last_status = response.status_code
        # header names lower-cased: httpx.Headers is case-insensitive, a dict is not
        headers_out = {k.lower(): v for k, v in response.headers.items()}
        return Reply(response.status_code, headers_out, body, sent, received, elapsed)

    def _describe(self, exc: BaseException) -> str:
        """Exception type and message, secrets redacted, on one line."""
        text = str(exc) or type(exc).__name__
        return self.ctx.redact(one_line(f"{type(exc).__name__}: {text}"))

    def _collect_rate_limits(self, headers: Mapping[str, str]) -> None:
        prefixes = self.exchange.rate_limit_headers
        for name, value in headers.items():
            lower = name.lower()
            if any(lower.startswith(p) for p in prefixes):
                self.rate_limits[lower] = self.ctx.redact(one_line(value, 100))
