"""Settings of a data phase: the JSON Schema of ``[phases.<name>]`` and their typed form.

No heavy imports here: the schema is asked for at start-up of every run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CANONICAL",
    "CHECKS",
    "PRICE_COLUMNS",
    "SYMBOL_ALIASES",
    "CheckSpec",
    "DataSettings",
    "interval_seconds",
    "phase_schema",
]

Severity = Literal["error", "warning", "off"]

#: The columns of a bar, in file order; ``columns`` maps these names to the file's.
CANONICAL = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")

#: Column names recognised (case-insensitively) when ``columns`` does not name one.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "date", "datetime", "time", "ts", "open_time", "date_time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
}

#: Column names taken (case-insensitively) as ``symbol_column`` when it is not set.
SYMBOL_ALIASES = ("symbol", "ticker")

#: Every check: its default severity, its thresholds with defaults, and what it means.
CHECKS: Mapping[str, tuple[Severity, Mapping[str, Any], str]] = {
    "required_columns": (
        "error",
        {"required": list(CANONICAL)},
        "every column in `required` is in the file (a missing optional one is all NaN)",
    ),
    "parse": ("error", {"max_count": 0}, "cells that are not numbers / timestamps"),
    "order": ("error", {"max_count": 0}, "timestamps earlier than the row before"),
    "duplicates": ("error", {"max_count": 0}, "timestamps equal to the row before"),
    "too_close": (
        "error",
        {"max_count": 0, "tolerance": 0.0},
        "bars less than one interval after the row before (by the clock, whatever the"
        " calendar), beyond a relative `tolerance` of the interval",
    ),
    "gaps": (
        "error",
        {"max_missing_bars": 3, "max_missing_fraction": 0.05},
        "missing bars against interval and calendar: fails when one gap misses more than"
        " `max_missing_bars` bars or all gaps miss more than `max_missing_fraction` of the bars",
    ),
    "calendar": ("warning", {"max_count": 0}, "bars on a Saturday or Sunday (UTC) for `weekdays`"),
    "finite": ("error", {"max_count": 0}, "rows with a NaN, empty or infinite OHLCV value"),
    "non_positive_prices": ("error", {"max_count": 0}, "rows with an open/high/low/close <= 0"),
    "high_low": (
        "error",
        {"max_count": 0, "tolerance": 0.0},
        "rows where high < max(open, close, low) or low > min(open, close, high),"
        " beyond a relative `tolerance`; rows with a NaN price are left to `finite`",
    ),
    "negative_volume": ("error", {"max_count": 0}, "rows with volume < 0"),
    "zero_volume_runs": (
        "warning",
        {"max_run": 10, "max_count": 0},
        "runs of more than `max_run` consecutive bars with volume 0",
    ),
    "stale_prices": (
        "warning",
        {"max_run": 5, "max_count": 0},
        "runs of more than `max_run` consecutive identical closes",
    ),
    "outlier_returns": (
        "warning",
        {"max_abs_return": 0.5, "max_count": 0},
        "close-to-close returns with |close / previous close - 1| > `max_abs_return`",
    ),
    "min_rows": ("error", {"min_rows": 10}, "fewer than `min_rows` valid rows in a file"),
}

_THRESHOLD_SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    "required": {
        "type": "array",
        "items": {"enum": list(CANONICAL)},
        "uniqueItems": True,
        "description": "canonical columns that must be present",
    },
    "max_count": {"type": "integer", "minimum": 0, "description": "offences tolerated"},
    "max_missing_bars": {"type": "integer", "minimum": 0, "description": "largest tolerated gap"},
    "max_missing_fraction": {"type": "number", "minimum": 0, "maximum": 1},
    "tolerance": {"type": "number", "minimum": 0, "description": "relative slack"},
    "max_run": {"type": "integer", "minimum": 1},
    "max_abs_return": {"type": "number", "exclusiveMinimum": 0},
    "min_rows": {"type": "integer", "minimum": 0},
}

INTERVAL_RE = re.compile(r"^([1-9][0-9]*)(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def interval_seconds(interval: str) -> int:
    """``"1d"`` -> 86400; :class:`ValueError` for anything else."""
    match = INTERVAL_RE.match(interval)
    if match is None:
        raise ValueError(f"bad interval {interval!r} (expected like 1m, 5m, 1h, 1d)")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


def _check_schema(name: str) -> dict[str, Any]:
    severity, thresholds, doc = CHECKS[name]
    props: dict[str, Any] = {
        "severity": {"enum": ["error", "warning", "off"], "default": severity},
    }
    for key, default in thresholds.items():
        props[key] = {**_THRESHOLD_SCHEMAS[key], "default": default}
    return {
        "type": "object",
        "description": doc,
        "properties": props,
        "additionalProperties": False,
    }


def phase_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a data phase's own keys."""
    column = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "properties": {
            "timeout": {
                "type": "number",
                "default": 7200.0,
                "description": "default timeout of these phases in seconds (checked by the core)",
            },
            "paths": {
                "description": "files or globs, relative to the config file's folder;"
                " omitted: the shipped sample (daily AAPL, GOOG, IBM, MSFT)",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
                ],
            },
            "format": {"enum": ["auto", "csv", "parquet"], "default": "auto"},
            "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
            "header": {
                "enum": ["auto", True, False],
                "default": "auto",
                "description": "CSV header line: auto (a first line of numbers only is data),"
                " true, or false (columns are column_1, column_2...; unmapped ones default to"
                " timestamp, open, high, low, close, volume by position, as in exchange dumps)",
            },
            "columns": {
                "type": "object",
                "description": "canonical name -> column name in the files",
                "properties": {name: column for name in CANONICAL},
                "additionalProperties": False,
                "default": {},
            },
            "symbol_column": {
                "anyOf": [{"type": "string", "minLength": 1}, {"const": False}, {"type": "null"}],
                "description": "column holding the symbol; null: a column named symbol or"
                " ticker (any case) if the file has one, else one file per symbol, named after"
                " the file; false: always one file per symbol",
            },
            "timestamp_unit": {
                "enum": ["auto", "iso", "s", "ms", "us", "ns"],
                "description": "auto: ISO text, or epoch numbers with the unit guessed from"
                " their magnitude",
                "default": "auto",
            },
            "timestamp_format": {
                "type": ["string", "null"],
                "description": "strftime format of text timestamps; null: detect ISO 8601",
            },
            "timezone": {
                "type": "string",
                "minLength": 1,
                "description": "zone of timestamps written without an offset",
                "default": "UTC",
            },
            "interval": {
                "type": ["string", "null"],
                "pattern": INTERVAL_RE.pattern,
                "description": "expected bar interval (1m, 1h, 1d...);"
                " null: no gaps / too_close check",
            },
            "calendar": {
                "enum": ["24/7", "weekdays", None],
                "description": "weekdays: Saturday and Sunday are not gaps;"
                " null: 24/7 (weekdays for the shipped sample)",
            },
            "max_examples": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "description": "offending rows listed per issue",
                "default": 5,
            },
            "checks": {
                "type": "object",
                "properties": {name: _check_schema(name) for name in CHECKS},
                "additionalProperties": False,
                "default": {},
            },
        },
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One check's effective settings."""

    name: str
    severity: Severity
    thresholds: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.thresholds[key]


