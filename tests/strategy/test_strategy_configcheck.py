"""Start-up checks of the strategy phases: exit 4 before anything runs.

Every case runs the real ``harness`` command in a temporary folder: ``harness run``
must stop with exit code 4 and one line naming the file and the key (no
traceback, no run directory), and ``harness plugins --check`` must report the
same problem with exit code 4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.plugins.strategy.configcheck import signature_of
from harness.plugins.strategy.params import BUILTIN_RULES, ParamError

HARNESS = Path(sys.executable).with_name("harness")

PLUGIN = '''
import numpy as np
from harness import hookimpl


def every_n(bars, *, n=10):
    """Alternate long and short every n bars."""
    if n > 50:
        raise ValueError(f"n must be at most 50, got {n}")
    sig = np.zeros(len(bars), dtype=np.int8)
    sig[::n] = 1
    sig[n // 2 :: n] = -1
    return sig


def flexible(bars, **options):
    """Takes any parameter."""
    return np.zeros(len(bars), dtype=np.int8)


def windowed(bars, *, window):
    """A parameter without a default."""
    return np.zeros(len(bars), dtype=np.int8)


@hookimpl
def strategy_functions():
    return {"every_n": every_n, "flexible": flexible, "windowed": windowed}
'''

HEAD = """
[harness]
plugins = ["./my_strats.py"]

[phases.data]

[phases.strategy]
"""


def harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARNESS_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [str(HARNESS), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def write_config(tmp_path: Path, strategies: str) -> Path:
    (tmp_path / "my_strats.py").write_text(PLUGIN)
    config = tmp_path / "harness.toml"
    config.write_text(HEAD + textwrap.dedent(strategies))
    return config


def assert_config_error(tmp_path: Path, config: Path, key: str, *expected: str) -> None:
    out = tmp_path / "out"
    proc = harness(tmp_path, "run", "--output-dir", str(out))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{config}: {key}: expected " in lines[0], lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists()
    assert not (tmp_path / "runs").exists()

    check = harness(tmp_path, "plugins", "--check")
    assert check.returncode == 4, check.stdout + check.stderr
    problems = [line for line in check.stderr.splitlines() if line.startswith("harness: problem")]
    assert len(problems) == 1, check.stderr
    assert f"{config}: {key}: expected " in problems[0], problems[0]
    assert "Traceback" not in check.stdout + check.stderr


CASES: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "unknown built-in style name",
        'strategies = [{ name = "sma_crossing" }]',
        "phases.strategy.strategies[0].name",
        ("a known strategy (", "every_n", "sma_cross", "got 'sma_crossing'"),
    ),
    (
        "misspelt parameter",
        'strategies = [{ name = "sma_cross", params = { fats = 3 } }]',
        "phases.strategy.strategies[0].params.fats",
        ("expected a parameter of sma_cross (fast, slow), got 'fats'",),
    ),
    (
        "string where an integer goes",
        'strategies = [{ name = "sma_cross", params = { fast = "x" } }]',
        "phases.strategy.strategies[0].params.fast",
        ("expected a positive integer, got 'x'",),
    ),
    (
        "negative window",
        'strategies = [{ name = "sma_cross", params = { fast = -5 } }]',
        "phases.strategy.strategies[0].params.fast",
        ("expected a positive integer, got -5",),
    ),
    (
        "float window",
        'strategies = [{ name = "momentum", params = { lookback = 2.5 } }]',
        "phases.strategy.strategies[0].params.lookback",
        ("expected a positive integer, got 2.5",),
    ),
    (
        "fast above slow",
        'strategies = [{ name = "sma_cross", params = { fast = 50, slow = 10 } }]',
        "phases.strategy.strategies[0].params.fast",
        ("expected an integer smaller than slow (10), got 50",),
    ),
    (
        "slow below the default fast",
        'strategies = [{ name = "sma_cross", params = { slow = 5 } }]',
        "phases.strategy.strategies[0].params.slow",
        ("expected an integer larger than fast (10), got 5",),
    ),
    (
        "unknown sweep parameter",
        'strategies = [{ name = "sma_cross", sweep = { bogus = [1, 2] } }]',
        "phases.strategy.strategies[0].sweep.bogus",
        ("expected a parameter of sma_cross (fast, slow), got 'bogus'",),
    ),
    (
        "invalid sweep value",
        'strategies = [{ name = "sma_cross", sweep = { fast = [5, 0] } }]',
        "phases.strategy.strategies[0].sweep.fast[1]",
        ("expected a positive integer, got 0",),
    ),
    (
        "sweep without one valid set",
        'strategies = [{ name = "sma_cross", sweep = { fast = [30, 40], slow = [20, 30] } }]',
        "phases.strategy.strategies[0].sweep",
        ("at least one valid parameter set", "4 sets, none valid"),
    ),
    (
        "parameter of a strategy that takes none",
        'strategies = [{ name = "buy_and_hold", params = { size = 1 } }]',
        "phases.strategy.strategies[0].params.size",
        ("expected a parameter of buy_and_hold (none), got 'size'",),
    ),
    (
        "error in a later entry",
        'strategies = [{ name = "momentum" }, { name = "every_n", params = { m = 5 } }]',
        "phases.strategy.strategies[1].params.m",
        ("expected a parameter of every_n (n), got 'm'",),
    ),
    (
        "wrong sweep name of a plugin strategy",
        'strategies = [{ name = "every_n", sweep = { window = [5, 10] } }]',
        "phases.strategy.strategies[0].sweep.window",
        ("expected a parameter of every_n (n), got 'window'",),
    ),
    (
        "missing required parameter of a plugin strategy",
        'strategies = [{ name = "windowed" }]',
        "phases.strategy.strategies[0].params",
        ("required key 'window'", "got missing"),
    ),
    (
        "duplicate label",
        'strategies = [{ name = "momentum" }, { name = "momentum" }]',
        "phases.strategy.strategies[1].name",
        ("a label no other entry has", "got 'momentum'"),
    ),
]


@pytest.mark.parametrize(
    ("strategies", "key", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_bad_strategy_entry_stops_the_run_before_it_starts(
    tmp_path: Path, strategies: str, key: str, expected: tuple[str, ...]
) -> None:
    config = write_config(tmp_path, strategies)
    assert_config_error(tmp_path, config, key, *expected)


def test_a_later_strategy_phase_is_checked_too(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        strategies = [{ name = "momentum" }]

        [phases.again]
        plugin = "strategy"
        strategies = [{ name = "sma_cross", params = { fats = 3 } }]
        """,
    )
    assert_config_error(
        tmp_path, config, "phases.again.strategies[0].params.fats", "a parameter of sma_cross"
    )


