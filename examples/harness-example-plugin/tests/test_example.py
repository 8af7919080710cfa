"""Tests of the example plugin, written with the ``harnesser`` fixture of ``harness.testing``."""

from __future__ import annotations

import harness_example.plugin

from harness.testing import Harnesser


def test_phase_passes_and_emits_ticks(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"hello": {"plugin": "example", "count": 3}}})
    assert result.exit_code == 0
    result.assert_outcomes(passed=1)
    ticks = result.events_of("example.tick", phase="hello")
    assert [e["data"] for e in ticks] == [{"tick": i, "total": 3} for i in (1, 2, 3)]
    assert result.summary["example"] == {"phases": ["hello"], "ticks": 3}
    result.stdout.fnmatch_lines(["*hello: passed: 3 ticks*"])


def test_fail_at(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"hello": {"plugin": "example", "count": 5, "fail_at": 2}}})
    assert result.exit_code == 1
    result.assert_outcomes(failed=1)
    assert "fail_at = 2 reached" in result.phase("hello")["error"]
    assert len(result.events_of("example.tick")) == 2


def test_heartbeat_carries_the_tick_rate(harnesser: Harnesser) -> None:
    """A short heartbeat interval and a phase that really waits: heartbeats carry our metric.

    The fixture makes ``ctx.sleep`` return at once (``HARNESS_NO_SLEEP=1``);
    this test switches that off so that the phase lasts about 0.3 s.
    """
    result = harnesser.run(
        {
            "harness": {"heartbeat_interval": 0.05},
            "phases": {"hello": {"plugin": "example", "count": 3, "interval": 0.1}},
        },
        env={"HARNESS_NO_SLEEP": ""},
    )
    result.assert_outcomes(passed=1)
    beats = result.events_of("heartbeat", phase="hello")
    assert beats, "no heartbeat in 0.3 s with a 0.05 s interval"
    assert all("ticks_per_s" in b["metrics"] and "ticks" in b["metrics"] for b in beats)


def test_bad_settings_are_a_config_error(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"hello": {"plugin": "example", "count": -1}}})
    assert result.exit_code == 4
    result.stderr.fnmatch_lines(["*phases.hello.count*"])


def test_registered_as_an_object_without_autoload(harnesser: Harnesser) -> None:
    result = harnesser.run(
        {"phases": {"hello": {"plugin": "example", "count": 1}}},
        plugins={"example": harness_example.plugin},
        autoload=False,
    )
    result.assert_outcomes(passed=1)


def test_as_a_subprocess_through_the_entry_point(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"hello": {"plugin": "example"}}}, subprocess=True)
    result.assert_outcomes(passed=1)
    assert result.events_of("example.tick")
    example = [p for p in result.summary["plugins"] if p["name"] == "example"]
    assert example == [
        {
            "name": "example",
            "source": "entry point",
            "dist": "harness-example-plugin",
            "version": "0.1.0",
        }
    ]


def test_harmless_when_not_configured(harnesser: Harnesser) -> None:
    result = harnesser.run(
        {"phases": {"env": {"plugin": "command", "run": ["python3", "-c", "pass"]}}}
    )
    result.assert_outcomes(passed=1)
    assert "example" not in result.summary
