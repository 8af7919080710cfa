"""Helpers of the issue-12 tests: the ``harness`` CLI as a subprocess, environment controlled."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]


@dataclass
class Result:
    """A finished ``harness`` subprocess."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def clean_env(**extra: str) -> dict[str, str]:
    """A hermetic environment: no CI markers, no entry-point plugins, no colour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")
    }
    env.update(HARNESS_DISABLE_PLUGIN_AUTOLOAD="1", NO_COLOR="1", HARNESS_NO_SLEEP="1")
    env.update(extra)
    return env


def harness(*args: str, cwd: Path, timeout: float = 120, **env: str) -> Result:
    """``python -m harness ARGS`` in ``cwd`` with :func:`clean_env` plus ``env``."""
    proc = subprocess.run(
        [*HARNESS, *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (parents created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path
