"""Reading a run directory: ``summary.json`` and ``events.jsonl``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["RunFiles", "load_run"]


@dataclass(frozen=True, slots=True)
class RunFiles:
    """What a report is made from (the files were redacted when they were written)."""

    run_dir: Path
    summary: Mapping[str, Any]
    events: list[Mapping[str, Any]]
    problems: list[str] = field(default_factory=list)


def load_run(run_dir: Path) -> RunFiles:
    """Read ``run_dir``; a missing summary (a run still going, or killed) is not fatal.

    :raises FileNotFoundError: ``run_dir`` holds neither ``summary.json`` nor ``events.jsonl``.
    """
    summary_path, events_path = run_dir / "summary.json", run_dir / "events.jsonl"
    if not summary_path.is_file() and not events_path.is_file():
        raise FileNotFoundError(f"{run_dir}: no summary.json or events.jsonl (not a run directory)")
    problems: list[str] = []
    summary: Mapping[str, Any] = {}
    if summary_path.is_file():
        try:
            loaded = orjson.loads(summary_path.read_bytes())
            summary = loaded if isinstance(loaded, dict) else {}
        except orjson.JSONDecodeError as exc:
            problems.append(f"summary.json: not JSON ({exc})")
    else:
        problems.append("summary.json: missing (the run has not ended, or was killed)")
    events: list[Mapping[str, Any]] = []
    if events_path.is_file():
        with events_path.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    event = orjson.loads(line)
                except orjson.JSONDecodeError:
                    problems.append(f"events.jsonl line {number}: not JSON, left out")
                    continue
                if isinstance(event, dict):
                    events.append(event)
    return RunFiles(run_dir, summary, events, problems)
