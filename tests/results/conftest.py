"""Fixtures of the run-history tests; the helpers live in ``results_helpers.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from results_helpers import run, strategy_config, write


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with three finished runs: fast=10 (success), fast=5 (success), a failed one."""
    folder = tmp_path_factory.mktemp("history")
    strategy_config(folder)
    assert run("run", "-q", cwd=folder).code == 0
    strategy_config(folder, fast=5)
    assert run("run", "-q", cwd=folder).code == 0
    fail = json.dumps([sys.executable, "-c", "import sys; sys.exit(3)"])
    write(folder / "failing.toml", f'[phases.broken]\nplugin = "command"\nrun = {fail}\n')
    assert run("run", "-q", "-c", "failing.toml", cwd=folder).code == 1
    return folder