@dataclass(frozen=True, slots=True)
class DataSettings:
    """The effective settings of one data phase (defaults applied, sample resolved)."""

    paths: tuple[str, ...] | None = None
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = ","
    header: Literal["auto"] | bool = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    symbol_column: str | None = None
    detect_symbol: bool = True
    timestamp_unit: str = "auto"
    timestamp_format: str | None = None
    timezone: str = "UTC"
    interval: str | None = None
    calendar: str | None = None
    max_examples: int = 5
    checks: Mapping[str, CheckSpec] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> DataSettings:
        """Build from a validated ``phase.settings`` mapping (missing keys take defaults)."""
        paths = raw.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        user_checks: Mapping[str, Any] = raw.get("checks") or {}
        checks = {}
        for name, (severity, thresholds, _doc) in CHECKS.items():
            given = dict(user_checks.get(name) or {})
            sev = given.pop("severity", severity)
            checks[name] = CheckSpec(name, sev, {**thresholds, **given})
        return cls(
            paths=tuple(paths) if paths else None,
            format=raw.get("format", "auto"),
            delimiter=raw.get("delimiter", ","),
            header=raw.get("header", "auto"),
            columns=dict(raw.get("columns") or {}),
            symbol_column=raw.get("symbol_column") or None,
            detect_symbol=raw.get("symbol_column") is not False,
            timestamp_unit=raw.get("timestamp_unit", "auto"),
            timestamp_format=raw.get("timestamp_format"),
            timezone=raw.get("timezone", "UTC"),
            interval=raw.get("interval"),
            calendar=raw.get("calendar"),
            max_examples=int(raw.get("max_examples", 5)),
            checks=checks,
        )

    @property
    def uses_sample(self) -> bool:
        return self.paths is None

    @property
    def effective_interval(self) -> str | None:
        """The interval; the shipped sample is daily when none is given."""
        if self.interval is None and self.uses_sample:
            return "1d"
        return self.interval

    @property
    def effective_calendar(self) -> str:
        """The calendar; ``weekdays`` for the shipped sample, else ``24/7``, when none is given."""
        if self.calendar is None:
            return "weekdays" if self.uses_sample else "24/7"
        return self.calendar


