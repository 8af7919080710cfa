"""Run history: find the run directories under ``runs_dir``, resolve ``RUN``, list runs.

A run directory is a folder holding ``events.jsonl``, ``summary.json`` or ``state.json``.
``RUN`` (the argument of ``show``, ``compare``, ``events``, ``baseline save``, ``report``)
is resolved by :func:`resolve_run`, in this order:

``latest``
    the run ``<runs_dir>/latest`` points at: the newest run *started*, whatever its status
    (it may still be running, or have been killed). This is the same pointer ``--resume``
    uses, and it keeps that meaning.
``latest-success`` / ``latest-failed``
    the newest run whose status is ``success`` / anything else (``failed``, ``error``,
    ``interrupted``, ``incomplete``); a run still running is neither.
a path
    an existing folder (or a file in it) holding a run, relative to the working directory.
a run id, or a unique prefix of one
    a run directory under ``runs_dir``; a prefix two runs share is a usage error listing them.

A run's status comes from its ``summary.json``; a run whose event log does not end with
``session_end`` has no final summary for its last session and is ``running`` (the process
named by its last ``session_start`` is alive) or ``incomplete`` (killed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.errors import UsageError
from harness.rundir import EVENTS_FILE, STATE_FILE, SUMMARY_FILE

__all__ = [
    "RunInfo",
    "find_runs",
    "list_runs",
    "load_run",
    "resolve_run",
    "runs_dir_for",
]

#: the names ``RUN`` accepts besides ids, prefixes and paths
SPECIAL = ("latest", "latest-success", "latest-failed")
_MARKERS = (EVENTS_FILE, SUMMARY_FILE, STATE_FILE)


@dataclass(slots=True)
class RunInfo:
    """One run directory as ``harness runs`` lists it.

    :ivar status: the summary's status, or ``running`` / ``incomplete`` (see the module doc).
    :ivar summary: the parsed ``summary.json`` (``{}`` when there is none).
    """

    run_id: str
    path: Path
    status: str
    started: str | None = None
    ended: str | None = None
    runtime_s: float | None = None
    exit_code: int | None = None
    passed: int = 0
    failed: int = 0
    roi: float | None = None
    sessions: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON row of ``harness runs --json``."""
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "status": self.status,
            "started": self.started,
            "ended": self.ended,
            "runtime_s": self.runtime_s,
            "exit_code": self.exit_code,
            "phases_passed": self.passed,
            "phases_failed": self.failed,
            "roi": self.roi,
            "sessions": self.sessions,
        }


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a folder holding a run."""
    return path.is_dir() and any((path / name).is_file() for name in _MARKERS)


def find_runs(runs_dir: Path) -> list[Path]:
    """The run directories directly under ``runs_dir`` (``latest`` excluded), unsorted."""
    try:
        entries = list(os.scandir(runs_dir))
    except OSError:
        return []
    return [
        Path(e.path)
        for e in entries
        if e.name != "latest"
        and not e.name.startswith(".")
        and not e.is_symlink()
        and is_run_dir(Path(e.path))
    ]


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _events(path: Path) -> list[dict[str, Any]]:
    """The whole lines of an event log that parse (a torn last line is skipped)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out: list[dict[str, Any]] = []
    for line in data.splitlines():
        try:
            value = orjson.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _last_event(path: Path) -> dict[str, Any] | None:
    """The last whole event of a log, read from its end."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            chunk = min(size, 65536)
            fh.seek(size - chunk)
            tail = fh.read()
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            value = orjson.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def load_run(path: Path) -> RunInfo:
    """Read what ``harness runs`` shows of one run directory (never raises for bad files)."""
    summary = _read_json(path / SUMMARY_FILE)
    summary = summary if isinstance(summary, dict) else {}
    events_path = path / EVENTS_FILE
    last = _last_event(events_path) if events_path.is_file() else None
    info = RunInfo(run_id=str(summary.get("run_id") or path.name), path=path, status="incomplete")
    info.summary = summary
    finished = last is None or last.get("type") == "session_end"
    if summary and finished:
        info.status = str(summary.get("status", "incomplete"))
    else:
        # no summary of the last session: look for it in the events
        events = _events(events_path)
        starts = [e for e in events if e.get("type") == "session_start"]
        if starts:
            pid = (starts[-1].get("data") or {}).get("pid")
            info.status = "running" if _alive(pid) else "incomplete"
            info.run_id = str(starts[-1].get("run_id") or info.run_id)
            info.started = summary.get("started") or starts[0].get("timestamp")
            info.sessions = len(starts)
        if events and not summary:
            info.ended = events[-1].get("timestamp")
            ends = [e for e in events if e.get("type") == "phase_end"]
            info.passed = sum((e.get("data") or {}).get("status") == "passed" for e in ends)
            info.failed = sum(
                (e.get("data") or {}).get("status") in ("failed", "timeout") for e in ends
            )
    if summary:
        info.started = summary.get("started") or info.started
        info.ended = summary.get("ended") if finished else info.ended
        runtime = summary.get("runtime_s")
        info.runtime_s = float(runtime) if isinstance(runtime, int | float) and finished else None
        code = summary.get("exit_code")
        info.exit_code = code if isinstance(code, int) and finished else None
        phases = [p for p in summary.get("phases", []) if isinstance(p, dict)]
        info.passed = sum(p.get("status") == "passed" for p in phases)
        info.failed = sum(p.get("status") in ("failed", "timeout") for p in phases)
        capital = summary.get("capital")
        if isinstance(capital, dict) and isinstance(capital.get("roi"), int | float):
            info.roi = float(capital["roi"])
        info.sessions = max(info.sessions, len(summary.get("sessions", []) or []))
    return info


def _sort_key(info: RunInfo) -> tuple[str, str]:
    # run ids start with the UTC start second; the summary's start adds milliseconds
    return (info.run_id[:16], info.started or "")


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Every run under ``runs_dir``, newest first."""
    return sorted((load_run(p) for p in find_runs(runs_dir)), key=_sort_key, reverse=True)


