"""The data phase's part of the HTML run report (``report_sections``).

What was loaded (files, symbols, rows, time range; per file and symbol when the
summary has ``per_file``) and every check finding of the ``data.issue`` events
with its severity and its first rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import hookimpl

__all__ = ["report_sections"]

FACTS = (
    "files",
    "symbols",
    "rows",
    "first",
    "last",
    "interval",
    "calendar",
    "sample",
    "errors",
    "warnings",
    "seconds",
)


def _per_phase(section: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{phase: summary}``: one data phase is stored flat, several under ``phases``."""
    phases = section.get("phases")
    if isinstance(phases, Mapping):
        return {str(k): v for k, v in phases.items() if isinstance(v, Mapping)}
    return {"data": section}


def _status(issue: Mapping[str, Any]) -> dict[str, Any]:
    severity = str(issue.get("severity", "info"))
    if not issue.get("failed"):
        return {"value": f"{severity} (not failed)", "status": "info"}
    return {"value": severity, "status": "failed" if severity == "error" else "warning"}


def _first_rows(issue: Mapping[str, Any]) -> str:
    rows = issue.get("rows") or []
    stamps = issue.get("timestamps") or []
    shown = [
        f"row {r}" + (f" at {t}" if t else "")
        for r, t in zip(rows, [*stamps, *[None] * len(rows)], strict=False)
    ]
    more = ", ..." if int(issue.get("count") or 0) > len(rows) else ""
    return ", ".join(shown) + more


@hookimpl
def report_sections(
    run_dir: Path, summary: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The ``Data`` section, if the run loaded data or reported data issues."""
    section = summary.get("data")
    issues = [e for e in events if e.get("type") == "data.issue"]
    if not isinstance(section, Mapping) and not issues:
        return None
    blocks: list[dict[str, Any]] = []
    for phase, figures in _per_phase(section if isinstance(section, Mapping) else {}).items():
        items: dict[str, Any] = {k: figures.get(k) for k in FACTS if k in figures}
        symbols = items.get("symbols")
        if isinstance(symbols, list):
            items["symbols"] = ", ".join(str(s) for s in symbols)
        if items:
            blocks.append({"type": "text", "text": f"phase {phase}:"})
            blocks.append({"type": "facts", "items": items})
        per_file: Any = figures.get("per_file")
        if isinstance(per_file, list) and per_file:
            blocks.append(
                {
                    "type": "table",
                    "title": f"Files and symbols ({phase})",
                    "columns": ["file", "symbol", "rows", "first", "last"],
                    "rows": [
                        [
                            f.get("file"),
                            f.get("symbol"),
                            f.get("rows"),
                            f.get("first"),
                            f.get("last"),
                        ]
                        for f in per_file
                        if isinstance(f, Mapping)
                    ],
                }
            )
        checked = figures.get("issues")
        if isinstance(checked, Mapping) and checked:
            blocks.append(
                {
                    "type": "table",
                    "title": f"Findings per check ({phase})",
                    "columns": ["check", "count"],
                    "rows": [[str(k), v] for k, v in checked.items()],
                }
            )
    rows = []
    for event in issues:
        d = event.get("data") or {}
        rows.append(
            [
                event.get("phase"),
                d.get("file"),
                d.get("symbol"),
                d.get("check"),
                _status(d),
                d.get("count"),
                _first_rows(d),
                event.get("message"),
            ]
        )
    blocks.append(
        {
            "type": "table",
            "title": "Checks (every data.issue event)",
            "columns": [
                "phase",
                "file",
                "symbol",
                "check",
                "severity",
                "count",
                "first rows",
                "message",
            ],
            "rows": rows,
        }
    )
    return [{"title": "Data", "id": "data", "blocks": blocks}]
