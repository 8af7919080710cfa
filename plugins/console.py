"""The ``console`` plugin: what a person sees, built from events only.

Like pytest's terminal reporter, it is an event listener: everything it prints
was an event first.

* On a terminal (and without ``NO_COLOR``, ``TERM=dumb``) it uses rich: event
  lines scroll above a live status area that updates in place with the current
  phase, its elapsed time against its timeout, the attempt and retries so far,
  and the metrics of the last heartbeat. rich is imported only then.
* Otherwise (CI logs, pipes) one plain line per event: phase starts and ends,
  retries, warnings, errors and heartbeats (the plain form of the live area).
* ``-q``: the final line only. ``-v``: every event, checkpoints and debug
  events included, with their metrics.
* Tracebacks of unexpected exceptions (a plugin's bug, not a phase's verdict)
  as pytest shows them: ``--tb=long|short|line|no`` (``[plugins.console] tb``);
  the default ``auto`` is ``short`` with ``-v`` and ``no`` otherwise. The full
  traceback is always in ``events.jsonl`` and ``summary.json``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, OptionParser, PhaseReport, Session

NAME = "console"
TB_STYLES = ("auto", "long", "short", "line", "no")
SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tb": {
            "enum": list(TB_STYLES),
            "default": "auto",
            "description": "Traceback style for unexpected exceptions (pytest's --tb).",
        },
    },
}

_STYLE = {"passed": "green", "failed": "red", "timeout": "red", "skipped": "yellow"}
_ALWAYS = {"phase_start", "phase_end", "retry", "error", "timeout"}
_REFRESH = {"phase_start", "phase_end", "heartbeat", "retry"}


def _fmt_metrics(metrics: Mapping[str, Any]) -> str:
    return " ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
    )


def use_rich(out: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``out`` gets rich output: a terminal, no ``NO_COLOR``, not ``TERM=dumb``."""
    env = os.environ if environ is None else environ
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


class Progress:
    """The live state of the run, fed by events; rendered by rich on each refresh."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.plugin = ""
        self.timeout: float | None = None
        self.started = 0.0
        self.attempt = 1
        self.retries = 0
        self.metrics: dict[str, Any] = {}
        self.done = 0
        self.total = 0

    def update(self, event: Event) -> None:
        if event.type == "session_start":
            self.total = len(event.data.get("phases", ()))
        elif event.type == "phase_start":
            self.phase, self.plugin = event.phase, str(event.data.get("plugin", ""))
            timeout = event.data.get("timeout_s")
            self.timeout = float(timeout) if isinstance(timeout, int | float) else None
            self.started, self.attempt, self.retries, self.metrics = time.monotonic(), 1, 0, {}
        elif event.type == "heartbeat" and event.phase == self.phase:
            self.metrics = dict(event.metrics)
            self.attempt = int(event.data.get("attempt", self.attempt))
        elif event.type == "retry" and event.phase == self.phase:
            self.retries += 1
            self.attempt = int(event.data.get("attempt", self.attempt)) + 1
        elif event.type == "phase_end":
            self.done += 1
            if event.phase == self.phase:
                self.phase = None

    def __rich__(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        if self.phase is None:
            return Text("")
        elapsed = time.monotonic() - self.started
        grid = Table.grid(padding=(0, 1))
        head = Text.assemble(
            ("▶ ", "cyan"),
            (self.phase, "bold"),
            f" ({self.plugin})  phase {min(self.done + 1, self.total)}/{self.total}  ",
        )
        if self.timeout:
            head.append(f"{elapsed:.1f}s / {self.timeout:g}s ")
            grid.add_row(
                head,
                ProgressBar(total=self.timeout, completed=min(elapsed, self.timeout), width=24),
            )
        else:
            head.append(f"{elapsed:.1f}s (no timeout)")
            grid.add_row(head)
        detail = f"attempt {self.attempt}"
        if self.retries:
            detail += f", {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        if self.metrics:
            detail += "  " + _fmt_metrics(self.metrics)
        grid.add_row(Text("  " + detail, style="dim"))
        return grid


_SHORT = {"failed": "FAILED", "timeout": "TIMEOUT"}


def short_lines(reports: Iterable[PhaseReport]) -> list[str]:
    """pytest's short summary lines: ``FAILED strategy - gate min_trades ...``, one per phase."""
    lines = []
    for report in reports:
        word = _SHORT.get(report.status)
        if word is not None:
            first = (report.message or "").strip().splitlines()
            lines.append(f"{word} {report.name}" + (f" - {first[0]}" if first else ""))
    return lines


