"""The ``report`` plugin: write the HTML run report at the end of every run.

Off unless enabled::

    [plugins.report]
    enabled = true
    path = "report.html"   # relative to the run directory (an absolute path is kept)

``harness run --report`` sets ``plugins.report.enabled = true``. The page is the
one ``harness report`` writes (the sections of every loaded plugin through
``report_sections``), made in-process with :func:`harness.build_report` after
``summary.json`` is written, and written with ``session.write_file`` (atomic,
secrets masked); every plugin of the run adds its sections.
A report that cannot be written is reported as a plugin error; the run's exit
code is not changed by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import hookimpl

if TYPE_CHECKING:
    from harness import OptionParser, Session

__all__ = ["SCHEMA", "addoption", "build_page", "config_schema", "session_finish"]

NAME = "report"
SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {
            "type": "boolean",
            "default": False,
            "description": "Write the HTML run report at the end of the run.",
        },
        "path": {
            "type": "string",
            "minLength": 1,
            "default": "report.html",
            "description": "Where, relative to the run directory (or absolute).",
        },
    },
}


@hookimpl
def addoption(parser: OptionParser) -> None:
    parser.addoption(
        "--report",
        setting="plugins.report.enabled",
        kind="flag",
        help="Also write the HTML run report (<run_dir>/report.html; see harness report).",
    )


@hookimpl
def config_schema() -> Mapping[str, Any]:
    return SCHEMA


def build_page(session: Session) -> str:
    """The report page of the session's run, with every loaded plugin's sections."""
    from harness import build_report

    return build_report(session.run_dir, session.pluginmanager).html


@hookimpl(trylast=True)
def session_finish(session: Session, exit_code: int) -> None:
    """Write the report after the summary (``trylast``: after the other plugins' files)."""
    settings = session.config.plugin_settings(NAME)
    if not settings.get("enabled"):
        return
    html = build_page(session)
    session.write_file(Path(str(settings["path"])).expanduser(), html)
