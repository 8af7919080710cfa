"""Parameter sweeps: grids, best set, shared indicators, a local pool equal to a sequential run."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sweep_procs
from strategy_bars import random_bars

from harness import Bars
from harness.plugins.strategy.strategies import momentum, sma, sma_cross
from harness.plugins.strategy.sweep import (
    BacktestJob,
    EngineOptions,
    IndicatorCache,
    LocalPoolExecutor,
    SequentialExecutor,
    SweepRow,
    best_row,
    evaluate,
    evaluate_batch,
    expand_grid,
    make_executor,
    plan_batches,
    remove_stale_segments,
    usable_cpus,
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


# -- shared work ----------------------------------------------------------------


def _rounded(n: int, seed: int, decimals: int) -> Bars:
    """Bars whose prices are rounded, as real quotes are: moving averages tie exactly."""
    b = random_bars(n, seed=seed, vol=0.002)
    close, open_ = np.round(b.close, decimals), np.round(b.open, decimals)
    return dataclasses.replace(b, close=close, open=open_)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shared_indicators_give_the_rows_of_sets_run_from_scratch(seed: int) -> None:
    bars = random_bars(3000, seed=seed)
    job = BacktestJob(sma_cross, bars, EngineOptions(commission=0.001), 252.0)
    grid = expand_grid({"fast": [2, 3, 5, 8], "slow": [8, 13, 21]})
    cache = IndicatorCache()
    assert evaluate_batch(job, grid, cache) == [evaluate(job, p) for p in grid]
    assert cache.shared_ok == {"_sma_cross_shared": True}
    assert cache.misses == 1 + 6  # close once, then each distinct window once


def test_shared_indicators_on_rounded_prices_with_ties() -> None:
    bars = _rounded(5000, seed=7, decimals=1)
    close = bars.close
    fast, slow = sma(close, 2), sma(close, 4)
    assert np.count_nonzero(fast == slow) > 10  # the tie case
    job = BacktestJob(sma_cross, bars, EngineOptions(), 252.0)
    grid = expand_grid({"fast": [2, 3], "slow": [4, 6, 10]})
    assert evaluate_batch(job, grid) == [evaluate(job, p) for p in grid]


def test_shared_form_leaves_other_strategies_and_bad_sets_alone() -> None:
    job = BacktestJob(momentum, random_bars(500, seed=1), EngineOptions(), None)
    grid = expand_grid({"lookback": [3, 5]})
    assert evaluate_batch(job, grid) == [evaluate(job, p) for p in grid]
    job = BacktestJob(sma_cross, random_bars(500, seed=1), EngineOptions(), None)
    bad = [{"fast": 9, "slow": 3}, {"fast": 3, "slow": 9, "other": 1}]
    assert evaluate_batch(job, bad) == [evaluate(job, p) for p in bad]
    assert all(r.error for r in evaluate_batch(job, bad))


def test_batches_are_contiguous_and_cover_the_grid() -> None:
    batches = plan_batches(100, 2, 0.05)
    assert [i for b in batches for i in b] == list(range(100))
    assert len(batches) >= 6  # several per worker
    assert len(plan_batches(10_000, 2, 0.5)) == 2500  # about 2 s each: 4 sets
    assert plan_batches(0, 2, 1.0) == []
    assert plan_batches(3, 8, 1.0) == [range(0, 1), range(1, 2), range(2, 3)]


def test_pool_backtests_equal_in_process_backtests() -> None:
    jobs = [
        BacktestJob(fn, random_bars(800, seed=s), EngineOptions(), 252.0, params)
        for s, (fn, params) in enumerate(
            [
                (sma_cross, {"fast": 3, "slow": 9}),
                (momentum, {}),
                (sma_cross, {"fast": 9, "slow": 3}),
            ]
        )
    ]
    with LocalPoolExecutor(2) as pool:
        got = list(pool.backtests(jobs))
    expected = list(SequentialExecutor().backtests(jobs))
    for a, b in zip(got, expected, strict=True):
        assert a.error == b.error
        if a.result is not None and b.result is not None:
            assert np.array_equal(a.signal, b.signal)
            assert np.array_equal(a.result.equity, b.result.equity)
            assert np.array_equal(a.result.trades.pnl, b.result.trades.pnl)
    assert got[2].error is not None


def test_stale_segments_of_ended_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    (tmp_path / f"harness-sweep-{pid}-abc-1").write_bytes(b"x")
    (tmp_path / f"harness-sweep-{os.getpid()}-abc-1").write_bytes(b"x")
    (tmp_path / "other").write_bytes(b"x")
    assert remove_stale_segments(str(tmp_path)) == [f"harness-sweep-{pid}-abc-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"harness-sweep-{os.getpid()}-abc-1",
        "other",
    ]


# -- the local pool inside `harness run`: interrupts, kill -9, limits -------------------

BIG_SWEEP = "{ fast = " + str(list(range(2, 22))) + ", slow = " + str(list(range(22, 42))) + " }"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _segments_of(pid: int) -> set[str]:
    return {n for n in sweep_procs.shm_segments() if n.startswith(f"harness-sweep-{pid}-")}


def _pool_running(proc: subprocess.Popen[str]) -> set[int]:
    """Wait until the pool's workers run and the bars are in shared memory; their pids."""

    def ready() -> set[int]:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"harness ended early ({proc.returncode}):\n{out}")
        kids = sweep_procs.children(proc.pid)
        return kids if len(kids) >= 3 and _segments_of(proc.pid) else set()

    return set(sweep_procs.wait_for(ready, 60, "the pool's workers and segment"))


