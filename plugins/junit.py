"""The ``junit`` plugin: a JUnit XML report of the run for CI test reporters.

Enabled by ``harness run --junit-xml PATH`` or in the configuration::

    [plugins.junit]
    path = "reports/harness.xml"   # relative to the config file's folder; "" = off
    suite_name = "harness"
    output_lines = 20              # last lines of each phase's output in <system-out>

The report has the xunit2 / ``junit-10.xsd`` shape that Jenkins, GitLab and
GitHub test reporters read: one ``<testsuite>`` for the run inside
``<testsuites>``, one ``<testcase classname="harness.<plugin>" name="<phase>">``
per selected phase, with

* ``<failure>`` for a failed phase (``type`` is the error type, or ``timeout``);
* ``<error>`` for a harness or plugin error (a ``phase_start`` that raised, a
  phase no plugin ran, an interrupt) and, as an extra test case
  ``harness.session``, for a run that ended with exit code 3 for a reason no
  phase shows (a broken sink);
* ``<skipped>`` for a skipped phase;
* the phase's metrics, its messages and the last lines of its output in
  ``<system-out>``, plugin faults of the phase in ``<system-err>``.

The file is written atomically at the end of the run, also after a failure or
an interrupt. Every string went through the run's redactor first.
"""

from __future__ import annotations

import re
import socket
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import hookimpl

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from harness import Event, OptionParser, PhaseReport, Session, UsageError

NAME = "junit"

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {
            "type": "string",
            "default": "",
            "description": "Where to write the report (relative to the config file); empty: off.",
        },
        "suite_name": {"type": "string", "minLength": 1, "default": "harness"},
        "output_lines": {"type": "integer", "minimum": 0, "default": 20},
    },
}

# Characters XML 1.0 cannot carry at all (pytest's bin_xml_escape keeps them visible the same way).
_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ERROR_PREFIXES = ("phase_start of plugin", "no plugin ran phase", "phase_run returned")