def test_a_plugin_strategy_with_its_own_params_is_accepted(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [[phases.strategy.strategies]]
        name = "every_n"
        params = { n = 5 }
        sweep = { n = [4, 8] }

        [[phases.strategy.strategies]]
        name = "flexible"
        params = { anything = 1, goes = "yes" }
        sweep = { whatever = [1, 2] }

        [[phases.strategy.strategies]]
        name = "windowed"
        sweep = { window = [5, 10] }
        """,
    )
    check = harness(tmp_path, "plugins", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok:" in check.stdout


def test_a_strategy_name_provided_twice_is_a_plugin_error(tmp_path: Path) -> None:
    (tmp_path / "my_strats.py").write_text(
        PLUGIN.replace('"every_n": every_n,', '"every_n": every_n, "momentum": every_n,')
    )
    (tmp_path / "harness.toml").write_text(HEAD)
    proc = harness(tmp_path, "run", "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "'momentum' is provided by both 'strategy' and " in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out").exists()
    assert harness(tmp_path, "plugins", "--check").returncode == 4


def test_a_sweep_of_which_no_set_runs_fails_the_phase(tmp_path: Path) -> None:
    """A plugin strategy rejects every set at run time: the phase fails and says why."""
    write_config(
        tmp_path,
        """
        [[phases.strategy.strategies]]
        name = "every_n"
        symbols = ["IBM"]
        sweep = { n = [60, 70] }
        """,
    )
    out = tmp_path / "out"
    proc = harness(tmp_path, "run", "--output-dir", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    phase = next(p for p in summary["phases"] if p["name"] == "strategy")
    assert phase["status"] == "failed"
    assert "strategy 'every_n' on IBM: no set of the sweep could run (2 sets;" in phase["message"]
    assert "n must be at most 50, got 60" in phase["message"]
    lines = (out / "events.jsonl").read_text().splitlines()
    sweeps: list[dict[str, Any]] = [
        e for e in map(json.loads, lines) if e["type"] == "strategy.sweep"
    ]
    (event,) = sweeps
    assert event["level"] == "error"
    assert event["data"]["errors"] == event["data"]["combinations"] == 2
    assert event["data"]["best"] is None


def test_a_sweep_with_some_failed_sets_passes_and_says_so(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [[phases.strategy.strategies]]
        name = "sma_cross"
        symbols = ["IBM"]
        gates = { look_ahead = false }
        sweep = { fast = [5, 30], slow = [20] }
        """,
    )
    out = tmp_path / "out"
    proc = harness(tmp_path, "run", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    phase = next(p for p in summary["phases"] if p["name"] == "strategy")
    assert "1 sweep sets could not run" in phase["message"]
    (sweep,) = summary["strategy"]["sweeps"]
    assert sweep["errors"] == 1
    assert sweep["best"]["params"] == {"fast": 5, "slow": 20}


# -- the pieces, directly ---------------------------------------------------------------


def test_signature_of_reads_the_keyword_parameters() -> None:
    def plain(bars: object, *, fast: int = 1, slow: int) -> None: ...
    def positional(bars: object, window: int = 3, /, step: int = 1) -> None: ...
    def anything(bars: object, n: int = 1, **kwargs: object) -> None: ...

    sig = signature_of(plain)
    assert sig is not None
    assert sig.names == ("fast", "slow")
    assert sig.required == ("slow",)
    assert sig.defaults == {"fast": 1}
    assert sig.accepts("fast")
    assert not sig.accepts("fats")
    assert sig.listing() == "fast, slow"
    pos = signature_of(positional)
    assert pos is not None
    assert pos.names == ("step",)
    anything_sig = signature_of(anything)
    assert anything_sig is not None
    assert anything_sig.accepts("whatever")
    assert anything_sig.listing() == "n, or any name"


def test_the_built_in_rules_name_the_parameter_to_blame() -> None:
    rules = BUILTIN_RULES["sma_cross"]
    rules.check({"fast": 5, "slow": 20})
    with pytest.raises(ParamError) as fast:
        rules.check({"fast": 50, "slow": 10}, explicit=("fast", "slow"))
    assert (fast.value.param, fast.value.given) == ("fast", 50)
    with pytest.raises(ParamError) as slow:
        rules.check({"fast": 10, "slow": 5}, explicit=("slow",))
    assert (slow.value.param, slow.value.given) == ("slow", 5)
    with pytest.raises(ParamError, match="fast must be a positive integer, got True"):
        rules.check_value("fast", True)