@linux_only
def test_kill_9_of_harness_ends_the_pool_workers_and_frees_shared_memory(tmp_path: Path) -> None:
    text = sweep_procs.config(bars=60_000, strategy="workers = 2\n", sweep=BIG_SWEEP)
    proc, _ = sweep_procs.start(tmp_path, text)
    try:
        kids = _pool_running(proc)
        proc.kill()
        proc.wait(10)
        sweep_procs.wait_for(lambda: not sweep_procs.alive(kids), 10, f"workers {kids} to end")
        sweep_procs.wait_for(lambda: not _segments_of(proc.pid), 10, "the segment to go")
    finally:
        sweep_procs.stop(proc)


@linux_only
def test_sigterm_ends_a_pool_sweep_at_once(tmp_path: Path) -> None:
    text = sweep_procs.config(bars=60_000, strategy="workers = 2\n", sweep=BIG_SWEEP)
    proc, out = sweep_procs.start(tmp_path, text)
    try:
        kids = _pool_running(proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.returncode == 2
        # the workers end with the pool; the fork server and multiprocessing's
        # resource tracker see harness's end of their pipes close and follow
        sweep_procs.wait_for(lambda: not sweep_procs.alive(kids), 5, f"{kids} to end")
        assert not _segments_of(proc.pid)
        assert sweep_procs.events(out, "session_end")
    finally:
        sweep_procs.stop(proc)


def test_more_workers_than_cpus_is_a_config_error(tmp_path: Path) -> None:
    limit = usable_cpus()
    text = sweep_procs.config(strategy=f"workers = {limit + 1}\n")
    proc, _ = sweep_procs.run(tmp_path, text)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "phases.strategy.workers" in proc.stderr + proc.stdout
    assert f"at most {limit}" in proc.stderr + proc.stdout


def test_auto_workers_sweep_equals_one_worker(tmp_path: Path) -> None:
    rows = []
    for n, workers in enumerate(["1", '"auto"']):
        folder = tmp_path / str(n)
        folder.mkdir()
        text = sweep_procs.config(symbols=2, strategy=f"workers = {workers}\n")
        proc, out = sweep_procs.run(folder, text)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        sweeps = sweep_procs.events(out, "strategy.sweep")
        rows.append([(e["data"]["symbol"], e["data"]["best"]) for e in sweeps])
        beats = [e for e in sweep_procs.events(out, "heartbeat") if "sets_total" in e["metrics"]]
        assert sweep_procs.events(out, "strategy.result")
        if beats:
            assert beats[-1]["metrics"]["sets_total"] == 12
    assert rows[0] == rows[1]


def test_executor_keys_come_from_the_phase_then_the_plugin_table() -> None:
    from harness.plugins.strategy.settings import parse_settings

    plugin = {"executor": "dask", "workers": 3, "scheduler": "tcp://h:8786"}
    s = parse_settings({"workers": "auto"}, plugin)
    assert (s.executor, s.workers, s.scheduler) == ("dask", usable_cpus(), "tcp://h:8786")
    s = parse_settings({})
    assert (s.executor, s.workers, s.scheduler, s.threads_per_worker) == ("local", 1, None, 1)