def xml_text(text: str) -> str:
    """``text`` with characters XML cannot hold shown as ``#xNN``."""
    return _ILLEGAL.sub(lambda m: f"#x{ord(m.group()):02X}", text)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _fmt(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def classify(report: PhaseReport) -> tuple[str, str]:
    """``(kind, type)`` of a phase: kind is ``passed``/``failure``/``error``/``skipped``."""
    if report.status == "skipped":
        return "skipped", "skipped"
    if report.status == "passed":
        return "passed", ""
    if report.status == "timeout":
        return "failure", "timeout"
    error = report.error or ""
    if report.message.startswith("interrupted by"):
        return "error", "interrupted"
    if error.startswith(_ERROR_PREFIXES):
        return "error", "PluginError"
    last = report.history[-1] if report.history else {}
    return "failure", str(last.get("error_type") or "PhaseFailed")


class JUnitReport:
    """Collects a session's events and writes the report; registered as ``junit.report``."""

    def __init__(self, path: Path, suite_name: str, output_lines: int) -> None:
        self.path = path
        self.suite_name = suite_name
        self.output_lines = output_lines
        self.timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self._lines: dict[str | None, deque[str]] = {}
        self._faults: dict[str | None, list[str]] = {}
        self._heartbeat: dict[str, dict[str, float | int]] = {}

    # -- collecting --------------------------------------------------------
    @hookimpl
    def sink_event(self, event: Event) -> None:
        if event.type == "heartbeat":
            if event.phase is not None:
                self._heartbeat[event.phase] = dict(event.metrics)
            return
        if event.type == "checkpoint" or event.level == "debug":
            return
        line = f"{event.timestamp} {event.level.upper():7} {event.type}: {event.message}"
        self._lines.setdefault(event.phase, deque(maxlen=max(self.output_lines, 1))).append(line)
        if event.type == "error" and "plugin" in event.data:
            self._faults.setdefault(event.phase, []).append(event.message)

    # -- writing -----------------------------------------------------------
    @hookimpl
    def session_finish(self, session: Session, exit_code: int) -> None:
        try:
            self.write(session, exit_code)
        finally:
            session.pluginmanager.unregister(self)

    def write(self, session: Session, exit_code: int) -> None:
        from xml.etree import ElementTree as ET

        from harness import __version__, status_for

        redact = session.redact
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        cases = [self._case(session, r, counts) for r in session.reports]
        explained = any(classify(r)[0] == "error" for r in session.reports)
        if exit_code == 3 and not explained:
            cases.append(self._session_case(session, counts))
        suite = ET.Element(
            "testsuite",
            {
                "name": self.suite_name,
                "tests": str(counts["tests"]),
                "failures": str(counts["failures"]),
                "errors": str(counts["errors"]),
                "skipped": str(counts["skipped"]),
                "time": _seconds(time.time() - session.started),
                "timestamp": self.timestamp,
                "hostname": socket.gethostname(),
                "id": session.run_id,
            },
        )
        props = ET.SubElement(suite, "properties")
        config = session.config
        for name, value in (
            ("harness_version", __version__),
            ("run_id", session.run_id),
            ("session_id", session.session_id),
            ("config", config.display),
            ("config_hash", config.hash),
            ("run_dir", str(session.run_dir)),
            ("status", status_for(exit_code)),
            ("exit_code", str(exit_code)),
            ("dry_run", str(session.dry_run).lower()),
        ):
            ET.SubElement(props, "property", {"name": name, "value": xml_text(redact(value))})
        suite.extend(cases)
        root = ET.Element(
            "testsuites",
            {
                "name": self.suite_name,
                "tests": suite.get("tests", "0"),
                "failures": suite.get("failures", "0"),
                "errors": suite.get("errors", "0"),
                "time": suite.get("time", "0"),
            },
        )
        root.append(suite)
        ET.indent(root)
        data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
        session.write_file(self.path, data)

    def _case(self, session: Session, report: PhaseReport, counts: dict[str, int]) -> Element:
        from xml.etree import ElementTree as ET

        redact = session.redact
        counts["tests"] += 1
        case = ET.Element(
            "testcase",
            {
                "classname": f"harness.{report.plugin}",
                "name": report.name,
                "time": _seconds(report.duration_s),
            },
        )
        kind, type_ = classify(report)
        message = xml_text(redact(report.error or report.message or report.status))
        if kind == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", {"type": type_, "message": message})
        elif kind in ("failure", "error"):
            counts["failures" if kind == "failure" else "errors"] += 1
            element = ET.SubElement(case, kind, {"type": type_, "message": message})
            element.text = xml_text(redact(self._details(report)))
        out = self._system_out(report)
        if out:
            ET.SubElement(case, "system-out").text = xml_text(redact(out))
        err = self._system_err(report)
        if err:
            ET.SubElement(case, "system-err").text = xml_text(redact(err))
        return case

    def _session_case(self, session: Session, counts: dict[str, int]) -> Element:
        from xml.etree import ElementTree as ET

        counts["tests"] += 1
        counts["errors"] += 1
        faults = [f.message for f in session.plugin_errors] or ["internal error"]
        case = ET.Element("testcase", {"classname": "harness", "name": "session", "time": "0.000"})
        element = ET.SubElement(
            case,
            "error",
            {"type": "PluginError", "message": xml_text(session.redact(faults[0]))},
        )
        element.text = xml_text(session.redact("\n".join(faults)))
        return case

    def _details(self, report: PhaseReport) -> str:
        lines = [f"{report.status}: {report.error or report.message}"]
        for entry in report.history:
            if entry.get("error"):
                what = f" ({entry['operation']})" if entry.get("operation") else ""
                lines.append(
                    f"attempt {entry['attempt']}{what}: {entry['error_type']}: {entry['error']}"
                )
        return "\n".join(lines)

    def _system_out(self, report: PhaseReport) -> str:
        parts: list[str] = []
        metrics = {**self._heartbeat.get(report.name, {}), **report.metrics}
        if metrics:
            parts.append("metrics: " + " ".join(f"{k}={_fmt(v)}" for k, v in metrics.items()))
        parts.append(f"attempts: {report.attempts}")
        if report.resumed:
            parts.append("resumed: passed in an earlier session")
        events = list(self._lines.get(report.name, ()))
        if events:
            parts.append("events:")
            parts.extend(f"  {line}" for line in events)
        stdout = report.data.get("stdout_tail")
        if isinstance(stdout, list) and stdout and self.output_lines:
            parts.append("output:")
            parts.extend(str(x) for x in stdout[-self.output_lines :])
        return "\n".join(parts)

    def _system_err(self, report: PhaseReport) -> str:
        parts = list(self._faults.get(report.name, ()))
        stderr = report.data.get("stderr_tail")
        if isinstance(stderr, list) and stderr and self.output_lines:
            parts.extend(str(x) for x in stderr[-self.output_lines :])
        return "\n".join(parts)


@hookimpl
def addoption(parser: OptionParser) -> None:
    parser.addoption(
        "--junit-xml",
        setting="plugins.junit.path",
        kind="path",
        metavar="PATH",
        help="Also write a JUnit XML report here (CI test reporters).",
    )


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


@hookimpl
def session_start(session: Session) -> None:
    settings = session.config.plugin_settings(NAME)
    if not settings.get("path"):
        return
    report = JUnitReport(
        session.config.resolve_path(settings["path"]),
        str(settings["suite_name"]),
        int(settings["output_lines"]),
    )
    session.pluginmanager.register(report, name="junit.report")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically. The one place this plugin writes outside a
    session (no ``session.write_file`` then: no run directory, no run redactor)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def usage_error_report(error: Exception, suite_name: str) -> bytes:
    """A JUnit XML document with one ``error`` test case: the run could not start."""
    from xml.etree import ElementTree as ET

    message = xml_text(str(error))
    root = ET.Element(
        "testsuites", {"name": suite_name, "tests": "1", "failures": "0", "errors": "1"}
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": suite_name,
            "tests": "1",
            "failures": "0",
            "errors": "1",
            "skipped": "0",
            "time": "0.000",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "hostname": socket.gethostname(),
        },
    )
    case = ET.SubElement(
        suite, "testcase", {"classname": "harness", "name": "configuration", "time": "0.000"}
    )
    element = ET.SubElement(case, "error", {"type": type(error).__name__, "message": message})
    element.text = message
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


@hookimpl
def usage_error(error: UsageError, settings: Mapping[str, Any], root: Path) -> None:
    """A configuration or plugin error (exit 4): the report holds one ``error`` test case."""
    table = settings.get(NAME)
    if not isinstance(table, Mapping) or not isinstance(table.get("path"), str):
        return
    if not table["path"]:
        return
    suite = table.get("suite_name")
    target = Path(table["path"]).expanduser()
    target = target if target.is_absolute() else root / target
    _write_atomic(
        target, usage_error_report(error, suite if isinstance(suite, str) and suite else "harness")
    )
