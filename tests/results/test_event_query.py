"""``harness events`` and the history of interrupted, killed and resumed runs."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from results_helpers import hold_config, query, start, started, wait_for


def test_events_query(history: Path) -> None:
    ok = query("runs", "--json", cwd=history).json()[1]["run_id"]
    beats = query("events", ok, "--type", "heartbeat", "--count", cwd=history)
    assert beats.code == 0
    assert int(beats.stdout) >= 1
    lines = query("events", ok, "--type", "phase_", "--type", "data.", "--json", cwd=history)
    kinds = [json.loads(line)["type"] for line in lines.stdout.splitlines()]
    assert kinds[0] == "phase_start"
    assert kinds[-1] == "phase_end"
    assert "data.issue" in kinds
    assert set(kinds) == {"phase_start", "phase_end", "data.issue"}
    strategy = query("events", ok, "--phase", "strategy", "--level", "info", cwd=history).stdout
    rows = strategy.splitlines()
    assert rows
    assert all(" strategy " in row for row in rows)
    assert not any(" debug " in row for row in rows)
    since = query("events", ok, "--since-seq", "3", "--pretty", cwd=history).stdout
    assert '"seq": 4,' in since
    assert '"seq": 3,' not in since
    # --fail-on: exit 1 when a selected event has the level
    assert query("events", ok, "--fail-on", "error", "--count", cwd=history).code == 0
    failed = query("events", "latest-failed", "--fail-on", "error", "--count", cwd=history)
    assert failed.code == 1
    assert int(failed.stdout) > 0
    assert query("events", ok, "--level", "loud", cwd=history).code == 4


def test_follow_across_interrupt_and_resume(tmp_path: Path) -> None:
    hold_config(tmp_path)
    (tmp_path / "hold").touch()
    first = start("run", cwd=tmp_path)
    try:
        wait_for(started(tmp_path, "hold"), "the hold phase")
        assert query("runs", "--json", cwd=tmp_path).json()[0]["status"] == "running"
        follower = start("events", "--follow", "--json", "--grace", "8", cwd=tmp_path, capture=True)
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 2
        interrupted = query("runs", "--json", cwd=tmp_path).json()[0]
        assert interrupted["status"] == "interrupted"
        assert query("show", "latest-failed", cwd=tmp_path).stdout.startswith(
            f"run {interrupted['run_id']}  interrupted (exit 2)"
        )
        second = start("run", "--resume", cwd=tmp_path)
        wait_for(started(tmp_path, "hold", times=2), "the resumed hold phase")
        (tmp_path / "hold").unlink()
        assert second.wait(30) == 0
        out, _ = follower.communicate(timeout=60)
    finally:
        for proc in (first, locals().get("second"), locals().get("follower")):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert follower.returncode == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    sessions = [(e["type"], e["data"].get("status")) for e in events if "session" in e["type"]]
    assert sessions == [
        ("session_start", None),
        ("session_end", "interrupted"),
        ("session_start", None),
        ("session_end", "success"),
    ]
    done = query("show", cwd=tmp_path).stdout
    assert "success (exit 0)" in done
    assert "sessions 2" in done
    count = query("events", "--type", "session_start", "--count", cwd=tmp_path)
    assert count.stdout.strip() == "2"


def test_killed_run_is_incomplete(tmp_path: Path) -> None:
    hold_config(tmp_path)
    (tmp_path / "hold").touch()
    proc = start("run", cwd=tmp_path)
    try:
        wait_for(started(tmp_path, "hold"), "the hold phase")
        proc.kill()
        proc.wait(30)
    finally:
        (tmp_path / "hold").unlink()  # lets the command's child end too
    row = query("runs", "--json", cwd=tmp_path).json()[0]
    assert row["status"] == "incomplete"
    assert row["phases_passed"] == 1
    shown = query("show", row["run_id"][:10], cwd=tmp_path)
    assert shown.code == 0
    assert "incomplete: the last session has not written its summary" in shown.stdout
    assert query("events", "--type", "phase_start", "--count", cwd=tmp_path).stdout.strip() == "2"
    # --follow on a dead writer ends after the grace
    assert query("events", "--follow", "--grace", "0.5", "--count", cwd=tmp_path).code == 0
