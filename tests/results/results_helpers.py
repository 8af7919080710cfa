"""Helpers of the run-history tests: real ``harness`` runs in temp folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARNESS = [sys.executable, "-m", "harness"]


def env() -> dict[str, str]:
    """A hermetic environment: no entry-point plugins, no colour."""
    out = dict(os.environ, HARNESS_DISABLE_PLUGIN_AUTOLOAD="1", NO_COLOR="1")
    out.pop("HARNESS_NO_SLEEP", None)
    return out


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str, cwd: Path, timeout: float = 120) -> Result:
    """``python -m harness ARGS`` in ``cwd``, waited for."""
    proc = subprocess.run(
        [*HARNESS, *args], cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def query(*args: str, cwd: Path) -> Result:
    """``harness ARGS`` in this process (fast): for the commands that only read runs."""
    import contextlib
    import io

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    code: int | str | None = 0
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(old)
    assert isinstance(code, int), code
    return Result(code, out.getvalue(), err.getvalue())


def start(*args: str, cwd: Path, capture: bool = False) -> subprocess.Popen[str]:
    """``python -m harness ARGS`` in ``cwd``, not waited for (stdout piped if ``capture``)."""
    return subprocess.Popen(
        [*HARNESS, *args],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), "utf-8")
    return path


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def started(folder: Path, phase: str, times: int = 1) -> Callable[[], bool]:
    """True once ``phase`` has started ``times`` times in the latest run of ``folder``."""

    def check() -> bool:
        path = folder / "runs" / "latest" / "events.jsonl"
        if not path.exists():
            return False
        lines = path.read_text("utf-8").splitlines()
        return sum(f'"phase_start","phase":"{phase}"' in line for line in lines) >= times

    return check


#: data and strategy phases on the shipped sample, two strategies, no curve files
STRATEGY_TOML = """
[harness]
heartbeat_interval = 0.05
[phases.data]
interval = "1d"
calendar = "weekdays"
[phases.strategy]
save_curves = false
{extra}
[[phases.strategy.strategies]]
name = "sma_cross"
params = {{ fast = {fast}, slow = 30 }}
gates = {{ look_ahead = false }}
[[phases.strategy.strategies]]
name = "buy_and_hold"
gates = {{ look_ahead = false }}
"""


def strategy_config(folder: Path, *, fast: int = 10, extra: str = "") -> Path:
    return write(folder / "harness.toml", STRATEGY_TOML.format(fast=fast, extra=extra))


#: a command phase that waits while the file ``hold`` exists
HOLD = json.dumps(
    [
        sys.executable,
        "-c",
        "import os, time\nwhile os.path.exists('hold'): time.sleep(0.05)",
    ]
)
ECHO = json.dumps([sys.executable, "-c", "print('ok')"])


def hold_config(folder: Path) -> Path:
    """first (echo), hold (waits on ./hold), last (echo); heartbeats every 0.1 s."""
    return write(
        folder / "harness.toml",
        f"""
        [harness]
        heartbeat_interval = 0.1
        [phases.first]
        plugin = "command"
        run = {ECHO}
        [phases.hold]
        plugin = "command"
        run = {HOLD}
        [phases.last]
        plugin = "command"
        run = {ECHO}
        """,
    )
