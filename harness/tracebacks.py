"""Where an unexpected exception came from, as data (events, summary, console ``--tb``).

A user's mistake or a phase's verdict (:class:`~harness.HarnessError`:
``PhaseFailed``, ``RetryableError``, ``ConfigError``...) is one line and has no
traceback. Anything else is a bug in a plugin (or in harness) and is recorded
with the frames that lead to it, as pytest prunes its own frames from a test's
traceback: frames inside harness's core and pluggy are left out.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pluggy

from harness.errors import HarnessError

__all__ = ["describe", "format_traceback", "is_unexpected"]

_CORE = Path(__file__).resolve().parent
_PLUGGY = Path(pluggy.__file__).resolve().parent
#: frames kept at most (the innermost ones)
MAX_FRAMES = 30


def is_unexpected(exc: BaseException) -> bool:
    """Whether ``exc`` is a bug worth a traceback (not a verdict or a user error)."""
    return isinstance(exc, Exception) and not isinstance(exc, HarnessError)


def _internal(filename: str) -> bool:
    path = Path(filename).resolve()
    if path.is_relative_to(_PLUGGY):
        return True
    # harness's core, but not the built-in plugins (harness.plugins) and not the
    # editable-install layout where plugins/ sits beside harness/
    return path.is_relative_to(_CORE) and not path.is_relative_to(_CORE / "plugins")


def describe(exc: BaseException) -> dict[str, Any]:
    """``{"type", "message", "frames": [{"file", "line", "function", "source"}]}``."""
    frames = traceback.extract_tb(exc.__traceback__)
    kept = [f for f in frames if not _internal(f.filename)] or list(frames)[-1:]
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "frames": [
            {
                "file": f.filename,
                "line": f.lineno or 0,
                "function": f.name,
                "source": (f.line or "").strip(),
            }
            for f in kept[-MAX_FRAMES:]
        ],
    }


def format_traceback(tb: dict[str, Any], style: str) -> list[str]:
    """Lines for the console, in pytest's ``--tb`` styles: long, short, line, no."""
    frames = list(tb.get("frames") or [])
    last = f"{tb.get('type', 'Exception')}: {tb.get('message', '')}".rstrip(": ")
    if style == "no" or not frames:
        return [] if style == "no" else [last]
    if style == "line":
        f = frames[-1]
        return [f"{f['file']}:{f['line']}: {last}"]
    lines = ["Traceback (most recent call last):"]
    for f in frames if style == "long" else frames[-3:]:
        lines.append(f'  File "{f["file"]}", line {f["line"]}, in {f["function"]}')
        if f.get("source"):
            lines.append(f"    {f['source']}")
    lines.append(last)
    return lines
