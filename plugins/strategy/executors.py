"""The strategy phase's side of the executors: which one, its start, live sweep progress.

:func:`open_executor` picks the executor of a phase (:mod:`.sweep`'s local ones,
or :mod:`.dask_executor` for ``executor = "dask"``), starts it, checks that a
cluster's workers can load the strategies, and emits one ``strategy.executor``
event (with the dashboard address of a LocalCluster the phase started).
:class:`SweepProgress` keeps ``sets_done``, ``sets_total`` and the best figure of
the running sweep in ``ctx.metrics``, which every heartbeat carries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from harness import PhaseFailed
from harness.plugins.strategy.sweep import (
    SWEEP_METRICS,
    Executor,
    LocalPoolExecutor,
    Progress,
    SequentialExecutor,
    SweepRow,
)

if TYPE_CHECKING:
    from harness import PhaseContext
    from harness.plugins.strategy.settings import PhaseSettings

__all__ = ["SweepProgress", "choose_executor", "open_executor"]


def choose_executor(
    settings: PhaseSettings, ctx: PhaseContext | None, *, parallel_work: bool
) -> Executor:
    """The executor the settings ask for; in-process when there is nothing to spread.

    :param parallel_work: the phase has a sweep or more than one backtest.
    """
    if settings.executor == "dask" and parallel_work:
        from harness.plugins.strategy.dask_executor import DaskExecutor

        def on_event(type_: str, level: str, message: str, data: dict[str, Any]) -> None:
            if ctx is not None:
                ctx.emit(type_, message, level=level, data=data)  # type: ignore[arg-type]

        return DaskExecutor(
            scheduler=settings.scheduler,
            workers=settings.workers,
            threads_per_worker=settings.threads_per_worker,
            memory_limit=settings.memory_limit,
            timeout=settings.scheduler_timeout,
            on_event=on_event,
        )
    if settings.executor == "local" and settings.workers > 1 and parallel_work:
        return LocalPoolExecutor(settings.workers)
    return SequentialExecutor()


def open_executor(
    ctx: PhaseContext,
    settings: PhaseSettings,
    functions: Sequence[Callable[..., Any]],
    *,
    parallel_work: bool,
) -> Executor:
    """Choose and start the phase's executor; emit ``strategy.executor``.

    :raises PhaseFailed: the Dask extra is missing, the scheduler does not answer,
        or the workers cannot load the strategies (the executor is closed again).
    """
    executor = choose_executor(settings, ctx, parallel_work=parallel_work)
    if executor.kind == "dask":
        from harness.plugins.strategy.dask_executor import (
            DaskExecutor,
            DaskMissing,
            SchedulerUnreachable,
            WorkerSetupError,
        )

        assert isinstance(executor, DaskExecutor)
        try:
            executor.start()
            executor.check_functions(list(dict.fromkeys(functions)))
        except (DaskMissing, SchedulerUnreachable, WorkerSetupError) as exc:
            executor.close()
            raise PhaseFailed(str(exc)) from None
        except BaseException:
            executor.close()
            raise
    elif executor.kind == "local":
        executor.start(wait=False)  # workers start while the first backtests run
    info = executor.info()
    if executor.kind != "sequential":
        where = info.get("scheduler") or (
            f"a LocalCluster of {info.get('workers')} workers"
            if executor.kind == "dask"
            else f"a local pool of {info.get('workers')} processes"
        )
        message = f"sweeps and backtests run on {where}"
        if info.get("dashboard"):
            message += f"; dashboard {info['dashboard']}"
        ctx.emit("strategy.executor", message, data=info)
    return executor


class SweepProgress:
    """Live sweep figures in ``ctx.metrics``: ``sets_done``, ``sets_total``, ``best_<metric>``."""

    def __init__(self, metrics: dict[str, float | int], total: int) -> None:
        self.metrics = metrics
        self.done = 0
        if total:
            metrics["sets_total"] = total
            metrics["sets_done"] = 0

    def sweep(self, metric: str) -> Progress:
        """A progress callback for one sweep ranked by ``metric``."""
        larger = SWEEP_METRICS[metric]
        key = f"best_{metric}"
        best: list[float] = []
        self.metrics.pop(key, None)

        def progress(_count: int, rows: Sequence[SweepRow]) -> None:
            self.done += len(rows)
            self.metrics["sets_done"] = self.done
            for row in rows:
                if row.metrics is None:
                    continue
                value = float(row.metrics[metric])
                if not math.isfinite(value):
                    continue
                if not best or (value > best[0] if larger else value < best[0]):
                    best[:] = [value]
                    self.metrics[key] = value

        return progress
