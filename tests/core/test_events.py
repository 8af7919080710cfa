"""Events: heartbeats, invalid plugin events, failing sinks."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import (
    HARNESS,
    Result,
    base_env,
    check_run,
    harness,
    latest,
    of_type,
    phase_rows,
    py_cmd,
    write,
)

Cli = Callable[..., Result]

HB_GOOD = """
from harness import hookimpl


@hookimpl
def heartbeat(phase, ctx):
    return {"hb_value": 42, "hb_attempt": ctx.attempt}
"""

HB_BAD = """
from harness import hookimpl


@hookimpl
def heartbeat(phase, ctx):
    raise ValueError("heartbeat broke")
"""


def test_heartbeats(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        heartbeat_interval = 0.2
        [phases.wait]
        plugin = "command"
        run = {py_cmd("import time; time.sleep(1.5)")}
        [phases.quick]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = harness("run", "-v", cwd=tmp_path)
    assert result.code == 0, result.output
    events, _ = check_run(latest(tmp_path))
    beats = of_type(events, "heartbeat")
    assert len(beats) >= 3
    assert {b["phase"] for b in beats} <= {"wait", "quick"}
    wait = [b for b in beats if b["phase"] == "wait"]
    elapsed = [b["data"]["elapsed_s"] for b in wait]
    assert elapsed == sorted(elapsed)
    assert len(set(elapsed)) == len(elapsed)
    assert all(b["level"] == "debug" for b in beats)
    assert all("pid" in b["metrics"] for b in wait)  # the command's ctx.metrics
    # beats happen only between the phase's start and end
    seq = {e["type"] + ":" + str(e["phase"]): e["seq"] for e in events}
    assert all(seq["phase_start:wait"] < b["seq"] < seq["phase_end:wait"] for b in wait)
    assert "Heartbeat" in result.stdout  # -v shows them


def test_heartbeat_contributors_and_a_broken_one(tmp_path: Path) -> None:
    write(tmp_path / "hbgood.py", HB_GOOD)
    write(tmp_path / "hbbad.py", HB_BAD)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        heartbeat_interval = 0.2
        plugins = ["./hbgood.py", "./hbbad.py"]
        [phases.wait]
        plugin = "command"
        run = {py_cmd("import time; time.sleep(1.2)")}
        """,
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 0, result.output
    events, summary = check_run(latest(tmp_path))
    beats = of_type(events, "heartbeat")
    assert len(beats) >= 3
    assert all(b["metrics"]["hb_value"] == 42 for b in beats)
    errors = [e for e in of_type(events, "error") if e["data"].get("plugin") == "hbbad"]
    assert len(errors) == 1  # reported once, then skipped
    assert "hbbad" in errors[0]["message"]
    assert "heartbeat broke" in errors[0]["message"]
    assert any(f["plugin"] == "hbbad" for f in summary["plugin_errors"])
    assert "hbbad" in result.stdout  # the console shows error events


EMITTER = """
from harness import PhaseResult, hookimpl


@hookimpl
def event_schemas():
    return {
        "emitter.count": {
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}},
        }
    }


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "emitter":
        return None
    ctx.emit("emitter.undeclared", "not declared")
    ctx.emit("emitter.count", "wrong data", data={"n": "three"})
    ctx.emit("emitter.count", "nan metric", data={"n": 1}, metrics={"x": float("nan")})
    ctx.emit("emitter.count", "nan data", data={"n": 1, "y": float("inf")})
    ctx.emit("nonamespace", "core-looking but unknown")
    ok = ctx.emit("emitter.count", "fine", data={"n": 3}, metrics={"x": 1.5})
    assert ok is not None
    return PhaseResult.passed("emitted")
"""


def test_invalid_plugin_events_reported(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "emitter.py", EMITTER)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./emitter.py"]
        [phases.emit]
        plugin = "emitter"
        [phases.after]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code in (0, 3), result.output
    events, summary = check_run(latest(tmp_path))
    errors = [e for e in of_type(events, "error") if e["data"].get("plugin") == "emitter"]
    assert len(errors) == 5, [e["message"] for e in errors]
    assert all("emitter" in e["message"] and e["phase"] == "emit" for e in errors)
    kinds = [e["data"]["event_type"] for e in errors]
    assert kinds == [
        "emitter.undeclared",
        "emitter.count",
        "emitter.count",
        "emitter.count",
        "nonamespace",
    ]
    assert "data.n" in errors[1]["message"]
    assert "nan" in errors[2]["message"].lower()
    good = of_type(events, "emitter.count")
    assert len(good) == 1
    assert good[0]["data"] == {"n": 3}
    rows = phase_rows(summary)
    assert rows["emit"]["status"] == "passed"
    assert rows["after"]["status"] == "passed"  # the run went on
    assert len([f for f in summary["plugin_errors"] if f["plugin"] == "emitter"]) == 5


