"""Plain-text views of runs: ``harness runs``, ``harness show`` and ``harness compare``.

:func:`phase_table` and :func:`final_line` render a summary's ``phases`` rows the way the
console plugin ends a run (its plain, non-terminal form), so ``show`` reads like the end of
the run it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.history import RunInfo

__all__ = ["compare_lines", "final_line", "phase_table", "runs_lines", "show_lines", "table"]


def table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, last_free: bool = True
) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    fixed = len(head) - 1 if last_free else len(head)
    widths = [max([len(head[i]), *(len(r[i]) for r in rows)]) for i in range(fixed)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:fixed], widths, strict=True)]
        return "  ".join([*padded, *cells[fixed:]]).rstrip()

    return [line(head), *(line(r) for r in rows)]


def phase_table(phases: Sequence[dict[str, Any]]) -> list[str]:
    """``phase plugin status attempts time message``, one row per phase."""
    rows = [
        (
            str(p.get("name", "")),
            str(p.get("plugin", "")),
            str(p.get("status", "")),
            str(p.get("attempts", "")),
            f"{float(p.get('duration_s') or 0):.2f}s",
            str(p.get("message") or p.get("error") or ""),
        )
        for p in phases
    ]
    return table(("phase", "plugin", "status", "attempts", "time", "message"), rows)


def final_line(summary: dict[str, Any]) -> str:
    """``success: 3 passed in 0.41s (exit 0)``, as the run printed it."""
    counts: dict[str, int] = {}
    total = 0.0
    for p in summary.get("phases", []):
        counts[str(p.get("status"))] = counts.get(str(p.get("status")), 0) + 1
        total += float(p.get("duration_s") or 0)
    return (
        f"{summary.get('status', 'incomplete')}: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" in {total:.2f}s (exit {summary.get('exit_code', '-')})"
    )


def _pct(value: Any, sign: bool = True) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:+.2%}" if sign else f"{value:.2%}"


def _money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) else "-"


def _seconds(value: Any) -> str:
    return f"{value:.2f}s" if isinstance(value, int | float) else "-"


def runs_lines(infos: Sequence[RunInfo]) -> list[str]:
    """The ``harness runs`` table, in the order given."""
    rows = [
        (
            i.run_id,
            i.started or "-",
            i.status,
            _seconds(i.runtime_s),
            str(i.passed),
            str(i.failed),
            _pct(i.roi),
        )
        for i in infos
    ]
    return table(("run", "started", "status", "time", "passed", "failed", "roi"), rows)


def strategy_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """Per strategy and symbol: final equity, ROI, trades, wins, max drawdown."""
    from harness.compare import strategy_figures

    return [
        (
            label,
            symbol,
            _money(f.get("final_equity")),
            _pct(f.get("roi")),
            str(f.get("trades", "-")),
            str(f.get("wins", "-")),
            _pct(f.get("max_drawdown"), sign=False),
        )
        for (label, symbol), f in strategy_figures(summary).items()
    ]


def show_lines(info: RunInfo) -> list[str]:
    """``harness show``: the run, its phase table, its strategy figures, the final line."""
    s = info.summary
    out = [
        f"run {info.run_id}  {info.status}"
        + (f" (exit {info.exit_code})" if info.exit_code is not None else "")
    ]
    out.append(
        f"started {info.started or '-'}  ended {info.ended or '-'}  "
        f"runtime {_seconds(info.runtime_s)}  sessions {info.sessions}"
    )
    config = s.get("config") or {}
    if config:
        where = config.get("path") or config.get("source")
        out.append(f"config {where}  {config.get('hash') or ''}".rstrip())
    if s.get("phases"):
        out += phase_table(s["phases"])
    capital, trades = s.get("capital"), s.get("trades")
    if isinstance(capital, dict) and isinstance(trades, dict):
        out.append(
            f"capital {_money(capital.get('initial'))} -> {_money(capital.get('current'))} "
            f"(roi {_pct(capital.get('roi'))}), {trades.get('total')} trades "
            f"({trades.get('wins')} wins, {trades.get('losses')} losses)"
        )
    rows = strategy_rows(s)
    if rows:
        out += table(
            ("strategy", "symbol", "final equity", "roi", "trades", "wins", "max dd"),
            rows,
            last_free=False,
        )
    section = s.get("strategy")
    failures = section.get("gate_failures", []) if isinstance(section, dict) else []
    for f in failures:
        out.append(
            f"gate failed: {f.get('strategy')} {f.get('symbol')} {f.get('gate')}: "
            f"value {f.get('value')}, threshold {f.get('threshold')}"
        )
    out.append(f"run directory: {info.path}")
    if info.status in ("running", "incomplete"):
        out.append(f"{info.status}: the last session has not written its summary")
    else:
        out.append(final_line(s))
    return out


def _delta(change: dict[str, Any], kind: str) -> str:
    a, b, d = change.get("a"), change.get("b"), change.get("change")
    if d is None:
        return f"{a if a is not None else '-'} -> {b if b is not None else '-'}"
    if kind == "pct":
        return f"{d * 100:+.2f}pt" if d else "="
    if kind == "money":
        return f"{d:+,.2f}" if d else "="
    return f"{d:+g}" if d else "="


_KINDS = {"final_equity": "money", "roi": "pct", "max_drawdown": "pct", "trades": "n", "wins": "n"}


def compare_lines(result: dict[str, Any]) -> list[str]:
    """``harness compare``: the two runs, per phase, per strategy and symbol (changes B - A)."""
    a, b = result["a"], result["b"]
    out = [
        f"A {a['run_id']}  {a['status']}  roi {_pct(a.get('roi'))}",
        f"B {b['run_id']}  {b['status']}  roi {_pct(b.get('roi'))}",
    ]
    if a.get("config_hash") != b.get("config_hash"):
        out.append("config differs (hash)")
    rows = []
    for p in result["phases"]:
        pa, pb = p["a"] or {}, p["b"] or {}
        change = p["duration_change_s"]
        rows.append(
            (
                p["name"],
                str(pa.get("status", "-")),
                str(pb.get("status", "-")),
                _seconds(pa.get("duration_s")),
                _seconds(pb.get("duration_s")),
                f"{change:+.2f}s" if isinstance(change, int | float) else "-",
            )
        )
    if rows:
        out += table(("phase", "A status", "B status", "A time", "B time", "change"), rows)
    srows = []
    for r in result["strategies"]:
        fig = r["figures"]
        cells = [_delta(fig[k], _KINDS[k]) if k in fig else "-" for k in _KINDS]
        note = f"only in {r['only_in'].upper()}" if r["only_in"] else ""
        srows.append((r["strategy"], r["symbol"], *cells, note))
    if srows:
        out += table(("strategy", "symbol", "equity", "roi", "max dd", "trades", "wins", ""), srows)
    if result["changed"]:
        figures = sum(r["changed"] for r in result["strategies"])
        statuses = sum(p["status_changed"] for p in result["phases"])
        out.append(
            f"changed: {figures} of {len(result['strategies'])} strategy/symbol rows, "
            f"{statuses} phase statuses"
        )
    else:
        out.append("no change in phase status or strategy figures")
    return out
