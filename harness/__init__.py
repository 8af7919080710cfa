"""harness: a plugin-based, pytest-style phase harness.

The public API; everything a plugin author needs is importable from here.
The heavier parts (the run machinery) are imported on first use, so that
``harness --version`` and plugin imports stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.errors import (
    ConfigError,
    HarnessError,
    NonRetryableError,
    PhaseFailed,
    PluginError,
    RetryableError,
    UsageError,
)
from harness.exitcodes import ExitCode, RunStatus, status_for
from harness.hookspecs import hookimpl, hookspec
from harness.outcomes import CallInfo, GiveUp, PhaseResult, Retry
from harness.version import __version__

if TYPE_CHECKING:
    from harness.app import RunOutcome, run
    from harness.artifacts import Artifacts, MissingArtifact
    from harness.config import Config, Phase
    from harness.context import PhaseContext
    from harness.dispatch import HookResult, call_isolated
    from harness.events import Event
    from harness.market import MARKET_ARTIFACT, Bars, MarketData
    from harness.options import OptionParser
    from harness.prepare import RunOptions
    from harness.redact import is_secret_name
    from harness.report.build import build_report
    from harness.session import PhaseReport, PluginFault, Session
    from harness.tracebacks import format_traceback

_LAZY = {
    "MARKET_ARTIFACT": "harness.market",
    "Bars": "harness.market",
    "MarketData": "harness.market",
    "Artifacts": "harness.artifacts",
    "MissingArtifact": "harness.artifacts",
    "Config": "harness.config",
    "Event": "harness.events",
    "HookResult": "harness.dispatch",
    "OptionParser": "harness.options",
    "PluginFault": "harness.session",
    "build_report": "harness.report.build",
    "call_isolated": "harness.dispatch",
    "format_traceback": "harness.tracebacks",
    "is_secret_name": "harness.redact",
    "Phase": "harness.config",
    "PhaseContext": "harness.context",
    "PhaseReport": "harness.session",
    "RunOptions": "harness.prepare",
    "RunOutcome": "harness.app",
    "Session": "harness.session",
    "run": "harness.app",
}

__all__ = [
    "MARKET_ARTIFACT",
    "Artifacts",
    "Bars",
    "CallInfo",
    "Config",
    "ConfigError",
    "Event",
    "ExitCode",
    "GiveUp",
    "HarnessError",
    "HookResult",
    "MarketData",
    "MissingArtifact",
    "NonRetryableError",
    "OptionParser",
    "Phase",
    "PhaseContext",
    "PhaseFailed",
    "PhaseReport",
    "PhaseResult",
    "PluginError",
    "PluginFault",
    "Retry",
    "RetryableError",
    "RunOptions",
    "RunOutcome",
    "RunStatus",
    "Session",
    "UsageError",
    "__version__",
    "build_report",
    "call_isolated",
    "format_traceback",
    "hookimpl",
    "hookspec",
    "is_secret_name",
    "run",
    "status_for",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
