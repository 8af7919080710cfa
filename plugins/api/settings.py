"""The ``[phases.api]`` settings: their JSON Schema and the parsed :class:`Exchange` list.

The core validates the phase table against :data:`PHASE_SCHEMA` and applies the
defaults of its top-level keys; per-exchange defaults (inside the array) are
applied here by :func:`parse_exchanges`, with the phase-level values
(``requests``, ``max_skew_ms``, ``max_latency_ms``, timeouts) as fall-backs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CHECK_EVENT_SCHEMA", "CHECK_NAMES", "PHASE_SCHEMA", "Exchange", "parse_exchanges"]

TimeFormat = Literal["ms", "s", "iso"]

CHECK_NAMES = ("config", "credentials", "health", "latency", "clock_skew", "auth", "rate_limit")

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
    "required": ["name", "base_url"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
            "description": "Exchange name used in events, retry names and the summary.",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Scheme and host (and optional base path); http:// only for loopback.",
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
        "request_timeout": {**_POSITIVE, "description": "Seconds per request."},
        "connect_timeout": {**_POSITIVE, "description": "Seconds to connect."},
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
        "request_timeout": {**_POSITIVE, "default": 10.0},
        "connect_timeout": {**_POSITIVE, "default": 5.0},
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
                base_url=entry["base_url"].rstrip("/"),
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
            )
        )
    return out
