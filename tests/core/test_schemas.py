"""Shipped schemas, ``harness schema``, ``harness validate`` on broken files, the public API."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from core_helpers import Result, check_run, latest, py_cmd, write

import harness

Cli = Callable[..., Result]

SCHEMA_FILES = sorted(
    p.name for p in resources.files("harness.schemas").iterdir() if p.name.endswith(".json")
)


def test_schema_files_shipped() -> None:
    assert {"event.schema.json", "summary.schema.json", "config.schema.json"} <= set(SCHEMA_FILES)


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_passes_metaschema(name: str) -> None:
    schema = json.loads(resources.files("harness.schemas").joinpath(name).read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "v1" in schema["$id"]  # versioned


@pytest.mark.parametrize("kind", ["event", "summary", "config"])
def test_schema_command_prints_json(tmp_path: Path, cli: Cli, kind: str) -> None:
    result = cli("schema", kind, cwd=tmp_path)
    assert result.code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$id"].startswith("https://")


def test_schema_unknown_kind(tmp_path: Path, cli: Cli) -> None:
    result = cli("schema", "nope", cwd=tmp_path)
    assert result.code == 4
    assert "nope" in result.stderr


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run (in this process) whose files the tests below break."""
    import os

    tmp = tmp_path_factory.mktemp("good")
    write(
        tmp / "harness.toml",
        f"""
        [phases.a]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.b]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    old = os.environ.get("HARNESS_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        outcome = harness.run(cwd=tmp)
    finally:
        if old is None:
            del os.environ["HARNESS_DISABLE_PLUGIN_AUTOLOAD"]
    assert outcome.exit_code == 0
    run_dir = latest(tmp)
    check_run(run_dir)
    return run_dir


def _lines(run_dir: Path) -> list[bytes]:
    return (run_dir / "events.jsonl").read_bytes().splitlines(keepends=True)


def _broken(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def _validate(cli: Cli, path: Path) -> Result:
    result = cli("validate", str(path), cwd=path.parent)
    assert result.code != 0, result.output
    assert "Traceback" not in result.output
    return result


def test_validate_seq_gap(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    lines = _lines(good_run)
    path = _broken(tmp_path, lines[:2] + lines[3:])
    result = _validate(cli, path)
    assert f"{path}:3:" in result.stderr
    assert "seq" in result.stderr


def test_validate_broken_line(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    lines = _lines(good_run)
    lines[4] = lines[4][: len(lines[4]) // 2] + b"\n"
    result = _validate(cli, _broken(tmp_path, lines))
    assert ":5:" in result.stderr
    assert "not JSON" in result.stderr


def test_validate_torn_last_line(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    lines = _lines(good_run)
    lines[-1] = lines[-1][:20]
    result = _validate(cli, _broken(tmp_path, lines))
    assert f":{len(lines)}:" in result.stderr


def test_validate_two_run_ids(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    lines = _lines(good_run)
    event = json.loads(lines[5])
    event["run_id"] = "20000101T000000Z-abcdef"
    lines[5] = json.dumps(event).encode() + b"\n"
    result = _validate(cli, _broken(tmp_path, lines))
    assert ":6:" in result.stderr
    assert "run_id" in result.stderr


def test_validate_schema_violation(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    lines = _lines(good_run)
    event = json.loads(lines[1])
    event["level"] = "loud"
    lines[1] = json.dumps(event).encode() + b"\n"
    result = _validate(cli, _broken(tmp_path, lines))
    assert ":2:" in result.stderr
    assert "level" in result.stderr


def test_validate_bad_summary(tmp_path: Path, cli: Cli, good_run: Path) -> None:
    summary: dict[str, Any] = json.loads((good_run / "summary.json").read_text())
    summary["status"] = "so-so"
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    result = _validate(cli, path)
    assert "status" in result.stderr


def test_validate_missing_file(tmp_path: Path, cli: Cli) -> None:
    _validate(cli, tmp_path / "nothing.jsonl")


def test_public_api_names_exist() -> None:
    assert harness.__all__
    for name in harness.__all__:
        assert hasattr(harness, name), name
    for name in ("hookimpl", "run", "PhaseResult", "PhaseContext", "Phase", "Session", "Event"):
        assert name in harness.__all__


PUBLIC_ONLY = '''
"""A plugin that uses the public API only."""
from harness import (
    CallInfo, GiveUp, NonRetryableError, Phase, PhaseContext, PhaseResult, Retry,
    RetryableError, hookimpl,
)


@hookimpl
def phase_schema():
    return {"type": "object", "additionalProperties": False,
            "properties": {"fail_times": {"type": "integer", "default": 1}}}


@hookimpl
def on_error(phase: Phase, ctx: PhaseContext, call: CallInfo):
    if phase.plugin != "public":
        return None
    if isinstance(call.excinfo, RetryableError) and call.attempt < 3:
        return Retry(0.5, "public plugin policy")
    return GiveUp("public plugin gives up")


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext):
    if phase.plugin != "public":
        return None
    if ctx.attempt <= phase.settings["fail_times"]:
        raise RetryableError(f"attempt {ctx.attempt} flaked")
    if ctx.attempt > 5:
        raise NonRetryableError("never")
    return PhaseResult.passed(f"passed on attempt {ctx.attempt}")
'''


def test_plugin_with_public_api_only(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_NO_SLEEP", "1")
    source = write(tmp_path / "public.py", PUBLIC_ONLY)
    imports = [ln for ln in source.read_text().splitlines() if "import" in ln]
    assert all(ln.startswith("from harness import") for ln in imports)
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        plugins = ["./public.py"]
        disable = ["retry"]
        [phases.ok]
        plugin = "public"
        [phases.never]
        plugin = "public"
        fail_times = 9
        """,
    )
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == 1, result.output
    events, summary = check_run(latest(tmp_path))
    ok, never = summary["phases"]
    assert (ok["status"], ok["attempts"], ok["message"]) == ("passed", 2, "passed on attempt 2")
    assert (never["status"], never["attempts"]) == ("failed", 3)
    assert "flaked" in never["error"]
    retries = [e for e in events if e["type"] == "retry"]
    assert [(e["phase"], e["data"]["attempt"]) for e in retries] == [
        ("ok", 1),
        ("never", 1),
        ("never", 2),
    ]
    assert all(e["data"]["delay_s"] == 0.5 for e in retries)
