"""Building the report of a run: core sections, plugin sections, the baseline comparison."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report.load import RunFiles, load_run
from harness.report.model import SectionError, check_section
from harness.report.render import render_page
from harness.report.sections import core_sections

if TYPE_CHECKING:
    import pluggy

__all__ = ["Built", "build_report", "compare_section", "plugin_sections", "write_report"]


class Built:
    """A report page and how it was made."""

    __slots__ = ("html", "notes", "seconds", "sections")

    def __init__(self, html: str, sections: list[str], notes: list[str], seconds: float) -> None:
        self.html = html
        self.sections = sections
        self.notes = notes
        self.seconds = seconds


def plugin_sections(
    pm: pluggy.PluginManager | None, files: RunFiles
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every plugin's ``report_sections``, checked; a plugin that fails is a note, not a crash."""
    if pm is None or not hasattr(pm.hook, "report_sections"):
        return [], []
    from harness.dispatch import call_isolated

    sections: list[dict[str, Any]] = []
    notes: list[str] = []
    for result in call_isolated(
        pm, "report_sections", run_dir=files.run_dir, summary=files.summary, events=files.events
    ):
        if result.error is not None:
            error = result.error
            notes.append(
                f"plugin {result.plugin!r}: report_sections failed: {type(error).__name__}: {error}"
            )
            continue
        for item in result.value or ():
            try:
                section = check_section(item, f"plugin {result.plugin!r}")
            except SectionError as exc:
                notes.append(str(exc))
                continue
            section["plugin"] = result.plugin
            sections.append(section)
    return sections, notes


def _figure_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in rows:
        label = [row.get("strategy"), row.get("symbol")]
        if row.get("only_in"):
            out.append([*label, "(all)", None, None, None, f"only in {row['only_in']}"])
            continue
        for name, fig in (row.get("figures") or {}).items():
            rel = fig.get("relative")
            changed = fig.get("change") not in (None, 0, 0.0)
            out.append(
                [
                    *label,
                    name,
                    fig.get("a"),
                    fig.get("b"),
                    {"value": fig.get("change"), "status": "warning"}
                    if changed
                    else fig.get("change"),
                    "" if rel is None else f"{rel:+.2%}",
                ]
            )
    return out


def compare_section(comparison: Mapping[str, Any]) -> dict[str, Any]:
    """The ``compare_runs`` result (``harness.compare``) as a section."""
    a, b = comparison.get("a") or {}, comparison.get("b") or {}
    blocks: list[dict[str, Any]] = [
        {
            "type": "table",
            "title": "Runs",
            "columns": ["", "run", "status", "runtime s", "roi", "config hash"],
            "rows": [
                [
                    side,
                    r.get("run_id"),
                    {"value": r.get("status"), "status": r.get("status")},
                    r.get("runtime_s"),
                    r.get("roi"),
                    r.get("config_hash"),
                ]
                for side, r in (("baseline (a)", a), ("this run (b)", b))
            ],
        },
        {
            "type": "facts",
            "items": {
                "changed": {
                    "value": bool(comparison.get("changed")),
                    "status": "warning" if comparison.get("changed") else "passed",
                }
            },
        },
    ]
    phases = [
        [
            p.get("name"),
            (p.get("a") or {}).get("status"),
            (p.get("b") or {}).get("status"),
            {"value": "yes", "status": "warning"} if p.get("status_changed") else "no",
            (p.get("a") or {}).get("duration_s"),
            (p.get("b") or {}).get("duration_s"),
            p.get("duration_change_s"),
        ]
        for p in comparison.get("phases") or []
    ]
    blocks.append(
        {
            "type": "table",
            "title": "Phases",
            "columns": ["phase", "status a", "status b", "changed", "a s", "b s", "change s"],
            "rows": phases,
        }
    )
    blocks.append(
        {
            "type": "table",
            "title": "Strategy figures",
            "columns": ["strategy", "symbol", "figure", "a", "b", "change", "relative"],
            "rows": _figure_rows(comparison.get("strategies") or []),
        }
    )
    return {"title": "Compared with baseline", "id": "baseline", "blocks": blocks}


def build_report(
    run_dir: Path,
    pm: pluggy.PluginManager | None = None,
    *,
    comparison: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> Built:
    """The report page of ``run_dir``.

    :param pm: a plugin manager whose ``report_sections`` implementations add sections
        (``None``: the core sections only).
    :param comparison: a ``harness.compare.compare_runs`` result, shown as a section.
    :param notes: lines shown at the top (for example plugins that could not be loaded).
    :raises FileNotFoundError: ``run_dir`` is not a run directory.
    """
    t0 = time.perf_counter()
    files = load_run(run_dir)
    sections = core_sections(files.summary, files.events)
    extra, problems = plugin_sections(pm, files)
    if comparison is not None:
        sections.insert(1, compare_section(comparison))
    order = [str(p.get("plugin")) for p in files.summary.get("phases") or []]
    extra.sort(key=lambda sec: order.index(sec["plugin"]) if sec["plugin"] in order else len(order))
    sections.extend(extra)
    seen: set[str] = set()
    for section in sections:  # unique anchors
        base, n = section["id"], 2
        while section["id"] in seen:
            section["id"], n = f"{base}-{n}", n + 1
        seen.add(section["id"])
    all_notes = [*notes, *files.problems, *problems]
    run_id = files.summary.get("run_id") or (files.events[0].get("run_id") if files.events else "")
    status = files.summary.get("status", "running")
    html = render_page(f"harness run {run_id}: {status}", sections, all_notes)
    return Built(html, [s["title"] for s in sections], all_notes, time.perf_counter() - t0)


def write_report(path: Path, html: str) -> None:
    """Write the page of ``harness report`` atomically (the run's files it is made of were
    redacted when they were written; the ``report`` plugin writes with ``session.write_file``).
    """
    from harness.rundir import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, html.encode("utf-8"))
