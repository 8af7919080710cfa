"""The Dask executor on a real LocalCluster (2 worker processes): results, cancel, workers.

One cluster, started by a :class:`DaskExecutor` for the module (the phase's
own path: environment kept, ``MALLOC_TRIM_THRESHOLD_`` not on the workers), is
also used as an "external" scheduler by the tests that connect to an address.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sweep_procs
from strategy_bars import random_bars

from harness.plugins.strategy.strategies import momentum, sma_cross
from harness.plugins.strategy.sweep import (
    BacktestJob,
    EngineOptions,
    SequentialExecutor,
    expand_grid,
)

distributed = pytest.importorskip("distributed", reason="needs the harness[dask] extra")

from harness.plugins.strategy.dask_executor import (  # noqa: E402
    DRIVER_ENV_KEEP,
    DaskExecutor,
    SchedulerUnreachable,
)

GRID = expand_grid({"fast": [2, 3, 5, 8], "slow": [8, 13, 21]})


def _worker_env(key: str) -> str | None:
    return os.environ.get(key)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    """A LocalCluster of 2 worker processes, started and closed by a DaskExecutor."""
    before = {k: os.environ.get(k) for k in DRIVER_ENV_KEEP}
    executor = DaskExecutor(workers=2, threads_per_worker=1, memory_limit=0)
    executor.start()
    try:
        assert {k: os.environ.get(k) for k in DRIVER_ENV_KEEP} == before
        yield executor
    finally:
        executor.close()
    assert {k: os.environ.get(k) for k in DRIVER_ENV_KEEP} == before


def _address(executor: DaskExecutor) -> str:
    client: Any = executor._client
    return str(client.scheduler.address)


def test_local_cluster_has_a_dashboard_and_no_malloc_trim(cluster: DaskExecutor) -> None:
    info = cluster.info()
    assert info["executor"] == "dask"
    assert info["workers"] == 2
    assert str(info["dashboard"]).startswith("http://")
    client: Any = cluster._client
    on_workers = client.run(_worker_env, "MALLOC_TRIM_THRESHOLD_")
    assert len(on_workers) == 2
    assert set(on_workers.values()) == {None}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_are_identical_to_a_sequential_run(cluster: DaskExecutor, seed: int) -> None:
    job = BacktestJob(sma_cross, random_bars(4000, seed=seed), EngineOptions(0.001), 252.0)
    seen: list[int] = []
    got = cluster.map(job, GRID, progress=lambda n, rows: seen.append(n), set_seconds=0.0005)
    assert got == SequentialExecutor().map(job, GRID)
    assert seen[-1] == len(GRID)
    assert len(seen) >= 4  # in batches


def test_rounded_prices_with_ties_and_backtests_of_several_symbols(
    cluster: DaskExecutor,
) -> None:
    b = random_bars(5000, seed=7, vol=0.002)
    bars = dataclasses.replace(b, close=np.round(b.close, 1), open=np.round(b.open, 1))
    job = BacktestJob(sma_cross, bars, EngineOptions(), 252.0)
    assert cluster.map(job, GRID) == SequentialExecutor().map(job, GRID)
    jobs = [
        job,
        BacktestJob(momentum, random_bars(900, seed=2), EngineOptions(), None, {"lookback": 5}),
        BacktestJob(sma_cross, bars, EngineOptions(), None, {"fast": 9, "slow": 2}),
    ]
    got = list(cluster.backtests(jobs))
    want = list(SequentialExecutor().backtests(jobs))
    assert [g.error for g in got] == [w.error for w in want]
    assert got[2].error is not None
    for g, w in zip(got[:2], want[:2], strict=True):
        assert g.result is not None
        assert w.result is not None
        assert np.array_equal(g.signal, w.signal)
        assert np.array_equal(g.result.equity, w.result.equity)


def test_external_scheduler_runs_strategies_from_plugin_files(
    cluster: DaskExecutor, tmp_path: Path
) -> None:
    path = tmp_path / "dask_strats.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np

            def every(bars, *, n=5):
                sig = np.zeros(len(bars), dtype=np.int8)
                sig[::n] = 1
                sig[2::n] = -1
                return sig
            """
        )
    )
    name = "harness_local_plugins.dask_strats"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        job = BacktestJob(module.every, random_bars(600, seed=2), EngineOptions(), None)
        grid = expand_grid({"n": [3, 5, 7]})
        with DaskExecutor(scheduler=_address(cluster)) as ex:
            ex.check_functions([module.every, sma_cross])
            assert ex.map(job, grid) == SequentialExecutor().map(job, grid)
            assert "dashboard" not in ex.info()
    finally:
        del sys.modules[name]


