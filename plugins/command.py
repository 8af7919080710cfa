"""The ``command`` plugin: run a process as a phase.

``[phases.<name>]`` with ``plugin = "command"``::

    run = ["pytest", "-q"]      # argv, no shell
    cwd = "."                   # relative to the config file
    env = { FOO = "1" }         # added to the inherited environment; values of secret-looking
                                # names (API_KEY, DB_PASSWORD...) are redacted from all output
    inherit_env = true
    tail_lines = 20             # lines of stdout/stderr kept in the result
    retryable = false           # true: a non-zero exit is retryable (the error policy decides;
                                # tune it with [phases.<name>.retry])

Exit code 0 passes. The process gets its own process group: on timeout or
interrupt the whole group is sent SIGTERM, then SIGKILL after ``kill_grace``
seconds. On Linux the process also dies with harness (``PR_SET_PDEATHSIG``:
SIGKILL when harness ends in any way, ``kill -9`` included); its own children
are its business. Other platforms have no such call: there the process is
stopped on timeout, interrupt and every exit harness lives to see, but it
outlives a ``kill -9`` of harness.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from harness import PhaseFailed, PhaseResult, RetryableError, hookimpl, is_secret_name

if TYPE_CHECKING:
    import subprocess

    from harness import Phase, PhaseContext


PHASE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["run"],
    "properties": {
        "run": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "cwd": {"type": "string", "default": "."},
        "env": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}},
        "inherit_env": {"type": "boolean", "default": True},
        "tail_lines": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 20},
        "retryable": {"type": "boolean", "default": False},
        "kill_grace": {"type": "number", "minimum": 0, "maximum": 600, "default": 2.0},
    },
}


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    return PHASE_SCHEMA


#: ``prctl(2)`` option: the signal the calling process gets when its parent dies
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die (SIGKILL) with harness; Linux only.

    ``None`` elsewhere, or when libc's ``prctl`` cannot be found.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # harness died before the call: follow it now
            os._exit(1)

    return preexec


def _pump(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in iter(stream.readline, b""):
        tail.append(raw.decode("utf-8", "replace").rstrip("\n"))
    stream.close()


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    import subprocess

    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    import subprocess

    s = phase.settings
    argv = list(s["run"])
    if ctx.dry_run:
        return PhaseResult.skipped(f"dry run: would run {argv}")
    env = dict(os.environ) if s["inherit_env"] else {}
    env.update(s["env"])
    for key, value in s["env"].items():
        if is_secret_name(key):  # API_KEY, EXCHANGE_KEY, DB_PASSWORD...: never echo it back
            ctx.add_secret(value)
    cwd = ctx.resolve_path(s["cwd"])
    tail_n = int(s["tail_lines"])
    out: deque[str] = deque(maxlen=max(tail_n, 1))
    err: deque[str] = deque(maxlen=max(tail_n, 1))
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    except FileNotFoundError:
        if not cwd.is_dir():
            raise PhaseFailed(f"cwd {str(cwd)!r} is not a folder") from None
        raise PhaseFailed(f"command not found: {argv[0]!r} (cwd {cwd})") from None
    except (PermissionError, NotADirectoryError, OSError) as exc:
        raise PhaseFailed(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    assert proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err), daemon=True),
    ]
    for t in pumps:
        t.start()
    ctx.metrics["pid"] = proc.pid
    try:
        code = proc.wait()
    except BaseException:  # timeout, SIGINT/SIGTERM: take the whole group down
        _kill_group(proc, float(s["kill_grace"]))
        raise
    finally:
        for t in pumps:
            t.join(timeout=2)
        ctx.metrics.pop("pid", None)
    data = {
        "argv": [ctx.redact(a) for a in argv],
        "exit_code": code,
        "stdout_tail": [ctx.redact(x) for x in list(out)[-tail_n:]] if tail_n else [],
        "stderr_tail": [ctx.redact(x) for x in list(err)[-tail_n:]] if tail_n else [],
    }
    if code == 0:
        return PhaseResult.passed("exit code 0", data=data, metrics={"exit_code": 0})
    last = (list(err) or list(out) or [""])[-1]
    message = ctx.redact(f"{argv[0]} exited with code {code}" + (f": {last}" if last else ""))
    if s["retryable"]:
        raise RetryableError(message)
    return PhaseResult.failed(message, data=data, metrics={"exit_code": code})
