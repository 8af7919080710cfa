"""``harness run`` end to end: two command phases, the run directory, exit codes, selection."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import (
    Result,
    check_run,
    harness,
    latest,
    of_type,
    phase_rows,
    py_cmd,
    write,
)

TWO_PHASES = f"""
[harness]
heartbeat_interval = 30.0

[phases.first]
plugin = "command"
run = {py_cmd("print('hello from first')")}

[phases.second]
plugin = "command"
run = {py_cmd("import sys; print('to stderr', file=sys.stderr)")}
timeout = 20
"""

Cli = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "harness.toml", TWO_PHASES)
    return tmp_path


def test_two_command_phases_pass(project: Path) -> None:
    result = harness("run", cwd=project)
    assert result.code == 0, result.output
    run_dir = latest(project)
    assert run_dir.parent == project / "runs"
    events, summary = check_run(run_dir)

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["run_id"] for e in events}) == 1
    assert len({e["session_id"] for e in events}) == 1
    types = [e["type"] for e in events]
    assert types[0] == "session_start"
    assert types[-1] == "session_end"
    for phase in ("first", "second"):
        mine = [e["type"] for e in events if e["phase"] == phase]
        assert mine[0] == "phase_start"
        assert "phase_end" in mine
        assert mine.index("phase_end") < mine.index("checkpoint")
    ends = {e["phase"]: e for e in of_type(events, "phase_end")}
    assert ends["first"]["data"]["status"] == "passed"
    assert ends["first"]["data"]["result"]["stdout_tail"] == ["hello from first"]
    assert ends["second"]["data"]["result"]["stderr_tail"] == ["to stderr"]

    config = project / "harness.toml"
    assert summary["status"] == "success"
    assert summary["exit_code"] == 0
    assert summary["run_id"] == events[0]["run_id"]
    assert summary["session_id"] == events[0]["session_id"]
    assert [p["name"] for p in summary["phases"]] == ["first", "second"]
    assert all(p["status"] == "passed" and p["attempts"] == 1 for p in summary["phases"])
    assert summary["phases_completed"] == 2
    assert Path(summary["config"]["path"]) == config
    assert summary["config"]["hash"].startswith("sha256:")
    lines = (run_dir / "events.jsonl").read_bytes().count(b"\n")
    assert summary["events"]["count"] == lines == len(events)
    assert summary["events"]["last_seq"] == events[-1]["seq"]
    assert {"jsonl", "command", "console"} <= {p["name"] for p in summary["plugins"]}
    assert (run_dir / "state.json").is_file()
    # the console names the config and the run directory
    assert str(config) in result.stdout
    assert str(run_dir) in result.stdout


def test_harness_validate_cli_accepts_run(project: Path, cli: Cli) -> None:
    assert cli("run", "-q", cwd=project).code == 0
    run_dir = latest(project)
    result = harness("validate", str(run_dir), cwd=project)  # the real console script
    assert result.code == 0, result.output
    assert result.stdout.startswith("ok:")
    for target in (run_dir / "events.jsonl", run_dir / "summary.json"):
        result = cli("validate", str(target), cwd=project)
        assert result.code == 0, result.output
        assert result.stdout.startswith("ok:")


def test_second_run_new_directory_nothing_overwritten(project: Path, cli: Cli) -> None:
    assert cli("run", "-q", cwd=project).code == 0
    first = latest(project)
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    assert cli("run", "-q", cwd=project).code == 0
    second = latest(project)
    assert second != first
    assert second.parent == first.parent
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    events1, _ = check_run(first)
    events2, _ = check_run(second)
    assert events1[0]["run_id"] != events2[0]["run_id"]


def test_output_dir_exact_and_refuses_existing_run(project: Path, cli: Cli) -> None:
    out = project / "elsewhere" / "myrun"
    result = cli("run", "-q", "--output-dir", str(out), cwd=project)
    assert result.code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "config.toml",
        "events.jsonl",
        "state.json",
        "summary.json",
    ]
    check_run(out)
    before = (out / "events.jsonl").read_bytes()
    again = cli("run", "-q", "--output-dir", str(out), cwd=project)
    assert again.code == 4, again.output
    assert "already holds a run" in again.stderr
    assert "Traceback" not in again.stderr
    assert (out / "events.jsonl").read_bytes() == before


def test_failing_phase_stops_later_phases(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.ok]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.bad]
        plugin = "command"
        run = {py_cmd("import sys; print('boom: disk on fire', file=sys.stderr); sys.exit(3)")}
        [phases.later]
        plugin = "command"
        run = {py_cmd("open('later-ran', 'w')")}
        """,
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 1, result.output
    events, summary = check_run(latest(tmp_path))
    rows = phase_rows(summary)
    assert rows["ok"]["status"] == "passed"
    assert rows["bad"]["status"] == "failed"
    assert "exited with code 3" in rows["bad"]["error"]
    assert "boom: disk on fire" in rows["bad"]["error"]
    assert rows["later"]["status"] == "skipped"
    assert rows["later"]["attempts"] == 0
    assert not (tmp_path / "later-ran").exists()
    assert summary["status"] == "failed"
    assert summary["phases_completed"] == 1
    assert "later" not in {e["phase"] for e in of_type(events, "phase_start")}


