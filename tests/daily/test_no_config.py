"""Issue 12, item 4: no config, no green (the demo runs loudly, never by accident in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from daily_helpers import harness, write


def test_without_a_config_the_demo_runs_loudly(tmp_path: Path) -> None:
    result = harness("run", "-q", "--phase", "data", cwd=tmp_path)
    assert result.code == 0, result.output
    assert "running the BUILT-IN DEMO" in result.stderr
    assert str(tmp_path) in result.stderr  # where it looked


@pytest.mark.parametrize("variable", ["CI", "GITHUB_ACTIONS"])
def test_under_ci_a_missing_config_exits_4_naming_where_it_looked(
    tmp_path: Path, variable: str
) -> None:
    result = harness("run", "-q", cwd=tmp_path, **{variable: "true"})
    assert result.code == 4, result.output
    assert f"under CI ({variable}=true)" in result.stderr
    assert str(tmp_path) in result.stderr
    assert "harness.toml" in result.stderr
    assert "--config builtin:demo" in result.stderr
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_under_ci_the_demo_runs_when_asked_for(tmp_path: Path) -> None:
    result = harness(
        "run", "-q", "--phase", "data", "--config", "builtin:demo", cwd=tmp_path, CI="true"
    )
    assert result.code == 0, result.output
    assert "BUILT-IN DEMO" not in result.stderr


def test_under_ci_a_found_config_runs(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", '[phases.hi]\nplugin = "command"\nrun = ["true"]\n')
    (tmp_path / "sub").mkdir()
    result = harness("run", "-q", cwd=tmp_path / "sub", CI="true")
    assert result.code == 0, result.output
    assert "DEMO" not in result.output


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    result = harness("run", "-q", "--phase", "data", cwd=tmp_path, CI="false")
    assert result.code == 0, result.output
    assert "BUILT-IN DEMO" in result.stderr
