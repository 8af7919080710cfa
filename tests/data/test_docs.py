"""``docs/data.md`` documents every setting and every check with its defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.plugins.data.settings import CHECKS, phase_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"

pytestmark = pytest.mark.skipif(not DOC.exists(), reason="docs not in this checkout")


def _rows() -> dict[str, str]:
    """First cell (unquoted) -> the whole table row."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([^`]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_setting_is_documented() -> None:
    rows = _rows()
    for key in phase_schema()["properties"]:
        assert key in rows or f"{key}.<check>" in rows, key


@pytest.mark.parametrize("name", list(CHECKS))
def test_every_check_is_documented_with_its_defaults(name: str) -> None:
    severity, thresholds, _doc = CHECKS[name]
    row = _rows()[name]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == severity
    for key, value in thresholds.items():
        if key != "required":
            assert f"`{key}` {value}" in cells[2], (key, value)
