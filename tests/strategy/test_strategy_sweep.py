"""Parameter sweeps: grids, best set, and a process pool equal to a sequential run."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest
from strategy_bars import random_bars

from harness.plugins.strategy.strategies import momentum, sma_cross
from harness.plugins.strategy.sweep import (
    BacktestJob,
    EngineOptions,
    LocalPoolExecutor,
    SequentialExecutor,
    SweepRow,
    best_row,
    evaluate,
    expand_grid,
    make_executor,
)


def test_expand_grid_keeps_key_order() -> None:
    assert expand_grid({"fast": [5, 10], "slow": [20, 50]}) == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 50},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 50},
    ]
    assert expand_grid({}) == [{}]


def test_invalid_sets_are_rows_with_an_error() -> None:
    job = BacktestJob(sma_cross, random_bars(200, seed=1), EngineOptions(), 252.0)
    row = evaluate(job, {"fast": 20, "slow": 20})
    assert row.metrics is None
    assert row.error is not None
    assert "smaller" in row.error
    ok = evaluate(job, {"fast": 5, "slow": 20})
    assert ok.error is None
    assert ok.metrics is not None


def test_best_row_by_metric() -> None:
    rows = [
        SweepRow({"a": 1}, {"sharpe": 0.5, "max_drawdown": 0.3}),
        SweepRow({"a": 2}, error="bad"),
        SweepRow({"a": 3}, {"sharpe": 0.9, "max_drawdown": 0.4}),
        SweepRow({"a": 4}, {"sharpe": 0.9, "max_drawdown": 0.1}),
    ]
    best = best_row(rows, "sharpe")
    assert best is not None
    assert best.params == {"a": 3}
    best = best_row(rows, "max_drawdown")
    assert best is not None
    assert best.params == {"a": 4}
    assert best_row([SweepRow({}, error="x")], "roi") is None


def test_base_params_are_updated_by_the_grid() -> None:
    bars = random_bars(300, seed=4)
    job = BacktestJob(momentum, bars, EngineOptions(), 252.0, {"lookback": 5})
    assert evaluate(job, {}).metrics == evaluate(job, {"lookback": 5}).metrics
    assert evaluate(job, {}).metrics != evaluate(job, {"lookback": 9}).metrics


def test_pool_results_equal_sequential_results() -> None:
    bars = random_bars(3000, seed=9)
    job = BacktestJob(sma_cross, bars, EngineOptions(commission=0.001), 252.0)
    grid = expand_grid({"fast": [3, 5, 8, 13, 21], "slow": [21, 34, 55]})
    with SequentialExecutor() as seq:
        expected = seq.map(job, grid)
    with LocalPoolExecutor(2) as pool:
        got = pool.map(job, grid)
        again = pool.map(job, grid[:4])  # the pool is reused across sweeps
    assert got == expected
    assert again == expected[:4]
    assert [r.params for r in got] == grid
    assert any(r.error for r in got)  # (21, 21) is invalid


def test_pool_runs_strategies_from_plugin_files(tmp_path: Path) -> None:
    # The core loads ``plugins = ["./x.py"]`` as module ``harness_local_plugins.x``,
    # which a fresh worker process cannot import by name.
    path = tmp_path / "my_strats.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np

            def contrarian(bars, *, every=5):
                sig = np.zeros(len(bars), dtype=np.int8)
                sig[::every] = 1
                sig[2::every] = -1
                return sig
            """
        )
    )
    name = "harness_local_plugins.my_strats"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        job = BacktestJob(module.contrarian, random_bars(500, seed=2), EngineOptions(), None)
        grid = expand_grid({"every": [3, 5, 7]})
        with make_executor(2) as pool:
            assert isinstance(pool, LocalPoolExecutor)
            got = pool.map(job, grid)
        assert got == SequentialExecutor().map(job, grid)
        assert all(r.metrics and r.metrics["trades"] > 10 for r in got)
    finally:
        del sys.modules[name]


def test_make_executor_is_sequential_for_one_worker() -> None:
    assert isinstance(make_executor(1), SequentialExecutor)


@pytest.mark.parametrize("workers", [1, 2])
def test_empty_grid(workers: int) -> None:
    job = BacktestJob(momentum, random_bars(50, seed=1), EngineOptions(), None)
    with make_executor(workers) as ex:
        assert ex.map(job, []) == []
