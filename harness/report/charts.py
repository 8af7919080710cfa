"""Chart blocks made ready to draw: long series downsampled, every series on one x axis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.report.lttb import lttb

__all__ = ["MAX_MARKERS", "MAX_POINTS", "chart_data"]

#: points drawn per line series (LTTB above this); the figures in tables use all points
MAX_POINTS = 2000
#: markers drawn per ``points`` series (evenly thinned above this)
MAX_MARKERS = 2000


def _floats(values: Any) -> npt.NDArray[np.float64]:
    arr = np.asarray(values, dtype=object if isinstance(values, list) else None)
    if arr.dtype == object:
        arr = np.array([np.nan if v is None else v for v in arr], dtype=np.float64)
    return np.asarray(arr, dtype=np.float64)


def _thin(
    x: Any, y: Any, kind: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    xs, ys = _floats(x), _floats(y)
    order = np.argsort(xs, kind="stable") if len(xs) > 1 and np.any(np.diff(xs) < 0) else None
    if order is not None:
        xs, ys = xs[order], ys[order]
    n = len(xs)
    if kind == "points":
        if n > MAX_MARKERS:
            keep = np.linspace(0, n - 1, MAX_MARKERS).astype(np.intp)
            xs, ys = xs[keep], ys[keep]
    elif n > MAX_POINTS:
        keep = lttb(xs, ys, MAX_POINTS)
        xs, ys = xs[keep], ys[keep]
    return xs, ys, n


def chart_data(block: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON the page's script draws: ``{"title", "x_kind", "series", "data"}``.

    ``data`` is uPlot's aligned form: ``[x, y1, y2, ...]`` on the union of the
    series' x values, ``null`` where a series has no point.
    """
    thinned = []
    for item in block["series"]:
        kind = str(item.get("kind", "line"))
        x = item.get("x", block.get("x"))
        xs, ys, n = _thin(x, item["y"], kind)
        thinned.append((item, kind, xs, ys, n))
    if len(thinned) == 1:
        x_all = thinned[0][2]
    else:
        x_all = np.unique(np.concatenate([t[2] for t in thinned]))
    data: list[Any] = [x_all]
    series = []
    for item, kind, xs, ys, n in thinned:
        if xs is x_all or (len(xs) == len(x_all) and np.array_equal(xs, x_all)):
            column = ys
        else:
            column = np.full(len(x_all), np.nan)
            # the last of equal x values wins (markers on the same bar)
            column[np.searchsorted(x_all, xs)] = ys
        data.append(column.astype(np.float32) if column.dtype == np.float64 else column)
        series.append(
            {
                "label": str(item.get("label", "")),
                "kind": kind,
                "axis": "right" if item.get("axis") == "right" else "left",
                "points": n,
                "drawn": len(xs),
            }
        )
    return {
        "title": str(block.get("title", "")),
        "x_kind": "time" if block.get("x_kind") == "time" else "number",
        "x_label": str(block.get("x_label", "")),
        "y_label": str(block.get("y_label", "")),
        "sync": str(block.get("sync", "")),
        "height": int(block.get("height", 240)),
        "series": series,
        "data": data,
    }
