"""The ``[phases.api]`` settings: their JSON Schema and the parsed :class:`Exchange` list.

The core validates the phase table against :data:`PHASE_SCHEMA` and applies the
defaults of its top-level keys; per-exchange defaults (inside the array) are
applied here by :func:`parse_exchanges`, with the phase-level values
(``requests``, ``max_skew_ms``, ``max_latency_ms``, timeouts) as fall-backs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CHECK_EVENT_SCHEMA",
    "CHECK_NAMES",
    "HTTP_CHECK_NAMES",
    "PHASE_SCHEMA",
    "Exchange",
    "parse_exchanges",
]

TimeFormat = Literal["ms", "s", "iso"]

CHECK_NAMES = (
    "config",
    "credentials",
    "health",
    "latency",
    "clock_skew",
    "auth",
    "markets",
    "rate_limit",
)
#: The checks of a generic (HTTP paths) exchange; a ccxt exchange runs all of CHECK_NAMES.
HTTP_CHECK_NAMES = tuple(name for name in CHECK_NAMES if name != "markets")

DEFAULT_RATE_LIMIT_HEADERS = (
    "x-ratelimit-",
    "x-rate-limit-",
    "ratelimit-",
    "ratelimit",
    "x-mbx-used-weight",
    "x-mbx-order-count",
)

_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
_PATH = {"type": "string", "pattern": "^/"}
_HEADER = {"type": "string", "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}

_EXCHANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
            "description": "Exchange name used in events, retry names and the summary.",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": (
                "Scheme and host (and optional base path); http:// only for loopback. "
                "Required unless exchange names a ccxt exchange."
            ),
        },
        "exchange": {
            "type": "string",
            "pattern": "^[a-z0-9_]+$",
            "description": (
                "A ccxt exchange id (binance, kraken, bybit...): checks through ccxt's "
                "signing, endpoints and markets (needs the harness[ccxt] extra)."
            ),
        },
        "sandbox": {
            "type": "boolean",
            "default": False,
            "description": "ccxt only: use the exchange's testnet (set_sandbox_mode).",
        },
        "urls": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^https?://"},
            "description": (
                "ccxt only: replace entries of the exchange's urls['api'] (public, private, "
                "...) for a self-hosted gateway or a test server; applied after sandbox."
            ),
        },
        "rate_limiter": {
            "type": "boolean",
            "default": True,
            "description": (
                "ccxt only: ccxt's own request spacing (rateLimit ms x cost; Kraken 3 s) "
                "between calls; always off while latency is timed."
            ),
        },
        "options": {
            "type": "object",
            "description": "ccxt only: entries merged into the exchange's options.",
        },
        "symbols": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "ccxt only: unified symbols (BTC/USDT) the markets check looks up.",
        },
        "health_path": {**_PATH, "default": "/", "description": "Unauthenticated health path."},
        "expected_status": {
            "type": "integer",
            "minimum": 100,
            "maximum": 599,
            "default": 200,
            "description": "Status the health path must answer.",
        },
        "latency_path": {**_PATH, "description": "Path timed for latency (default health_path)."},
        "time_path": {**_PATH, "description": "Server-time path; no clock-skew check without it."},
        "time_field": {
            "type": "string",
            "minLength": 1,
            "default": "serverTime",
            "description": "Dotted path of the time field in the JSON answer (data.serverTime).",
        },
        "time_format": {
            "enum": ["ms", "s", "iso"],
            "default": "ms",
            "description": "ms or s since the Unix epoch, or an ISO 8601 string.",
        },
        "auth_path": {**_PATH, "description": "Authenticated path; no auth check without it."},
        "auth_expected_status": {"type": "integer", "minimum": 100, "maximum": 599, "default": 200},
        "key_env": {**_ENV_NAME, "description": "Environment variable holding the API key."},
        "secret_env": {**_ENV_NAME, "description": "Environment variable holding the API secret."},
        "key_pattern": {"type": "string", "description": "Regex the whole key must match."},
        "secret_pattern": {"type": "string", "description": "Regex the whole secret must match."},
        "key_header": {
            **_HEADER,
            "default": "X-API-KEY",
            "description": "Header carrying the key.",
        },
        "secret_header": {
            **_HEADER,
            "default": "X-API-SECRET",
            "description": "Header carrying the secret (sent as is, not a signature).",
        },
        "requests": {"type": "integer", "minimum": 1, "maximum": 1000},
        "max_latency_ms": {**_POSITIVE, "description": "Threshold on the median latency."},
        "max_skew_ms": {**_POSITIVE, "description": "Threshold on |clock skew|."},
        "request_timeout": {**_POSITIVE, "maximum": 3600, "description": "Seconds per request."},
        "connect_timeout": {**_POSITIVE, "maximum": 3600, "description": "Seconds to connect."},
        "ca_bundle": {
            "type": "string",
            "minLength": 1,
            "description": (
                "PEM file of the CA certificates to trust instead of the default store "
                "(a testnet's or proxy's private CA), relative to the config file. "
                "Verification itself cannot be turned off."
            ),
        },
        "rate_limit_headers": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Header name prefixes reported as rate-limit headers.",
        },
    },
}

PHASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "api phase settings",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {
            "type": "number",
            "default": 3600.0,
            "description": "default timeout of these phases in seconds (checked by the core)",
        },
        "dry_run": {
            "type": "boolean",
            "default": False,
            "description": "Open no connection and need no secret (as harness run --dry-run).",
        },
        "requests": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 5,
            "description": "Latency samples per exchange.",
        },
        "max_latency_ms": {**_POSITIVE, "default": 2000.0},
        "max_skew_ms": {**_POSITIVE, "default": 1000.0},
        "request_timeout": {**_POSITIVE, "maximum": 3600, "default": 10.0},
        "connect_timeout": {**_POSITIVE, "maximum": 3600, "default": 5.0},
        "exchanges": {"type": "array", "items": _EXCHANGE_SCHEMA, "default": []},
    },
}

CHECK_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "api.check event data",
    "type": "object",
    "additionalProperties": False,
    "required": ["exchange", "check", "status", "reason"],
    "properties": {
        "exchange": {"type": "string"},
        "ccxt_error": {"type": "string", "description": "the ccxt exception class, if any"},
        "check": {"enum": list(CHECK_NAMES)},
        "status": {"enum": ["passed", "failed", "skipped"]},
        "reason": {"type": "string"},
        "path": {"type": ["string", "null"]},
        "http_status": {"type": ["integer", "null"]},
        "attempts": {"type": "integer", "minimum": 0},
        "details": {"type": "object"},
    },
}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One ``[[phases.api.exchanges]]`` entry with every default applied."""

    name: str
    base_url: str
    health_path: str
    expected_status: int
    latency_path: str
    time_path: str | None
    time_field: str
    time_format: TimeFormat
    auth_path: str | None
    auth_expected_status: int
    key_env: str | None
    secret_env: str | None
    key_pattern: str | None
    secret_pattern: str | None
    key_header: str
    secret_header: str
    requests: int
    max_latency_ms: float
    max_skew_ms: float
    request_timeout: float
    connect_timeout: float
    rate_limit_headers: tuple[str, ...]
    ca_bundle: str | None = None
    exchange: str | None = None
    sandbox: bool = False
    rate_limiter: bool = True
    urls: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()

    @property
    def uses_ccxt(self) -> bool:
        """``True`` when ``exchange`` names a ccxt exchange (else: generic HTTP paths)."""
        return self.exchange is not None


