"""The ``github`` plugin: GitHub Actions annotations and a job summary.

Active only when the environment has ``GITHUB_ACTIONS=true`` (GitHub sets it
in every job); elsewhere it does nothing. Then:

* each failed or timed-out phase prints an ``::error`` workflow command on
  standard output as it ends (GitHub turns it into an annotation on the run),
  and each plugin fault (a raising sink or heartbeat, an invalid event) a
  ``::warning`` at the end;
* at the end of the run a Markdown summary (status, a table of phases, the
  retries) is appended to the file named by ``GITHUB_STEP_SUMMARY``.

Messages and properties are escaped as GitHub's workflow-command rules say
(``%``, ``\\r``, ``\\n`` everywhere; ``:`` and ``,`` in properties too), and
every string goes through the run's redactor, so a secret never reaches the
log or the summary.

Settings (``[plugins.github]``): ``annotations`` and ``step_summary``
(booleans, default ``true``) switch the two parts off one by one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, Session

NAME = "github"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "annotations": {"type": "boolean", "default": True},
        "step_summary": {"type": "boolean", "default": True},
    },
}

_ICON = {"passed": "✅", "failed": "❌", "timeout": "⏱️", "skipped": "⏭️"}
_STATUS_ICON = {"success": "✅", "failed": "❌", "interrupted": "⚠️", "error": "💥"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (GitHub's ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    """One workflow command line, for example ``::error title=x::message``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ") or " "


def markdown_summary(session: Session, exit_code: int) -> str:
    """The run as Markdown: a status line, a table of phases, the retries."""
    from harness import status_for

    status = status_for(exit_code)
    lines = [
        f"## {_STATUS_ICON.get(status, '')} harness: {status} (exit {exit_code})",
        "",
        f"Config `{session.config.display}`, run `{session.run_id}`"
        + (" (dry run)" if session.dry_run else ""),
        "",
        "| phase | plugin | status | attempts | time | message |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in session.reports:
        lines.append(
            f"| {_cell(r.name)} | {_cell(r.plugin)} | {_ICON.get(r.status, '')} {r.status} "
            f"| {r.attempts} | {r.duration_s:.2f}s | {_cell(r.error or r.message)} |"
        )
    if session.retries:
        lines += ["", f"<details><summary>{len(session.retries)} retried attempt(s)</summary>", ""]
        for entry in session.retries:
            what = entry.get("operation") or "phase"
            lines.append(
                f"- `{entry['phase']}` {what} attempt {entry['attempt']}: "
                f"{entry.get('error_type')}: {entry.get('error')} ({entry['status']})"
            )
        lines += ["", "</details>"]
    if session.faults:
        lines += ["", "**Plugin errors**", ""]
        lines += [f"- {f.message}" for f in session.faults]
    return session.redactor.redact("\n".join(lines)) + "\n\n"


class GitHubReporter:
    """Annotations and the step summary of one session; registered as ``github.reporter``."""

    def __init__(
        self,
        out: TextIO,
        summary_path: Path | None,
        annotations: bool,
        redact: Callable[[str], str],
    ) -> None:
        self.out = out
        self.summary_path = summary_path
        self.annotations = annotations
        self.redact = redact

    @hookimpl
    def sink_event(self, event: Event) -> None:
        if not self.annotations or event.type != "phase_end":
            return
        status = event.data.get("status")
        if status not in ("failed", "timeout"):
            return
        message = str(event.data.get("error") or event.data.get("message") or event.message)
        title = f"harness phase {event.phase} {status}"
        line = workflow_command("error", self.redact(message), title=self.redact(title))
        self.out.write(line + "\n")
        self.out.flush()

    @hookimpl
    def session_finish(self, session: Session, exit_code: int) -> None:
        try:
            if self.annotations:
                for fault in session.faults:
                    title = f"harness plugin {fault.plugin} ({fault.where})"
                    line = workflow_command(
                        "warning", self.redact(fault.message), title=self.redact(title)
                    )
                    self.out.write(line + "\n")
                self.out.flush()
            if self.summary_path is not None:
                with self.summary_path.open("a", encoding="utf-8") as fh:
                    fh.write(markdown_summary(session, exit_code))
        finally:
            session.pluginmanager.unregister(self)


def active(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the run is inside a GitHub Actions job."""
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


@hookimpl
def session_start(session: Session) -> None:
    if not active():
        return
    settings = session.config.plugin_settings(NAME)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    reporter = GitHubReporter(
        sys.stdout,
        Path(summary) if summary and settings["step_summary"] else None,
        bool(settings["annotations"]),
        session.redactor.redact,
    )
    session.pluginmanager.register(reporter, name="github.reporter")