def _latest(runs_dir: Path) -> Path | None:
    link = runs_dir / "latest"
    if link.is_symlink():
        target = link.resolve()
        return target if target.is_dir() else None
    if link.is_file():  # no symlinks on this filesystem: a text file naming the run
        target = runs_dir / link.read_text(encoding="utf-8").strip()
        return target if target.is_dir() else None
    return None


def resolve_run(spec: str, runs_dir: Path, cwd: Path) -> Path:
    """The run directory ``spec`` names (see the module doc for the rules).

    :param spec: ``latest``, ``latest-success``, ``latest-failed``, a path, a run id or
        a unique prefix of one.
    :param runs_dir: the config's ``[harness] runs_dir`` (absolute, or relative to ``cwd``).
    :param cwd: the folder relative paths are taken from.
    :raises UsageError: nothing matches, or a prefix matches several runs (the message
        lists them); the CLI exits 4.
    """
    runs_dir = runs_dir if runs_dir.is_absolute() else cwd / runs_dir
    spec = spec.strip()
    if not spec:
        raise UsageError("RUN is empty: give a run id, a prefix, a path or 'latest'")
    if spec == "latest":
        found = _latest(runs_dir)
        if found is None:
            runs = list_runs(runs_dir)
            if not runs:
                raise UsageError(f"no runs under {runs_dir}")
            found = runs[0].path
        return found
    if spec in ("latest-success", "latest-failed"):
        for info in list_runs(runs_dir):
            if info.status == "running":
                continue
            if (info.status == "success") == (spec == "latest-success"):
                return info.path
        what = "successful" if spec == "latest-success" else "unsuccessful"
        raise UsageError(f"{spec}: no {what} run under {runs_dir}")
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else cwd / path
    if path.is_file() and path.name in _MARKERS:
        path = path.parent
    if is_run_dir(path):
        return path
    if os.sep in spec or spec.startswith("."):
        raise UsageError(f"{spec}: no run there (no {EVENTS_FILE} or {SUMMARY_FILE})")
    if is_run_dir(runs_dir / spec):
        return runs_dir / spec
    matches = sorted(p for p in find_runs(runs_dir) if p.name.startswith(spec))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"{spec}: no run with this id or prefix under {runs_dir}")
    names = ", ".join(p.name for p in matches[:10])
    more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
    raise UsageError(f"{spec}: ambiguous, {len(matches)} runs match: {names}{more}")


def runs_dir_for(config: Path | None, runs_dir: Path | None, cwd: Path) -> Path:
    """The runs folder: ``--runs-dir``, else the config's ``[harness] runs_dir``.

    The config is found as ``harness run`` finds it (``--config``, the nearest
    ``harness.toml``, ``[tool.harness]``, the built-in default); its ``runs_dir`` is
    relative to the config file's folder, as for a run.

    :raises ConfigError: the config cannot be read, or ``runs_dir`` is not a string.
    """
    if runs_dir is not None:
        return runs_dir if runs_dir.is_absolute() else cwd / runs_dir
    from harness.config import discover

    raw = discover(config, cwd)
    table = raw.document.get("harness", {})
    value = table.get("runs_dir", "runs") if isinstance(table, dict) else "runs"
    if not isinstance(value, str) or not value:
        raise raw.error("harness.runs_dir", "a folder name (string)", repr(value))
    path = Path(value).expanduser()
    return path if path.is_absolute() else raw.root / path
