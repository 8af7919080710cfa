"""Compare two runs: per phase status and duration, per strategy and symbol the figures.

Everything comes from the two runs' ``summary.json`` (the public contract): the
``phases`` rows and the ``strategy`` section (``strategies[].symbols.<symbol>``) the
shipped strategy phase writes. A run without a summary (killed) compares as having no
phases and no figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["FIGURES", "compare_runs", "strategy_figures"]

#: the per strategy/symbol figures compared, in display order
FIGURES = ("final_equity", "roi", "trades", "wins", "max_drawdown")


def _summary(run_dir: Path) -> dict[str, Any]:
    from harness.history import load_run

    return load_run(run_dir).summary


def strategy_figures(summary: dict[str, Any]) -> dict[tuple[str, str], dict[str, float]]:
    """``{(strategy, symbol): {figure: value}}`` from a summary's ``strategy`` section."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    section = summary.get("strategy")
    rows = section.get("strategies", []) if isinstance(section, dict) else []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("symbols"), dict):
            continue
        label = str(row.get("strategy") or row.get("name"))
        for symbol, metrics in row["symbols"].items():
            if not isinstance(metrics, dict):
                continue
            out[(label, str(symbol))] = {
                k: metrics[k]
                for k in FIGURES
                if isinstance(metrics.get(k), int | float) and not isinstance(metrics[k], bool)
            }
    return out


def _change(a: float | None, b: float | None) -> dict[str, Any]:
    change = b - a if a is not None and b is not None else None
    rel = change / abs(a) if change is not None and a else None
    return {"a": a, "b": b, "change": change, "relative": rel}


def _run_row(run_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    from harness.history import load_run

    info = load_run(run_dir)
    return {
        "run_id": info.run_id,
        "path": str(run_dir),
        "status": info.status,
        "runtime_s": info.runtime_s,
        "roi": info.roi,
        "config_hash": (summary.get("config") or {}).get("hash"),
    }


def compare_runs(a: Path, b: Path) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b`` (both run directories).

    :returns: ``{"a": run, "b": run, "phases": [...], "strategies": [...], "changed": bool}``

        - ``a`` / ``b``: ``run_id``, ``path``, ``status``, ``runtime_s``, ``roi``,
          ``config_hash``;
        - ``phases``: per phase name (``a``'s order, then phases only in ``b``):
          ``{"name", "a": {"status", "duration_s"} | None, "b": ... | None,
          "status_changed", "duration_change_s"}``;
        - ``strategies``: per strategy and symbol present in either run:
          ``{"strategy", "symbol", "only_in": "a" | "b" | None,
          "figures": {figure: {"a", "b", "change", "relative"}}, "changed"}`` for the
          figures :data:`FIGURES` (``change`` is ``b - a``, ``relative`` is
          ``change / |a|``, ``None`` where a side is missing or ``a`` is 0);
        - ``changed``: any phase status or strategy figure differs.
    """
    sa, sb = _summary(a), _summary(b)

    def phases(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
        rows = summary.get("phases", [])
        return {
            str(p["name"]): {"status": p.get("status"), "duration_s": p.get("duration_s")}
            for p in rows
            if isinstance(p, dict) and "name" in p
        }

    pa, pb = phases(sa), phases(sb)
    phase_rows: list[dict[str, Any]] = []
    for name in [*pa, *(n for n in pb if n not in pa)]:
        ra, rb = pa.get(name), pb.get(name)
        da = ra["duration_s"] if ra else None
        db = rb["duration_s"] if rb else None
        phase_rows.append(
            {
                "name": name,
                "a": ra,
                "b": rb,
                "status_changed": (ra or {}).get("status") != (rb or {}).get("status"),
                "duration_change_s": (
                    round(db - da, 6)
                    if isinstance(da, int | float) and isinstance(db, int | float)
                    else None
                ),
            }
        )
    fa, fb = strategy_figures(sa), strategy_figures(sb)
    strategy_rows: list[dict[str, Any]] = []
    for key in [*fa, *(k for k in fb if k not in fa)]:
        ma, mb = fa.get(key), fb.get(key)
        figures = {
            f: _change((ma or {}).get(f), (mb or {}).get(f))
            for f in FIGURES
            if f in (ma or {}) or f in (mb or {})
        }
        strategy_rows.append(
            {
                "strategy": key[0],
                "symbol": key[1],
                "only_in": "a" if mb is None else "b" if ma is None else None,
                "figures": figures,
                "changed": mb is None
                or ma is None
                or any(v["a"] != v["b"] for v in figures.values()),
            }
        )
    return {
        "a": _run_row(a, sa),
        "b": _run_row(b, sb),
        "phases": phase_rows,
        "strategies": strategy_rows,
        "changed": any(r["status_changed"] for r in phase_rows)
        or any(r["changed"] for r in strategy_rows),
    }
