"""Issue 12, item 3: `harness init` keeps comments and never replaces a pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from daily_helpers import harness, write

from harness.config import builtin_default_text

PROJECT = '[project]\nname = "mybot"\nversion = "1.0"\n\n[tool.ruff]\nline-length = 99\n'


def test_the_starter_keeps_the_templates_comments(tmp_path: Path) -> None:
    assert harness("init", cwd=tmp_path).code == 0
    text = (tmp_path / "harness.toml").read_text("utf-8")
    assert "# Backtest the loaded sample" in text  # a comment of the shipped template
    assert "# 0.1 % per fill" in text  # an end-of-line comment
    assert tomllib.loads(text) == tomllib.loads(builtin_default_text())


def test_pyproject_gets_a_commented_tool_harness_section(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", PROJECT)
    result = harness("init", "--pyproject", cwd=tmp_path)
    assert result.code == 0, result.output
    text = pyproject.read_text("utf-8")
    assert text.startswith(PROJECT)  # the project's own text, byte for byte
    doc = tomllib.loads(text)
    assert doc["project"]["name"] == "mybot"
    assert doc["tool"]["ruff"] == {"line-length": 99}
    assert doc["tool"]["harness"] == tomllib.loads(builtin_default_text())
    assert "# Backtest the loaded sample" in text
    (tmp_path / "src").mkdir()
    run = harness("run", "-q", "--phase", "data", cwd=tmp_path / "src", CI="true")
    assert run.code == 0, run.output  # found (not the demo), so CI runs it


def test_pyproject_with_a_section_is_refused_and_untouched(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", PROJECT)
    assert harness("init", "--pyproject", cwd=tmp_path).code == 0
    before = pyproject.read_bytes()
    for args in (("--pyproject",), ("pyproject.toml", "--force")):
        again = harness("init", *args, cwd=tmp_path)
        assert again.code == 4, again.output
        assert "already has a [tool.harness] section" in again.stderr
        assert pyproject.read_bytes() == before


def test_init_pyproject_force_never_replaces_the_project(tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", PROJECT)
    result = harness("init", "pyproject.toml", "--force", cwd=tmp_path)
    assert result.code == 0, result.output
    doc = tomllib.loads(pyproject.read_text("utf-8"))
    assert doc["project"]["name"] == "mybot"
    assert "harness" in doc["tool"]


def test_pyproject_missing_or_broken(tmp_path: Path) -> None:
    missing = harness("init", "--pyproject", cwd=tmp_path)
    assert missing.code == 4
    assert "no such file" in missing.stderr
    assert not (tmp_path / "pyproject.toml").exists()
    broken = write(tmp_path / "pyproject.toml", "[project\n")
    refused = harness("init", "--pyproject", cwd=tmp_path)
    assert refused.code == 4
    assert "invalid TOML" in refused.stderr
    assert broken.read_text("utf-8") == "[project\n"
