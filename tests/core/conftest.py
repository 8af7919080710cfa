"""Fixtures of the core tests; the helpers live in ``core_helpers.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import Result, base_env, run_cli


@pytest.fixture
def env() -> dict[str, str]:
    """The environment of a hermetic ``harness`` subprocess (no entry-point plugins)."""
    return base_env()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``cli(*args, cwd=...)``: the ``harness`` command in this process, hermetic environment."""
    monkeypatch.setenv("HARNESS_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("HARNESS_NO_SLEEP", raising=False)

    def call(*args: str, cwd: Path) -> Result:
        return run_cli(*args, cwd=cwd)

    return call
