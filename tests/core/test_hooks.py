"""The hook contract: every spec documented, every spec fired, in the documented order."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from core_helpers import check_run, py_cmd, write

import harness
from harness import hookimpl, hookspecs


def _specs() -> dict[str, Any]:
    marker = f"{hookspecs.PROJECT}_spec"
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, marker)
    }


def test_there_are_hookspecs() -> None:
    names = set(_specs())
    required = {"phase_start", "phase_run", "heartbeat", "on_error", "summarize"}
    assert required <= names


@pytest.mark.parametrize("name", sorted(_specs()))
def test_hookspec_documented(name: str) -> None:
    fn = _specs()[name]
    doc = inspect.getdoc(fn)
    assert doc, f"{name} has no docstring"
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in doc, f"{name}: parameter {param!r} is not documented"
    returns = inspect.signature(fn).return_annotation
    if str(returns) != "None":
        assert ":returns:" in doc or "Return" in doc, f"{name}: return rule not documented"


class Recorder:
    """Implements every hook and records the order they fire in."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.events: list[Any] = []

    def _note(self, name: str) -> None:
        self.calls.append(name)

    @hookimpl
    def add_hookspecs(self, pluginmanager: Any) -> None:
        self._note("add_hookspecs")

    @hookimpl
    def addoption(self, parser: harness.OptionParser) -> None:  # CLI only: not in this run
        self._note("addoption")

    @hookimpl
    def report_sections(self, run_dir: Path, summary: Any, events: Any) -> None:
        self._note("report_sections")  # harness report only: not in this run

    @hookimpl
    def usage_error(self, error: Any, settings: Any, root: Path) -> None:
        self._note("usage_error")  # only when `harness run` stops on a usage error

    @hookimpl
    def config_schema(self) -> Mapping[str, Any]:
        self._note("config_schema")
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"label": {"type": "string", "default": "rec-default"}},
        }

    @hookimpl
    def phase_schema(self) -> Mapping[str, Any]:
        self._note("phase_schema")
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"work_s": {"type": "number", "default": 0.0}},
        }

    @hookimpl
    def event_schemas(self) -> Mapping[str, Any]:
        self._note("event_schemas")
        return {"rec.note": {"type": "object", "properties": {"attempt": {"type": "integer"}}}}

    @hookimpl
    def configure(self, config: harness.Config) -> None:
        self._note("configure")
        self.label = config.plugin_settings("rec")["label"]

    @hookimpl
    def session_start(self, session: harness.Session) -> None:
        self._note("session_start")

    @hookimpl
    def phase_start(self, phase: harness.Phase, ctx: harness.PhaseContext) -> None:
        self._note("phase_start")

    @hookimpl
    def phase_run(self, phase: harness.Phase, ctx: harness.PhaseContext) -> Any:
        self._note("phase_run")
        assert phase.plugin == "rec"  # owned hooks reach the owner only
        if ctx.attempt == 1:
            raise ConnectionError("first attempt fails")
        ctx.emit("rec.note", "second attempt", data={"attempt": ctx.attempt})
        ctx.metrics["progress"] = 0.5
        import time

        time.sleep(phase.settings["work_s"])
        return harness.PhaseResult.passed(f"label {self.label}")

    @hookimpl
    def phase_resume(self, phase: harness.Phase, ctx: harness.PhaseContext) -> None:
        self._note("phase_resume")

    @hookimpl
    def on_error(
        self, phase: harness.Phase, ctx: harness.PhaseContext, call: harness.CallInfo
    ) -> Any:
        self._note("on_error")
        assert isinstance(call.excinfo, ConnectionError)
        return harness.Retry(0.0, "recorder retries once")

    @hookimpl
    def heartbeat(self, phase: harness.Phase, ctx: harness.PhaseContext) -> Mapping[str, float]:
        self._note("heartbeat")
        return {"rec_beat": 1.0}

    @hookimpl
    def summarize(self, session: harness.Session) -> Mapping[str, Any]:
        self._note("summarize")
        return {"recorder": {"phases": [r.name for r in session.reports]}}

    @hookimpl
    def session_finish(self, session: harness.Session, exit_code: int, status: str) -> None:
        self._note("session_finish")
        self.exit_code = exit_code
        self.status = status

    @hookimpl
    def sink_event(self, event: harness.Event) -> None:
        self.events.append(event)
        if not self.calls or self.calls[-1] != "sink_event":
            self._note("sink_event")

    @hookimpl
    def sink_flush(self, durable: bool) -> None:
        self._note("sink_flush")


def test_recorder_implements_every_hook() -> None:
    implemented = {n for n, f in vars(Recorder).items() if hasattr(f, "harness_impl")}
    assert implemented == set(_specs())


