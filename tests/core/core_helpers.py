"""Helpers for the core end-to-end tests: run ``harness`` as a subprocess in a temp dir.

Every run's ``events.jsonl`` and ``summary.json`` are checked with
:mod:`harness.checkfile` (what ``harness validate`` runs) before a test looks at them.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PY = sys.executable
HARNESS = [PY, "-m", "harness"]


def toml_list(items: Sequence[str]) -> str:
    """A TOML array of strings (JSON string syntax is valid TOML basic-string syntax)."""
    return json.dumps(list(items))


def py_cmd(code: str) -> str:
    """A ``run = [...]`` value that runs ``code`` with this Python."""
    return toml_list([PY, "-c", textwrap.dedent(code).strip()])


def base_env(**extra: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("HARNESS_NO_SLEEP", None)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Result:
    """A finished ``harness`` subprocess."""

    code: int
    stdout: str
    stderr: str
    cwd: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def harness(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``python -m harness ARGS`` in ``cwd``."""
    proc = subprocess.run(
        [*HARNESS, *args],
        cwd=cwd,
        env=dict(env) if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr, cwd)


def start_harness(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m harness ARGS`` without waiting (signal tests)."""
    return subprocess.Popen(
        [*HARNESS, *args],
        cwd=cwd,
        env=dict(env) if env is not None else base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), "utf-8")
    return path


def latest(cwd: Path, runs_dir: str = "runs") -> Path:
    link = cwd / runs_dir / "latest"
    assert link.exists(), f"no {link}"
    return link.resolve()


def check_run(
    run_dir: Path, *, summary: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Validate ``run_dir``'s files as ``harness validate`` would; return (events, summary)."""
    from harness.checkfile import check_events, check_summary

    events_path = run_dir / "events.jsonl"
    problems = check_events(events_path)
    doc: dict[str, Any] = {}
    if summary:
        problems += check_summary(run_dir / "summary.json")
        doc = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert not problems, "\n".join(problems)
    events = [json.loads(line) for line in events_path.read_text("utf-8").splitlines()]
    return events, doc


def of_type(events: Iterable[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def phase_rows(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in summary["phases"]}


def wait_for(predicate: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    """``True`` if ``pid`` runs (a zombie, killed but not reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


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


def assert_dead(pids: Iterable[int], timeout: float = 5) -> None:
    """Every pid and its process group are gone (or zombies) within ``timeout``."""
    pids = list(pids)
    try:
        wait_for(
            lambda: not any(alive(p) for p in pids) and not any(group_alive(p) for p in pids[:1]),
            timeout,
            f"processes {pids} to die",
        )
    finally:
        for p in pids:  # never leave a sleeper behind, whatever the assertion said
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)


# A phase command that writes its pid (and a grandchild's pid) to ``pids.txt`` and sleeps.
SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open("pids.tmp", "w") as fh:
    fh.write(f"{os.getpid()} {child.pid}")
os.replace("pids.tmp", "pids.txt")
time.sleep(60)
"""


def read_pids(cwd: Path) -> list[int]:
    wait_for(lambda: (cwd / "pids.txt").exists(), what="pids.txt")
    return [int(x) for x in (cwd / "pids.txt").read_text().split()]


def run_cli(*args: str, cwd: Path) -> Result:
    """``harness ARGS`` in this process (``harness.cli.main``): for fast usage-error checks.

    The caller sets the environment (``monkeypatch``); stdout and stderr are captured.
    """
    import contextlib
    import io

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    code: int | str | None = 0
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(old)
    assert isinstance(code, int), code
    return Result(code, out.getvalue(), err.getvalue(), cwd)
