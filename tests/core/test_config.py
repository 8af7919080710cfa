"""Configuration: discovery, ``--config``, ``--set``, errors (exit 4, file and key), ``init``."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import Result, check_run, harness, latest, phase_rows, py_cmd, write

Cli = Callable[..., Result]

PHASE = f"""
[phases.one]
plugin = "command"
run = {py_cmd("print('one')")}
"""


def test_discovery_harness_toml_in_parent(tmp_path: Path, cli: Cli) -> None:
    config = write(tmp_path / "proj" / "harness.toml", "[harness]\nruns_dir = 'out'\n" + PHASE)
    sub = tmp_path / "proj" / "a" / "b"
    sub.mkdir(parents=True)
    result = cli("run", cwd=sub)
    assert result.code == 0, result.output
    assert str(config) in result.stdout
    # runs_dir is relative to the config file, not the working directory
    run_dir = latest(tmp_path / "proj", "out")
    _, summary = check_run(run_dir)
    assert summary["config"]["path"] == str(config)
    assert summary["config"]["source"] == "file"
    assert not (sub / "out").exists()


def test_discovery_harness_toml_beats_pyproject(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "pyproject.toml", "[tool.harness.phases.nope]\nplugin = 'missing'\n")
    config = write(tmp_path / "sub" / "harness.toml", PHASE)
    result = cli("run", "-q", cwd=tmp_path / "sub")
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path / "sub"))
    assert summary["config"]["path"] == str(config)


def test_discovery_pyproject_tool_harness(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path / "pyproject.toml",
        f"""
        [project]
        name = "demo"

        [tool.harness.phases.py]
        plugin = "command"
        run = {py_cmd("print('from pyproject')")}
        """,
    )
    (tmp_path / "pkg").mkdir()
    result = harness("run", cwd=tmp_path / "pkg")
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    assert summary["config"]["source"] == "pyproject.toml"
    assert summary["config"]["path"] == str(pyproject)
    assert [p["name"] for p in summary["phases"]] == ["py"]


def test_discovery_builtin_default(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)  # outside CI: the demo runs, loudly
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    assert "BUILT-IN DEMO" in result.stderr
    _, summary = check_run(latest(tmp_path))
    assert summary["config"]["source"] == "builtin"
    assert summary["config"]["path"] is None
    assert summary["phases"]


def test_explicit_config(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", "[phases.nope]\nplugin = 'missing'\n")
    other = write(tmp_path / "conf" / "other.toml", PHASE)
    result = cli("run", "-q", "--config", "conf/other.toml", cwd=tmp_path)
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path / "conf"))
    assert summary["config"]["path"] == str(other)


def test_missing_explicit_config(tmp_path: Path, cli: Cli) -> None:
    result = cli("run", "--config", "nope.toml", cwd=tmp_path)
    assert result.code == 4
    assert "nope.toml" in result.stderr


def test_toml_syntax_error(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", "[harness]\nheartbeat_interval = 1.0\non_failure = stop\n")
    result = harness("run", cwd=tmp_path)
    assert result.code == 4
    assert f"{tmp_path / 'harness.toml'}:3:" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


BAD_CONFIGS = [
    pytest.param(
        '[harness]\nheartbeat_interval = "fast"\n' + PHASE,
        (),
        "harness.heartbeat_interval",
        id="heartbeat-type",
    ),
    pytest.param(
        "[harness]\nheartbeat_interval = 0\n" + PHASE,
        (),
        "harness.heartbeat_interval",
        id="heartbeat-zero",
    ),
    pytest.param("[harness]\nbogus = 1\n" + PHASE, (), "harness.bogus", id="harness-unknown-key"),
    pytest.param(
        '[harness]\non_failure = "sometimes"\n' + PHASE,
        (),
        "harness.on_failure",
        id="on-failure-enum",
    ),
    pytest.param(
        '[phases.x]\nplugin = "nosuchplugin"\n', (), "phases.x.plugin", id="phase-unknown-plugin"
    ),
    pytest.param("[phases.nosuchplugin]\n", (), "phases.nosuchplugin", id="phase-implicit-plugin"),
    pytest.param(PHASE + "bogus = 1\n", (), "phases.one.bogus", id="command-unknown-key"),
    pytest.param(
        PHASE + 'tail_lines = "many"\n', (), "phases.one.tail_lines", id="command-bad-type"
    ),
    pytest.param('[phases.one]\nplugin = "command"\n', (), "phases.one", id="command-missing-run"),
    pytest.param(PHASE + "timeout = -1\n", (), "phases.one.timeout", id="timeout-negative"),
    pytest.param(
        PHASE + "[plugins.jsonl]\nflush_interval = -1\n",
        (),
        "plugins.jsonl.flush_interval",
        id="jsonl-bad-value",
    ),
    pytest.param(
        PHASE + "[plugins.jsonl]\nnope = 1\n", (), "plugins.jsonl.nope", id="jsonl-unknown-key"
    ),
    pytest.param(
        PHASE + "[plugins.nosuch]\nx = 1\n", (), "plugins.nosuch", id="plugins-unknown-plugin"
    ),
    pytest.param(
        PHASE,
        ("--set", 'harness.heartbeat_interval="x"'),
        "harness.heartbeat_interval",
        id="set-type",
    ),
]


@pytest.mark.parametrize(("text", "args", "key"), BAD_CONFIGS)
def test_bad_config_exits_4_naming_file_and_key(
    tmp_path: Path, cli: Cli, text: str, args: tuple[str, ...], key: str
) -> None:
    config = write(tmp_path / "harness.toml", text)
    result = cli("run", *args, cwd=tmp_path)
    assert result.code == 4, result.output
    # a value from --set is blamed on --set (issue 12), one from the file on the file
    blamed = "harness: error: --set: " if "--set" in args else str(config)
    assert blamed in result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()


def test_bad_config_subprocess(tmp_path: Path) -> None:
    """The same as the table above, through the real console entry point."""
    config = write(tmp_path / "harness.toml", '[harness]\non_failure = "sometimes"\n' + PHASE)
    result = harness("run", cwd=tmp_path)
    assert result.code == 4
    assert str(config) in result.stderr
    assert "harness.on_failure" in result.stderr
    assert "sometimes" in result.stderr
    assert "Traceback" not in result.stderr


def test_pyproject_error_names_tool_harness_key(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "pyproject.toml", '[tool.harness.harness]\non_failure = "never"\n')
    result = cli("run", cwd=tmp_path)
    assert result.code == 4
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert "tool.harness.harness.on_failure" in result.stderr


@pytest.mark.parametrize("item", ["noequals", "=1", "a..b=1", "phases.one.run.x=1"])
def test_set_bad_syntax(tmp_path: Path, cli: Cli, item: str) -> None:
    write(tmp_path / "harness.toml", PHASE)
    result = cli("run", "--set", item, cwd=tmp_path)
    assert result.code == 4, result.output
    assert "--set" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_overrides(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", PHASE)
    result = harness(
        "run",
        "-q",
        "--set",
        "harness.heartbeat_interval=0.25",
        "--set",
        "phases.one.description=overridden",
        "--set",
        "phases.one.run=" + py_cmd("print('from --set')"),
        "--set",
        "plugins.jsonl.flush_interval=0.5",
        cwd=tmp_path,
    )
    assert result.code == 0, result.output
    run_dir = latest(tmp_path)
    events, summary = check_run(run_dir)
    resolved = tomllib.loads((run_dir / "config.toml").read_text("utf-8"))
    assert resolved["harness"]["heartbeat_interval"] == 0.25
    assert resolved["phases"]["one"]["description"] == "overridden"
    assert resolved["plugins"]["jsonl"]["flush_interval"] == 0.5
    end = next(e for e in events if e["type"] == "phase_end")
    assert end["data"]["result"]["stdout_tail"] == ["from --set"]
    # the hash is of the configuration actually used
    assert cli("run", "-q", cwd=tmp_path).code == 0
    _, plain = check_run(latest(tmp_path))
    assert plain["config"]["hash"] != summary["config"]["hash"]


def test_resolved_config_masks_secret_keys(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        PHASE + '[phases.one.env]\nAPI_TOKEN = "tok-abcdef-123456"\nPLAIN = "visible"\n',
    )
    assert cli("run", "-q", cwd=tmp_path).code == 0
    run_dir = latest(tmp_path)
    text = (run_dir / "config.toml").read_text("utf-8")
    assert "tok-abcdef-123456" not in text
    assert "visible" in text


def test_init_writes_usable_config(tmp_path: Path, cli: Cli) -> None:
    result = cli("init", cwd=tmp_path)
    assert result.code == 0, result.output
    target = tmp_path / "harness.toml"
    text = target.read_text("utf-8")
    assert text.lstrip().startswith("#")
    tomllib.loads(text)
    run = cli("run", "-q", "--config", str(target), cwd=tmp_path)
    assert run.code == 0, run.output
    check_run(latest(tmp_path))

    target.write_text("# mine\n")
    again = cli("init", cwd=tmp_path)
    assert again.code == 4
    assert "--force" in again.stderr
    assert target.read_text() == "# mine\n"
    forced = cli("init", "--force", cwd=tmp_path)
    assert forced.code == 0
    assert target.read_text("utf-8") == text


def test_init_explicit_path(tmp_path: Path, cli: Cli) -> None:
    made = cli("init", "ci/smoke.toml", cwd=tmp_path)  # the folder is created
    assert made.code == 0, made.stderr
    assert (tmp_path / "ci" / "smoke.toml").is_file()
    blocked = tmp_path / "file"
    blocked.write_text("")
    refused = cli("init", "file/smoke.toml", cwd=tmp_path)  # a file where a folder must be
    assert refused.code == 4
    assert "Traceback" not in refused.stderr
    assert (tmp_path / "ci" / "smoke.toml").is_file()
    assert cli("init", "ci", cwd=tmp_path).code == 0  # a folder: harness.toml inside it
    assert (tmp_path / "ci" / "harness.toml").is_file()


def test_schema_config_includes_plugin_settings(tmp_path: Path, cli: Cli) -> None:
    result = cli("schema", "config", cwd=tmp_path)
    assert result.code == 0, result.output
    doc = json.loads(result.stdout)
    jsonl = doc["properties"]["plugins"]["properties"]["jsonl"]
    assert "flush_interval" in jsonl["properties"]
    assert "phase.command" in doc["$defs"]


def test_schema_config_phase_rows(tmp_path: Path) -> None:
    """The composed config schema accepts a real config and rejects a bad one."""
    import jsonschema

    write(tmp_path / "harness.toml", PHASE)
    result = harness("schema", "config", cwd=tmp_path)
    assert result.code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = tomllib.loads((tmp_path / "harness.toml").read_text())
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    doc["plugins"] = {"jsonl": {"flush_interval": "soon"}}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(doc))


def test_phase_defaults_applied(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", PHASE)
    assert cli("run", "-q", cwd=tmp_path).code == 0
    _, summary = check_run(latest(tmp_path))
    assert phase_rows(summary)["one"]["status"] == "passed"
