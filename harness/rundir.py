"""The run directory: ids, atomic writes, the ``latest`` pointer, checkpoint state."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "STATE_FILE",
    "atomic_write",
    "new_run_id",
    "point_latest",
    "read_json",
    "write_json",
]

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
