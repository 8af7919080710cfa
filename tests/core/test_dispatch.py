"""One dispatch path: pluggy's order, tryfirst/trylast and wrappers on every hook; phase
hooks reach the owner only; tracebacks of unexpected exceptions are recorded and shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pluggy
import pytest
from core_helpers import check_run, harness, latest, of_type, phase_rows, py_cmd, write

import harness as harness_api
from harness import call_isolated, hookimpl, hookspec

ORDER = """
from harness import hookimpl

SEEN = []

class First:
    @hookimpl(tryfirst=True)
    def sink_event(self, event):
        if event.type == "session_start":
            SEEN.append("first")


class Last:
    @hookimpl(trylast=True)
    def sink_event(self, event):
        if event.type == "session_start":
            SEEN.append("last")


first, last = First(), Last()


@hookimpl
def session_start(session):
    pm = session.pluginmanager
    pm.register(last, name="order.last")      # registered first: would run last anyway
    pm.register(first, name="order.first")


@hookimpl(wrapper=True)
def sink_event(event):
    if event.type == "session_start":
        SEEN.append("wrapper-before")
    result = yield
    if event.type == "session_start":
        SEEN.append("wrapper-after")
    return result


@hookimpl(wrapper=True)
def phase_run(phase, ctx):
    SEEN.append("wrapped " + phase.name)
    return (yield)


@hookimpl
def summarize(session):
    return {"order": SEEN}
"""


def test_sinks_follow_pluggy_order_and_wrappers_run(tmp_path: Path) -> None:
    write(tmp_path / "order.py", ORDER)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./order.py"]
        [phases.a]
        plugin = "command"
        run = {py_cmd("pass")}
        """,
    )
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    seen = summary["order"]
    # the wrapper wraps the whole call; inside it tryfirst runs before trylast
    assert seen[:4] == ["wrapper-before", "first", "last", "wrapper-after"], seen
    assert "wrapped a" in seen  # a wrapper of phase_run wraps another plugin's phase


GREEDY = """
from harness import PhaseResult, hookimpl

@hookimpl
def phase_run(phase, ctx):          # forgot to check phase.plugin: must not matter
    return PhaseResult.failed("greedy ran " + phase.name)

@hookimpl
def phase_start(phase, ctx):
    raise RuntimeError("greedy phase_start must not be called for " + phase.name)
"""


def test_phase_hooks_reach_the_owner_only(tmp_path: Path) -> None:
    write(tmp_path / "greedy.py", GREEDY)
    write(
        tmp_path / "harness.toml",
        f"""
        [harness]
        plugins = ["./greedy.py"]
        [phases.cmd]
        plugin = "command"
        run = {py_cmd("pass")}
        [phases.mine]
        plugin = "greedy"
        """,
    )
    result = harness("run", "-q", cwd=tmp_path)
    rows = phase_rows(check_run(latest(tmp_path))[1])
    assert rows["cmd"]["status"] == "passed"
    assert rows["mine"]["status"] == "failed"
    assert "phase_start of plugin 'greedy' failed" in rows["mine"]["error"]
    assert result.code == 1


