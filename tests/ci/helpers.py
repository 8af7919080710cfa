"""Shared bits of the CI plugin tests."""

from __future__ import annotations

from pathlib import Path

from harness.manager import BUILTIN_PLUGINS

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / ".." / "shared" / "data" / "junit-10.xsd"


def load_flags(*names: str) -> tuple[str, ...]:
    """``-p harness.plugins.NAME`` for plugins not (yet) in the built-in tuple."""
    return tuple(f"harness.plugins.{n}" for n in names if n not in BUILTIN_PLUGINS)


def command_phase(
    code: int = 0, out: str = "hello", timeout: float | None = None
) -> dict[str, object]:
    """A ``command`` phase printing ``out`` and exiting with ``code``."""
    script = f"import sys; print({out!r}); print('to stderr', file=sys.stderr); sys.exit({code})"
    phase: dict[str, object] = {"plugin": "command", "run": ["python3", "-c", script]}
    if timeout is not None:
        phase["timeout"] = timeout
    return phase
