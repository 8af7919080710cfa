"""Parameter sweeps: a grid of parameter sets, run through a small executor interface.

An :class:`Executor` takes one :class:`BacktestJob` (strategy, bars, engine
options) and a list of parameter sets and returns one :class:`SweepRow` per set,
in the order given. :class:`SequentialExecutor` runs them in this process;
:class:`LocalPoolExecutor` spreads them over a local process pool. Both run
:func:`evaluate`, so their results are identical; another executor (a cluster,
threads) only has to implement ``map``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import math
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from types import TracebackType

    from harness.plugins.data.market import Bars
    from harness.plugins.strategy.strategies import StrategyFn

__all__ = [
    "SWEEP_METRICS",
    "BacktestJob",
    "EngineOptions",
    "Executor",
    "LocalPoolExecutor",
    "SequentialExecutor",
    "SweepRow",
    "best_row",
    "evaluate",
    "expand_grid",
    "make_executor",
]

#: metric -> True when larger is better
SWEEP_METRICS: dict[str, bool] = {
    "sharpe": True,
    "roi": True,
    "pnl": True,
    "final_equity": True,
    "win_rate": True,
    "trades": True,
    "max_drawdown": False,
}


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """The engine settings of a phase."""

    cash: float = 10_000.0
    commission: float = 0.0
    finalize: bool = False
    fractional: bool = False


@dataclass(frozen=True, slots=True)
class BacktestJob:
    """What every parameter set of one sweep shares."""

    fn: StrategyFn
    bars: Bars
    options: EngineOptions
    per_year: float | None
    base_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One parameter set's outcome: its metrics, or why it could not run."""

    params: dict[str, Any]
    metrics: dict[str, float | int] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"params": self.params}
        if self.metrics is not None:
            out["metrics"] = self.metrics
        if self.error is not None:
            out["error"] = self.error
        return out


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, keys in the order given."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def evaluate(job: BacktestJob, params: Mapping[str, Any]) -> SweepRow:
    """Backtest one parameter set (``job.base_params`` updated by ``params``)."""
    from harness.plugins.strategy.engine import backtest
    from harness.plugins.strategy.gates import check_signal
    from harness.plugins.strategy.metrics import compute_metrics

    merged = {**job.base_params, **params}
    try:
        signal = check_signal(job.fn(job.bars, **merged), len(job.bars))
    except (ValueError, TypeError) as exc:
        return SweepRow(dict(params), error=str(exc))
    opts = job.options
    result = backtest(
        job.bars.open,
        job.bars.close,
        signal,
        cash=opts.cash,
        commission=opts.commission,
        finalize=opts.finalize,
        fractional=opts.fractional,
    )
    metrics = compute_metrics(result, job.bars.close, per_year=job.per_year)
    return SweepRow(dict(params), metrics.as_dict())


def best_row(rows: Sequence[SweepRow], metric: str) -> SweepRow | None:
    """The row with the best ``metric`` (first one on ties); ``None`` if none ran."""
    larger = SWEEP_METRICS[metric]
    best: SweepRow | None = None
    best_value = 0.0
    for row in rows:
        if row.metrics is None:
            continue
        value = float(row.metrics[metric])
        if not math.isfinite(value):
            continue
        if best is None or (value > best_value if larger else value < best_value):
            best, best_value = row, value
    return best


class Executor(Protocol):
    """Runs :func:`evaluate` over parameter sets; results in the order given."""

    def map(self, job: BacktestJob, grid: Sequence[Mapping[str, Any]]) -> list[SweepRow]: ...

    def close(self) -> None: ...


class SequentialExecutor:
    """Runs every parameter set in this process, one after the other."""

    def map(self, job: BacktestJob, grid: Sequence[Mapping[str, Any]]) -> list[SweepRow]:
        return [evaluate(job, params) for params in grid]

    def close(self) -> None:
        return None

    def __enter__(self) -> SequentialExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _fn_ref(fn: StrategyFn) -> tuple[str, str, str | None]:
    """``(module, qualname, file)``: how a fresh process finds ``fn``.

    A worker imports ``module`` by name and falls back to loading ``file`` (plugins
    loaded from a ``.py`` file live under a name no fresh process can import).
    """
    module = sys.modules.get(fn.__module__)
    return fn.__module__, fn.__qualname__, getattr(module, "__file__", None)


def _resolve(ref: tuple[str, str, str | None]) -> StrategyFn:
    name, qualname, path = ref
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            if path is None:
                raise
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return cast("StrategyFn", obj)


#: worker side: the job file last loaded and its job (one sweep at a time)
_loaded: dict[str, BacktestJob] = {}


def _run_chunk(
    ref: tuple[str, str, str | None], job_path: str, grid: list[dict[str, Any]]
) -> list[SweepRow]:
    """Worker side: load the sweep's job once, resolve its strategy, evaluate a chunk."""
    job = _loaded.get(job_path)
    if job is None:
        with open(job_path, "rb") as f:
            blank: BacktestJob = pickle.load(f)
        job = dataclasses.replace(blank, fn=_resolve(ref))
        _loaded.clear()
        _loaded[job_path] = job
    return [evaluate(job, params) for params in grid]


class LocalPoolExecutor:
    """Spreads parameter sets over ``workers`` local processes (``spawn`` start).

    Each sweep's job (bars and options) is written once to a temporary file that
    every worker loads once; only parameter sets travel with the tasks. Chunks
    are reassembled in grid order, so the result equals
    :class:`SequentialExecutor`'s. The pool lives until :meth:`close`.
    """

    def __init__(self, workers: int, *, chunks_per_worker: int = 4) -> None:
        self.workers = workers
        self.chunks_per_worker = chunks_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._jobs = 0

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def _write_job(self, job: BacktestJob) -> str:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-sweep-")
        self._jobs += 1
        path = os.path.join(self._tmp.name, f"job-{self._jobs}.pickle")
        blank = dataclasses.replace(job, fn=cast(Any, None))
        with open(path, "wb") as f:
            pickle.dump(blank, f, pickle.HIGHEST_PROTOCOL)
        return path

    def map(self, job: BacktestJob, grid: Sequence[Mapping[str, Any]]) -> list[SweepRow]:
        items = [dict(p) for p in grid]
        if not items:
            return []
        n_chunks = min(len(items), self.workers * self.chunks_per_worker)
        size = math.ceil(len(items) / n_chunks)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        ref = _fn_ref(job.fn)
        path = self._write_job(job)
        pool = self._get_pool()
        try:
            futures = [pool.submit(_run_chunk, ref, path, chunk) for chunk in chunks]
            rows: list[SweepRow] = []
            for future in futures:
                rows.extend(future.result())
        finally:
            os.unlink(path)
        return rows

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalPoolExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def make_executor(workers: int) -> SequentialExecutor | LocalPoolExecutor:
    """The executor for ``workers``: in-process for 1, a local pool above."""
    return SequentialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