def test_unreachable_scheduler_names_the_address() -> None:
    ex = DaskExecutor(scheduler="tcp://127.0.0.1:9", timeout=1)
    with pytest.raises(SchedulerUnreachable, match=r"tcp://127\.0\.0\.1:9"):
        ex.start()
    ex.close()


def _processing(cluster: DaskExecutor) -> int:
    client: Any = cluster._client
    return sum(len(v) for v in client.processing().values())


def test_phase_timeout_cancels_the_outstanding_batches(
    cluster: DaskExecutor, tmp_path: Path
) -> None:
    import harness

    text = sweep_procs.config(
        bars=100_000,
        strategy=f'executor = "dask"\nscheduler = "{_address(cluster)}"\n',
        sweep="{ fast = " + str(list(range(2, 40))) + ", slow = " + str(list(range(40, 80))) + " }",
        timeout=4,
    )
    out = sweep_procs.prepare(tmp_path, text)
    outcome = harness.run(
        config=tmp_path / "harness.toml", output_dir=out, cwd=tmp_path, verbosity=-2, autoload=False
    )
    assert outcome.exit_code == 1
    (phase,) = [p for p in outcome.summary["phases"] if p["name"] == "strategy"]
    assert phase["status"] == "timeout"
    # cancelled on the scheduler: nothing of the sweep is left to run
    sweep_procs.wait_for(lambda: _processing(cluster) == 0, 10, "the batches to be cancelled")
    executor_events = sweep_procs.events(out, "strategy.executor")
    assert executor_events[0]["data"]["scheduler"] == _address(cluster)


def _gen_bars(settings: dict[str, Any]) -> dict[str, Any]:
    """The bars ``sweep_procs.GEN_PLUGIN`` publishes for ``settings``."""
    import types

    import harness

    namespace: dict[str, Any] = {}
    exec(sweep_procs.GEN_PLUGIN, namespace)
    ctx = types.SimpleNamespace(artifacts=harness.Artifacts())
    phase = types.SimpleNamespace(plugin="gen_bars", settings=settings)
    namespace["phase_run"](phase, ctx)
    market: Any = ctx.artifacts.get(harness.MARKET_ARTIFACT, harness.MarketData)
    return dict(market.bars)


def test_harness_run_on_a_scheduler_address_equals_one_worker(
    cluster: DaskExecutor, tmp_path: Path
) -> None:
    extra = f'executor = "dask"\nscheduler = "{_address(cluster)}"\n'
    proc, out = sweep_procs.run(tmp_path, sweep_procs.config(bars=3000, symbols=2, strategy=extra))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sweeps = sweep_procs.events(out, "strategy.sweep")
    assert [e["data"]["executor"] for e in sweeps] == ["dask", "dask"]
    bars = _gen_bars({"bars": 3000, "symbols": 2, "seed": 1})
    grid = expand_grid({"fast": [3, 5, 8], "slow": [13, 21]})
    per_year = 365 * 24 * 60.0
    for event in sweeps:
        job = BacktestJob(
            sma_cross,
            bars[event["data"]["symbol"]],
            EngineOptions(),
            per_year,
            {"fast": 5, "slow": 21},
        )
        rows = SequentialExecutor().map(job, grid)
        best = max((r for r in rows if r.metrics), key=lambda r: r.metrics["sharpe"])  # type: ignore[index]
        assert event["data"]["best"]["params"] == best.params
        assert event["data"]["best"]["metrics"]["final_equity"] == best.metrics["final_equity"]  # type: ignore[index]
    results = sweep_procs.events(out, "strategy.result")
    assert len(results) == 2


