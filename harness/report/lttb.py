"""MinMaxLTTB downsampling for drawing long series.

Only drawing is downsampled: LTTB keeps the shape of a curve but may drop its
extreme point, so every figure a report prints comes from the full data.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["lttb", "minmax"]

#: MinMaxLTTB's preselection ratio: ``ratio * n_out`` candidate points go into LTTB
RATIO = 4

Indices = npt.NDArray[np.intp]


def minmax(y: npt.NDArray[np.float64], buckets: int) -> Indices:
    """Indices of the minimum and maximum of each of ``buckets`` equal slices of ``y``.

    The first and last points are kept; non-finite values are never chosen while a
    slice has a finite one. Vectorised: ``argmin`` / ``argmax`` over a 2-D view of
    the inner points (the few left over after the last whole slice are all kept).
    """
    n = len(y)
    size = max((n - 2) // buckets, 1)
    k = (n - 2) // size
    inner = y[1 : 1 + k * size].reshape(k, size)
    if not np.isfinite(inner).all():
        finite = np.isfinite(inner)
        lo = np.where(finite, inner, np.inf).argmin(axis=1)
        hi = np.where(finite, inner, -np.inf).argmax(axis=1)
    else:
        lo, hi = inner.argmin(axis=1), inner.argmax(axis=1)
    base = 1 + np.arange(k) * size
    first, second = base + np.minimum(lo, hi), base + np.maximum(lo, hi)
    both = np.stack((first, second), axis=1).ravel()  # increasing; lo == hi repeats
    both = both[np.concatenate(([True], both[1:] != both[:-1]))]
    return np.concatenate(([0], both, np.arange(1 + k * size, n)))


def lttb(x: npt.ArrayLike, y: npt.ArrayLike, n_out: int) -> Indices:
    """The indices of the at most ``n_out`` points of ``(x, y)`` that MinMaxLTTB keeps.

    MinMaxLTTB (Van Der Donckt et al., 2023; ``tsdownsample``'s default): the
    minimum and maximum of ``RATIO * n_out / 2`` equal slices are preselected
    (vectorised), then Steinarsson's LTTB (2013) runs on them: the first and last
    points stay, and each of ``n_out - 2`` buckets keeps the point forming the
    largest triangle with the point kept before it and the mean of the next
    bucket. Non-finite values (gaps) are chosen only where nothing else is.

    :param x: increasing positions (for example seconds since the epoch).
    :param y: the values, as long as ``x``.
    :param n_out: how many points to keep (at least 3 to downsample at all).
    :returns: increasing indices into ``x``; ``arange(len(x))`` when nothing
        needs to go.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = len(xs)
    if n_out >= n or n_out < 3:
        return np.arange(n)
    cand = minmax(ys, RATIO * n_out // 2) if n > RATIO * n_out else np.arange(n)
    if len(cand) <= n_out:
        return cand
    cx_all = xs[cand]
    cy_all = ys[cand]
    ok = np.isfinite(cy_all) & np.isfinite(cx_all)
    cy_all = np.where(ok, cy_all, 0.0)
    m = len(cand)
    edges = np.linspace(1, m - 1, n_out - 1).astype(np.intp)
    csx = np.concatenate(([0.0], np.cumsum(np.where(ok, cx_all, 0.0))))
    csy = np.concatenate(([0.0], np.cumsum(cy_all)))
    csn = np.concatenate(([0], np.cumsum(ok)))
    n_ok = np.maximum(csn[edges[1:]] - csn[edges[:-1]], 1)
    mean_x = np.append((csx[edges[1:]] - csx[edges[:-1]]) / n_ok, cx_all[-1]).tolist()
    mean_y = np.append((csy[edges[1:]] - csy[edges[:-1]]) / n_ok, cy_all[-1]).tolist()
    px, py = cx_all.tolist(), cy_all.tolist()
    if not ok.all():  # a gap: its points lose to any finite one
        py = [v if good else None for v, good in zip(py, ok.tolist(), strict=True)]
    starts, stops = edges[:-1].tolist(), edges[1:].tolist()
    out = [0]
    ax, ay = px[0], py[0] or 0.0
    for i in range(n_out - 2):
        cx, cy = mean_x[i + 1], mean_y[i + 1]
        # twice the triangle's area, up to sign: linear in the candidate point
        p, q, r = cy - ay, ax - cx, ay * cx - ax * cy
        start = starts[i]
        best, pick = -1.0, start
        for j in range(start, max(stops[i], start + 1)):
            yj = py[j]
            if yj is None:
                continue
            area = px[j] * p + yj * q + r
            if area < 0.0:
                area = -area
            if area > best:
                best, pick = area, j
        out.append(pick)
        ax, ay = px[pick], py[pick] or 0.0
    out.append(m - 1)
    return cand[np.asarray(out, dtype=np.intp)]
