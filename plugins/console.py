"""The ``console`` plugin: what a person sees, built from events only.

Like pytest's terminal reporter, it is an event listener: everything it prints
was an event first. On a terminal (and without ``NO_COLOR``) it uses rich;
otherwise one plain line per event. ``-q`` prints the final line only, ``-v``
every event including heartbeats.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, Session

_STYLE = {"passed": "green", "failed": "red", "timeout": "red", "skipped": "yellow"}
_ALWAYS = {"session_start", "phase_start", "phase_end", "retry", "error", "timeout", "session_end"}


def _fmt_metrics(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


class ConsoleReporter:
    """Prints a session's events; registered per session as ``console.reporter``."""

    def __init__(self, session: Session, out: TextIO) -> None:
        self.session = session
        self.out = out
        self.verbosity = session.verbosity
        self.rich = out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self._console: Any = None
        if self.rich:
            from rich.console import Console

            self._console = Console(file=out, highlight=False)

    def _line(self, text: str, style: str | None = None) -> None:
        if self._console is not None:
            self._console.print(text, style=style, markup=False)
        else:
            self.out.write(text + "\n")
            self.out.flush()

    def _wanted(self, event: Event) -> bool:
        if self.verbosity < 0:
            return False
        if self.verbosity > 0:
            return True
        if event.type in _ALWAYS:
            return event.type != "session_end"
        return event.level in ("warning", "error")

    @hookimpl
    def sink_event(self, event: Event) -> None:
        if event.type == "session_start" and self.verbosity >= 0:
            self._line(f"harness {event.data['harness_version']}  config: {self.session.config.display}")
            self._line(f"run: {event.data['run_dir']}")
            if event.data.get("dry_run"):
                self._line("dry run: no connections, no secrets needed", "yellow")
            return
        if not self._wanted(event):
            return
        where = f"[{event.phase}] " if event.phase else ""
        text = f"{where}{event.message}"
        if event.metrics and (event.type == "heartbeat" or self.verbosity > 0):
            text += f"  {_fmt_metrics(dict(event.metrics))}"
        style = None
        if event.type == "phase_end":
            style = _STYLE.get(str(event.data.get("status")))
        elif event.level == "error":
            style = "red"
        elif event.level == "warning":
            style = "yellow"
        self._line(text, style)

    @hookimpl
    def session_finish(self, session: Session, exit_code: int) -> None:
        try:
            self._final(session, exit_code)
        finally:
            session.pluginmanager.unregister(self)

    def _final(self, session: Session, exit_code: int) -> None:
        from harness.summary import status_for

        status = status_for(exit_code)
        counts: dict[str, int] = {}
        for report in session.reports:
            counts[report.status] = counts.get(report.status, 0) + 1
        final = (
            f"{status}: "
            + ", ".join(f"{n} {s}" for s, n in counts.items())
            + f" in {sum(r.duration_s for r in session.reports):.2f}s (exit {exit_code})"
        )
        if self.verbosity >= 0:
            rows = [
                (r.name, r.plugin, r.status, str(r.attempts), f"{r.duration_s:.2f}s", r.message)
                for r in session.reports
            ]
            if self._console is not None:
                from rich.table import Table

                table = Table(title=None, show_edge=False)
                for column in ("phase", "plugin", "status", "attempts", "time", "message"):
                    table.add_column(column, overflow="fold")
                for row in rows:
                    table.add_row(*row[:2], f"[{_STYLE[row[2]]}]{row[2]}[/]", *row[3:])
                self._console.print(table)
            else:
                widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in
                          enumerate(("phase", "plugin", "status", "attempts", "time"))]
                head = ("phase", "plugin", "status", "attempts", "time")
                self._line("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)) + "  message")
                for row in rows:
                    cells = "  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=False))
                    self._line(f"{cells}  {row[5]}".rstrip())
            self._line(f"run directory: {session.run_dir}")
        self._line(final, "green" if exit_code == 0 else "red")


@hookimpl
def session_start(session: Session) -> None:
    session.pluginmanager.register(ConsoleReporter(session, sys.stdout), name="console.reporter")
