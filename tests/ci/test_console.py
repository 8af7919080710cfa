"""The ``console`` plugin: plain lines off a terminal, a live status area on one.

Content is asserted, never timing: the live area is refreshed on every
phase_start / heartbeat / retry / phase_end event, so what it shows follows
from the events.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import command_phase

from harness.testing import Harnesser

SLOW = """
import time
from harness import hookimpl, PhaseResult

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "slow":
        return None
    ctx.metrics["widgets"] = 7
    if ctx.attempt == 1:
        raise ConnectionError("flaky link")
    time.sleep(0.8)
    return PhaseResult.passed("made widgets", metrics={"widgets": 7})
"""

CONFIG = {
    "harness": {"heartbeat_interval": 0.1},
    "plugins": {"retry": {"max_retries": 2, "base_delay": 0.01, "max_delay": 0.01}},
    "phases": {"build": {"plugin": "slow", "timeout": 30}},
}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def test_plain_lines_off_a_terminal(harnesser: Harnesser) -> None:
    result = harnesser.run(CONFIG, plugins={"slow": SLOW}, subprocess=True)
    result.assert_outcomes(passed=1)
    text = "\n".join(result.stdout.lines)
    assert "\x1b[" not in text
    result.stdout.fnmatch_lines(
        [
            "harness * config: *harness.toml",
            "run: *",
            "[[]build[]] build: started (plugin slow, timeout 30 s)",
            "[[]build[]] phase 'build' attempt 1 failed (ConnectionError: flaky link); retrying*",
            "[[]build[]] Heartbeat  widgets=7",
            "[[]build[]] build: passed: made widgets",
            "phase*plugin*status*attempts*time*message",
            "build*slow*passed*2*made widgets",
            "run directory: *",
            "success: 1 passed in *s (exit 0)",
        ]
    )
    assert not any("checkpoint" in line for line in result.stdout.lines)


def test_quiet_prints_the_final_line_only(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"ok": command_phase(0)}}, verbosity=-1, subprocess=True)
    assert result.stdout.lines == [result.stdout.lines[-1]]
    result.stdout.fnmatch_lines(["success: 1 passed in *s (exit 0)"])


def test_verbose_prints_every_event(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"ok": command_phase(0)}}, verbosity=1, subprocess=True)
    result.stdout.fnmatch_lines(["[[]ok[]] checkpoint after ok", "success: *"])
    result.stdout.fnmatch_lines(["[[]ok[]] ok: passed: exit code 0  exit_code=0"])


def run_in_pty(cwd: Path, env: dict[str, str], timeout: float = 60.0) -> tuple[int, str]:
    """Run ``python -m harness run`` with a pseudo-terminal as stdout; return (code, output)."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([main], [], [], timeout)
        if not ready:
            proc.kill()
            pytest.fail("harness run under a pty produced no output for a minute")
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def terminal_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_ACTIONS")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40", HARNESS_NO_SLEEP="1")
    env["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def test_live_progress_on_a_terminal(harnesser: Harnesser, terminal_env: dict[str, str]) -> None:
    harnesser.write_plugin("slow", SLOW)
    harnesser.write_config({**CONFIG, "harness": {**CONFIG["harness"], "plugins": ["./slow.py"]}})
    code, raw = run_in_pty(harnesser.path, terminal_env)
    assert code == 0, raw
    assert "\x1b[" in raw  # styled: rich is in charge
    text = ANSI.sub("", raw)
    assert "▶ build (slow)  phase 1/1" in text  # the live area: current phase
    assert re.search(r"\d+\.\ds / 30s", text)  # elapsed against the timeout
    assert "attempt 2, 1 retry  widgets=7" in text  # attempt, retries, heartbeat metrics
    assert "Heartbeat" not in text  # heartbeats live in the status area, not as lines
    assert "build: passed: made widgets" in text
    assert "success: 1 passed in" in text


def test_no_color_on_a_terminal_is_plain(
    harnesser: Harnesser, terminal_env: dict[str, str]
) -> None:
    harnesser.write_config({"phases": {"ok": command_phase(0)}})
    code, raw = run_in_pty(harnesser.path, {**terminal_env, "NO_COLOR": "1"})
    assert code == 0, raw
    assert "\x1b[" not in raw
    assert "▶" not in raw
    assert "[ok] ok: passed: exit code 0" in raw
