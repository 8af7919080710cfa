"""Sections to one self-contained HTML page: every string escaped, uPlot and data inlined."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from importlib import resources
from typing import Any

import orjson

from harness.report.charts import chart_data
from harness.report.model import STATUSES

__all__ = ["render_page"]


def _asset(name: str) -> str:
    return (resources.files("harness.report") / name).read_text("utf-8")


def _script_safe(text: str) -> str:
    """``text``, checked not to end the ``<script>`` element it is inlined into."""
    if "</script" in text.lower():
        raise ValueError("an inlined script must not contain '</script'")
    return text


def _fmt(value: Any) -> str:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.6g}" if abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    return str(value)


def _cell(cell: Any, tag: str = "td") -> str:
    status = ""
    if isinstance(cell, Mapping):
        s = str(cell.get("status", ""))
        status = f' class="st-{s}"' if s in STATUSES else ""
        cell = cell.get("value")
    num = isinstance(cell, int | float) and not isinstance(cell, bool)
    cls = status or (' class="num"' if num else "")
    return f"<{tag}{cls}>{escape(_fmt(cell))}</{tag}>"


def _table(block: Mapping[str, Any]) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in block["columns"])
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in block["rows"])
    title = f"<h3>{escape(str(block['title']))}</h3>" if block.get("title") else ""
    if not block["rows"]:
        return f"{title}<p class='muted'>(none)</p>"
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'{title}<div class="scroll">{table}</div>'


def _facts(block: Mapping[str, Any]) -> str:
    items = "".join(f"<dt>{escape(str(k))}</dt>{_cell(v, 'dd')}" for k, v in block["items"].items())
    return f'<dl class="facts">{items}</dl>'


def _heat_colour(value: float, lo: float, hi: float) -> str:
    t = 0.5 if hi <= lo else (value - lo) / (hi - lo)
    # red (low) -> white -> green (high)
    if t < 0.5:
        k = t / 0.5
        r, g, b = 230, int(120 + 135 * k), int(120 + 135 * k)
    else:
        k = (t - 0.5) / 0.5
        r, g, b = int(255 - 155 * k), int(255 - 55 * k), int(255 - 135 * k)
    return f"rgb({r},{g},{b})"


def _heatmap(block: Mapping[str, Any]) -> str:
    values = [[None if v is None else float(v) for v in row] for row in block["values"]]
    finite = [v for row in values for v in row if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 0.0)
    x_label, y_label = escape(str(block.get("x_label", ""))), escape(str(block.get("y_label", "")))
    head = f"<th>{y_label} \\ {x_label}</th>" + "".join(
        f"<th>{escape(str(x))}</th>" for x in block["x"]
    )
    rows = []
    for y, row in zip(block["y"], values, strict=True):
        cells = []
        for x, v in zip(block["x"], row, strict=True):
            tip = escape(f"{y_label}={y}, {x_label}={x}: {_fmt(v)}")
            if v is None or not math.isfinite(v):
                cells.append(f'<td class="heat" title="{tip}">-</td>')
            else:
                style = f"background:{_heat_colour(v, lo, hi)}"
                cells.append(
                    f'<td class="heat" style="{style}" title="{tip}">{escape(_fmt(v))}</td>'
                )
        rows.append(f"<tr><th>{escape(str(y))}</th>{''.join(cells)}</tr>")
    title = f"<h3>{escape(str(block.get('title', '')))}</h3>"
    table = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    return f'{title}<div class="scroll"><table class="heatmap">{table}</table></div>'


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S.%f")[:-3]


def _timeline(block: Mapping[str, Any]) -> str:
    start, end = float(block["start"]), float(block["end"])
    span = max(end - start, 1e-6)
    out = [
        f'<div class="timeline"><div class="tl-axis"><span>{_clock(start)} UTC</span>'
        f"<span>+{span:.3f} s</span></div>"
    ]
    for row in block["rows"]:
        bars = []
        for seg in row["segments"]:
            left = 100.0 * (float(seg["start"]) - start) / span
            width = max(100.0 * (float(seg["end"]) - float(seg["start"])) / span, 0.4)
            left = min(left, 100.0 - width)
            kind = str(seg.get("kind", ""))
            cls = f"tl-{kind}" if kind in (*STATUSES, "wait") else "tl-info"
            secs = float(seg["end"]) - float(seg["start"])
            tip = escape(f"{seg.get('label', '')} ({_clock(float(seg['start']))}, {secs:.3f} s)")
            bars.append(
                f'<div class="tl-seg {cls}" style="left:{left:.3f}%;width:{width:.3f}%" '
                f'title="{tip}"></div>'
            )
        out.append(
            f'<div class="tl-row"><div class="tl-label">{escape(str(row["label"]))}</div>'
            f'<div class="tl-track">{"".join(bars)}</div></div>'
        )
    out.append(
        '<div class="tl-legend"><span class="tl-seg-key tl-passed"></span>passed '
        '<span class="tl-seg-key tl-failed"></span>failed attempt '
        '<span class="tl-seg-key tl-wait"></span>retry wait '
        '<span class="tl-seg-key tl-timeout"></span>timeout '
        '<span class="tl-seg-key tl-skipped"></span>skipped</div></div>'
    )
    return "".join(out)


def _block(
    block: Mapping[str, Any], charts: list[dict[str, Any]], ready: dict[int, Any] | None = None
) -> str:
    ready = ready if ready is not None else {}
    kind = block["type"]
    if kind == "text":
        return f"<p>{escape(block['text'])}</p>"
    if kind == "code":
        return f"<pre>{escape(block['text'])}</pre>"
    if kind == "facts":
        return _facts(block)
    if kind == "table":
        return _table(block)
    if kind == "heatmap":
        return _heatmap(block)
    if kind == "timeline":
        return _timeline(block)
    if kind == "chart":
        charts.append(ready.pop(id(block)) if id(block) in ready else chart_data(block))
        index = len(charts) - 1
        title = escape(str(block.get("title", "")))
        return (
            f'<figure class="chart-box"><figcaption>{title}</figcaption>'
            f'<div class="chart" id="chart-{index}" data-chart="{index}"></div></figure>'
        )
    return ""


def _blocks(
    blocks: Sequence[Mapping[str, Any]], charts: list[dict[str, Any]], ready: dict[int, Any]
) -> str:
    """Blocks in order; a run of charts goes into a grid, charts sharing ``group`` into one card."""
    out: list[str] = []
    i = 0
    while i < len(blocks):
        if blocks[i]["type"] != "chart":
            out.append(_block(blocks[i], charts, ready))
            i += 1
            continue
        cards: list[str] = []
        while i < len(blocks) and blocks[i]["type"] == "chart":
            key = blocks[i].get("group") or None
            card = [_block(blocks[i], charts, ready)]
            i += 1
            while (
                key is not None
                and i < len(blocks)
                and blocks[i]["type"] == "chart"
                and blocks[i].get("group") == key
            ):
                card.append(_block(blocks[i], charts, ready))
                i += 1
            cards.append(f'<div class="card">{"".join(card)}</div>')
        grid = "grid" if len(cards) > 1 else "single"
        out.append(f'<div class="{grid}">{"".join(cards)}</div>')
    return "".join(out)


def _prepare_charts(sections: Sequence[Mapping[str, Any]]) -> dict[int, Any]:
    """Every chart's data, downsampled on a few threads (numpy releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    blocks = [b for s in sections for b in s["blocks"] if b["type"] == "chart"]
    if len(blocks) < 4:
        return {}
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="report") as pool:
        return dict(zip(map(id, blocks), pool.map(chart_data, blocks), strict=True))


