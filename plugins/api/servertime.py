"""Read the server's clock from a JSON answer and measure the skew against ours."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Skew", "measure_skew", "parse_server_time"]


class ServerTimeError(ValueError):
    """The answer holds no usable time; the message says which field and why."""


def _field(document: Any, dotted: str) -> Any:
    value = document
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ServerTimeError(f"field {dotted!r} not found in the answer")
    return value


def parse_server_time(body: bytes, field: str, fmt: str) -> float:
    """Seconds since the Unix epoch held in ``field`` of the JSON ``body``.

    :param fmt: ``"ms"`` or ``"s"`` (a number, or a string holding one) or
        ``"iso"`` (ISO 8601; no offset means UTC).
    :raises ServerTimeError: not JSON, no such field, or a value of the wrong kind.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ServerTimeError("the answer is not JSON") from None
    value = _field(document, field)
    if fmt == "iso":
        if not isinstance(value, str):
            raise ServerTimeError(f"field {field!r} is not an ISO 8601 string")
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise ServerTimeError(f"field {field!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ServerTimeError(f"field {field!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ServerTimeError(f"field {field!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise ServerTimeError(f"field {field!r} is not a positive finite number")
    return number / 1000.0 if fmt == "ms" else number


@dataclass(frozen=True, slots=True)
class Skew:
    """Server clock minus ours at the midpoint of the request, in milliseconds.

    ``uncertainty_ms`` is half the round trip: the server read its clock
    somewhere between sending and receiving, so the true skew lies within
    ``skew_ms +- uncertainty_ms``.
    """

    skew_ms: float
    round_trip_ms: float
    uncertainty_ms: float


def measure_skew(server_time: float, sent: float, received: float) -> Skew:
    """Compare ``server_time`` with the midpoint of ``sent`` and ``received`` (epoch s)."""
    midpoint = (sent + received) / 2.0
    rtt = max(0.0, received - sent)
    return Skew((server_time - midpoint) * 1000.0, rtt * 1000.0, rtt * 500.0)