def _prop_default(name: str) -> Any:
    return _EXCHANGE_SCHEMA["properties"][name].get("default")


def _phase_value(settings: Mapping[str, Any], name: str) -> Any:
    return settings.get(name, PHASE_SCHEMA["properties"][name]["default"])


def parse_exchanges(settings: Mapping[str, Any]) -> list[Exchange]:
    """Build the exchanges of a validated phase table, defaults applied."""
    raw: Sequence[Mapping[str, Any]] = settings.get("exchanges", ())
    out = []
    for entry in raw:

        def get(key: str, entry: Mapping[str, Any] = entry) -> Any:
            return entry.get(key, _prop_default(key))

        def inherit(key: str, entry: Mapping[str, Any] = entry) -> Any:
            return entry.get(key, _phase_value(settings, key))

        health_path = get("health_path")
        out.append(
            Exchange(
                name=entry["name"],
                base_url=entry.get("base_url", "").rstrip("/"),
                health_path=health_path,
                expected_status=int(get("expected_status")),
                latency_path=entry.get("latency_path", health_path),
                time_path=entry.get("time_path"),
                time_field=get("time_field"),
                time_format=get("time_format"),
                auth_path=entry.get("auth_path"),
                auth_expected_status=int(get("auth_expected_status")),
                key_env=entry.get("key_env"),
                secret_env=entry.get("secret_env"),
                key_pattern=entry.get("key_pattern"),
                secret_pattern=entry.get("secret_pattern"),
                key_header=get("key_header"),
                secret_header=get("secret_header"),
                requests=int(inherit("requests")),
                max_latency_ms=float(inherit("max_latency_ms")),
                max_skew_ms=float(inherit("max_skew_ms")),
                request_timeout=float(inherit("request_timeout")),
                connect_timeout=float(inherit("connect_timeout")),
                rate_limit_headers=tuple(
                    h.lower() for h in entry.get("rate_limit_headers", DEFAULT_RATE_LIMIT_HEADERS)
                ),
                ca_bundle=entry.get("ca_bundle"),
                exchange=entry.get("exchange"),
                sandbox=bool(get("sandbox")),
                rate_limiter=bool(get("rate_limiter")),
                urls=dict(entry.get("urls", {})),
                options=dict(entry.get("options", {})),
                symbols=tuple(entry.get("symbols", ())),
            )
        )
    return out
