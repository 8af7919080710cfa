"""Exit codes and run statuses: the one mapping every writer uses.

The codes are pytest's (DESIGN.md, fixed). The CLI, ``summary.json``, the
console, JUnit and the GitHub annotations all read them from here, so a run
can never say ``success`` in one place and exit 3 in another.
"""

from __future__ import annotations

import enum
from typing import Literal

__all__ = ["ExitCode", "RunStatus", "status_for"]

RunStatus = Literal["success", "failed", "interrupted", "error"]


@enum.unique
class ExitCode(enum.IntEnum):
    """How ``harness run`` ends (pytest's codes)."""

    #: every selected phase passed (or was skipped)
    OK = 0
    #: a phase failed or timed out
    PHASE_FAILED = 1
    #: interrupted by SIGINT / SIGTERM
    INTERRUPTED = 2
    #: an internal or plugin error (a sink failed, a hook raised, a bug in harness)
    INTERNAL_ERROR = 3
    #: a usage or configuration error
    USAGE_ERROR = 4
    #: no phases selected
    NO_PHASES = 5

    @property
    def status(self) -> RunStatus:
        """The run status ``summary.json`` records for this code."""
        return _STATUS[self]


_STATUS: dict[ExitCode, RunStatus] = {
    ExitCode.OK: "success",
    ExitCode.PHASE_FAILED: "failed",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.INTERNAL_ERROR: "error",
    ExitCode.USAGE_ERROR: "error",
    ExitCode.NO_PHASES: "success",
}


def status_for(exit_code: int) -> RunStatus:
    """The run status of ``exit_code`` (``ValueError`` for a code harness never uses)."""
    return ExitCode(exit_code).status
