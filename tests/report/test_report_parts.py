"""The report's parts without a run: downsampling and the section shape."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.lttb import lttb
from harness.report.model import SectionError, check_section
from harness.report.render import render_page


@pytest.mark.parametrize("n", [10, 1000, 100_003])
def test_lttb_keeps_ends_and_order(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.arange(n, dtype=np.float64)
    y = np.cumsum(rng.normal(size=n))
    idx = lttb(x, y, 500)
    assert idx[0] == 0
    assert idx[-1] == n - 1
    assert len(idx) == min(n, 500)
    assert np.all(np.diff(idx) > 0)


def test_lttb_keeps_a_spike_and_skips_gaps() -> None:
    y = np.zeros(100_000)
    y[54_321] = 1e6
    y[10:200] = np.nan  # inside one slice: its finite points are chosen
    idx = lttb(np.arange(len(y), dtype=np.float64), y, 300)
    assert 54_321 in idx
    assert np.isfinite(y[idx]).all()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"blocks": []}, "non-empty string 'title'"),
        ({"title": "t", "blocks": [{"type": "html"}]}, "type must be one of"),
        (
            {"title": "t", "blocks": [{"type": "table", "columns": ["a"], "rows": [[1, 2]]}]},
            "row 0 must have 1 cells",
        ),
        (
            {"title": "t", "blocks": [{"type": "table", "columns": ["a"], "rows": [[object()]]}]},
            "row 0 cell 0",
        ),
        (
            {"title": "t", "blocks": [{"type": "chart", "series": [{"x": [1], "y": [1, 2]}]}]},
            "as long as its 'y'",
        ),
    ],
)
def test_bad_sections_are_named(section: dict[str, object], message: str) -> None:
    with pytest.raises(SectionError, match=message):
        check_section(section, "plugin 'x'")


def test_every_string_is_escaped() -> None:
    evil = "</script><script>alert(1)</script>"
    section = check_section(
        {
            "title": evil,
            "blocks": [
                {"type": "text", "text": evil},
                {"type": "facts", "items": {evil: evil}},
                {"type": "table", "title": evil, "columns": [evil], "rows": [[evil]]},
                {"type": "chart", "title": evil, "series": [{"label": evil, "x": [1], "y": [2]}]},
                {"type": "heatmap", "title": evil, "x": [evil], "y": [evil], "values": [[1.0]]},
                {"type": "code", "text": evil},
            ],
        },
        "test",
    )
    page = render_page(evil, [section])
    assert page.count("<script") == 3
    assert "alert(1)</script>" not in page