class ConsoleReporter:
    """Prints a session's events; registered per session as ``console.reporter``."""

    def __init__(self, session: Session, out: TextIO, tb: str = "auto") -> None:
        self.session = session
        self.out = out
        self.verbosity = session.verbosity
        self.tb = tb if tb != "auto" else ("short" if self.verbosity > 0 else "no")
        self._tb_hint = tb == "auto"
        self.rich = use_rich(out)
        self.progress = Progress()
        self._console: Any = None
        self._live: Any = None
        self._lock = threading.Lock()
        if self.rich:
            from rich.console import Console

            self._console = Console(file=out, highlight=False)

    def _line(self, text: str, style: str | None = None) -> None:
        text = self.session.redact(text)
        if self._console is not None:
            self._console.print(text, style=style, markup=False)
        else:
            self.out.write(text + "\n")
            self.out.flush()

    def _wanted(self, event: Event) -> bool:
        if self.verbosity < 0 or event.type in ("session_start", "session_end"):
            return False
        if self.verbosity > 0:
            return True
        if event.type == "heartbeat":
            return self._live is None  # on a terminal the live area shows them
        return event.type in _ALWAYS or event.level in ("warning", "error")

    def _start_live(self) -> None:
        from rich.live import Live

        self._live = Live(
            self.progress,
            console=self._console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def stop_live(self) -> None:
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.stop()

    @hookimpl
    def sink_event(self, event: Event) -> None:
        self.progress.update(event)
        if event.type == "session_start" and self.verbosity >= 0:
            self._line(
                f"harness {event.data['harness_version']}  config: {self.session.config.display}"
            )
            self._line(f"run: {event.data['run_dir']}")
            if event.data.get("dry_run"):
                self._line("dry run: no connections, no secrets needed", "yellow")
            if self.rich:
                self._start_live()
        if self._wanted(event):
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
            self._traceback(event)
        live = self._live
        if live is not None and event.type in _REFRESH:
            live.refresh()

    def _traceback(self, event: Event) -> None:
        """An unexpected exception's traceback, in the ``--tb`` style."""
        from harness import format_traceback

        tb = event.data.get("traceback")
        if not isinstance(tb, Mapping):
            return
        if self.tb == "no":
            if self._tb_hint and self.verbosity >= 0:
                self._tb_hint = False
                self._line("  (traceback in events.jsonl; -v or --tb=short shows it)", "dim")
            return
        for line in format_traceback(dict(tb), self.tb):
            self._line(f"  {line}", "red")

    @hookimpl
    def session_finish(self, session: Session, exit_code: int, status: str) -> None:
        try:
            self.stop_live()
            self._final(session, exit_code, status)
        finally:
            session.pluginmanager.unregister(self)

    def _final(self, session: Session, exit_code: int, status: str) -> None:
        counts: dict[str, int] = {}
        for report in session.reports:
            counts[report.status] = counts.get(report.status, 0) + 1
        final = (
            f"{status}: "
            + ", ".join(f"{n} {s}" for s, n in counts.items())
            + f" in {sum(r.duration_s for r in session.reports):.2f}s (exit {exit_code})"
        )
        if self.verbosity >= 0:
            self._table(session)
            self._line(f"run directory: {session.run_dir}")
        if self.verbosity >= -1:  # pytest's short test summary: what failed, one line each
            for line in short_lines(session.reports):
                self._line(line, "red")
        self._line(final, "green" if exit_code == 0 else "red")

    def _table(self, session: Session) -> None:
        head = ("phase", "plugin", "status", "attempts", "time")
        rows = [
            (r.name, r.plugin, r.status, str(r.attempts), f"{r.duration_s:.2f}s", r.message)
            for r in session.reports
        ]
        if self._console is not None:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=None, show_edge=False)
            for column in (*head, "message"):
                table.add_column(column, overflow="fold")
            for row in rows:
                texts = [Text(c) for c in row]
                texts[2].stylize(_STYLE.get(row[2], ""))
                table.add_row(*texts)
            self._console.print(table)
            return
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(head)]
        self._line("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  message")
        for row in rows:
            cells = "  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True))
            self._line(f"{cells}  {row[5]}".rstrip())


@hookimpl
def addoption(parser: OptionParser) -> None:
    parser.addoption(
        "--tb",
        setting="plugins.console.tb",
        kind="choice",
        choices=TB_STYLES,
        metavar="STYLE",
        help="Traceback style for unexpected exceptions: auto (short with -v), long, "
        "short, line, no.",
    )


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


@hookimpl
def session_start(session: Session) -> None:
    tb = str(session.config.plugin_settings(NAME)["tb"])
    reporter = ConsoleReporter(session, sys.stdout, tb)
    session.pluginmanager.register(reporter, name="console.reporter")
