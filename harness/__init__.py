"""harness: a plugin-based, pytest-style phase harness.

The public API; everything a plugin author needs is importable from here.
"""

from harness.app import RunOptions, RunOutcome, run
from harness.artifacts import Artifacts
from harness.config import Config, Phase
from harness.context import PhaseContext
from harness.errors import (
    ConfigError,
    HarnessError,
    NonRetryableError,
    PhaseFailed,
    PluginError,
    RetryableError,
    UsageError,
)
from harness.events import Event
from harness.hookspecs import hookimpl, hookspec
from harness.outcomes import CallInfo, GiveUp, PhaseResult, Retry
from harness.session import PhaseReport, Session

from harness.version import __version__

__all__ = [
    "Artifacts",
    "CallInfo",
    "Config",
    "ConfigError",
    "Event",
    "GiveUp",
    "HarnessError",
    "NonRetryableError",
    "Phase",
    "PhaseContext",
    "PhaseFailed",
    "PhaseReport",
    "PhaseResult",
    "PluginError",
    "Retry",
    "RetryableError",
    "RunOptions",
    "RunOutcome",
    "Session",
    "UsageError",
    "__version__",
    "hookimpl",
    "hookspec",
    "run",
]
