"""A ``command`` child does not outlive ``kill -9`` of harness (issue 11, item 6; Linux)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest
from fault_io import alive, py_cmd, start, wait_for, write

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only"
)

SLEEPER = """
import os, time
with open("child.tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.replace("child.tmp", "child.pid")
time.sleep(60)
"""


def test_command_child_dies_with_harness(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", f'[phases.a]\nplugin = "command"\nrun = {py_cmd(SLEEPER)}\n')
    proc = start("run", cwd=tmp_path)
    pid_file = tmp_path / "child.pid"
    child = 0
    try:
        wait_for(pid_file.exists, what="the command to start")
        child = int(pid_file.read_text())
        assert alive(child)
        proc.kill()  # SIGKILL: harness runs no cleanup of its own
        proc.communicate(timeout=30)
        wait_for(lambda: not alive(child), timeout=10, what=f"command child {child} to die")
    finally:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
