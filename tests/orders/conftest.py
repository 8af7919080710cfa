"""Fixtures of the orders plugin tests; the fakes and run helpers live in ``tests/api``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
