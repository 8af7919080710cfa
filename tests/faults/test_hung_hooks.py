"""A hook that never returns: named, switched off, and the run ends on its own.

Each case runs ``harness run`` with a plugin that sleeps for an hour in one
hook kind and a 1 s deadline for it (``[harness.hook_timeout]``); the run must
end by itself (the subprocess timeout is the only bound), name the plugin in an
``error`` event and ``plugin_errors``, and leave files that validate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_helpers import check_files, events, make_project, named_errors, run, summary

# hook kind -> (exit code, extra environment)
CASES = {
    "session_start": (3, {}),
    "sink_event": (3, {}),  # main thread: the deadline raises inside the sink
    "sink_event_thread": (3, {"HANG_PHASE_S": "2"}),  # heartbeat thread: taken over
    "sink_flush": (3, {}),
    "heartbeat": (0, {"HANG_PHASE_S": "2"}),  # heartbeat thread: abandoned, named at the end
    "on_error": (1, {"HARNESS_NO_SLEEP": "1"}),  # retries are not slept
    "summarize": (0, {}),
}

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("hook", list(CASES))
def test_hung_hook_is_switched_off(tmp_path: Path, hook: str) -> None:
    code, env = CASES[hook]
    kind = hook.removesuffix("_thread")
    make_project(tmp_path, hook_timeout={kind: 1})
    done = run(tmp_path, "--output-dir", "out", HANG_HOOK=hook, **env)
    out = tmp_path / "out"
    assert done.code == code, done.stderr
    assert (tmp_path / "hang.mark").exists()  # it did hang
    check_files(out)
    assert "hang" in named_errors(out)
    errors = [e for e in events(out) if e["type"] == "error"]
    assert any("hang" in e["message"] and "deadline" in e["message"] for e in errors), errors
    assert summary(out)["exit_code"] == code


def test_hung_session_finish_ends(tmp_path: Path) -> None:
    """After the summary: the deadline ends the hook, the exit code is the summary's."""
    make_project(tmp_path, hook_timeout={"session_finish": 1})
    done = run(tmp_path, "--output-dir", "out", HANG_HOOK="session_finish")
    assert (tmp_path / "hang.mark").exists()
    assert done.code == summary(tmp_path / "out")["exit_code"] == 0
    check_files(tmp_path / "out")


def test_phase_timeout_fires_while_a_sink_hangs(tmp_path: Path) -> None:
    """A sink hanging inside a phase (deadline 60 s) cannot hold off the phase timeout."""
    make_project(tmp_path, hook_timeout={"sink_event": 60})
    text = (tmp_path / "harness.toml").read_text().replace("timeout = 30", "timeout = 1")
    (tmp_path / "harness.toml").write_text(text)
    done = run(tmp_path, "--output-dir", "out", HANG_HOOK="sink_event_phase")
    out = tmp_path / "out"
    assert done.code == 1, done.stderr
    check_files(out)
    assert summary(out)["phases"][0]["status"] == "timeout"
    ticks = [e for e in events(out) if e["type"] == "hang.tick"]
    assert len(ticks) == 1  # the event the sink hung on still reached events.jsonl