def test_a_lost_worker_is_reported_and_its_batches_run_again(cluster: DaskExecutor) -> None:
    reported: list[tuple[str, str, str, dict[str, Any]]] = []
    client: Any = cluster._client
    pids: dict[str, int] = client.run(os.getpid)
    job = BacktestJob(sma_cross, random_bars(60_000, seed=5), EngineOptions(), 252.0)
    grid = expand_grid({"fast": list(range(2, 12)), "slow": list(range(20, 30))})
    killed: list[int] = []

    def progress(done: int, rows: Any) -> None:
        if not killed:
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with DaskExecutor(scheduler=_address(cluster), on_event=lambda *e: reported.append(e)) as ex:
        got = ex.map(job, grid, progress=progress, set_seconds=0.01)
    assert got == SequentialExecutor().map(job, grid)
    assert killed
    assert [e[0] for e in reported] == ["strategy.worker_lost"]
    assert reported[0][3]["worker"] in pids


# -- `harness run` with executor = "dask" ---------------------------------------------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

DASK = 'executor = "dask"\nworkers = 2\n'


@linux_only
def test_sigterm_mid_sweep_ends_the_run_and_the_cluster(tmp_path: Path) -> None:
    text = sweep_procs.config(
        bars=30_000,
        strategy=DASK,
        sweep="{ fast = " + str(list(range(2, 40))) + ", slow = " + str(list(range(40, 80))) + " }",
    )
    proc, out = sweep_procs.start(tmp_path, text)
    try:

        def sweeping() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read() if proc.stdout else "ended")
            beats = sweep_procs.events(out, "heartbeat")
            return any(e["metrics"].get("sets_done", 0) > 0 for e in beats)

        sweep_procs.wait_for(sweeping, 90, "the sweep to make progress")
        kids = sweep_procs.children(proc.pid)
        assert len(kids) >= 2  # the LocalCluster's worker processes
        (event,) = sweep_procs.events(out, "strategy.executor")
        assert event["data"]["executor"] == "dask"
        assert event["data"]["workers"] == 2
        assert "dashboard http://" in event["message"]
        beats = [e["metrics"] for e in sweep_procs.events(out, "heartbeat")]
        assert any(m.get("sets_total") == 38 * 40 for m in beats)
        assert any("best_sharpe" in m for m in beats)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.returncode == 2
        sweep_procs.wait_for(lambda: not sweep_procs.alive(kids), 5, f"{kids} to end")
        assert sweep_procs.events(out, "session_end")
    finally:
        sweep_procs.stop(proc)


BLOCK_DASK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
from harness.cli import main
sys.argv = ["harness", "run", "--output-dir", "out"]
main()
"""


def test_missing_extra_is_a_config_error_naming_it(tmp_path: Path) -> None:
    import subprocess

    sweep_procs.prepare(tmp_path, sweep_procs.config(strategy=DASK))
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_DASK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=sweep_procs.env(),
        timeout=60,
        check=False,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 4, text
    assert "phases.strategy.executor" in text
    assert "harness[dask]" in text
    assert "Traceback" not in text


def test_unreachable_scheduler_is_a_config_error_naming_the_address(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    extra = f'executor = "dask"\nscheduler = "{address}"\nscheduler_timeout = 1\n'
    proc, _ = sweep_procs.run(tmp_path, sweep_procs.config(strategy=extra))
    text = proc.stdout + proc.stderr
    assert proc.returncode == 4, text
    assert "phases.strategy.scheduler" in text
    assert address in text
    assert "Traceback" not in text
