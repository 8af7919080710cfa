"""Stopping a phase: timeouts, SIGINT/SIGTERM, SIGKILL and ``--resume``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import (
    SLEEPER,
    Result,
    assert_dead,
    check_run,
    harness,
    latest,
    of_type,
    phase_rows,
    py_cmd,
    read_pids,
    start_harness,
    wait_for,
    write,
)

Cli = Callable[..., Result]

BUSY_PLUGIN = '''
"""A phase plugin that spins in pure Python until stopped."""
from harness import PhaseResult, hookimpl


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "busy":
        return None
    n = 0
    while True:
        n += 1
    return PhaseResult.passed("unreachable")
'''


def test_command_timeout_kills_process_group(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        on_failure = "continue"
        [phases.slow]
        plugin = "command"
        timeout = 1
        kill_grace = 0.5
        run = {py_cmd(SLEEPER)}
        [phases.after]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = harness("run", cwd=tmp_path)
    pids = read_pids(tmp_path)
    assert_dead(pids)
    assert result.code == 1, result.output
    events, summary = check_run(latest(tmp_path))
    rows = phase_rows(summary)
    assert rows["slow"]["status"] == "timeout"
    assert "timed out" in rows["slow"]["error"]
    assert rows["after"]["status"] == "passed"  # the run goes on by policy
    timeouts = of_type(events, "timeout")
    assert [e["phase"] for e in timeouts] == ["slow"]
    assert timeouts[0]["data"]["timeout_s"] == 1
    assert summary["status"] == "failed"


def test_pure_python_busy_loop_times_out(tmp_path: Path) -> None:
    write(tmp_path / "busy.py", BUSY_PLUGIN)
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        plugins = ["./busy.py"]
        [phases.spin]
        plugin = "busy"
        timeout = 0.5
        """,
    )
    result = harness("run", cwd=tmp_path, timeout=30)
    assert result.code == 1, result.output
    events, summary = check_run(latest(tmp_path))
    assert phase_rows(summary)["spin"]["status"] == "timeout"
    assert of_type(events, "timeout")


def _interruptible(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.first]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.sleepy]
        plugin = "command"
        kill_grace = 1
        run = {py_cmd(SLEEPER)}
        [phases.never]
        plugin = "command"
        run = {py_cmd("open('never-ran', 'w')")}
        """,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_phase(tmp_path: Path, sig: signal.Signals) -> None:
    _interruptible(tmp_path)
    proc = start_harness("run", cwd=tmp_path)
    try:
        pids = read_pids(tmp_path)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_dead(pids)
    assert proc.returncode == 2, out + err
    assert "Traceback" not in err
    events, summary = check_run(latest(tmp_path))
    assert summary["status"] == "interrupted"
    assert summary["exit_code"] == 2
    rows = phase_rows(summary)
    assert rows["first"]["status"] == "passed"
    assert rows["sleepy"]["status"] != "passed"
    assert rows["never"]["status"] == "skipped"
    assert not (tmp_path / "never-ran").exists()
    assert events[-1]["type"] == "session_end"
    assert events[-1]["data"]["status"] == "interrupted"
    assert sig.name in json.dumps(summary)


COUNTED = "open('counted.log', 'a').write('ran' + chr(10))"
KILLME = """
import os, sys, time
if not os.path.exists("second-session"):
    open("second-session", "w").close()
    open("pids.txt", "w").write(str(os.getpid()))
    time.sleep(60)
"""


def test_sigkill_then_resume(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        heartbeat_interval = 0.1
        [plugins.jsonl]
        flush_interval = 0.05
        [phases.counted]
        plugin = "command"
        run = {py_cmd(COUNTED)}
        [phases.killme]
        plugin = "command"
        run = {py_cmd(KILLME)}
        [phases.last]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    proc = start_harness("run", cwd=tmp_path)
    try:
        pids = read_pids(tmp_path)
        # let a few heartbeats reach the file, so that the kill lands amid writes
        run_dir = latest(tmp_path)
        wait_for(
            lambda: (run_dir / "events.jsonl").read_bytes().count(b'"heartbeat"') >= 3,
            what="heartbeats on disk",
        )
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # the phase's process outlives a SIGKILLed harness (nothing can clean up): end it
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    raw = (run_dir / "events.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    before = [json.loads(line) for line in raw.splitlines()]  # no torn line
    check_run(run_dir, summary=False)
    assert not (run_dir / "summary.json").exists()
    state = json.loads((run_dir / "state.json").read_text())
    assert state["passed"] == ["counted"]

    result = harness("run", "--resume", cwd=tmp_path)
    assert result.code == 0, result.output
    assert latest(tmp_path) == run_dir
    events, summary = check_run(run_dir)  # seq gapless from 1 across both sessions, one run_id
    assert events[: len(before)] == before
    assert (tmp_path / "counted.log").read_text() == "ran\n"  # not re-run
    first_session = before[0]["session_id"]
    new = events[len(before) :]
    assert {e["session_id"] for e in new} == {summary["session_id"]}
    assert summary["session_id"] != first_session
    assert summary["sessions"] == [first_session, summary["session_id"]]
    assert summary["run_id"] == before[0]["run_id"]
    assert new[0]["seq"] == before[-1]["seq"] + 1
    rows = phase_rows(summary)
    assert rows["counted"]["status"] == "passed"
    assert rows["counted"]["resumed"] is True
    assert rows["killme"]["status"] == "passed"
    assert rows["last"]["status"] == "passed"
    assert "counted" not in {e["phase"] for e in of_type(new, "phase_start")}
    assert summary["status"] == "success"
    assert summary["events"]["last_seq"] == events[-1]["seq"]


def test_resume_without_state_is_usage_error(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    result = cli("run", "--resume", cwd=tmp_path)
    assert result.code == 4
    assert "Traceback" not in result.stderr


def test_interrupt_wait_for_phase_start_in_events(tmp_path: Path) -> None:
    """SIGTERM while a plugin phase sleeps in ``ctx.sleep`` (no child process)."""
    write(
        tmp_path / "napper.py",
        """
        from harness import PhaseResult, hookimpl

        @hookimpl
        def phase_run(phase, ctx):
            if phase.plugin != "napper":
                return None
            ctx.sleep(60)
            return PhaseResult.passed("woke up")
        """,
    )
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        plugins = ["./napper.py"]
        [plugins.jsonl]
        flush_interval = 0.05
        [phases.nap]
        plugin = "napper"
        """,
    )
    proc = start_harness("run", cwd=tmp_path)
    try:
        wait_for(lambda: (tmp_path / "runs" / "latest").exists(), what="run dir")
        events = latest(tmp_path) / "events.jsonl"
        wait_for(
            lambda: events.exists() and b'"phase_start"' in events.read_bytes(),
            what="phase_start event",
        )
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2
    _, summary = check_run(latest(tmp_path))
    assert summary["status"] == "interrupted"
    assert phase_rows(summary)["nap"]["status"] == "failed"


def test_no_stray_processes_after_normal_run(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('import os; print(os.getpid())')}\n",
    )
    assert cli("run", "-q", cwd=tmp_path).code == 0
    events, _ = check_run(latest(tmp_path))
    pid = int(of_type(events, "phase_end")[0]["data"]["result"]["stdout_tail"][0])
    assert_dead([pid])
    assert os.getpid() != pid
    assert subprocess is not None
