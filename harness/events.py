"""Events: the frozen record type and its JSON form.

Every event is built by :class:`harness.emitter.Emitter` (one place: ``seq``,
timestamp, ids, validation); this module only defines the value type.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["CORE_EVENT_TYPES", "LEVELS", "Event", "Level", "check_finite", "utc_timestamp"]

Level = Literal["debug", "info", "warning", "error"]
LEVELS: tuple[Level, ...] = ("debug", "info", "warning", "error")
SCHEMA_VERSION = 1
CORE_EVENT_TYPES = (
    "session_start",
    "session_end",
    "phase_start",
    "phase_end",
    "heartbeat",
    "retry",
    "error",
    "timeout",
    "checkpoint",
)


_second: list[Any] = [None, ""]
_isfinite = math.isfinite


def utc_timestamp(ts: float) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-28T09:45:25.123Z``."""
    whole = int(ts)
    if _second[0] != whole:  # strftime once per second: it is the slow part
        _second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second[0] = whole
    millis = min(int((ts - whole) * 1000), 999)
    return f"{_second[1]}.{millis:03d}Z"


def check_finite(value: object, where: str) -> None:
    """Raise :class:`ValueError` naming ``where`` if ``value`` holds NaN or infinity.

    Written for the hot path: a flat dict of scalars (the usual ``metrics`` and
    ``data``) costs one loop and no call per value.
    """
    if type(value) is dict:
        for key, item in value.items():
            kind = type(item)
            if kind is float:
                if not _isfinite(item):
                    raise ValueError(f"{where}.{key} is {item!r}: events carry finite numbers only")
            elif not (kind is str or kind is int or kind is bool or item is None):
                check_finite(item, f"{where}.{key}")
        return
    if isinstance(value, float):
        if not _isfinite(value):
            raise ValueError(f"{where} is {value!r}: events carry finite numbers only")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_finite(item, f"{where}[{index}]")


@dataclass(frozen=True, slots=True)
class Event:
    """One line of ``events.jsonl``; see ``harness schema event``.

    Construction rejects non-finite numbers in ``metrics`` and ``data``
    (:class:`ValueError`); JSON has no NaN.
    """

    seq: int
    timestamp: str
    run_id: str
    session_id: str
    type: str
    phase: str | None = None
    level: Level = "info"
    message: str = ""
    metrics: Mapping[str, float | int] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    v: int = SCHEMA_VERSION
    _body: dict[str, Any] = field(init=False, repr=False, compare=False)
    _json: bytes | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        check_finite(self.metrics, "metrics")
        check_finite(self.data, "data")
        object.__setattr__(self, "_body", self._make_body())

    @classmethod
    def build(
        cls,
        seq: int,
        timestamp: str,
        run_id: str,
        session_id: str,
        type: str,
        phase: str | None,
        level: Level,
        message: str,
        metrics: dict[str, float | int],
        data: dict[str, Any],
    ) -> Event:
        """The emitter's constructor: ``Event(...)`` with the same checks, a third the cost.

        A frozen dataclass's ``__init__`` pays an ``object.__setattr__`` call per
        field; this writes the slots through their descriptors. ``metrics`` and
        ``data`` must be fresh dicts the caller will not change.
        """
        check_finite(metrics, "metrics")
        check_finite(data, "data")
        self = object.__new__(cls)
        body = {
            "v": SCHEMA_VERSION,
            "seq": seq,
            "timestamp": timestamp,
            "run_id": run_id,
            "session_id": session_id,
            "type": type,
            "phase": phase,
            "level": level,
            "message": message,
            "metrics": metrics,
            "data": data,
        }
        for name, value in body.items():
            _SLOTS[name](self, value)
        _SLOTS["_body"](self, body)
        _SLOTS["_json"](self, None)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (a fresh shallow copy)."""
        return dict(self._body)

    def _make_body(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "seq": self.seq,
            "timestamp": self.timestamp,
            "run_id": self.run_id,
            "session_id": self.session_id,
            "type": self.type,
            "phase": self.phase,
            "level": self.level,
            "message": self.message,
            "metrics": dict(self.metrics),
            "data": dict(self.data),
        }

    def to_json(self) -> bytes:
        """The event as one line of JSON (UTF-8 bytes, no trailing newline).

        :raises TypeError: ``data`` holds something JSON cannot (a ``set``, a ``Path``).
        """
        if self._json is None:  # rendered once, whatever the number of sinks
            object.__setattr__(
                self, "_json", orjson.dumps(self._body, option=orjson.OPT_NON_STR_KEYS)
            )
        assert self._json is not None
        return self._json


#: slot name -> the descriptor's setter (how :meth:`Event.build` fills a frozen instance)
_SLOTS: dict[str, Any] = {name: getattr(Event, name).__set__ for name in Event.__slots__}
