"""Event pipeline throughput: harness's real emit path vs structlog, same run.

harness: ``ctx.emit`` of a declared plugin event type inside a real phase ->
Emitter (seq, timestamp, redaction, jsonschema-rs validation of the core and
the plugin schema) -> the built-in ``jsonl`` sink writing ``events.jsonl``.
structlog: a bound logger rendering the same fields with ``JSONRenderer`` into
a file. Prints events/s for both and the ratio (target >= 1.0).

    python benchmarks/bench_events.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEAT = 3


class Emitting:
    """A phase plugin that emits N ``bench.tick`` events and times the loop."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seconds = 0.0

    from harness import hookimpl

    @hookimpl
    def event_schemas(self) -> dict[str, Any]:
        return {
            "bench.tick": {
                "type": "object",
                "required": ["i"],
                "properties": {"i": {"type": "integer"}, "symbol": {"type": "string"}},
            }
        }

    @hookimpl
    def phase_run(self, phase: Any, ctx: Any) -> Any:
        from harness import PhaseResult

        if phase.plugin != "bench":
            return None
        emit = ctx.emit
        t0 = time.perf_counter()
        for i in range(self.n):
            emit(
                "bench.tick",
                "tick",
                level="debug",
                data={"i": i, "symbol": "AAPL"},
                metrics={"equity": 10050.0, "pnl": 50.0, "trades": 3},
            )
        self.seconds = time.perf_counter() - t0
        return PhaseResult.passed()


def bench_harness(root: Path) -> float:
    from harness import RunOptions, run

    (root / "harness.toml").write_text(
        '[harness]\nheartbeat_interval = 3600\n[phases.bench]\nplugin = "bench"\n'
    )
    plugin = Emitting(N)
    outcome = run(RunOptions(cwd=root, objects=[("bench", plugin)], verbosity=-1, autoload=False))
    assert outcome.exit_code == 0, outcome.summary
    lines = (outcome.run_dir / "events.jsonl").read_bytes().count(b"\n")  # type: ignore[operator]
    assert lines >= N, lines
    return N / plugin.seconds


def bench_structlog(root: Path) -> float:
    import structlog

    with (root / "structlog.jsonl").open("w") as fh:
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            logger_factory=structlog.WriteLoggerFactory(file=fh),
            cache_logger_on_first_use=True,
        )
        log = structlog.get_logger().bind(run_id="20261128T094525Z-3f2a1c", session_id="s")
        t0 = time.perf_counter()
        for i in range(N):
            log.debug(
                "tick",
                seq=i + 1,
                type="bench.tick",
                phase="bench",
                metrics={"equity": 10050.0, "pnl": 50.0, "trades": 3},
                data={"i": i, "symbol": "AAPL"},
            )
        seconds = time.perf_counter() - t0
    structlog.reset_defaults()
    return N / seconds


def main() -> None:
    best_h = best_s = 0.0
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as tmp:
            best_s = max(best_s, bench_structlog(Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            best_h = max(best_h, bench_harness(Path(tmp)))
    print(f"events: {N}, best of {REPEAT}")
    print(f"structlog JSON to file      : {best_s:12,.0f} events/s")
    print(f"harness validated -> jsonl  : {best_h:12,.0f} events/s")
    print(f"ratio harness / structlog   : {best_h / best_s:.2f}x  (target >= 1.0)")


if __name__ == "__main__":
    main()
