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
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from types import TracebackType

    from harness import Bars
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

    def start(self, *, wait: bool = True) -> None:
        """Get ready (start workers, connect) ahead of the first :meth:`map`."""
        ...

    def map(self, job: BacktestJob, grid: Sequence[Mapping[str, Any]]) -> list[SweepRow]:
        """One row per parameter set, in the order of ``grid``."""
        ...

    def close(self) -> None:
        """Release what :meth:`start` or :meth:`map` acquired."""
        ...


class SequentialExecutor:
    """Runs every parameter set in this process, one after the other."""

    def start(self, *, wait: bool = True) -> None:
        """Nothing to start."""
        return None

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


#: environment variables that keep numeric libraries to one thread per worker
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "POLARS_MAX_THREADS",
)

#: worker side: the job folder last loaded and its job (one sweep at a time)
_loaded: dict[str, BacktestJob] = {}


def _init_worker() -> None:
    """Worker start-up: one thread per numeric library, then the engine's imports.

    The pool already runs one process per core, so libraries that start a thread
    per core (OpenBLAS, MKL, polars) would only oversubscribe it. The variables
    must be set before those libraries load; a user's own setting wins.
    """
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    importlib.import_module("harness.plugins.strategy.engine")
    importlib.import_module("harness.plugins.strategy.metrics")
    importlib.import_module("harness.plugins.strategy.gates")


_ARRAYS = ("timestamp", "open", "high", "low", "close", "volume")


def _save_job(job: BacktestJob, folder: str) -> None:
    """Write the job: bar arrays as ``.npy`` files, the rest (no function) pickled."""
    import numpy as np

    os.makedirs(folder)
    for name in _ARRAYS:
        np.save(os.path.join(folder, name + ".npy"), getattr(job.bars, name))
    none: dict[str, Any] = dict.fromkeys(_ARRAYS)  # arrays travel as .npy files instead
    bars = dataclasses.replace(job.bars, **none)
    blank = dataclasses.replace(job, fn=cast(Any, None), bars=bars)
    with open(os.path.join(folder, "job.pickle"), "wb") as f:
        pickle.dump(blank, f, pickle.HIGHEST_PROTOCOL)


def _load_job(folder: str, ref: tuple[str, str, str | None]) -> BacktestJob:
    """Read a job written by :func:`_save_job` into this process's memory.

    Read, not memory-mapped: numpy runs about 20 % slower over a shared map of
    a million bars than over private memory (no huge pages), and reading costs
    a few milliseconds once per sweep.
    """
    import numpy as np

    with open(os.path.join(folder, "job.pickle"), "rb") as f:
        blank: BacktestJob = pickle.load(f)
    arrays = {name: np.load(os.path.join(folder, name + ".npy")) for name in _ARRAYS}
    return dataclasses.replace(
        blank, fn=_resolve(ref), bars=dataclasses.replace(blank.bars, **arrays)
    )


def _run_chunk(
    ref: tuple[str, str, str | None], folder: str, grid: list[dict[str, Any]]
) -> list[SweepRow]:
    """Worker side: load the sweep's job once, resolve its strategy, evaluate a chunk."""
    job = _loaded.get(folder)
    if job is None:
        job = _load_job(folder, ref)
        _loaded.clear()
        _loaded[folder] = job
    return [evaluate(job, params) for params in grid]


def _start_method() -> str:
    """``forkserver`` where it exists (Linux), else ``spawn``; never plain ``fork``.

    The parent runs threads (the heartbeat, the event writer); forking a threaded
    process can copy a lock another thread holds. A fork server is a fresh,
    single-threaded process that forks each worker: safe, and it pays the
    interpreter start-up once instead of once per worker.
    """
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _shared_tmp() -> str | None:
    """``/dev/shm`` when it is a writable folder (the job's arrays stay in memory)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


class LocalPoolExecutor:
    """Spreads parameter sets over ``workers`` local processes.

    Workers start from a fork server (Linux) or are spawned, with
    :func:`_init_worker`. Each sweep's job is written once (the bars as ``.npy``
    files, in ``/dev/shm`` when available) and read once by every worker; only
    parameter sets travel with the tasks. The grid is dealt round-robin into
    ``workers * chunks_per_worker`` batches, so that every batch mixes cheap and
    expensive sets, and the rows are put back in grid order: the result equals
    :class:`SequentialExecutor`'s. The pool lives until :meth:`close`.
    """

    def __init__(self, workers: int, *, chunks_per_worker: int = 2) -> None:
        self.workers = workers
        self.chunks_per_worker = chunks_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._jobs = 0

    def start(self, *, wait: bool = True) -> None:
        """Start the workers now (they start on first use otherwise).

        :param wait: return once every worker is up; ``False`` returns at once.
        """
        pool = self._get_pool()
        futures = [pool.submit(os.getpid) for _ in range(self.workers)]
        if wait:
            for future in futures:
                future.result()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = _start_method()
            ctx = multiprocessing.get_context(method)
            if method == "forkserver":
                ctx.set_forkserver_preload(["harness.plugins.strategy.sweep"])
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_init_worker
            )
        return self._pool

    def _write_job(self, job: BacktestJob) -> str:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-sweep-", dir=_shared_tmp())
        self._jobs += 1
        folder = os.path.join(self._tmp.name, f"job-{self._jobs}")
        _save_job(job, folder)
        return folder

    def map(self, job: BacktestJob, grid: Sequence[Mapping[str, Any]]) -> list[SweepRow]:
        items = [dict(p) for p in grid]
        if not items:
            return []
        n_chunks = min(len(items), self.workers * self.chunks_per_worker)
        # round-robin: chunk c holds items c, c + n_chunks, ...
        chunks = [items[c::n_chunks] for c in range(n_chunks)]
        ref = _fn_ref(job.fn)
        folder = self._write_job(job)
        pool = self._get_pool()
        try:
            futures = [pool.submit(_run_chunk, ref, folder, chunk) for chunk in chunks]
            rows: list[SweepRow | None] = [None] * len(items)
            for c, future in enumerate(futures):
                rows[c::n_chunks] = future.result()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return cast("list[SweepRow]", rows)

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
