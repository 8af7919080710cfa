"""The ``harness.testing`` pytest plugin itself (the ``harnesser`` fixture)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import command_phase

from harness import PhaseResult, hookimpl
from harness.testing import Harnesser

FLAKY = """
from harness import hookimpl, PhaseResult

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "flaky":
        return None
    if ctx.attempt < 3:
        raise ConnectionError(f"attempt {ctx.attempt} lost the link")
    return PhaseResult.passed("third time lucky")
"""


class ObjectPlugin:
    """A plugin given as an object (registered in-process as it is)."""

    @hookimpl
    def phase_run(self, phase: object, ctx: object) -> PhaseResult | None:
        if getattr(phase, "plugin", None) != "obj":
            return None
        return PhaseResult.skipped("nothing to do")


def test_retries_do_not_sleep(harnesser: Harnesser) -> None:
    config = {
        "plugins": {"retry": {"max_retries": 3, "base_delay": 20.0, "max_delay": 20.0}},
        "phases": {"net": {"plugin": "flaky", "timeout": 120}},
    }
    result = harnesser.run(config, plugins={"flaky": FLAKY})
    result.assert_outcomes(passed=1)
    delays = [e["data"]["delay_s"] for e in result.events_of("retry")]
    assert len(delays) == 2
    assert min(delays) > 1.0
    assert result.summary["runtime_s"] < sum(delays)  # the waits were recorded, not slept


def test_object_plugins_in_process(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"p": {"plugin": "obj"}}}, plugins={"obj": ObjectPlugin()})
    result.assert_outcomes(skipped=1)
    assert result.phase("p")["message"] == "nothing to do"
    with pytest.raises(ValueError, match="in-process"):
        harnesser.run(None, plugins={"obj": ObjectPlugin()}, subprocess=True)


def test_config_error_is_exit_4_with_a_message(harnesser: Harnesser) -> None:
    for subproc in (False, True):
        result = harnesser.run({"phases": {"p": {"plugin": "nope"}}}, subprocess=subproc)
        assert result.exit_code == 4
        assert result.run_dir is None
        assert result.events == []
        result.stderr.fnmatch_lines(["harness: error: *phases.p*"])


def test_assert_outcomes_explains(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"ok": command_phase(0)}})
    with pytest.raises(AssertionError, match=r"outcomes .*'passed': 1.* != expected"):
        result.assert_outcomes(failed=1)


def test_same_result_in_process_and_subprocess(harnesser: Harnesser) -> None:
    config = {"phases": {"ok": command_phase(0), "bad": command_phase(1)}}
    a = harnesser.run(config)
    b = harnesser.run(config, subprocess=True)
    assert a.exit_code == b.exit_code == 1
    assert [e["type"] for e in a.events] == [e["type"] for e in b.events]
    assert a.outcomes() == b.outcomes()
    lines = [[x for x in r.stdout.lines if x.startswith("[")] for r in (a, b)]
    assert lines[0] == lines[1]  # the event lines (no run directory, no timings)


def test_importing_harness_imports_neither_pytest_nor_rich() -> None:
    code = (
        "import sys, io, contextlib, harness\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    harness.run(autoload=False, overrides=['harness.runs_dir=\"runs\"'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'rich'))\n"
        "print(bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
