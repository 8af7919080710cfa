"""The run directory: ids, atomic writes, the ``latest`` pointer, checkpoint state."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from harness.errors import UsageError

__all__ = [
    "CONFIG_FILE",
    "EVENTS_FILE",
    "STATE_FILE",
    "SUMMARY_FILE",
    "atomic_write",
    "choose_run_dir",
    "new_run_id",
    "point_latest",
    "read_json",
    "repair_events",
    "state_problem",
    "write_json",
]

#: ``20261128T094525Z-3f2a1c``: sortable UTC start time plus 6 random hex digits
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")
STATE_FILE = "state.json"
SUMMARY_FILE = "summary.json"
EVENTS_FILE = "events.jsonl"
CONFIG_FILE = "config.toml"


def new_run_id(now: float | None = None) -> str:
    """``20261128T094525Z-3f2a1c``: sortable UTC time plus 6 random hex digits."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(3)}"


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, and rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would: mkstemp makes it 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def point_latest(runs_dir: Path, run_dir: Path) -> None:
    """Make ``<runs_dir>/latest`` point at ``run_dir`` (a relative symlink, swapped atomically)."""
    link = runs_dir / "latest"
    try:
        target = os.path.relpath(run_dir, runs_dir)
    except ValueError:
        target = str(run_dir)
    tmp = runs_dir / f".latest.{os.getpid()}"
    with contextlib.suppress(OSError):
        tmp.unlink()
    try:
        tmp.symlink_to(target, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        # no symlinks (some filesystems): a text file naming the run
        atomic_write(link, (target + "\n").encode())


def resolve_resume(runs_dir: Path, run: str | None) -> Path:
    """The run directory ``--resume [RUN]`` names: a run id, a path, or ``latest``."""
    if run in (None, "", "latest"):
        candidate = runs_dir / "latest"
        if candidate.is_file() and not candidate.is_symlink():
            return runs_dir / candidate.read_text().strip()
        return candidate.resolve() if candidate.exists() else candidate
    assert run is not None
    path = Path(run)
    if path.is_dir():
        return path
    return runs_dir / run


def choose_run_dir(
    runs_dir: Path, output_dir: Path | None, resume: str | None
) -> tuple[Path, str, dict[str, Any] | None]:
    """The run directory, run id and (on ``--resume``) the saved state of this run.

    A new run goes to ``runs_dir/<run_id>`` (``latest`` then points at it) or
    exactly to ``output_dir``, which must not hold a run yet; ``resume`` (a run
    id, a path, or ``""`` for the latest) names an earlier run to continue.

    :raises UsageError: nothing to resume, a damaged ``state.json``, a folder that
        already holds a run, or one that cannot be created.
    """
    if resume is not None:
        run_dir = output_dir if output_dir is not None else resolve_resume(runs_dir, resume or None)
        state_path = run_dir / STATE_FILE
        if not state_path.is_file():
            raise UsageError(f"--resume: {run_dir} holds no {STATE_FILE} to resume from")
        try:
            state = read_json(state_path)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--resume: {state_path} is unreadable: {exc}") from None
        problem = state_problem(state)
        if problem:
            raise UsageError(f"--resume: {state_path} is not a harness state file: {problem}")
        return run_dir, str(state["run_id"]), state
    run_id = new_run_id()
    if output_dir is not None:
        run_dir = output_dir
        for name in (EVENTS_FILE, SUMMARY_FILE, STATE_FILE):
            if (run_dir / name).exists():
                raise UsageError(
                    f"--output-dir {run_dir} already holds a run ({name}); "
                    "choose another folder or --resume it"
                )
    else:
        run_dir = runs_dir / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if output_dir is None:
            point_latest(runs_dir, run_dir)
    except OSError as exc:
        raise UsageError(f"cannot create the run directory {run_dir}: {exc}") from None
    return run_dir, run_id, None


def state_problem(state: Any) -> str | None:
    """Why ``state`` (a parsed ``state.json``) cannot be resumed, or ``None``."""
    if not isinstance(state, dict):
        return "not a JSON object"
    if not RUN_ID.fullmatch(str(state.get("run_id", ""))):
        return f"run_id {state.get('run_id')!r} is not a run id"
    for key in ("sessions", "passed"):
        value = state.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key} is not a list of names"
    return None


def repair_events(run_dir: Path) -> int:
    """Drop a torn last line of ``events.jsonl``; return the last ``seq`` written."""
    path = run_dir / EVENTS_FILE
    if not path.exists():
        return 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as fh:
            fh.truncate(end)
    lines = data[:end].splitlines()
    for line in reversed(lines):
        try:
            return int(orjson.loads(line)["seq"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0
