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
    from harness.events import Event
    from harness.market import MARKET_ARTIFACT, Bars, MarketData
    from harness.prepare import RunOptions
    from harness.session import PhaseReport, Session

_LAZY = {
    "MARKET_ARTIFACT": "harness.market",
    "Bars": "harness.market",
    "MarketData": "harness.market",
    "Artifacts": "harness.artifacts",
    "MissingArtifact": "harness.artifacts",
    "Config": "harness.config",
    "Event": "harness.events",
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
    "MarketData",
    "MissingArtifact",
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
    "RunStatus",
    "Session",
    "UsageError",
    "__version__",
    "hookimpl",
    "hookspec",
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
