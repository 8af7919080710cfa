"""A secret registered with ``ctx.add_secret`` never leaves the process."""

from __future__ import annotations

from pathlib import Path

from core_helpers import base_env, check_run, harness, latest, phase_rows, py_cmd, write

SECRET = "sk-test-SECRET123"

LEAKY = f'''
"""A phase plugin that tries hard to leak its API key."""
from harness import PhaseFailed, PhaseResult, hookimpl

SECRET = "{SECRET}"


@hookimpl
def event_schemas():
    return {{"leaky.note": {{"type": "object"}}}}


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "leaky":
        return None
    ctx.add_secret(SECRET)
    ctx.emit(
        "leaky.note",
        f"using key {{SECRET}}",
        level="warning",
        data={{"key": SECRET, SECRET: "as a key", "nested": [{{"k": "Bearer " + SECRET}}]}},
    )
    ctx.emit("leaky.undeclared", f"invalid event carrying {{SECRET}}")
    if phase.name == "raises":
        raise RuntimeError(f"auth failed for {{SECRET}}")
    if phase.name == "phasefailed":
        raise PhaseFailed(f"key {{SECRET}} rejected")
    return PhaseResult.failed(
        f"server said: bad key {{SECRET}}", data={{"key": SECRET}}, metrics={{"n": 1}}
    )


@hookimpl
def heartbeat(phase, ctx):
    return {{"beats": 1}}


@hookimpl
def summarize(session):
    return {{"leaky": {{"key": SECRET, "text": "k=" + SECRET}}}}
'''


def test_secret_never_written(tmp_path: Path) -> None:
    write(tmp_path / "leaky.py", LEAKY)
    # the child builds the value at run time: the config file itself holds no secret
    printer = py_cmd(
        "import sys; s = 'sk-test-' + 'SECRET' + '123'; print('stdout', s); "
        "print('stderr', s, file=sys.stderr); sys.exit(2)"
    )
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./leaky.py"]
        on_failure = "continue"
        heartbeat_interval = 0.05
        [phases.result]
        plugin = "leaky"
        [phases.raises]
        plugin = "leaky"
        [phases.phasefailed]
        plugin = "leaky"
        [phases.printer]
        plugin = "command"
        run = {printer}
        """,
    )
    result = harness("run", "-v", cwd=tmp_path, env=base_env(HARNESS_NO_SLEEP="1"))
    assert result.code == 1, result.output
    run_dir = latest(tmp_path)
    events, summary = check_run(run_dir)
    rows = phase_rows(summary)
    assert all(r["status"] == "failed" for r in rows.values()), rows
    # the messages survive, masked
    assert "***" in rows["result"]["error"]
    assert "***" in rows["raises"]["error"]
    assert "***" in rows["phasefailed"]["error"]
    assert "***" in rows["printer"]["error"]  # the command's stderr tail, masked
    assert any(r["phase"] == "raises" for r in summary["retries"])  # retried, all masked
    assert summary["leaky"]["key"] == "***"

    needle = SECRET.encode()
    assert needle not in result.stdout.encode()
    assert needle not in result.stderr.encode()
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"events.jsonl", "summary.json", "state.json", "config.toml"}
    for path in files:
        assert needle not in path.read_bytes(), f"secret leaked into {path.name}"
    # and the evidence that the values really went through the pipeline
    notes = [e for e in events if e["type"] == "leaky.note"]
    assert len(notes) >= 3  # the raising phase is retried by the built-in policy
    assert notes[0]["data"]["key"] == "***"
    assert notes[0]["data"]["nested"] == [{"k": "Bearer ***"}]


def test_command_env_secret_is_redacted(tmp_path: Path) -> None:
    """A secret-looking ``env`` name of a command phase: its value never comes back out."""
    value = "sk-live-" + "ENVSECRET42"
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.leak]
        plugin = "command"
        run = {py_cmd("import os, sys; print('key', os.environ['MY_API_KEY']); sys.exit(3)")}
        env = {{ MY_API_KEY = "{value}" }}
        """,
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 1
    assert "key ***" in result.stdout
    run_dir = latest(tmp_path)
    check_run(run_dir)
    assert value not in result.output
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes(), path
