"""SIGTERM/SIGINT at any instant: the run ends within seconds, whatever a plugin does.

A plugin hangs for an hour in one hook kind (its deadline is 60 s, so only the
signal can end the wait); the test sends the signal once the plugin is inside
the hook. The subprocess timeout is the only bound on time.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from fault_helpers import (
    check_files,
    finish,
    make_project,
    run,
    start,
    summary,
    validate,
    wait_for,
)

pytestmark = pytest.mark.faults

SLOW = {k: 60 for k in ("session_start", "sink_event", "sink_flush", "heartbeat", "on_error")}

# hook the plugin hangs in -> extra environment; every one ends with exit 2, interrupted
DURING_RUN = {
    "session_start": {},
    "sink_event": {},
    "sink_flush": {},
    "heartbeat": {"HANG_PHASE_S": "3600"},
    "on_error": {},
    "phase_run": {},
}


@pytest.mark.parametrize("hook", list(DURING_RUN))
def test_first_signal_ends_the_run(tmp_path: Path, hook: str) -> None:
    make_project(tmp_path, hook_timeout=SLOW)
    signum = signal.SIGINT if hook in ("sink_event", "on_error") else signal.SIGTERM
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK=hook, **DURING_RUN[hook])
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signum)
    done = finish(proc, timeout=30)
    out = tmp_path / "out"
    assert done.code == 2, done.stderr
    doc = summary(out)
    assert doc["status"] == "interrupted"
    assert doc["exit_code"] == 2
    check_files(out)


@pytest.mark.parametrize("hook", ["summarize", "session_finish"])
def test_signal_while_finishing_keeps_the_outcome(tmp_path: Path, hook: str) -> None:
    """The outcome is decided: the signal only shortens the hook's deadline."""
    make_project(tmp_path, hook_timeout={hook: 600})
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK=hook)
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signal.SIGTERM)
    done = finish(proc, timeout=30)
    out = tmp_path / "out"
    assert done.code == summary(out)["exit_code"] == 0, done.stderr
    check_files(out)


def test_signal_during_start_up_is_one_line(tmp_path: Path) -> None:
    make_project(tmp_path)
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK="configure")
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signal.SIGTERM)
    done = finish(proc, timeout=30)
    assert done.code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "interrupted by SIGTERM during start-up" in lines[0]


def test_second_signal_exits_at_once_and_resumes(tmp_path: Path) -> None:
    """A phase that swallows interrupts: the second signal exits with what is on disk."""
    make_project(tmp_path)
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK="phase_run", HANG_STUBBORN="1")
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signal.SIGTERM)
    os.kill(proc.pid, signal.SIGINT)
    done = finish(proc, timeout=30)
    out = tmp_path / "out"
    assert done.code == 2
    assert "second signal" in done.stderr
    validate(out / "events.jsonl")  # session_start and phase_start were made durable
    resumed = run(tmp_path, "--resume", "--output-dir", "out")
    assert resumed.code == 0, resumed.stderr
    check_files(out)
    assert summary(out)["status"] == "success"


def test_grace_period_runs_out(tmp_path: Path) -> None:
    """One signal and a plugin that ignores it: the run exits after ``stop_grace``."""
    make_project(tmp_path, extra="stop_grace = 1")
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK="phase_run", HANG_STUBBORN="1")
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signal.SIGTERM)
    done = finish(proc, timeout=30)
    assert done.code == 2
    assert "did not end within 1 s" in done.stderr
    check_files(tmp_path / "out", summary=False)


def test_second_signal_after_the_summary_keeps_its_code(tmp_path: Path) -> None:
    make_project(tmp_path, hook_timeout={"session_finish": 600})
    proc = start(tmp_path, "--output-dir", "out", HANG_HOOK="session_finish", HANG_STUBBORN="1")
    wait_for(tmp_path / "hang.mark", proc)
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGTERM)  # two of one kind sent at once may arrive as one
    done = finish(proc, timeout=30)
    assert done.code == summary(tmp_path / "out")["exit_code"] == 0, done.stderr
    assert "second signal" in done.stderr
