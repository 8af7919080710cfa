"""The run directory: ids, atomic writes, the ``latest`` pointer, checkpoint state."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from harness.errors import UsageError

__all__ = [
    "CONFIG_FILE",
    "EVENTS_FILE",
    "HARNESS_NAMES",
    "LOCK_FILE",
    "STATE_FILE",
    "SUMMARY_FILE",
    "atomic_write",
    "choose_run_dir",
    "new_run_id",
    "point_latest",
    "read_json",
    "release_run_dir",
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
#: held (``flock``) by the one process writing the run; holds its pid; removed at the end
#: (after a ``kill -9`` it stays, unlocked: the kernel released the lock)
LOCK_FILE = ".harness.lock"
#: every name harness and its built-in plugins write in a run directory: ``--output-dir``
#: refuses a folder holding any of them, so nothing harness did not write is replaced
HARNESS_NAMES = (
    EVENTS_FILE,
    SUMMARY_FILE,
    STATE_FILE,
    CONFIG_FILE,
    LOCK_FILE,
    "report.html",
    "baselines",
    "orders",
)
#: ``--resume`` refuses a run whose files are symbolic links (it would write through them)
RUN_FILES = (EVENTS_FILE, SUMMARY_FILE, STATE_FILE, CONFIG_FILE, LOCK_FILE)


@dataclass(slots=True)
class _Held:
    fd: int
    created: bool  # this process made the folder (a new run)
    runs_dir: Path | None  # where ``latest`` was pointed at it
    previous_latest: str | None  # what ``latest`` pointed at before


_HELD: dict[Path, _Held] = {}


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
    """Write ``data`` to ``path`` through a temporary file, fsync, and rename.

    A failure (disk full, file too large, I/O error) leaves ``path`` as it was and
    raises an :class:`OSError` whose ``filename`` is ``path``.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would: mkstemp makes it 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``filename`` set to ``path`` (the file the user knows, not a temp file)."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(path))


def describe_write_error(exc: OSError) -> str:
    """One line for a failed write: ``cannot write PATH: No space left on device (ENOSPC)``."""
    import errno as errno_names

    code = errno_names.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {reason}" + (f" ({code})" if code else "")


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
    tmp = runs_dir / f".latest.{os.getpid()}.{secrets.token_hex(3)}"
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
    runs_dir: Path,
    output_dir: Path | None,
    resume: str | None,
    *,
    config_path: Path | None = None,
) -> tuple[Path, str, dict[str, Any] | None]:
    """The run directory, run id and (on ``--resume``) the saved state of this run.

    A new run goes to ``runs_dir/<run_id>`` (``latest`` then points at it) or
    exactly to ``output_dir``, which must hold no file harness writes
    (:data:`HARNESS_NAMES`); ``resume`` (a run id, a path, or ``""`` for the
    latest) names an earlier run to continue. The directory is locked for this
    process (:data:`LOCK_FILE`, ``flock``: the kernel releases it when the process
    dies) until :func:`release_run_dir`. ``config_path`` (the config in use) is
    never written over.

    :raises UsageError: nothing to resume, a damaged ``state.json``, run files that
        are symbolic links, a folder that already holds harness files, one that
        another harness process is writing, or one that cannot be created.
    """
    if resume is not None:
        run_dir = output_dir if output_dir is not None else resolve_resume(runs_dir, resume or None)
        for name in RUN_FILES:
            if (run_dir / name).is_symlink():
                raise UsageError(
                    f"--resume: {run_dir / name} is a symbolic link; harness writes only "
                    "files it created, so it will not write through it"
                )
        _protect(run_dir, config_path)
        state_path = run_dir / STATE_FILE
        if not state_path.is_file():
            raise UsageError(f"--resume: {run_dir} holds no {STATE_FILE} to resume from")
        _lock(run_dir, _Held(-1, created=False, runs_dir=None, previous_latest=None))
        try:
            try:
                state = read_json(state_path)
            except (OSError, ValueError) as exc:
                raise UsageError(f"--resume: {state_path} is unreadable: {exc}") from None
            problem = state_problem(state)
            if problem:
                raise UsageError(f"--resume: {state_path} is not a harness state file: {problem}")
        except BaseException:
            release_run_dir(run_dir)
            raise
        return run_dir, str(state["run_id"]), state
    run_id = new_run_id()
    if output_dir is not None:
        run_dir = output_dir
        for name in HARNESS_NAMES:
            if os.path.lexists(run_dir / name):
                run = name in (EVENTS_FILE, SUMMARY_FILE, STATE_FILE)
                what = "a run" if run else "harness's files"
                raise UsageError(
                    f"--output-dir {run_dir} already holds {what} ({name}, which the run "
                    "would write); choose another folder or --resume it"
                )
    else:
        run_dir = runs_dir / run_id
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the run directory {run_dir}: {exc}") from None
    held = _Held(-1, created=created, runs_dir=None, previous_latest=None)
    _lock(run_dir, held)
    if output_dir is None:
        link = runs_dir / "latest"
        with contextlib.suppress(OSError):
            held.previous_latest = os.readlink(link) if link.is_symlink() else None
        try:
            point_latest(runs_dir, run_dir)
            held.runs_dir = runs_dir
        except OSError as exc:
            release_run_dir(run_dir, discard=True)
            raise UsageError(f"cannot point {link} at the run directory: {exc}") from None
    return run_dir, run_id, None