BOOM = """
from harness import hookimpl

def helper():
    raise RuntimeError("boom")

@hookimpl
def phase_run(phase, ctx):
    helper()

@hookimpl
def heartbeat(phase, ctx):
    raise KeyError("bad beat")
"""


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ((), "hint"),
        (("-v",), "short"),
        (("--tb=long",), "long"),
        (("--tb=line",), "line"),
        (("--tb=no",), "none"),
    ],
)
def test_unexpected_exception_keeps_its_traceback(
    tmp_path: Path, args: tuple[str, ...], shown: str
) -> None:
    write(tmp_path / "boom.py", BOOM)
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        plugins = ["./boom.py"]
        heartbeat_interval = 0.05
        [phases.b]
        plugin = "boom"
        [plugins.retry]
        max_retries = 0
        """,
    )
    result = harness("run", *args, cwd=tmp_path)
    assert result.code == 1, result.output
    events, summary = check_run(latest(tmp_path))
    row = phase_rows(summary)["b"]
    assert row["error"] == "RuntimeError: boom"
    frames = row["traceback"]["frames"]
    assert [f["function"] for f in frames][-2:] == ["phase_run", "helper"]
    assert frames[-1]["source"] == 'raise RuntimeError("boom")'
    assert all("/harness/runner.py" not in f["file"] for f in frames)  # core frames pruned
    gave_up = [e for e in of_type(events, "error") if e["data"].get("error_type")]
    assert gave_up[0]["data"]["traceback"]["type"] == "RuntimeError"
    end = of_type(events, "phase_end")[0]
    assert end["data"]["traceback"]["message"] == "boom"
    out = result.stdout
    assert "Traceback" not in result.stderr
    if shown == "short" or shown == "long":
        assert "Traceback (most recent call last):" in out
        assert 'raise RuntimeError("boom")' in out
        assert "in helper" in out
    elif shown == "line":
        assert re.search(r"boom\.py:\d+: RuntimeError: boom", out), out
    else:
        assert "Traceback (most recent call last)" not in out
        assert ("-v or --tb=short shows it" in out) == (shown == "hint")


def test_plain_failures_have_no_traceback(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        f'[phases.a]\nplugin = "command"\nrun = {py_cmd("raise SystemExit(3)")}\n',
    )
    result = harness("run", "-v", cwd=tmp_path)
    assert result.code == 1
    _, summary = check_run(latest(tmp_path))
    assert "traceback" not in phase_rows(summary)["a"]
    assert "Traceback" not in result.output


def test_events_file_is_owned_by_the_core(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        '[plugins.jsonl]\npath = "log.jsonl"\n[phases.a]\nplugin = "command"\nrun = ["true"]\n',
    )
    result = harness("run", cwd=tmp_path)
    assert result.code == 4
    assert "plugins.jsonl.path" in result.stderr
    assert "unknown key 'path'" in result.stderr


def test_plugin_options_are_listed_and_unknown_ones_refused(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", '[phases.a]\nplugin = "command"\nrun = ["true"]\n')
    helped = harness("run", "--help", cwd=tmp_path)
    assert helped.code == 0
    assert "--junit-xml" in helped.stdout
    assert "--tb" in helped.stdout
    assert "plugins.junit.path" in helped.stdout
    bad = harness("run", "--no-such-option", cwd=tmp_path)
    assert bad.code == 4
    assert "no such option: --no-such-option" in bad.stderr
    choice = harness("run", "--tb=sideways", cwd=tmp_path)
    assert choice.code == 4
    assert "sideways" in choice.stderr
    gone = harness("run", "-p", "no:junit", "--junit-xml", "x.xml", cwd=tmp_path)
    assert gone.code == 4  # a disabled plugin adds no option
    ok = harness("run", "--junit-xml", "out/j.xml", "--tb=line", cwd=tmp_path)
    assert ok.code == 0, ok.output
    assert (tmp_path / "out" / "j.xml").is_file()
    config = (latest(tmp_path) / "config.toml").read_text()
    assert 'tb = "line"' in config
    assert json.dumps(str(tmp_path / "out" / "j.xml")) in config


class _Spec:
    @hookspec
    def probe(self, value: int) -> int:  # type: ignore[empty-body]
        """A hook for the isolation tests."""


class _Good:
    def __init__(self, name: str, result: int) -> None:
        self.name, self.result = name, result

    @hookimpl
    def probe(self, value: int) -> int:
        return value + self.result


class _Bad:
    @hookimpl
    def probe(self, value: int) -> int:
        raise ValueError("bad probe")


class _BadWrapper:
    @hookimpl(wrapper=True)
    def probe(self, value: int) -> object:
        yield
        raise RuntimeError("wrapper broke")


def _manager(*plugins: tuple[str, object]) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("harness")
    pm.add_hookspecs(_Spec)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    return pm


def test_call_isolated_names_each_failure_and_keeps_the_others() -> None:
    pm = _manager(("a", _Good("a", 1)), ("bad", _Bad()), ("c", _Good("c", 3)))
    results = call_isolated(pm, "probe", value=10)
    assert [(r.plugin, r.value) for r in results if r.error is None] == [("c", 13), ("a", 11)]
    assert [r.plugin for r in results if r.error is not None] == ["bad"]
    # guards are transparent outside an isolated call: pluggy's own semantics
    with pytest.raises(ValueError, match="bad probe"):
        pm.hook.probe(value=1)
    skipped = call_isolated(pm, "probe", skip={"bad", "c"}, value=0)
    assert [(r.plugin, r.value) for r in skipped] == [("a", 1)]


def test_call_isolated_blames_a_raising_wrapper() -> None:
    pm = _manager(("a", _Good("a", 1)), ("wrap", _BadWrapper()))
    results = call_isolated(pm, "probe", value=1)
    assert [(r.plugin, r.value) for r in results if r.error is None] == [("a", 2)]
    failed = [r for r in results if r.error is not None]
    assert [r.plugin for r in failed] == ["wrap"]
    assert isinstance(failed[0].error, RuntimeError)


def test_exit_codes_have_one_mapping() -> None:
    assert [c.status for c in harness_api.ExitCode] == [
        "success",
        "failed",
        "interrupted",
        "error",
        "error",
        "success",
    ]
    assert harness_api.status_for(3) == "error"
    with pytest.raises(ValueError, match="7"):
        harness_api.status_for(7)
