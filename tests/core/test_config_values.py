"""Every bad config value is a start-up error: exit 4, one line naming file and key (issue 11).

NaN/inf, TOML dates, NUL bytes, integers past 64 bits, too deep nesting,
out-of-range durations and sizes, a delimiter that is not one byte. Nothing
runs: no run directory is made.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import Result, py_cmd, write

Cli = Callable[..., Result]

PHASE = f"""
[phases.one]
plugin = "command"
run = {py_cmd("pass")}
"""

DEEP = "x = " + "[" * 40 + "]" * 40
DEEPER = "x = " + "[" * 2000 + "]" * 2000  # tomllib itself would raise RecursionError
DOTTED = "x" + ".x" * 200 + " = 1"

CASES = [
    ("[harness]\nheartbeat_interval = nan\n", "harness.heartbeat_interval", "finite"),
    ("[harness]\nheartbeat_interval = inf\n", "harness.heartbeat_interval", "finite"),
    ("[harness]\nheartbeat_interval = 5e-324\n", "harness.heartbeat_interval", ">= 0.01"),
    ('[harness]\nruns_dir = "a\\u0000b"\n', "harness.runs_dir", "NUL"),
    ("[plugins.jsonl]\nflush_interval = inf\n", "plugins.jsonl.flush_interval", "finite"),
    ("[plugins.jsonl]\nflush_interval = 1e9\n", "plugins.jsonl.flush_interval", "<= 3600"),
    ("[plugins.jsonl]\nbuffer_bytes = 99999999999\n", "plugins.jsonl.buffer_bytes", "<="),
    ("[phases.one]\ntimeout = nan\n", "phases.one.timeout", "finite"),
    ("[phases.one]\ntimeout = 1e300\n", "phases.one.timeout", "<= 604800"),
    ("[phases.one]\ntail_lines = 99999999999999999999999\n", "phases.one.tail_lines", "64 bits"),
    ("[phases.one]\ndescription = 1979-05-27\n", "phases.one.description", "TOML date"),
    ("[phases.one]\ndescription = 07:32:00\n", "phases.one.description", "TOML time"),
    ("[phases.one]\ndescription = 1979-05-27T07:32:00Z\n", "phases.one.description", "date-time"),
    ('[phases.one]\nenv = {A = "x\\u0000"}\n', "phases.one.env.A", "NUL"),
    (DEEP, "x", "at most 32 levels"),
    (DOTTED, "x.x.x", "at most 32 levels"),
]


@pytest.mark.parametrize(("extra", "key", "expected"), CASES)
def test_bad_value_is_a_startup_error(
    tmp_path: Path, cli: Cli, extra: str, key: str, expected: str
) -> None:
    config = tmp_path / "harness.toml"
    config.write_text(_merge(PHASE, extra), "utf-8")
    result = cli("run", cwd=tmp_path)
    assert result.code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config) in lines[0]
    assert key in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_nesting_deeper_than_the_parser_goes(tmp_path: Path, cli: Cli) -> None:
    config = write(tmp_path / "harness.toml", PHASE + DEEPER + "\n")
    result = cli("run", cwd=tmp_path)
    assert result.code == 4, result.output
    assert str(config) in result.stderr
    assert "nested too deeply" in result.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [("harness.heartbeat_interval=nan", "finite"), ("phases.one.description=2024-01-01", "date")],
)
def test_bad_set_value_names_set(tmp_path: Path, cli: Cli, override: str, expected: str) -> None:
    write(tmp_path / "harness.toml", PHASE)
    result = cli("run", "--set", override, cwd=tmp_path)
    assert result.code == 4, result.output
    assert "--set" in result.stderr
    assert override.split("=")[0] in result.stderr
    assert expected in result.stderr


@pytest.mark.parametrize("delimiter", ["é", ";;", ""])
def test_delimiter_must_be_one_byte(tmp_path: Path, cli: Cli, delimiter: str) -> None:
    config = write(tmp_path / "harness.toml", f'[phases.data]\ndelimiter = "{delimiter}"\n')
    result = cli("run", cwd=tmp_path)
    assert result.code == 4, result.output
    assert str(config) in result.stderr
    assert "phases.data.delimiter" in result.stderr


def _merge(base: str, extra: str) -> str:
    """``extra`` after ``base``; a ``[phases.one]`` header in both becomes one table."""
    if extra.startswith("[phases.one]\n"):
        return base + extra.removeprefix("[phases.one]\n")
    return base + extra
