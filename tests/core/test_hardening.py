"""What a new user ran into first: broken pyproject, --set typos, damaged runs, leaks."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from core_helpers import Result, base_env, check_run, harness, latest, py_cmd, write

Cli = Callable[..., Result]


def test_broken_pyproject_with_tool_harness_is_an_error(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [project]
        name = "bot"
        version =
        [tool.harness.phases.hello]
        plugin = "command"
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 4
    assert "pyproject.toml:3:" in result.stderr  # file:line:col, not the built-in default
    assert not (tmp_path / "runs").exists()


def test_set_value_that_is_broken_toml_names_set(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    result = cli("run", "--set", "phases.a.run=[unterminated", cwd=tmp_path)
    assert result.code == 4
    assert result.stderr.startswith("harness: error: --set: phases.a.run: expected a TOML value")
    assert "Traceback" not in result.stderr


def test_resume_refuses_a_damaged_state_file(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    assert cli("run", cwd=tmp_path).code == 0
    run_dir = latest(tmp_path)
    (run_dir / "state.json").write_text('{"v": 1, "run_id": "x"}')
    result = cli("run", "--resume", cwd=tmp_path)
    assert result.code == 4
    assert "not a harness state file" in result.stderr
    check_run(run_dir)  # the earlier run's files are untouched and valid


def test_resume_with_another_config_is_said(tmp_path: Path, cli: Cli) -> None:
    config = tmp_path / "harness.toml"
    fail_once = py_cmd("import os, sys; sys.exit(0 if os.path.exists('ok') else 1)")
    write(config, f"[phases.a]\nplugin = 'command'\nrun = {fail_once}\n")
    assert cli("run", cwd=tmp_path).code == 1
    (tmp_path / "ok").write_text("")
    write(config, f"[phases.a]\nplugin = 'command'\nrun = {fail_once}\ntimeout = 60\n")
    result = cli("run", "--resume", cwd=tmp_path)
    assert result.code == 0
    events, summary = check_run(latest(tmp_path))
    assert any("different configuration" in e["message"] for e in events)
    assert summary["events"]["count"] == summary["events"]["last_seq"] == len(events)


def test_inherited_secret_env_values_are_masked(tmp_path: Path) -> None:
    token = "ghp_" + "INHERITEDTOKEN0123"
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.leak]
        plugin = "command"
        run = {py_cmd("import os, sys; print(os.environ['GITHUB_TOKEN']); sys.exit(1)")}
        """,
    )
    result = harness(
        "run", "--junit-xml", "report.xml", cwd=tmp_path, env=base_env(GITHUB_TOKEN=token)
    )
    assert result.code == 1
    assert token not in result.output
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "harness.toml":
            assert token.encode() not in path.read_bytes(), path


def test_config_toml_masks_url_credentials(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        f"""
        [phases.a]
        plugin = "command"
        description = "see https://bot:hunter2hunter2@example.com/x?apikey=abcdef123&v=1"
        run = {py_cmd("pass")}
        """,
    )
    assert cli("run", cwd=tmp_path).code == 0
    text = (latest(tmp_path) / "config.toml").read_text()
    assert "hunter2hunter2" not in text
    assert "abcdef123" not in text
    assert "https://bot:***@example.com/x?apikey=***&v=1" in text


def test_run_files_are_readable_by_others(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    assert cli("run", cwd=tmp_path).code == 0
    for name in ("summary.json", "state.json", "config.toml", "events.jsonl"):
        mode = (latest(tmp_path) / name).stat().st_mode
        assert mode & stat.S_IRGRP, name  # CI artifact readers may be another user
        assert mode & stat.S_IROTH, name


def test_failing_session_start_is_shown_and_recorded(tmp_path: Path) -> None:
    write(
        tmp_path / "opener.py",
        """
        from harness import hookimpl

        @hookimpl
        def session_start(session):
            raise OSError("cannot open the report database")
        """,
    )
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./opener.py"]
        [phases.a]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 3
    assert "cannot open the report database" in result.stdout  # the console saw it
    events, summary = check_run(latest(tmp_path))
    assert any(e["type"] == "error" and e["data"].get("plugin") == "opener" for e in events)
    assert summary["status"] == "error"


def test_validate_flags_events_after_session_end_and_inconsistent_status(
    tmp_path: Path, cli: Cli
) -> None:
    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    assert cli("run", cwd=tmp_path).code == 0
    run_dir = latest(tmp_path)
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    extra = json.loads(lines[-1])
    extra.update(seq=extra["seq"] + 1, type="phase_start", data={})
    (run_dir / "events.jsonl").write_text("\n".join([*lines, json.dumps(extra)]) + "\n")
    bad = cli("validate", str(run_dir / "events.jsonl"), cwd=tmp_path)
    assert bad.code == 1
    assert f"events.jsonl:{len(lines) + 1}: phase_start after session_end" in bad.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["status"] = "failed"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    wrong = cli("validate", str(run_dir / "summary.json"), cwd=tmp_path)
    assert wrong.code == 1
    assert "status: expected 'success' for exit_code 0" in wrong.stderr
    assert cli("validate", str(tmp_path / "nope.jsonl"), cwd=tmp_path).code == 4


def test_config_plugin_that_fails_to_import_names_file_and_entry(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "bad.py", "import nonexistent_module_for_harness\n")
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./ok_missing_later.py", "./bad.py"]
        disable = ["ok_missing_later"]
        [phases.a]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 4
    assert "harness.toml: harness.plugins[1]: plugin 'bad': failed to import" in result.stderr
    assert "Traceback" not in result.stderr