def test_failing_phase_continue(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        on_failure = "continue"
        [phases.bad]
        plugin = "command"
        run = {py_cmd("raise SystemExit(1)")}
        [phases.later]
        plugin = "command"
        run = {py_cmd("open('later-ran', 'w')")}
        """,
    )
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    _, summary = check_run(latest(tmp_path))
    rows = phase_rows(summary)
    assert rows["bad"]["status"] == "failed"
    assert rows["later"]["status"] == "passed"
    assert (tmp_path / "later-ran").exists()
    assert summary["status"] == "failed"


def test_phase_selection(project: Path, cli: Cli) -> None:
    result = cli("run", "-q", "--phase", "second", cwd=project)
    assert result.code == 0, result.output
    events, summary = check_run(latest(project))
    assert [p["name"] for p in summary["phases"]] == ["second"]
    assert {e["phase"] for e in of_type(events, "phase_start")} == {"second"}


def test_unknown_phase_is_usage_error(project: Path, cli: Cli) -> None:
    result = cli("run", "--phase", "nope", cwd=project)
    assert result.code == 4
    assert "nope" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "runs").exists()


def test_all_phases_disabled_exit_5(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.a]
        plugin = "command"
        enabled = false
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 5, result.output
    assert "no phases" in result.stderr


def test_typer_usage_error_is_4(project: Path) -> None:
    result = harness("run", "--no-such-option", cwd=project)
    assert result.code == 4
    assert "Traceback" not in result.stderr
    assert harness("bogus-command", cwd=project).code == 4


def test_dry_run_skips_command_phases(project: Path, cli: Cli) -> None:
    result = cli("run", "--dry-run", cwd=project)
    assert result.code == 0, result.output
    _, summary = check_run(latest(project))
    assert summary["dry_run"] is True
    assert {p["status"] for p in summary["phases"]} == {"skipped"}
    assert "dry run" in phase_rows(summary)["first"]["message"]


def test_version_and_module(tmp_path: Path) -> None:
    import harness as pkg

    result = harness("--version", cwd=tmp_path)
    assert result.code == 0
    assert pkg.__version__ in result.stdout


def test_resolved_config_saved(project: Path, cli: Cli) -> None:
    assert cli("run", "-q", cwd=project).code == 0
    resolved = tomllib.loads((latest(project) / "config.toml").read_text("utf-8"))
    assert resolved["harness"]["heartbeat_interval"] == 30.0
    assert resolved["harness"]["on_failure"] == "stop"  # defaults applied
    assert resolved["plugins"]["jsonl"]["flush_interval"] == 1.0
    assert resolved["phases"]["second"]["timeout"] == 20
    assert resolved["phases"]["first"]["tail_lines"] == 20


def test_summary_is_valid_json_on_disk(project: Path, cli: Cli) -> None:
    assert cli("run", "-q", cwd=project).code == 0
    run_dir = latest(project)
    # atomic writes leave no temporaries behind
    assert not [p for p in os.listdir(run_dir) if p.startswith(".")]
    json.loads((run_dir / "summary.json").read_text())
