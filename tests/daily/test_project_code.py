"""Issue 12, item 2: a config's plugins import the project's own package, from any folder."""

from __future__ import annotations

from pathlib import Path

from daily_helpers import harness, write

PLUGIN = """
from harness import PhaseResult, hookimpl

import mybot


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "botcheck":
        return None
    return PhaseResult("passed", message=f"bot says {mybot.hello()}")
"""


def _project(root: Path, package_dir: Path) -> None:
    write(package_dir / "mybot" / "__init__.py", "def hello():\n    return 'hi'\n")
    write(root / "checks" / "botcheck.py", PLUGIN)


def test_a_config_plugin_imports_the_bot_from_a_subdirectory(tmp_path: Path) -> None:
    _project(tmp_path, tmp_path)
    write(
        tmp_path / "harness.toml",
        '[harness]\nplugins = ["./checks/botcheck.py"]\n\n[phases.bot]\nplugin = "botcheck"\n',
    )
    (tmp_path / "deep" / "er").mkdir(parents=True)
    result = harness("run", "-v", cwd=tmp_path / "deep" / "er")
    assert result.code == 0, result.output
    assert "bot says hi" in result.stdout


def test_a_module_plugin_next_to_the_config(tmp_path: Path) -> None:
    write(tmp_path / "mybot" / "__init__.py", "def hello():\n    return 'hi'\n")
    write(tmp_path / "botcheck.py", PLUGIN)
    write(
        tmp_path / "harness.toml",
        '[harness]\nplugins = ["botcheck"]\n\n[phases.bot]\nplugin = "botcheck"\n',
    )
    (tmp_path / "sub").mkdir()
    result = harness("run", "-v", cwd=tmp_path / "sub")
    assert result.code == 0, result.output
    assert "bot says hi" in result.stdout


def test_pythonpath_setting_for_a_src_layout(tmp_path: Path) -> None:
    _project(tmp_path, tmp_path / "src")
    toml = '[phases.bot]\nplugin = "botcheck"\n[harness]\nplugins = ["./checks/botcheck.py"]\n'
    write(tmp_path / "harness.toml", toml)
    missing = harness("run", "-q", cwd=tmp_path)
    assert missing.code == 4
    assert "No module named 'mybot'" in missing.stderr
    write(tmp_path / "harness.toml", toml + 'pythonpath = ["src"]\n')
    result = harness("run", "-v", cwd=tmp_path / "checks")
    assert result.code == 0, result.output
    assert "bot says hi" in result.stdout


def test_pythonpath_must_exist(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", '[harness]\npythonpath = ["nope"]\n[phases.data]\n')
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 4
    assert "harness.pythonpath[0]: expected an existing folder, got 'nope'" in result.stderr