def test_every_hook_fires_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_NO_SLEEP", "1")
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        heartbeat_interval = 0.05
        [plugins.rec]
        label = "from-config"
        [phases.cmd]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.work]
        plugin = "rec"
        work_s = 0.4
        """,
    )
    rec = Recorder()
    outcome = harness.run(harness.RunOptions(cwd=tmp_path, objects=[("rec", rec)], autoload=False))
    assert isinstance(outcome, harness.RunOutcome)
    assert outcome.exit_code == 0, outcome.summary
    assert outcome.run_dir is not None
    events, summary = check_run(outcome.run_dir)
    assert summary == outcome.summary
    assert summary["recorder"] == {"phases": ["cmd", "work"]}
    assert summary["phases"][1]["attempts"] == 2
    assert summary["phases"][1]["message"] == "label from-config"
    assert [r["status"] for r in summary["retries"]] == ["retried"]
    assert rec.exit_code == 0
    assert [e.seq for e in rec.events] == [e["seq"] for e in events]
    assert any(e.type == "rec.note" for e in rec.events)
    beats = [e for e in events if e["type"] == "heartbeat" and e["phase"] == "work"]
    assert beats
    assert all(b["metrics"]["rec_beat"] == 1.0 for b in beats)
    assert any(b["metrics"].get("progress") == 0.5 for b in beats)

    calls = rec.calls
    fired = set(calls)
    assert fired == set(_specs()) - {"phase_resume", "addoption", "report_sections", "usage_error"}
    assert rec.status == "success"
    order = [
        "add_hookspecs",
        "configure",
        "session_start",
        "phase_start",
        "phase_run",
        "summarize",
        "session_finish",
    ]
    firsts = [calls.index(name) for name in order]
    assert firsts == sorted(firsts), calls
    assert calls.index("config_schema") < calls.index("configure")
    assert calls.index("event_schemas") < calls.index("configure")
    assert calls[-1] == "session_finish"
    # phase hooks reach the owner only (rec owns "work", not "cmd"); phase_start fires
    # once per phase, not per attempt; phase_run once per attempt
    assert calls.count("phase_start") == 1
    assert calls.count("phase_run") == 2
    runs = [i for i, c in enumerate(calls) if c == "phase_run"]
    assert runs[0] < calls.index("on_error") < runs[1]  # between the work attempts
    last_beat = len(calls) - 1 - calls[::-1].index("heartbeat")
    assert last_beat < calls.index("summarize")

    # --resume of the finished run: every phase passed, so phase_resume fires instead
    again = Recorder()
    resumed = harness.run(cwd=tmp_path, objects=[("rec", again)], autoload=False, resume="latest")
    assert resumed.exit_code == 0
    assert resumed.run_dir == outcome.run_dir
    assert again.calls.count("phase_resume") == 1
    assert "phase_run" not in again.calls
    assert "phase_start" not in again.calls
    check_run(outcome.run_dir)


def test_failing_phase_start_fails_phase(tmp_path: Path) -> None:
    class Broken:
        @hookimpl
        def phase_start(self, phase: harness.Phase, ctx: harness.PhaseContext) -> None:
            raise RuntimeError("cannot prepare")

        @hookimpl
        def phase_run(self, phase: harness.Phase, ctx: harness.PhaseContext) -> Any:
            raise AssertionError("not reached: phase_start failed")

    write(tmp_path / "harness.toml", "[phases.a]\nplugin = 'broken'\n")
    outcome = harness.run(cwd=tmp_path, objects=[("broken", Broken())], autoload=False)
    assert outcome.exit_code == 1
    row = outcome.summary["phases"][0]
    assert row["status"] == "failed"
    assert "broken" in row["error"]
    assert "cannot prepare" in row["error"]
    check_run(outcome.run_dir)  # type: ignore[arg-type]


def test_phase_plugin_without_phase_run_is_a_config_error(tmp_path: Path) -> None:
    class NoRunner:
        @hookimpl
        def phase_schema(self) -> Mapping[str, Any]:
            return {"type": "object"}

    write(tmp_path / "harness.toml", "[phases.a]\nplugin = 'norunner'\n")
    with pytest.raises(harness.ConfigError, match=r"phases\.a\.plugin: .*phase_run"):
        harness.run(cwd=tmp_path, objects=[("norunner", NoRunner())], autoload=False)
    assert not (tmp_path / "runs").exists()


def test_phase_run_nobody_answers(tmp_path: Path) -> None:
    class Silent:
        @hookimpl
        def phase_run(self, phase: harness.Phase) -> None:
            return None  # not ours, says every plugin: nobody runs the phase

    write(tmp_path / "harness.toml", "[phases.a]\nplugin = 'silent'\n")
    outcome = harness.run(cwd=tmp_path, objects=[("silent", Silent())], autoload=False)
    assert outcome.exit_code == 3
    assert "no plugin ran phase" in outcome.summary["phases"][0]["error"]
    check_run(outcome.run_dir)  # type: ignore[arg-type]


def test_raising_summarize_and_session_finish_reported(tmp_path: Path) -> None:
    class Faulty:
        @hookimpl
        def summarize(self, session: harness.Session) -> Mapping[str, Any]:
            raise ValueError("no summary today")

    class Taken:
        @hookimpl
        def summarize(self, session: harness.Session) -> Mapping[str, Any]:
            return {"phases": "mine", "extra": {"ok": True}}

    write(tmp_path / "harness.toml", f"[phases.a]\nplugin = 'command'\nrun = {py_cmd('pass')}\n")
    outcome = harness.run(
        cwd=tmp_path, objects=[("faulty", Faulty()), ("taken", Taken())], autoload=False
    )
    summary = outcome.summary
    assert summary["extra"] == {"ok": True}
    assert summary["phases"][0]["name"] == "a"  # the core section is not replaced
    faults = {(f["plugin"], f["where"]) for f in summary["plugin_errors"]}
    assert ("faulty", "summarize") in faults
    assert ("taken", "summarize") in faults
    check_run(outcome.run_dir)  # type: ignore[arg-type]
