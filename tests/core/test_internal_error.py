"""A bug inside the run loop still leaves a valid summary behind (status error, exit 3)."""

from __future__ import annotations

from pathlib import Path

from core_helpers import check_run, harness, latest, phase_rows, write

SABOTEUR = '''
"""Breaks the core's bookkeeping from inside a phase, as a bug in harness would."""
import harness.runstate
from harness import PhaseResult, hookimpl


def broken_checkpoint(self, phase):
    raise RuntimeError("checkpoint exploded")


@hookimpl
def phase_run(phase, ctx):
    harness.runstate.RunState.checkpoint = broken_checkpoint  # a test reaching in on purpose
    return PhaseResult.passed("done")
'''


def test_internal_error_writes_summary(tmp_path: Path) -> None:
    write(tmp_path / "saboteur.py", SABOTEUR)
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        plugins = ["./saboteur.py"]
        [phases.first]
        plugin = "saboteur"
        [phases.second]
        plugin = "saboteur"
        """,
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    events, summary = check_run(latest(tmp_path))
    assert summary["status"] == "error"
    assert summary["exit_code"] == 3
    rows = phase_rows(summary)
    assert rows["first"]["status"] == "passed"
    assert rows["second"]["status"] == "skipped"
    errors = [e for e in events if e["type"] == "error" and e["data"].get("internal")]
    assert errors
    assert "checkpoint exploded" in errors[0]["message"]
