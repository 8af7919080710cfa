"""Parameter sweeps and backtests, run through a small executor interface.

An :class:`Executor` takes one :class:`BacktestJob` (strategy, bars, engine
options) and a list of parameter sets and returns one :class:`SweepRow` per set,
in the order given; it also runs the plain backtests of several symbols
(:meth:`Executor.backtests`). :class:`SequentialExecutor` runs them in this
process, :class:`LocalPoolExecutor` on a local process pool, and
:class:`~.dask_executor.DaskExecutor` on a Dask cluster. All of them run
:func:`evaluate_batch` (which gives what :func:`evaluate` gives, set by set), so
their results are identical bit for bit.

Sharing work: within one job, :func:`evaluate_batch` computes each indicator
once per distinct window (an :class:`IndicatorCache`) for the strategies that
have a shared form (:data:`SHARED_FORMS`: built-in ``sma_cross``), and every
executor sends a job's bars to each worker once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import itertools
import math
import os
import secrets
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.shared_memory import SharedMemory
    from types import TracebackType

    import numpy as np
    import numpy.typing as npt

    from harness import Bars
    from harness.plugins.strategy.engine import BacktestResult
    from harness.plugins.strategy.strategies import StrategyFn

__all__ = [
    "SWEEP_METRICS",
    "BacktestJob",
    "BacktestOutcome",
    "EngineOptions",
    "Executor",
    "IndicatorCache",
    "LocalPoolExecutor",
    "Progress",
    "SequentialExecutor",
    "SweepRow",
    "best_row",
    "evaluate",
    "evaluate_batch",
    "expand_grid",
    "make_executor",
    "plan_batches",
    "run_backtest",
    "usable_cpus",
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

#: (rows done so far in this map, the rows that just finished)
Progress = Callable[[int, Sequence["SweepRow"]], None]


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


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """One plain backtest (the job's ``base_params``): its signal and result, or an error."""

    signal: npt.NDArray[np.int8] | None = None
    result: BacktestResult | None = None
    error: str | None = None


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, keys in the order given."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


# -- shared work --------------------------------------------------------------


class IndicatorCache:
    """Indicator arrays of one job, keyed by ``(indicator, window)``; least recently used out.

    :param max_bytes: arrays kept at most (the newest one is always kept).
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        #: shared form name -> it gave its strategy's signal (``False``: not used again)
        self.shared_ok: dict[str, bool] = {}

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, computing it on the first call."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()
        size = int(getattr(value, "nbytes", 0))
        with self._lock:
            self.misses += 1
            if key not in self._items:
                self._items[key] = value
                self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= int(getattr(old, "nbytes", 0))
        return value


def _sma_cross_shared(bars: Bars, cache: IndicatorCache, params: Mapping[str, Any]) -> Any:
    """``sma_cross`` with each moving average taken from ``cache``.

    The same calls as :func:`~.strategies.sma_cross` (its parameter rules, its
    ``sma`` and ``crossings``), so the signal is the same array.
    """
    import numpy as np

    from harness.plugins.strategy.params import BUILTIN_RULES
    from harness.plugins.strategy.strategies import crossings, sma

    fast, slow = params["fast"], params["slow"]
    BUILTIN_RULES["sma_cross"].check({"fast": fast, "slow": slow}, ("fast", "slow"))
    fast, slow = int(fast), int(slow)
    close = cache.get(("close",), lambda: np.asarray(bars.close, dtype=np.float64))
    fast_ma = cache.get(("sma", fast), lambda: sma(close, fast))
    slow_ma = cache.get(("sma", slow), lambda: sma(close, slow))
    return crossings(fast_ma - slow_ma)


#: a built-in strategy's name -> its shared form ``(bars, cache, params) -> signal``
SHARED_FORMS: dict[str, Callable[[Bars, IndicatorCache, Mapping[str, Any]], Any]] = {
    "sma_cross": _sma_cross_shared,
}


def _shared_form(
    fn: StrategyFn, params: Mapping[str, Any]
) -> tuple[Callable[[Bars, IndicatorCache, Mapping[str, Any]], Any], dict[str, Any]] | None:
    """The shared form of ``fn`` and the full parameters, when ``fn`` is a built-in that has one."""
    from harness.plugins.strategy.strategies import BUILTIN_STRATEGIES

    name = getattr(fn, "__name__", "")
    form = SHARED_FORMS.get(name)
    if form is None or BUILTIN_STRATEGIES.get(name) is not fn:
        return None
    defaults = {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
    }
    if not set(params) <= set(defaults):
        return None  # an unknown keyword: let the function raise its own TypeError
    return form, {**defaults, **params}


def _signal(job: BacktestJob, params: Mapping[str, Any], cache: IndicatorCache | None) -> Any:
    """The strategy's signal for ``params``: through the cache when the strategy has a shared form.

    The first time a cache serves a shared form it also runs the strategy itself
    and compares: should they ever differ, the cache is not used for that job again.
    """
    found = _shared_form(job.fn, params) if cache is not None else None
    if cache is not None and found is not None:
        form, full = found
        name = form.__name__
        if cache.shared_ok.get(name, True):
            sig = form(job.bars, cache, full)
            if name not in cache.shared_ok:
                import numpy as np

                direct = job.fn(job.bars, **params)
                cache.shared_ok[name] = bool(np.array_equal(sig, direct))
                return direct
            return sig
    return job.fn(job.bars, **params)


def _evaluate(
    job: BacktestJob, params: Mapping[str, Any], cache: IndicatorCache | None
) -> SweepRow:
    from harness.plugins.strategy.engine import backtest
    from harness.plugins.strategy.gates import check_signal
    from harness.plugins.strategy.metrics import compute_metrics

    merged = {**job.base_params, **params}
    try:
        signal_ = check_signal(_signal(job, merged, cache), len(job.bars))
    except (ValueError, TypeError) as exc:
        return SweepRow(dict(params), error=str(exc))
    opts = job.options
    result = backtest(
        job.bars.open,
        job.bars.close,
        signal_,
        cash=opts.cash,
        commission=opts.commission,
        finalize=opts.finalize,
        fractional=opts.fractional,
    )
    metrics = compute_metrics(result, job.bars.close, per_year=job.per_year)
    return SweepRow(dict(params), metrics.as_dict())


def evaluate(job: BacktestJob, params: Mapping[str, Any]) -> SweepRow:
    """Backtest one parameter set (``job.base_params`` updated by ``params``), from scratch."""
    return _evaluate(job, params, None)


def evaluate_batch(
    job: BacktestJob, grid: Sequence[Mapping[str, Any]], cache: IndicatorCache | None = None
) -> list[SweepRow]:
    """:func:`evaluate` of each set, indicators shared through ``cache`` (a new one if ``None``)."""
    cache = IndicatorCache() if cache is None else cache
    return [_evaluate(job, params, cache) for params in grid]


def run_backtest(job: BacktestJob) -> BacktestOutcome:
    """The plain backtest of ``job.base_params``: signal and engine result (no metrics)."""
    from harness.plugins.strategy.engine import backtest
    from harness.plugins.strategy.gates import check_signal

    try:
        sig = check_signal(job.fn(job.bars, **job.base_params), len(job.bars))
    except (ValueError, TypeError) as exc:
        return BacktestOutcome(error=str(exc))
    opts = job.options
    result = backtest(
        job.bars.open,
        job.bars.close,
        sig,
        cash=opts.cash,
        commission=opts.commission,
        finalize=opts.finalize,
        fractional=opts.fractional,
    )
    return BacktestOutcome(sig, result)


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


# -- batches ------------------------------------------------------------------

#: seconds one batch should take (a cancel is felt within about one batch)
BATCH_SECONDS = 2.0
#: batches per worker at least, when the grid is large enough (balances the load)
BATCHES_PER_WORKER = 3


def estimate_set_seconds(bars: int) -> float:
    """A first guess of one set's time: about 70 ms per million bars on one core."""
    return max(bars, 1) * 7e-8


def plan_batches(
    n_sets: int,
    workers: int,
    set_seconds: float,
    *,
    target_s: float = BATCH_SECONDS,
    per_worker: int = BATCHES_PER_WORKER,
) -> list[range]:
    """Split ``range(n_sets)`` into contiguous batches of about ``target_s`` seconds.

    Contiguous, so neighbouring sets of the grid (which share windows) share a
    worker's indicator cache; at least ``workers * per_worker`` batches when there
    are that many sets, so that every worker has several and a slow one does not
    hold the sweep up.
    """
    if n_sets <= 0:
        return []
    by_time = max(1, int(target_s / max(set_seconds, 1e-6)))
    by_spread = max(1, math.ceil(n_sets / max(1, workers * per_worker)))
    size = min(by_time, by_spread)
    return [range(i, min(i + size, n_sets)) for i in range(0, n_sets, size)]


# -- executors ----------------------------------------------------------------


class Executor(Protocol):
    """Runs sweeps and backtests; results in the order given."""

    #: ``"sequential"``, ``"local"`` or ``"dask"``
    kind: str

    def start(self, *, wait: bool = True) -> None:
        """Get ready (start workers, connect) ahead of the first :meth:`map`."""
        ...

    def map(
        self,
        job: BacktestJob,
        grid: Sequence[Mapping[str, Any]],
        *,
        progress: Progress | None = None,
        set_seconds: float | None = None,
    ) -> list[SweepRow]:
        """One row per parameter set, in the order of ``grid``.

        :param progress: called (in this thread) as batches finish.
        :param set_seconds: one set's time, if known (sizes the batches).
        """
        ...

    def backtests(self, jobs: Sequence[BacktestJob]) -> Iterator[BacktestOutcome]:
        """:func:`run_backtest` of each job, yielded in the order given."""
        ...

    def info(self) -> dict[str, Any]:
        """What the executor runs on (for the ``strategy.executor`` event)."""
        ...

    def close(self) -> None:
        """Release what :meth:`start` or :meth:`map` acquired; cancels work still queued."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Closing:
    """``with executor:`` closes it, also on an interrupt."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SequentialExecutor(_Closing):
    """Runs every parameter set in this process, one batch after the other."""

    kind = "sequential"

    def start(self, *, wait: bool = True) -> None:
        """Nothing to start."""
        return None

    def map(
        self,
        job: BacktestJob,
        grid: Sequence[Mapping[str, Any]],
        *,
        progress: Progress | None = None,
        set_seconds: float | None = None,
    ) -> list[SweepRow]:
        cache = IndicatorCache()
        rows: list[SweepRow] = []
        per_set = set_seconds or estimate_set_seconds(len(job.bars))
        for batch in plan_batches(len(grid), 1, per_set, target_s=0.5, per_worker=1):
            done = evaluate_batch(job, [grid[i] for i in batch], cache)
            rows.extend(done)
            if progress is not None:
                progress(len(rows), done)
        return rows

    def backtests(self, jobs: Sequence[BacktestJob]) -> Iterator[BacktestOutcome]:
        for job in jobs:
            yield run_backtest(job)

    def info(self) -> dict[str, Any]:
        return {"executor": self.kind, "workers": 1}

    def close(self) -> None:
        return None


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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

#: ``prctl(PR_SET_PDEATHSIG, ...)`` (Linux)
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Make this process end when ``parent_pid`` ends, however it ends (also ``kill -9``).

    On Linux the kernel sends SIGKILL when the parent process ends
    (``PR_SET_PDEATHSIG``). Everywhere, a daemon thread also checks every
    ``interval`` seconds that ``parent_pid`` still lives and exits if not (a
    fork server between the two, or a platform without ``prctl``).
    """
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass  # alive, another user's (pid reused): keep going

    threading.Thread(target=watch, name="harness-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid and not _alive(parent_pid):
        os._exit(1)  # the parent ended before the watch started


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _init_worker(parent_pid: int) -> None:
    """Worker start-up: die with harness, one thread per numeric library, the engine's imports.

    The pool already runs one process per core, so libraries that start a thread
    per core (OpenBLAS, MKL, polars) would only oversubscribe it. The variables
    must be set before those libraries load; a user's own setting wins. SIGINT is
    ignored: harness handles Ctrl-C and closes the pool.
    """
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")
    importlib.import_module("harness.plugins.strategy.engine")
    importlib.import_module("harness.plugins.strategy.metrics")
    importlib.import_module("harness.plugins.strategy.gates")


_ARRAYS = ("timestamp", "open", "high", "low", "close", "volume")

#: name prefix of the shared memory segments of local pools (``/dev/shm/harness-sweep-*``)
SHM_PREFIX = "harness-sweep-"


@dataclass(frozen=True, slots=True)
class _Shipped:
    """A job as the pool's tasks carry it: the bars live in a shared memory segment."""

    segment: str
    layout: tuple[tuple[str, str, int, int], ...]  # (array, dtype, offset, length)
    blank: BacktestJob  # the job without function and arrays
    ref: tuple[str, str, str | None]


def _ship(job: BacktestJob, name: str) -> tuple[SharedMemory, _Shipped]:
    """Copy the job's bar arrays into a new shared memory segment called ``name``.

    The :class:`_Shipped` returned describes ``job``; :func:`_reship` describes
    another job on the same bars.

    The segment is registered with multiprocessing's resource tracker, which
    removes it should harness be killed before :meth:`LocalPoolExecutor.close`.
    """
    from multiprocessing.shared_memory import SharedMemory

    import numpy as np

    arrays = [np.ascontiguousarray(getattr(job.bars, a)) for a in _ARRAYS]
    layout: list[tuple[str, str, int, int]] = []
    offset = 0
    for a, arr in zip(_ARRAYS, arrays, strict=True):
        layout.append((a, arr.dtype.str, offset, len(arr)))
        offset += -(-arr.nbytes // 64) * 64
    shm = SharedMemory(name=name, create=True, size=max(offset, 1))
    buf = cast("memoryview", shm.buf)
    for (_, _, off, _), arr in zip(layout, arrays, strict=True):
        np.frombuffer(buf, dtype=arr.dtype, count=len(arr), offset=off)[:] = arr
    none: dict[str, Any] = dict.fromkeys(_ARRAYS)
    blank = dataclasses.replace(job, fn=cast(Any, None), bars=dataclasses.replace(job.bars, **none))
    return shm, _Shipped(shm.name, tuple(layout), blank, _fn_ref(job.fn))


def _reship(job: BacktestJob, like: _Shipped) -> _Shipped:
    """``job`` on the segment of ``like`` (the same bars)."""
    blank = dataclasses.replace(job, fn=cast(Any, None), bars=like.blank.bars)
    return _Shipped(like.segment, like.layout, blank, _fn_ref(job.fn))


def _read_segment(name: str) -> bytes | memoryview:
    """The whole segment, read into this process's memory.

    Read, not mapped: numpy runs about 20 % slower over a shared map of a
    million bars than over private memory, and reading costs a few
    milliseconds once per job. On Linux the segment is the file
    ``/dev/shm/<name>`` (read as a file: the worker takes no part in its life).
    """
    path = os.path.join("/dev/shm", name.lstrip("/"))
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    from multiprocessing.shared_memory import SharedMemory

    shm = SharedMemory(name=name)
    try:
        return bytes(cast("memoryview", shm.buf))
    finally:
        shm.close()


#: worker side: bars loaded, by segment name, with their indicator caches (a few at a time)
_loaded: OrderedDict[str, tuple[Bars, IndicatorCache]] = OrderedDict()


def _worker_job(shipped: _Shipped) -> tuple[BacktestJob, IndicatorCache]:
    """Worker side: the job, its bars read once per segment, and the segment's cache."""
    import numpy as np

    got = _loaded.get(shipped.segment)
    if got is None:
        data = _read_segment(shipped.segment)
        arrays: dict[str, Any] = {
            a: np.frombuffer(data, dtype=np.dtype(dt), count=n, offset=off)
            for a, dt, off, n in shipped.layout
        }
        got = (dataclasses.replace(shipped.blank.bars, **arrays), IndicatorCache())
        _loaded[shipped.segment] = got
        while len(_loaded) > 2:
            _loaded.popitem(last=False)
    bars, cache = got
    return dataclasses.replace(shipped.blank, fn=_resolve(shipped.ref), bars=bars), cache


def _run_batch(shipped: _Shipped, grid: list[dict[str, Any]]) -> list[SweepRow]:
    """Worker side: evaluate a batch of a shipped job."""
    job, cache = _worker_job(shipped)
    return evaluate_batch(job, grid, cache)


def _run_backtest(shipped: _Shipped) -> BacktestOutcome:
    """Worker side: the plain backtest of a shipped job."""
    return run_backtest(_worker_job(shipped)[0])


def _start_method() -> str:
    """``forkserver`` where it exists (Linux), else ``spawn``; never plain ``fork``.

    The parent runs threads (the heartbeat, the event writer); forking a threaded
    process can copy a lock another thread holds. A fork server is a fresh,
    single-threaded process that forks each worker: safe, and it pays the
    interpreter start-up once instead of once per worker.
    """
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def remove_stale_segments(folder: str = "/dev/shm") -> list[str]:
    """Remove ``harness-sweep-<pid>-*`` segments whose harness process no longer runs."""
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not name.startswith(SHM_PREFIX):
            continue
        pid_text = name[len(SHM_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            removed.append(name)
    return removed


class LocalPoolExecutor(_Closing):
    """Spreads parameter sets over ``workers`` local processes.

    Workers start from a fork server (Linux) or are spawned, with
    :func:`_init_worker`: they die with harness (also on ``kill -9``). Each job's
    bars are copied once into a shared memory segment named
    ``harness-sweep-<pid>-<run token>-<n>`` and read once by every worker; only
    parameter sets travel with the tasks. The grid is dealt into contiguous
    batches (:func:`plan_batches`) and the rows put back in grid order: the
    result equals :class:`SequentialExecutor`'s. :meth:`close` cancels what is
    queued and terminates the workers at once; it does not wait for running
    batches. The pool lives until :meth:`close`.
    """

    kind = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._segments: dict[int, tuple[SharedMemory, _Shipped, BacktestJob]] = {}
        self._token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._jobs = 0
        self._pending: list[Future[Any]] = []

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

            remove_stale_segments()
            method = _start_method()
            ctx = multiprocessing.get_context(method)
            if method == "forkserver":
                ctx.set_forkserver_preload(["harness.plugins.strategy.sweep"])
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def _shipped(self, job: BacktestJob) -> _Shipped:
        """The job, its bars in a segment (one per bars object; the last few are kept)."""
        key = id(job.bars)
        found = self._segments.get(key)
        if found is not None and found[2].bars is job.bars:
            return _reship(job, found[1])
        self._jobs += 1
        shm, shipped = _ship(job, f"{SHM_PREFIX}{self._token}-{self._jobs}")
        self._segments[key] = (shm, shipped, job)
        while len(self._segments) > self.workers + 2:  # the backtests in flight, and one
            old = next(iter(self._segments))
            self._release(self._segments.pop(old)[0])
        return shipped

    @staticmethod
    def _release(shm: SharedMemory) -> None:
        shm.close()
        with contextlib.suppress(FileNotFoundError):
            shm.unlink()

    def _wait(self, futures: list[Future[Any]]) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` as futures finish; on any exit, cancels the rest."""
        from concurrent.futures import FIRST_COMPLETED, wait

        index = {f: i for i, f in enumerate(futures)}
        self._pending = futures
        left = set(futures)
        try:
            while left:
                done, left = wait(left, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in sorted(done, key=index.__getitem__):
                    yield index[f], f.result()
        finally:
            for f in left:
                f.cancel()
            self._pending = []

    def map(
        self,
        job: BacktestJob,
        grid: Sequence[Mapping[str, Any]],
        *,
        progress: Progress | None = None,
        set_seconds: float | None = None,
    ) -> list[SweepRow]:
        items = [dict(p) for p in grid]
        if not items:
            return []
        per_set = set_seconds or estimate_set_seconds(len(job.bars))
        batches = plan_batches(len(items), self.workers, per_set)
        shipped = self._shipped(job)
        pool = self._get_pool()
        futures = [pool.submit(_run_batch, shipped, [items[i] for i in b]) for b in batches]
        rows: list[SweepRow | None] = [None] * len(items)
        done = 0
        for k, got in self._wait(futures):
            rows[batches[k].start : batches[k].stop] = got
            done += len(got)
            if progress is not None:
                progress(done, got)
        return cast("list[SweepRow]", rows)

    def backtests(self, jobs: Sequence[BacktestJob]) -> Iterator[BacktestOutcome]:
        pool = self._get_pool()
        ahead = self.workers + 1  # results wait in memory: keep only a few in flight
        futures: list[Future[BacktestOutcome]] = []
        try:
            for i in range(len(jobs)):
                while len(futures) < min(len(jobs), i + ahead):
                    futures.append(pool.submit(_run_backtest, self._shipped(jobs[len(futures)])))
                yield futures[i].result()
        finally:
            for f in futures:
                f.cancel()

    def info(self) -> dict[str, Any]:
        return {"executor": self.kind, "workers": self.workers}

    def close(self) -> None:
        """Cancel queued batches, end the workers now, remove the shared memory."""
        pool, self._pool = self._pool, None
        if pool is not None:
            for f in self._pending:
                f.cancel()
            _terminate(pool)
        while self._segments:
            self._release(self._segments.popitem()[1][0])


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down without waiting for running tasks: cancel, terminate, reap."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    # before 3.14 the only handle on the worker processes is this attribute
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)


def make_executor(workers: int) -> SequentialExecutor | LocalPoolExecutor:
    """The local executor for ``workers``: in-process for 1, a local pool above."""
    return SequentialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
