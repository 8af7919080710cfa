"""Helpers of the fault suite: ``harness run`` subprocesses with a plugin that hangs.

The plugin ``hang.py`` hangs (``time.sleep(3600)``) once in the hook named by
``HANG_HOOK``, after writing that name to ``hang.mark`` so that a test knows
when to send its signal. ``HANG_STUBBORN=1`` makes the hang swallow every
exception (a plugin that ignores interrupts).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PY = sys.executable

HANG_PLUGIN = '''
"""A plugin that hangs once in the hook named by HANG_HOOK."""
import os
import time

from harness import PhaseResult, hookimpl

HOOK = os.environ.get("HANG_HOOK", "")
_done = set()


def _hang(where):
    if HOOK != where or where in _done:
        return
    _done.add(where)
    with open("hang.tmp", "w") as fh:
        fh.write(where)
    os.replace("hang.tmp", "hang.mark")
    if os.environ.get("HANG_STUBBORN"):
        while True:
            try:
                time.sleep(3600)
            except BaseException:
                pass
    time.sleep(3600)


@hookimpl
def event_schemas():
    return {"hang.tick": {"type": "object"}}


@hookimpl
def configure(config):
    _hang("configure")


@hookimpl
def session_start(session):
    _hang("session_start")


@hookimpl
def sink_event(event):
    if event.type == "phase_start":
        _hang("sink_event")
    elif event.type == "heartbeat":
        _hang("sink_event_thread")
    elif event.type == "hang.tick":
        _hang("sink_event_phase")


@hookimpl
def sink_flush(durable):
    _hang("sink_flush")


@hookimpl
def heartbeat(phase, ctx):
    _hang("heartbeat")
    return {}


@hookimpl
def on_error(phase, ctx, call):
    _hang("on_error")


@hookimpl
def summarize(session):
    _hang("summarize")


@hookimpl
def session_finish(session):
    _hang("session_finish")


@hookimpl
def phase_run(phase, ctx):
    if HOOK == "on_error":
        raise RuntimeError("fails once, so that on_error is asked")
    ctx.emit("hang.tick", "tick", data={})
    _hang("phase_run")
    time.sleep(float(os.environ.get("HANG_PHASE_S", "0.2")))
    return PhaseResult.passed("ok")
'''


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("HARNESS_NO_SLEEP", None)
    env.update(extra)
    return env


def make_project(
    cwd: Path, *, hook_timeout: Mapping[str, float] | None = None, extra: str = ""
) -> Path:
    """``harness.toml`` and ``hang.py`` in ``cwd``: one phase ``work`` run by ``hang``."""
    (cwd / "hang.py").write_text(textwrap.dedent(HANG_PLUGIN).lstrip(), "utf-8")
    timeouts = "".join(f"{k} = {v}\n" for k, v in (hook_timeout or {}).items())
    (cwd / "harness.toml").write_text(
        textwrap.dedent(
            """
            [harness]
            plugins = ["./hang.py"]
            heartbeat_interval = 0.1
            {extra}
            [harness.hook_timeout]
            {timeouts}
            [phases.work]
            plugin = "hang"
            timeout = 30
            """
        ).format(extra=extra, timeouts=timeouts),
        "utf-8",
    )
    return cwd


@dataclass
class Done:
    """A finished ``harness`` process."""

    code: int
    stdout: str
    stderr: str
    seconds: float


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``python -m harness run ARGS`` in its own process group."""
    return subprocess.Popen(
        [PY, "-m", "harness", "run", *args],
        cwd=cwd,
        env=base_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> Done:
    """Wait for ``proc`` (killing its group if it hangs: then the test fails)."""
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, err = proc.communicate()
        raise AssertionError(f"harness did not end within {timeout} s:\n{out}\n{err}") from None
    finally:
        assert_group_gone(proc.pid)
    return Done(proc.returncode, out, err, time.monotonic() - t0)


def run(cwd: Path, *args: str, timeout: float = 60, **env: str) -> Done:
    return finish(start(cwd, *args, **env), timeout)


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            kill_group(proc.pid)
            _, err = proc.communicate()
            raise AssertionError(f"{path.name} never appeared (exit {proc.returncode}):\n{err}")
        time.sleep(0.02)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def assert_group_gone(pgid: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() > deadline:
            left = group_alive(pgid)
            kill_group(pgid)
            raise AssertionError(f"processes left behind: {left}")
        time.sleep(0.05)


def validate(path: Path) -> None:
    """``harness validate PATH`` passes (the real command, as a user would run it)."""
    proc = subprocess.run(
        [PY, "-m", "harness", "validate", str(path)],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"harness validate {path}: {proc.stdout}{proc.stderr}"


def check_files(run_dir: Path, *, summary: bool = True) -> None:
    """Every file of ``run_dir`` passes :mod:`harness.checkfile` (what validate runs)."""
    from harness.checkfile import check_events, check_summary

    problems = check_events(run_dir / "events.jsonl")
    if summary:
        problems += check_summary(run_dir / "summary.json")
    assert not problems, "\n".join(problems)


def events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def summary(run_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir / "summary.json").read_text("utf-8"))
    return doc


def named_errors(run_dir: Path) -> list[str]:
    """Plugins named in ``summary.json`` ``plugin_errors``."""
    return [e["plugin"] for e in summary(run_dir)["plugin_errors"]]