# --------------------------------------------------------------------------------------
# checks a schema cannot make (``configure``: exit 4 before anything runs)
# --------------------------------------------------------------------------------------

#: One strftime directive as polars (chrono) reads it: an optional padding flag, then a
#: letter, or a fraction (``%.f``, ``%.3f``, ``%3f``), or an offset (``%:z``, ``%#z``).
_DIRECTIVE_RE = re.compile(
    r"%(?:[-_0]?[YCymbBhdeaAwuUWGgVjDxFvHkIlPpMSRTXrZctns+]|\.?[369]?f|:{0,3}z|#z|%)"
)
_DATE_DIRECTIVE_RE = re.compile(r"%[-_0]?[YyGgCDFxvcs+]")


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting that is well-typed but wrong: ``config.error(key, expected, repr(given))``."""

    key: str
    expected: str
    given: object


def check_settings(settings: DataSettings) -> list[Problem]:
    """What is wrong in ``settings`` beyond the schema (keys relative to the phase table).

    Cheap: polars is imported only for a ``timezone`` other than UTC or a
    ``timestamp_format``, which it is asked to use once on a single value.
    """
    problems: list[Problem] = []
    for canon in settings.columns:
        if canon not in CANONICAL:
            problems.append(Problem(f"columns.{canon}", f"one of {', '.join(CANONICAL)}", canon))
    if settings.symbol_column is not None and settings.symbol_column in settings.columns.values():
        problems.append(
            Problem(
                "symbol_column",
                "a column not mapped by `columns`",
                settings.symbol_column,
            )
        )
    if settings.delimiter in ('"', "\n", "\r") or len(settings.delimiter.encode()) != 1:
        problems.append(
            Problem("delimiter", "a one-byte field separator like ',' or ';'", settings.delimiter)
        )
    if settings.interval is not None:
        try:
            interval_seconds(settings.interval)
        except ValueError:
            problems.append(Problem("interval", "like 1m, 5m, 1h, 1d", settings.interval))
    if not _known_timezone(settings.timezone):
        problems.append(
            Problem(
                "timezone",
                "an IANA time zone such as 'UTC' or 'America/New_York'",
                settings.timezone,
            )
        )
    fmt = settings.timestamp_format
    if fmt is not None and not _valid_format(fmt):
        problems.append(
            Problem(
                "timestamp_format",
                "a strftime format with a date, such as '%Y-%m-%d %H:%M:%S' or '%d/%m/%Y'",
                fmt,
            )
        )
    return problems


def _known_timezone(name: str) -> bool:
    """Whether polars (the reader) knows the zone ``name``."""
    if name == "UTC":
        return True
    if not name.strip():  # polars takes "" for "no time zone"
        return False
    import polars as pl

    try:
        pl.Series([None], dtype=pl.Datetime("ns")).dt.replace_time_zone(name)
    except (pl.exceptions.PolarsError, ValueError):
        return False
    return True


def _valid_format(fmt: str) -> bool:
    """Every ``%`` starts a directive chrono knows, one gives a date, and polars accepts
    the whole (it rejects, for example, an hour without minutes)."""
    if _DIRECTIVE_RE.sub("", fmt).count("%") or not _DATE_DIRECTIVE_RE.search(fmt):
        return False
    import polars as pl

    try:
        pl.Series(["x"]).str.strptime(pl.Datetime("ns"), fmt, strict=False)
    except (pl.exceptions.PolarsError, ValueError):
        return False
    return True