def render_page(
    title: str, sections: Sequence[Mapping[str, Any]], notes: Sequence[str] = ()
) -> str:
    """The whole page; ``sections`` went through :func:`~harness.report.model.check_section`."""
    charts: list[dict[str, Any]] = []
    ready = _prepare_charts(sections)
    nav, body = [], []
    for section in sections:
        sid = escape(str(section["id"]))
        stitle = escape(str(section["title"]))
        nav.append(f'<a href="#{sid}">{stitle}</a>')
        blocks = _blocks(section["blocks"], charts, ready)
        plugin = section.get("plugin")
        by = f' <span class="by">from plugin {escape(str(plugin))}</span>' if plugin else ""
        body.append(f'<section id="{sid}" class="section"><h2>{stitle}{by}</h2>{blocks}</section>')
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    data = (
        orjson.dumps({"charts": charts}, option=orjson.OPT_SERIALIZE_NUMPY)
        .decode()
        .replace("<", "\\u003c")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f"<style>{_asset('vendor/uPlot.min.css')}\n{_asset('report.css')}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><nav>{''.join(nav)}</nav></header><main>{note_html}"
        f"{''.join(body)}</main>"
        f'<script type="application/json" id="report-data">{data}</script>'
        f"<script>{_script_safe(_asset('vendor/uPlot.iife.min.js'))}</script>"
        f"<script>{_script_safe(_asset('report.js'))}</script>"
        "</body></html>\n"
    )
