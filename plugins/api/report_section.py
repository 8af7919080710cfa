"""The api phase's part of the HTML run report (``report_sections``).

Per exchange: each check with its status, reason, HTTP status, attempts, and
the latency and clock-skew figures it measured (from ``summary.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import hookimpl

__all__ = ["report_sections"]

FIGURES = (
    "latency_median_ms",
    "latency_min_ms",
    "latency_max_ms",
    "skew_ms",
    "round_trip_ms",
    "uncertainty_ms",
)


@hookimpl
def report_sections(
    run_dir: Path, summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The ``API`` section, if the run checked exchanges."""
    section = summary.get("api")
    if not isinstance(section, Mapping):
        return None
    blocks: list[dict[str, Any]] = []
    counts = section.get("checks")
    if isinstance(counts, Mapping):
        blocks.append({"type": "facts", "items": dict(counts)})
    for ex in section.get("exchanges") or []:
        if not isinstance(ex, Mapping):
            continue
        status = str(ex.get("status"))
        blocks.append(
            {
                "type": "facts",
                "items": {
                    "exchange": ex.get("exchange"),
                    "phase": ex.get("phase"),
                    "base url": ex.get("base_url"),
                    "dry run": ex.get("dry_run"),
                    "status": {"value": status, "status": status},
                },
            }
        )
        rows = []
        for name, check in (ex.get("checks") or {}).items():
            if not isinstance(check, Mapping):
                continue
            st = str(check.get("status"))
            rows.append(
                [
                    name,
                    {"value": st, "status": st},
                    check.get("http_status"),
                    check.get("attempts"),
                    *(check.get(f) for f in FIGURES),
                    check.get("reason"),
                ]
            )
        blocks.append(
            {
                "type": "table",
                "title": f"Checks of {ex.get('exchange')}",
                "columns": [
                    "check",
                    "status",
                    "HTTP",
                    "attempts",
                    "latency median ms",
                    "latency min ms",
                    "latency max ms",
                    "skew ms",
                    "round trip ms",
                    "uncertainty ms",
                    "reason",
                ],
                "rows": rows,
            }
        )
    return [{"title": "API", "id": "api", "blocks": blocks}]
