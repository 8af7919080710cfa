"""Issue 12, item 6: -q short lines, "did you mean", plugins --check options, --set blame, bare."""

from __future__ import annotations

from pathlib import Path

import pytest
from daily_helpers import harness, write

GATED = """
[phases.data]
[phases.strategy]
[[phases.strategy.strategies]]
name = "buy_and_hold"
gates = { min_trades = 500 }
[phases.bad]
plugin = "command"
run = ["python3", "-c", "raise SystemExit(3)"]
"""


def test_quiet_ends_with_pytest_style_short_lines(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", GATED)
    result = harness("run", "-q", "--set", "harness.on_failure=continue", cwd=tmp_path)
    assert result.code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-3].startswith("FAILED strategy - "), lines
    assert "gate min_trades" in lines[-3]
    assert lines[-2].startswith("FAILED bad - "), lines
    assert lines[-1].startswith("failed: 1 passed, 2 failed in ")


def test_quiet_success_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", '[phases.ok]\nplugin = "command"\nrun = ["true"]\n')
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "args", "hint"),
    [
        ("[phases.data]\ntimout = 3\n", (), "did you mean 'timeout'?"),
        ("[harness]\nheartbeat_intervl = 3\n", (), "did you mean 'heartbeat_interval'?"),
        ('[phases.x]\nplugin = "comand"\n', (), "did you mean 'command'?"),
        ("[plugins.consol]\n", (), "did you mean 'console'?"),
        (
            '[phases.strategy]\n[[phases.strategy.strategies]]\nname = "sma_cros"\n',
            (),
            "did you mean 'sma_cross'?",
        ),
        ("[phases.data]\n", ("--phase", "dat"), "did you mean 'data'?"),
        ("[phases.data]\n", ("-p", "./hooky.py"), "did you mean 'session_start'?"),
    ],
    ids=["key", "harness-key", "phase-plugin", "plugin-table", "strategy", "phase", "hook"],
)
def test_did_you_mean(tmp_path: Path, toml: str, args: tuple[str, ...], hint: str) -> None:
    write(tmp_path / "harness.toml", toml)
    write(
        tmp_path / "hooky.py",
        "from harness import hookimpl\n\n@hookimpl\ndef sesion_start(session):\n    pass\n",
    )
    result = harness("run", "-q", *args, cwd=tmp_path)
    assert result.code == 4, result.output
    assert hint in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_set_error_names_set_not_the_file(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", "[phases.data]\n")
    for item, key in (
        ('phases.data.timeout="soon"', "phases.data.timeout"),
        ("phases.data.timout=3", "phases.data.timout"),
        ("plugins.consol.tb=no", "plugins.consol"),
    ):
        result = harness("run", "-q", "--set", item, cwd=tmp_path)
        assert result.code == 4, result.output
        assert result.stderr.startswith(f"harness: error: --set: {key}: expected "), result.stderr
        assert "harness.toml" not in result.stderr


def test_plugins_check_takes_the_options_run_takes(tmp_path: Path) -> None:
    write(tmp_path / "other.toml", "[phases.data]\n")
    write(tmp_path / "hooky.py", "from harness import hookimpl\n\n@hookimpl\ndef nope(): ...\n")
    ok = harness("plugins", "--check", "--config", "other.toml", cwd=tmp_path)
    assert ok.code == 0, ok.output
    assert "other.toml valid" in ok.stdout
    bad_set = harness(
        "plugins", "--check", "-c", "other.toml", "--set", "phases.data.timout=1", cwd=tmp_path
    )
    assert bad_set.code == 4
    assert "--set: phases.data.timout" in bad_set.stderr
    bad_plugin = harness("plugins", "--check", "-c", "other.toml", "-p", "./hooky.py", cwd=tmp_path)
    assert bad_plugin.code == 4
    assert "unknown hook 'nope'" in bad_plugin.stderr
    plugin_option = harness(
        "plugins", "--check", "-c", "other.toml", "--junit-xml", "out.xml", cwd=tmp_path
    )
    assert plugin_option.code == 0, plugin_option.output


def test_bare_harness_prints_help_and_exits_0(tmp_path: Path) -> None:
    result = harness(cwd=tmp_path)
    assert result.code == 0, result.output
    assert "Usage: harness" in result.stdout
    assert "run" in result.stdout
