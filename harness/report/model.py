"""The shape of a report section, checked before anything is drawn.

A section is plain data (``report_sections`` returns a list of them); the
report escapes every string it shows, so a plugin never supplies HTML::

    {
        "title": "My phase",                   # required
        "id": "my-phase",                      # optional anchor (made from the title)
        "blocks": [
            {"type": "text", "text": "one paragraph"},
            {"type": "facts", "items": {"rows": 3028, "status": "passed"}},
            {"type": "table", "title": "checks", "columns": ["check", "status"],
             "rows": [["gaps", {"value": "failed", "status": "failed"}]]},
            {"type": "chart", "title": "equity", "x_kind": "time",   # or "number"
             "series": [{"label": "equity", "x": [...], "y": [...]},
                        {"label": "trades", "x": [...], "y": [...], "kind": "points"}]},
            {"type": "heatmap", "title": "sweep sharpe", "x_label": "slow", "y_label": "fast",
             "x": ["30", "50"], "y": ["5", "10"], "values": [[0.1, 0.2], [0.3, None]]},
            {"type": "code", "text": "Traceback ..."},
        ],
    }

A table cell is a string, a number, a boolean, ``None`` or
``{"value": ..., "status": "passed" | "failed" | "warning" | "skipped" | "error"}``
(coloured). Chart series are sequences or numpy arrays of numbers (``None``/NaN
for gaps) with their own ``x`` (seconds since the epoch for ``x_kind = "time"``);
long line series are downsampled for drawing (LTTB), ``points`` series thinned
evenly. Charts with the same ``sync`` key share the hover cursor; consecutive charts
with the same ``group`` key are drawn in one card (an equity curve over its drawdown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BLOCK_TYPES", "STATUSES", "SectionError", "anchor", "check_section"]

BLOCK_TYPES = ("text", "facts", "table", "chart", "heatmap", "code", "timeline")
STATUSES = ("passed", "failed", "warning", "skipped", "error", "timeout", "info", "running")


class SectionError(ValueError):
    """A section that does not have the documented shape (the message says where)."""


def anchor(text: str) -> str:
    """``"Strategy: sma_cross"`` -> ``"strategy-sma-cross"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _is_seq(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str | bytes)) or (
        hasattr(value, "__array__") and hasattr(value, "__len__")
    )


def _cell_ok(cell: Any) -> bool:
    if cell is None or isinstance(cell, str | int | float | bool):
        return True
    if isinstance(cell, Mapping):
        return set(cell) <= {"value", "status"} and _cell_ok(cell.get("value"))
    return hasattr(cell, "item")  # a numpy scalar


def _check_block(block: Any, where: str) -> None:
    if not isinstance(block, Mapping):
        raise SectionError(f"{where}: a block must be a mapping, got {type(block).__name__}")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        raise SectionError(f"{where}: type must be one of {', '.join(BLOCK_TYPES)}, got {kind!r}")
    if kind in ("text", "code") and not isinstance(block.get("text"), str):
        raise SectionError(f"{where}: {kind} needs a string 'text'")
    if kind == "facts" and not isinstance(block.get("items"), Mapping):
        raise SectionError(f"{where}: facts needs a mapping 'items'")
    if kind == "table":
        columns: Any = block.get("columns")
        rows: Any = block.get("rows")
        if not _is_seq(columns) or not _is_seq(rows):
            raise SectionError(f"{where}: table needs 'columns' and 'rows' lists")
        for r, row in enumerate(rows):
            if not _is_seq(row) or len(row) != len(columns):
                raise SectionError(f"{where}: row {r} must have {len(columns)} cells")
            for c, cell in enumerate(row):
                if not _cell_ok(cell):
                    raise SectionError(
                        f"{where}: row {r} cell {c}: expected text, number, bool, None or "
                        f"{{'value', 'status'}}, got {type(cell).__name__}"
                    )
    if kind == "chart":
        series = block.get("series")
        if not _is_seq(series) or not series:
            raise SectionError(f"{where}: chart needs a non-empty 'series' list")
        for s, item in enumerate(series):
            if not isinstance(item, Mapping) or not _is_seq(item.get("y")):
                raise SectionError(f"{where}: series {s} needs 'y' (a list of numbers)")
            xs: Any = item.get("x", block.get("x"))
            if not _is_seq(xs) or len(xs) != len(item["y"]):
                raise SectionError(f"{where}: series {s} needs 'x' as long as its 'y'")
            if item.get("kind", "line") not in ("line", "points", "step"):
                raise SectionError(f"{where}: series {s} kind must be line, points or step")
    if kind == "heatmap":
        x: Any = block.get("x")
        y: Any = block.get("y")
        values: Any = block.get("values")
        if not (_is_seq(x) and _is_seq(y) and _is_seq(values)) or len(values) != len(y):
            raise SectionError(f"{where}: heatmap needs 'x', 'y' and one 'values' row per y")
        if any(not _is_seq(row) or len(row) != len(x) for row in values):
            raise SectionError(f"{where}: each heatmap 'values' row needs one value per x")


def check_section(section: Any, where: str) -> dict[str, Any]:
    """``section`` as a plain dict with ``title``, ``id`` and ``blocks``.

    :raises SectionError: naming ``where`` (the plugin) and what is wrong.
    """
    if not isinstance(section, Mapping):
        raise SectionError(f"{where}: a section must be a mapping, got {type(section).__name__}")
    title = section.get("title")
    if not isinstance(title, str) or not title:
        raise SectionError(f"{where}: a section needs a non-empty string 'title'")
    blocks = section.get("blocks", [])
    if not _is_seq(blocks):
        raise SectionError(f"{where}: section {title!r}: 'blocks' must be a list")
    for i, block in enumerate(blocks):
        _check_block(block, f"{where}: section {title!r} block {i}")
    return {
        "title": title,
        "id": anchor(str(section.get("id") or title)),
        "blocks": list(blocks),
    }