RAISING_SINK = """
from harness import hookimpl


@hookimpl
def sink_event(event):
    if event.type == "phase_start":
        raise OSError("sink exploded")
"""


def test_raising_sink(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "badsink.py", RAISING_SINK)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./badsink.py"]
        [phases.a]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.b]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 3, result.output
    assert "Traceback" not in result.stderr
    events, summary = check_run(latest(tmp_path))  # the jsonl sink kept every event
    assert events[-1]["type"] == "session_end"
    errors = [e for e in of_type(events, "error") if e["data"].get("plugin") == "badsink"]
    assert len(errors) == 1
    assert "sink exploded" in errors[0]["message"]
    assert {p["status"] for p in summary["phases"]} == {"passed"}  # the run went on
    assert summary["status"] == "error"
    assert summary["exit_code"] == 3
    assert "badsink" in result.stdout


def _limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize("flush_interval", [1.0, 0.02])
def test_jsonl_write_error(tmp_path: Path, flush_interval: float) -> None:
    """The event log cannot grow (EFBIG): the sink is switched off, the run goes on, exit 3."""
    write(
        tmp_path / "harness.toml",
        f"""
        [plugins.jsonl]
        flush_interval = {flush_interval}
        buffer_bytes = 0
        [phases.a]
        plugin = "command"
        run = {py_cmd("print(('x' * 300 + chr(10)) * 20)")}
        [phases.b]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    proc = subprocess.run(
        [*HARNESS, "run"],
        cwd=tmp_path,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size(4500),
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "Traceback" not in output
    assert "jsonl" in proc.stdout
    assert "File too large" in proc.stdout or "EFBIG" in proc.stdout
    run_dir = latest(tmp_path)
    events = (run_dir / "events.jsonl").read_bytes()
    assert events.endswith(b"\n")  # the torn tail of the failed write was taken back
    assert cli_validate(run_dir / "events.jsonl") == []
    from harness.checkfile import check_summary

    assert check_summary(run_dir / "summary.json") == []
    import json

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["exit_code"] == 3
    assert {p["status"] for p in summary["phases"]} == {"passed"}
    assert any(f["plugin"].startswith("jsonl") for f in summary["plugin_errors"])


def cli_validate(path: Path) -> list[str]:
    from harness.checkfile import check_events

    return check_events(path)


ODD_VALUES = """
import time
from pathlib import Path

from harness import PhaseResult, hookimpl


@hookimpl
def event_schemas():
    return {"odd.note": {"type": "object"}}


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "odd":
        return None
    if phase.name == "swallow":
        try:
            time.sleep(5)
        except BaseException:  # swallows the timeout: the phase still times out
            pass
        return PhaseResult.passed("swallowed the timeout")
    ctx.emit("odd.note", "a Path in data", data={"where": Path("x")})
    if phase.name == "nan":
        return PhaseResult.passed("nan", metrics={"x": float("nan")})
    if phase.name == "text":
        return PhaseResult.passed("text metric", metrics={"x": "high"})
    return PhaseResult.passed("path", data={"where": Path("x"), "tags": {1, 2}})
"""


def test_unserialisable_values_name_the_plugin(tmp_path: Path, cli: Cli) -> None:
    """A ``Path`` in event data or a NaN in a result is the plugin's fault, not a sink's."""
    write(tmp_path / "odd.py", ODD_VALUES)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./odd.py"]
        [phases.path]
        plugin = "odd"
        [phases.nan]
        plugin = "odd"
        [phases.text]
        plugin = "odd"
        [phases.after]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 0, result.output  # no sink was switched off
    events, summary = check_run(latest(tmp_path))  # summary.json valid despite the NaN
    assert events[-1]["type"] == "session_end"
    ends = {e["phase"]: e for e in of_type(events, "phase_end")}
    assert set(ends) == {"path", "nan", "text", "after"}  # no phase_end lost
    faults = summary["plugin_errors"]
    assert faults
    assert {f["plugin"] for f in faults} == {"odd"}
    assert {p["status"] for p in summary["phases"]} == {"passed"}


def test_swallowed_timeout_still_times_out(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "odd.py", ODD_VALUES)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./odd.py"]
        on_failure = "continue"
        [phases.swallow]
        plugin = "odd"
        timeout = 0.3
        [phases.after]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    _, summary = check_run(latest(tmp_path))
    rows = phase_rows(summary)
    assert rows["swallow"]["status"] == "timeout"
    assert rows["after"]["status"] == "passed"  # the earlier timeout does not leak into it
