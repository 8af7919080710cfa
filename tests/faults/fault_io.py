"""Helpers of the fault tests: ``harness`` subprocesses, file-size limits, process checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PY = sys.executable
HARNESS = [PY, "-m", "harness"]


def py_cmd(code: str) -> str:
    """A TOML ``run = [...]`` value running ``code`` with this Python."""
    return json.dumps([PY, "-c", textwrap.dedent(code).strip()])


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("HARNESS_NO_SLEEP", None)
    env.update(extra)
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), "utf-8")
    return path


def limit_file_size(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: no file may grow past ``limit`` bytes (EFBIG, as a full disk)."""

    def preexec() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def harness(
    *args: str,
    cwd: Path,
    preexec_fn: Callable[[], None] | None = None,
    stdout: int | None = subprocess.PIPE,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``python -m harness ARGS`` in ``cwd`` and wait for it."""
    proc = subprocess.run(
        [*HARNESS, *args],
        cwd=cwd,
        env=dict(env) if env is not None else base_env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
        check=False,
    )
    return Result(proc.returncode, proc.stdout or "", proc.stderr)


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m harness ARGS`` without waiting."""
    return subprocess.Popen(
        [*HARNESS, *args],
        cwd=cwd,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def latest(cwd: Path) -> Path:
    return (cwd / "runs" / "latest").resolve()


def run_dirs(cwd: Path) -> list[Path]:
    runs = cwd / "runs"
    return sorted(p for p in runs.iterdir() if p.name != "latest") if runs.exists() else []


def wait_for(predicate: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    """``True`` if ``pid`` runs (a zombie, killed but not reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def validate(path: Path) -> list[str]:
    """What ``harness validate`` finds wrong with a run directory (empty: valid)."""
    from harness.checkfile import check_path

    return check_path(path)[0]
