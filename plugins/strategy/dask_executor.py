"""Sweeps and backtests on a Dask cluster (``executor = "dask"``; the ``harness[dask]`` extra).

:class:`DaskExecutor` connects to an existing scheduler (``scheduler =
"tcp://host:8786"``) or starts a :class:`distributed.LocalCluster` of
``workers`` processes and closes it again. Work is shaped for a cluster:

* each symbol's bars are scattered once to every worker (``broadcast``); tasks
  carry only the strategy, the engine options and their batch of parameter sets;
* parameter sets are dealt into contiguous batches of about two seconds,
  several per worker (:func:`~.sweep.plan_batches`), and the rows put back in
  grid order; each worker keeps one :class:`~.sweep.IndicatorCache` per symbol;
* every batch runs :func:`~.sweep.evaluate_batch`, as the local executors do,
  so the rows are identical to a sequential run's, bit for bit.

What the workers need: the same versions of ``harness`` (with ``numpy``) as the
driver, and every package a strategy function comes from. Strategy functions
travel by reference (module and name), except those of plugins loaded from a
``.py`` file, which travel by value (``cloudpickle.register_pickle_by_value``).
:meth:`DaskExecutor.check_functions` checks once at start that every worker
can load them and reports a clear error otherwise.

Interrupts: an exception (SIGTERM, the phase timeout) while waiting cancels
every outstanding future; :meth:`DaskExecutor.close` closes a cluster the
executor started (scheduler, nannies, workers). A worker lost mid-sweep: Dask
runs its batches again elsewhere, and the executor reports it through
``on_event``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import queue
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.plugins.strategy.sweep import (
    BacktestJob,
    BacktestOutcome,
    IndicatorCache,
    Progress,
    SweepRow,
    _Closing,
    estimate_set_seconds,
    evaluate_batch,
    plan_batches,
    run_backtest,
)

if TYPE_CHECKING:
    from harness import Bars

#: ``distributed``'s objects (the package is optional and untyped)
Client = Any
Future = Any

__all__ = [
    "DASK_EXTRA",
    "DaskExecutor",
    "DaskMissing",
    "SchedulerUnreachable",
    "WorkerSetupError",
    "check_reachable",
    "import_distributed",
]

#: the optional dependency set that brings Dask
DASK_EXTRA = "harness[dask]"
#: how often a batch the cluster cancelled (its worker died holding its input) is sent again
RESUBMITS = 3

#: what a worker's environment must not get from ``distributed``'s defaults
#: (``MALLOC_TRIM_THRESHOLD_`` made backtests 15-50 % slower)
UNSET_ON_WORKERS = ("MALLOC_TRIM_THRESHOLD_",)

#: variables a LocalCluster's nannies write into this process's environment
#: (``distributed.nanny.pre-spawn-environ`` and ``PYTHONHASHSEED``): restored after
DRIVER_ENV_KEEP = (
    "MALLOC_TRIM_THRESHOLD_",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "PYTHONHASHSEED",
)


class DaskMissing(ImportError):
    """``dask.distributed`` cannot be imported: the extra is not installed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"executor 'dask' needs the {DASK_EXTRA} extra: pip install '{DASK_EXTRA}' ({reason})"
        )


