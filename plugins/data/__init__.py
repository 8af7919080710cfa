"""The built-in ``data`` plugin: load and validate OHLCV market data.

A phase run by this plugin (``[phases.data]``) reads CSV, ``.csv.gz`` or Parquet files,
checks them (``docs/data.md`` describes every setting and check) and puts a
:class:`~harness.MarketData` under ``"data.market"`` for later phases.
Without ``paths`` it reads the shipped sample: daily bars of four US stocks.

Imports here stay light (no numpy or polars): the module is imported for every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness import hookimpl
from harness.plugins.data.report_section import report_sections  # noqa: F401

if TYPE_CHECKING:
    from harness import Config, Phase, PhaseContext, PhaseResult, Session

__all__ = [
    "configure",
    "event_schemas",
    "phase_resume",
    "phase_run",
    "phase_schema",
    "summarize",
]

PLUGIN = "data"

_ISSUE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["check", "file", "symbol", "severity", "failed", "count", "rows", "timestamps"],
    "properties": {
        "check": {"type": "string"},
        "file": {"type": "string"},
        "symbol": {"type": "string"},
        "severity": {"enum": ["error", "warning"]},
        "failed": {"type": "boolean", "description": "the check's thresholds are exceeded"},
        "count": {"type": "integer", "minimum": 0},
        "rows": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "description": "first offending data rows, 1-based, header not counted",
        },
        "timestamps": {
            "type": "array",
            "items": {"type": ["string", "null"]},
            "description": "their timestamps (RFC 3339 UTC), null where it did not parse",
        },
        "detail": {"type": "object"},
    },
    "additionalProperties": False,
}

_LOADED_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["files", "symbols"],
    "properties": {
        "files": {"type": "integer", "minimum": 0},
        "symbols": {"type": "array", "items": {"type": "string"}},
        "resumed": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    from harness.plugins.data.settings import phase_schema as schema

    return schema()


@hookimpl
def configure(config: Config) -> None:
    """Reject what the schema cannot: an unknown ``timezone``, a ``timestamp_format``
    polars cannot use, ``columns`` keys that are not canonical names (exit 4, nothing runs).

    ``paths`` matching no file is not checked here: files may appear before the phase runs.
    """
    from harness.plugins.data.settings import DataSettings, check_settings

    for phase in config.phases:
        if phase.plugin != PLUGIN:
            continue
        for problem in check_settings(DataSettings.from_mapping(phase.settings)):
            raise config.error(
                f"phases.{phase.name}.{problem.key}", problem.expected, repr(problem.given)
            )


@hookimpl
def event_schemas() -> Mapping[str, Mapping[str, Any]]:
    return {"data.issue": _ISSUE_SCHEMA, "data.loaded": _LOADED_SCHEMA}


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    from harness.plugins.data.phase import run_phase

    return run_phase(phase, ctx)


@hookimpl
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    from harness.plugins.data.phase import resume_phase

    resume_phase(phase, ctx)


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    from harness.plugins.data.phase import summarize_section

    return summarize_section(session.artifacts)