def _protect(run_dir: Path, config_path: Path | None) -> None:
    """Refuse a run directory whose ``config.toml`` is the configuration in use."""
    if config_path is None:
        return
    with contextlib.suppress(OSError):
        if (run_dir / CONFIG_FILE).samefile(config_path):
            raise UsageError(
                f"{config_path} is the configuration in use and would be written over by "
                f"the run's {CONFIG_FILE}; copy it elsewhere and pass --config"
            )


def _lock(run_dir: Path, held: _Held) -> None:
    """Take the run directory's lock for this process or raise naming the holder's pid."""
    path = run_dir / LOCK_FILE
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if held.created:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise UsageError(f"cannot lock the run directory {run_dir}: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if not isinstance(exc, BlockingIOError):  # no locks here (some network filesystems)
                os.close(fd)
                raise UsageError(f"cannot lock the run directory {run_dir}: {exc}") from None
            try:
                pid = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise UsageError(
                f"{run_dir} is being written by another harness process (pid {pid}); "
                "one writer per run directory: wait for it to end"
            ) from None
        if _same_file(fd, path):
            break
        os.close(fd)  # its holder removed the file as it ended: lock the new one
    else:
        raise UsageError(f"cannot lock the run directory {run_dir}: the lock file keeps changing")
    with contextlib.suppress(OSError):  # the pid is a courtesy for the next one refused
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    held.fd = fd
    _HELD[run_dir] = held


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def release_run_dir(run_dir: Path, *, discard: bool = False) -> None:
    """Release the lock :func:`choose_run_dir` took on ``run_dir`` (its file is removed).

    A new run that recorded nothing (no event, no summary: it failed before its
    first event), or ``discard``, leaves no directory behind and ``latest``
    back where it was.
    """
    held = _HELD.pop(run_dir, None)
    if held is None:
        return
    events = run_dir / EVENTS_FILE
    empty = not (run_dir / SUMMARY_FILE).exists() and (
        not events.exists() or events.stat().st_size == 0
    )
    with contextlib.suppress(OSError):  # while still held: no second writer slips in
        (run_dir / LOCK_FILE).unlink()
    if held.created and (discard or empty):
        for name in (EVENTS_FILE, CONFIG_FILE, STATE_FILE):
            with contextlib.suppress(OSError):
                (run_dir / name).unlink()
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # only if nothing else is in it
        if held.runs_dir is not None:
            _restore_latest(held.runs_dir, run_dir, held.previous_latest)
    os.close(held.fd)


def _restore_latest(runs_dir: Path, run_dir: Path, previous: str | None) -> None:
    link = runs_dir / "latest"
    with contextlib.suppress(OSError):
        if link.is_symlink() and (runs_dir / os.readlink(link)).resolve() != run_dir.resolve():
            return  # another run moved it on since
        if previous is None:
            link.unlink()
            return
        tmp = runs_dir / f".latest.{os.getpid()}.{secrets.token_hex(3)}"
        tmp.symlink_to(previous, target_is_directory=True)
        os.replace(tmp, link)


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