class SchedulerUnreachable(ConnectionError):
    """The configured scheduler did not answer."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        super().__init__(f"cannot reach the Dask scheduler at {address}: {reason}")


class WorkerSetupError(RuntimeError):
    """The workers cannot run the job (a module or a version missing on them)."""


def import_distributed() -> Any:
    """``distributed``, imported now; :class:`DaskMissing` if the extra is not installed."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise DaskMissing(str(exc) or type(exc).__name__) from None


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Open (and close) a TCP connection to a ``tcp://host:port`` scheduler address.

    Other schemes (``tls://``, ``ucx://``, ...) are not checked here; the
    executor's own connection reports them. :raises SchedulerUnreachable:
    """
    import socket

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", ""):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise SchedulerUnreachable(address, str(exc)) from None
    if not host or not port:
        raise SchedulerUnreachable(address, "expected tcp://host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise SchedulerUnreachable(address, reason.lower()) from None


@contextlib.contextmanager
def _driver_env_kept() -> Iterator[None]:
    """Give the variables of :data:`DRIVER_ENV_KEEP` back their values on the way out."""
    saved = {k: os.environ.get(k) for k in DRIVER_ENV_KEEP}
    try:
        yield
    finally:
        _restore_env(saved)


def _restore_env(saved: Mapping[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def importable_by_name(module: Any) -> bool:
    """Whether a fresh process would find ``module`` by its name (asked of the import finders).

    Plugins loaded from a ``.py`` file live under a module name (for example
    ``harness_local_plugins.x``) that exists only in the process that loaded them.
    """
    name: str = module.__name__
    origin = getattr(module, "__file__", None)
    if origin is None:
        return True  # built in, or a namespace: nothing to send
    parent_name, _, _ = name.rpartition(".")
    path = None
    if parent_name:
        parent = sys.modules.get(parent_name)
        path = getattr(parent, "__path__", None)
        if path is None:
            return False  # a made-up parent package
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, path)
        except Exception:  # a finder's own trouble: ask the next one
            continue
        if spec is not None:
            found = spec.origin
            return found is not None and os.path.realpath(found) == os.path.realpath(origin)
    return False


def _by_value(fn: Callable[..., Any]) -> None:
    """Send ``fn``'s module by value when a worker could not import it by name."""
    cloudpickle = importlib.import_module("cloudpickle")
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None or module.__name__ in ("__main__", "builtins"):
        return
    if not importable_by_name(module):
        with contextlib.suppress(ValueError):  # already registered
            cloudpickle.register_pickle_by_value(module)


# -- worker side ----------------------------------------------------------------

#: worker side: indicator caches by the key of the scattered bars (a few at a time)
_caches: OrderedDict[str, IndicatorCache] = OrderedDict()
_caches_lock = threading.Lock()


def _cache_for(key: str) -> IndicatorCache:
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = IndicatorCache()
            while len(_caches) > 2:
                _caches.popitem(last=False)
        return cache


def _batch(blank: BacktestJob, bars: Bars, key: str, grid: list[dict[str, Any]]) -> list[SweepRow]:
    """Worker side: one batch of a sweep, on the worker's copy of the bars."""
    job = dataclasses.replace(blank, bars=bars)
    return evaluate_batch(job, grid, _cache_for(key))


def _backtest(blank: BacktestJob, bars: Bars) -> BacktestOutcome:
    """Worker side: one plain backtest."""
    return run_backtest(dataclasses.replace(blank, bars=bars))


def _probe(fns: list[Callable[..., Any]]) -> dict[str, str]:
    """Worker side: the versions that decide the results (the functions arrived: unpickled)."""
    import numpy

    from harness import __version__

    return {"harness": __version__, "numpy": numpy.__version__, "functions": str(len(fns))}


# -- driver side ------------------------------------------------------------------

OnEvent = Callable[[str, str, str, dict[str, Any]], None]  # (type, level, message, data)


class DaskExecutor(_Closing):
    """Runs sweeps and backtests on a Dask cluster; see the module docstring.

    :param scheduler: address of a running scheduler; ``None`` starts a LocalCluster.
    :param workers: LocalCluster worker processes.
    :param threads_per_worker: LocalCluster threads per worker.
    :param memory_limit: LocalCluster memory limit per worker (``"auto"``, ``"4GiB"``, 0).
    :param timeout: seconds to wait for the scheduler (connect) and for start-up.
    :param on_event: called with ``(type, level, message, data)`` for what the
        phase should report (a worker lost).
    """

    kind = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 2,
        threads_per_worker: int = 1,
        memory_limit: str | int = "auto",
        timeout: float = 10.0,
        on_event: OnEvent | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.memory_limit = memory_limit
        self.timeout = timeout
        self.on_event = on_event
        self.dashboard: str | None = None
        self._client: Client | None = None
        self._cluster: Any = None
        self._scattered: OrderedDict[int, tuple[Bars, Future]] = OrderedDict()
        self._workers_seen: set[str] = set()
        self._lost: list[str] = []
        self._env = {k: os.environ.get(k) for k in DRIVER_ENV_KEEP}

    # -- life cycle ---------------------------------------------------------------
    def start(self, *, wait: bool = True) -> None:
        """Connect to the scheduler or start the LocalCluster (always waits)."""
        if self._client is not None:
            return
        distributed = import_distributed()
        import dask

        if self.scheduler is not None:
            check_reachable(self.scheduler, timeout=min(self.timeout, 5.0))
            try:
                self._client = distributed.Client(
                    self.scheduler, timeout=self.timeout, set_as_default=False
                )
            except OSError as exc:
                raise SchedulerUnreachable(self.scheduler, str(exc)) from None
        else:
            self._env = {k: os.environ.get(k) for k in DRIVER_ENV_KEEP}
            unset = {f"distributed.nanny.pre-spawn-environ.{k}": None for k in UNSET_ON_WORKERS}
            try:
                with dask.config.set(unset), _driver_env_kept():
                    self._cluster = distributed.LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=self.threads_per_worker,
                        memory_limit=self.memory_limit,
                        processes=True,
                        dashboard_address=":0",
                        silence_logs=40,  # logging.ERROR
                        timeout=max(self.timeout, 30.0),
                    )
                    self._client = distributed.Client(self._cluster, set_as_default=False)
            except BaseException:
                self.close()
                raise
            self.dashboard = self._client.dashboard_link
        self._workers_seen = set(self._workers())

    def _workers(self) -> list[str]:
        """The workers the scheduler knows now (asked, not cached)."""
        assert self._client is not None
        nthreads: Mapping[str, int] = self._client.nthreads()
        return list(nthreads)

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"executor": self.kind}
        if self._client is not None:
            out["workers"] = len(self._workers_seen)
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
        else:
            out["threads_per_worker"] = self.threads_per_worker
        if self.dashboard:
            out["dashboard"] = self.dashboard
        return out

    def close(self) -> None:
        """Cancel outstanding work, disconnect, close a cluster this executor started."""
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        self._scattered.clear()
        try:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=10)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=10)
        finally:
            if cluster is not None:
                _restore_env(self._env)

    def _client_or_start(self) -> Client:
        if self._client is None:
            self.start()
        assert self._client is not None
        return self._client

    # -- what workers need ------------------------------------------------------
    def check_functions(self, fns: Sequence[Callable[..., Any]]) -> None:
        """Check once that every worker can load ``fns`` and has harness's versions.

        :raises WorkerSetupError: naming what to install on the workers.
        """
        import numpy

        from harness import __version__

        client = self._client_or_start()
        for fn in fns:
            _by_value(fn)
        names = ", ".join(f"{f.__module__}.{f.__qualname__}" for f in fns)
        try:
            got: Mapping[str, Mapping[str, str]] = client.run(_probe, list(fns))
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise WorkerSetupError(
                f"the Dask workers cannot load the strategy functions ({names}): {first}; "
                f"install harness ({DASK_EXTRA}, version {__version__}) and the packages "
                "of these strategies on every worker and on the scheduler"
            ) from None
        want = {"harness": __version__, "numpy": numpy.__version__}
        for worker, versions in got.items():
            for package, version in want.items():
                if versions.get(package) != version:
                    raise WorkerSetupError(
                        f"Dask worker {worker} has {package} {versions.get(package)}, this "
                        f"process {version}: install the same version on every worker "
                        "(results must be identical)"
                    )

    # -- work -----------------------------------------------------------------------
    def _bars_future(self, bars: Bars) -> Future:
        """The bars, scattered to every worker once (the last two symbols are kept)."""
        client = self._client_or_start()
        found = self._scattered.get(id(bars))
        if found is not None and found[0] is bars:
            return found[1]
        future = client.scatter(bars, broadcast=True, hash=False)
        self._scattered[id(bars)] = (bars, future)
        while len(self._scattered) > 2:
            self._scattered.popitem(last=False)
        return future

    def _blank(self, job: BacktestJob) -> BacktestJob:
        _by_value(job.fn)
        return dataclasses.replace(job, bars=None)  # type: ignore[arg-type]

    def _gather(
        self,
        futures: list[Future],
        resubmit: Callable[[int], Future] | None = None,
    ) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` as futures finish; cancels the rest on any exit.

        A future cancelled by the cluster (its worker died with the only copy of
        its input, "already forgotten") is submitted again through ``resubmit``,
        at most :data:`RESUBMITS` times, after the lost worker is reported.
        """
        client = self._client_or_start()
        done: queue.Queue[int] = queue.Queue()

        def watch(k: int) -> None:
            futures[k].add_done_callback(lambda _f, k=k: done.put(k))

        for k in range(len(futures)):
            watch(k)
        left = len(futures)
        tries = [0] * len(futures)
        checked = time.monotonic()
        try:
            while left:
                if time.monotonic() - checked >= 1.0:
                    self._watch_workers()
                    checked = time.monotonic()
                try:
                    k = done.get(timeout=1.0)
                except queue.Empty:
                    continue
                if futures[k].cancelled() and resubmit is not None and tries[k] < RESUBMITS:
                    self._watch_workers()
                    tries[k] += 1
                    futures[k] = resubmit(k)
                    watch(k)
                    continue
                left -= 1
                yield k, futures[k].result()
            self._watch_workers()
        finally:
            outstanding = [f for f in futures if not f.done()]
            if outstanding:
                with contextlib.suppress(Exception):
                    client.cancel(outstanding, force=True)

    def _watch_workers(self) -> None:
        """Report workers that left the cluster (Dask runs their tasks again elsewhere)."""
        now = set(self._workers())
        if self._cluster is not None:
            _restore_env(self._env)  # a nanny restarting a worker wrote them again
        lost = sorted(self._workers_seen - now)
        self._workers_seen = now
        for worker in lost:
            self._lost.append(worker)
            if self.on_event is not None:
                self.on_event(
                    "strategy.worker_lost",
                    "warning",
                    f"Dask worker {worker} was lost; Dask runs its batches again on the "
                    f"other workers ({len(now)} left)",
                    {"worker": worker, "workers_left": len(now)},
                )

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
        client = self._client_or_start()
        blank = self._blank(job)
        per_set = set_seconds or estimate_set_seconds(len(job.bars))
        slots = max(1, len(self._workers_seen)) * self.threads_per_worker
        batches = plan_batches(len(items), slots, per_set)

        def submit(k: int) -> Future:
            scattered = self._bars_future(job.bars)
            grid_k = [items[i] for i in batches[k]]
            return client.submit(_batch, blank, scattered, scattered.key, grid_k, pure=False)

        def again(k: int) -> Future:
            self._scattered.pop(id(job.bars), None)  # its copies may have died with a worker
            return submit(k)

        futures = [submit(k) for k in range(len(batches))]
        rows: list[SweepRow | None] = [None] * len(items)
        count = 0
        for k, got in self._gather(futures, again):
            rows[batches[k].start : batches[k].stop] = got
            count += len(got)
            if progress is not None:
                progress(count, got)
        return rows  # type: ignore[return-value]

    def backtests(self, jobs: Sequence[BacktestJob]) -> Iterator[BacktestOutcome]:
        client = self._client_or_start()
        ahead = max(1, len(self._workers_seen)) + 1
        futures: list[Future] = []
        try:
            for i in range(len(jobs)):
                while len(futures) < min(len(jobs), i + ahead):
                    job = jobs[len(futures)]
                    bars = self._bars_future(job.bars)
                    futures.append(client.submit(_backtest, self._blank(job), bars, pure=False))
                yield futures[i].result()
        finally:
            outstanding = [f for f in futures if not f.done()]
            if outstanding:
                with contextlib.suppress(Exception):
                    client.cancel(outstanding, force=True)
