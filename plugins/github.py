"""The ``github`` plugin: GitHub Actions annotations and a job summary.

Active only when the environment has ``GITHUB_ACTIONS=true`` (GitHub sets it
in every job); elsewhere it does nothing. Then:

* each phase's log lines are folded in a ``::group::phase <name>`` ...
  ``::endgroup::`` block;
* each failed or timed-out phase prints an ``::error`` workflow command on
  standard output as it ends (GitHub turns it into an annotation on the run;
  ``file=``/``line=`` when its message names a ``path:LINE``),
* a configuration, plugin or usage error (exit 4, no run) prints an ``::error``
  (``file=``/``line=`` of the configuration when known) and adds a step-summary
  entry (hook ``usage_error``),
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
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness import hookimpl

if TYPE_CHECKING:
    from harness import Event, Session, UsageError

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


def _count(n: int, noun: str) -> str:
    """``1 retried attempt``, ``2 retried attempts``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


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
        retried = sum(1 for entry in session.retries if entry.get("status") == "retried")
        gave_up = len(session.retries) - retried
        head = _count(retried, "retried attempt")
        if gave_up:
            head += f", {_count(gave_up, 'attempt')} given up"
        lines += ["", f"<details><summary>{head}</summary>", ""]
        for entry in session.retries:
            what = entry.get("operation") or "phase"
            lines.append(
                f"- `{entry['phase']}` {what} attempt {entry['attempt']}: "
                f"{entry.get('error_type')}: {entry.get('error')} ({entry['status']})"
            )
        lines += ["", "</details>"]
    if session.plugin_errors:
        lines += ["", "**Plugin errors**", ""]
        lines += [f"- {f.message}" for f in session.plugin_errors]
    return session.redact("\n".join(lines)) + "\n\n"


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
        if not self.annotations:  # annotations = false: no workflow command at all
            return
        if event.type == "phase_start":  # the phase's log lines fold under its name
            self.out.write(f"::group::phase {escape_data(str(event.phase))}\n")
            self.out.flush()
            return
        if event.type != "phase_end":
            return
        self.out.write("::endgroup::\n")
        status = event.data.get("status")
        if status in ("failed", "timeout"):
            message = str(event.data.get("error") or event.data.get("message") or event.message)
            title = f"harness phase {event.phase} {status}"
            where = location_of(message)
            line = workflow_command(
                "error", self.redact(message), **where, title=self.redact(title)
            )
            self.out.write(line + "\n")
        self.out.flush()

    @hookimpl
    def session_finish(self, session: Session, exit_code: int) -> None:
        try:
            if self.annotations:
                for fault in session.plugin_errors:
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


#: ``path/file.ext:LINE`` in a message (``prices.csv:12: ...``, ``harness.toml:7:12``).
_LOCATION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z]\w*):(\d+)\b")


def _workspace_relative(path: str) -> str:
    """``path`` relative to ``GITHUB_WORKSPACE`` when inside it (annotations link to it)."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    candidate = Path(path)
    if workspace and candidate.is_absolute():
        try:
            return candidate.relative_to(workspace).as_posix()
        except ValueError:
            return path
    return path


def location_of(message: str) -> dict[str, str]:
    """``file``/``line`` properties for the first ``path:LINE`` a message names (or none)."""
    match = _LOCATION.search(message)
    if match is None:
        return {}
    return {"file": _workspace_relative(match[1]), "line": match[2]}


def key_line(text: str, key: str) -> int | None:
    """The line (1-based) of TOML ``text`` that sets ``key`` (``phases.data.timeout``).

    Best effort, for an annotation's ``line=``: the deepest part of the key path
    found as a ``[table]`` header or as ``name =`` under one; ``None`` when absent.
    """
    parts = [p for p in re.sub(r"\[\d+\]", "", key).split(".") if p]
    found: dict[int, int] = {}  # depth of the key path matched -> line
    table: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            table = [t.strip().strip("\"'") for t in header[1].split(".")]
            path = table
        else:
            assignment = re.match(r"^([A-Za-z0-9_.\-\"' ]+?)\s*=", line)
            if assignment is None:
                continue
            path = table + [t.strip().strip("\"'") for t in assignment[1].split(".")]
        if path == parts[: len(path)] and len(path) not in found:
            found[len(path)] = number
    return found[max(found)] if found else None


def _error_location(error: Exception, root: Path) -> dict[str, str]:
    """``file``/``line`` of a configuration error, when it names a file."""
    from harness import ConfigError

    if not isinstance(error, ConfigError) or not error.path or error.path.startswith(("<", "-")):
        return {}
    where = {"file": _workspace_relative(error.path)}
    line = error.line
    if line is None and error.key:
        try:
            line = key_line((root / error.path).read_text("utf-8"), error.key)
        except (OSError, UnicodeDecodeError):
            line = None
    if line is not None:
        where["line"] = str(line)
    return where


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
        session.redact,
    )
    session.pluginmanager.register(reporter, name="github.reporter")


@hookimpl
def usage_error(error: UsageError, settings: Mapping[str, Any], root: Path) -> None:
    """A configuration or plugin error (exit 4): an ``::error`` and a step-summary entry."""
    if not active():
        return
    table = {"annotations": True, "step_summary": True}
    given = settings.get(NAME)
    if isinstance(given, Mapping):
        table.update({k: bool(v) for k, v in given.items() if k in table})
    from harness import ConfigError, PluginError

    kind = (
        "configuration error"
        if isinstance(error, ConfigError)
        else "plugin error"
        if isinstance(error, PluginError)
        else "usage error"
    )
    message = str(error)
    if table["annotations"]:
        where = _error_location(error, root)
        sys.stdout.write(
            workflow_command("error", message, **where, title=f"harness {kind}") + "\n"
        )
        sys.stdout.flush()
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if table["step_summary"] and summary:
        text = f"## ❌ harness: {kind} (exit 4)\n\nNo phase ran.\n\n```\n{message}\n```\n\n"
        with Path(summary).open("a", encoding="utf-8") as fh:
            fh.write(text)
