"""A ccxt exchange whose HTTP goes through harness's own client, and its errors as ours.

ccxt knows each exchange's signing, endpoints, markets and error codes; harness
keeps the transport: every request ccxt makes goes through the exchange's
:class:`~harness.plugins.api.httpio.ExchangeClient` (so ``ca_bundle``, TLS
verification, timeouts cut to the phase deadline, rate-limit headers and
request counting work as in the generic mode). :class:`CcxtSession` overrides
the ccxt instance's ``fetch`` and then calls ccxt's own ``handle_errors`` /
``handle_http_status_code``, so ccxt still turns each exchange's error codes
into its exception classes. :meth:`CcxtSession.call` runs one ccxt method
under ``ctx.retry`` and maps those classes:

* never retried (:class:`~harness.NonRetryableError`): ``AuthenticationError``
  (``PermissionDenied``, ``AccountSuspended``...), ``BadRequest``, ``InvalidOrder``,
  ``InvalidNonce`` (the exchange refused our timestamp: clock skew), and every
  other ``ExchangeError``;
* retried by the policy (:class:`~harness.RetryableError`): ``RateLimitExceeded``,
  ``DDoSProtection``, ``ExchangeNotAvailable`` (``OnMaintenance``),
  ``RequestTimeout`` and other ``NetworkError``, with the server's
  ``Retry-After`` when it sent one.

A whole ccxt call is retried, never a single request: the retry is signed
again with a fresh timestamp / nonce. ccxt's own retries stay off
(``maxRetriesOnFailure = 0``), ``verbose`` is off and the ``ccxt`` logger is
kept above DEBUG (its DEBUG lines print the request headers: the API key).

ccxt is an optional extra (``pip install 'harness[ccxt]'``) imported by
:func:`import_ccxt` only when an exchange uses it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harness import NonRetryableError, RetryableError, UsageError
from harness.plugins.api.httpio import ApiContext, ExchangeClient, Reply, one_line
from harness.plugins.api.settings import Exchange

__all__ = [
    "EXTRA_HINT",
    "CcxtFailed",
    "CcxtSession",
    "RequestGuard",
    "import_ccxt",
    "retry_kind",
]

T = TypeVar("T")
EXTRA_HINT = "pip install 'harness[ccxt]'"

#: ccxt classes never retried, checked before the retryable ones (InvalidNonce is a
#: NetworkError in ccxt's tree, but waiting does not fix a clock).
_NEVER = (
    "InvalidNonce",
    "AuthenticationError",
    "PermissionDenied",
    "AccountSuspended",
    "BadRequest",
    "BadSymbol",
    "InvalidOrder",
    "InsufficientFunds",
    "NotSupported",
)
_RETRIED = (
    "RateLimitExceeded",
    "DDoSProtection",
    "OnMaintenance",
    "ExchangeNotAvailable",
    "RequestTimeout",
    "NetworkError",
)
_QUERY = re.compile(r"\?\S*")

#: Called with (method, url, body) before each request; raises to refuse it.
RequestGuard = Callable[[str, str, str | None], None]


def import_ccxt() -> ModuleType:
    """The ``ccxt`` module; :class:`~harness.UsageError` naming the extra when it is missing."""
    try:
        import ccxt
    except ImportError:
        raise UsageError(f"ccxt is not installed: {EXTRA_HINT}") from None
    module: ModuleType = ccxt
    return module


def retry_kind(ccxt: ModuleType, exc: BaseException) -> tuple[str, bool]:
    """``(ccxt class name, retried?)`` for a ccxt exception (the nearest mapped class)."""
    for name in _NEVER:
        if isinstance(exc, getattr(ccxt, name)):
            return type(exc).__name__, False
    for name in _RETRIED:
        if isinstance(exc, getattr(ccxt, name)):
            return type(exc).__name__, True
    return type(exc).__name__, False


class CcxtFailed(Exception):
    """A ccxt call failed for good (the policy gave up, or the error is never retried).

    :param ccxt_error: the ccxt class name (``AuthenticationError``), ``None`` for a
        transport error harness raised itself (TLS, connection).
    :param attempts: attempts made; :param http_status: the last status seen.
    The message is one line, redacted, and names exchange, check and class.
    """

    def __init__(
        self, message: str, *, ccxt_error: str | None, attempts: int, http_status: int | None
    ) -> None:
        super().__init__(message)
        self.ccxt_error = ccxt_error
        self.attempts = attempts
        self.http_status = http_status


@dataclass
class _Last:
    """The last answer seen (for Retry-After, skew and latency)."""

    reply: Reply | None = None
    #: the last answer passed ccxt's error checks (the exchange accepted the request)
    ok: bool = False


class CcxtSession:
    """One ccxt exchange instance wired to harness's HTTP client and retry policy.

    :param ex: the exchange entry (``ex.exchange`` is the ccxt id).
    :param credentials: ``(key, secret)`` read from the environment (already secrets).
    :param ca_file: ``ca_bundle`` resolved, or ``None``.
    Call :meth:`close` at the end.
    """

    def __init__(
        self,
        ex: Exchange,
        ctx: ApiContext,
        *,
        credentials: tuple[str | None, str | None] = (None, None),
        ca_file: Path | None = None,
    ) -> None:
        self.ccxt = import_ccxt()
        logging.getLogger("ccxt").setLevel(max(logging.INFO, logging.getLogger("ccxt").level))
        self.ex = ex
        self.ctx = ctx
        self.http = ExchangeClient(ex, ctx, ca_file)
        self.last = _Last()
        self.guard: RequestGuard | None = None
        key, secret = credentials
        config: dict[str, Any] = {
            "enableRateLimit": ex.rate_limiter,
            "timeout": int(ex.request_timeout * 1000),
            "options": {**dict(ex.options), "maxRetriesOnFailure": 0},
        }
        if key:
            config["apiKey"] = key
        if secret:
            config["secret"] = secret
        api = getattr(self.ccxt, ex.exchange or "")(config)
        api.verbose = False
        if ex.sandbox:
            if not api.urls.get("test"):
                raise UsageError(f"ccxt has no testnet (sandbox) for {ex.exchange}")
            api.set_sandbox_mode(True)
        if ex.urls:
            api.urls = {**api.urls, "api": {**_api_urls(api.urls.get("api")), **ex.urls}}
        api.fetch = self._fetch  # every request through our client
        self.api: Any = api

    def close(self) -> None:
        self.http.close()

    # -- transport ---------------------------------------------------------

    def _fetch(
        self,
        url: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
    ) -> Any:
        """ccxt's ``fetch``: one request through :class:`ExchangeClient`, ccxt's error mapping."""
        if self.guard is not None:
            self.guard(method, url, body)
        api = self.api
        request_headers = api.prepare_request_headers(headers)
        path = urlsplit(url).path or "/"
        content = body.encode() if isinstance(body, str) else body
        reply = self.http.send(
            method, url, headers=request_headers, content=content, what=f"{method} {path}"
        )
        self.last.reply = reply
        self.last.ok = False
        text = reply.body.decode("utf-8", "replace")
        data = api.parse_json(text)
        status = reply.status
        reason = _REASONS.get(status, "")
        if status >= 400:
            api.handle_errors(
                status, reason, url, method, reply.headers, text, data, request_headers, body
            )
            api.handle_http_status_code(status, reason, url, method, text)
            raise self.ccxt.ExchangeError(f"{api.id} {method} {path} {status}")
        api.handle_errors(
            status, reason, url, method, reply.headers, text, data, request_headers, body
        )
        self.last.ok = True
        return data if data is not None else text

    # -- calls under the policy --------------------------------------------

    def call(self, check: str, fn: Callable[[], T]) -> tuple[T, int]:
        """``fn()`` (a ccxt method call) under ``ctx.retry``; the result and the attempts.

        :raises CcxtFailed: when the policy gives up or the error is never retried.
        """
        attempts = 0
        ccxt_error: str | None = None
        name = self.ex.name

        def attempt() -> T:
            nonlocal attempts, ccxt_error
            attempts += 1
            self.last.reply = None
            self.last.ok = False
            ccxt_error = None
            try:
                return fn()
            except (RetryableError, NonRetryableError):
                raise  # from our transport: already classified
            except self.ccxt.BaseError as exc:
                ccxt_error, retried = retry_kind(self.ccxt, exc)
                detail = self.ctx.redact(one_line(_QUERY.sub("?***", str(exc)), 240))
                message = f"{name} {check}: {ccxt_error}: {detail}"
                if not retried:
                    raise NonRetryableError(f"{message}, not retried") from None
                raise RetryableError(message, retry_after=self._retry_after()) from None
            except Exception as exc:  # a ccxt bug or an answer it cannot parse: no retry
                what = self.ctx.redact(one_line(f"{type(exc).__name__}: {exc}", 240))
                raise NonRetryableError(f"{name} {check}: ccxt raised {what}") from None

        try:
            result = self.ctx.retry(attempt, name=f"ccxt {name} {check}")
        except (RetryableError, NonRetryableError) as exc:
            text = str(exc)
            if ccxt_error is None:  # raised by our transport: name exchange and check too
                text = f"{name} {check}: {text}"
            status = self.last.reply.status if self.last.reply is not None else None
            raise CcxtFailed(
                self.ctx.redact(one_line(text, 400)),
                ccxt_error=ccxt_error,
                attempts=attempts,
                http_status=status,
            ) from None
        return result, attempts

    def _retry_after(self) -> float | None:
        from harness.plugins.api.httpio import parse_retry_after

        reply = self.last.reply
        if reply is None:
            return None
        return parse_retry_after(reply.headers.get("retry-after"))


def _api_urls(value: Any) -> dict[str, Any]:
    """ccxt's ``urls['api']``: a dict of named base URLs (a bare string on a few exchanges)."""
    if isinstance(value, dict):
        return dict(value)
    return {} if value is None else {"public": value, "private": value}


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
