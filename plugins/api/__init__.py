"""The built-in ``api`` plugin: exchange API smoke checks before going live.

For each ``[[phases.api.exchanges]]`` entry it checks the configuration, the
credentials (present and well-formed), health, latency over ``requests`` GETs
(median and max), clock skew against the server time, an authenticated request
and the rate-limit headers. Each outcome is an ``api.check`` event; the summary
gets an ``api`` section. Requests retry through the run's policy
(``ctx.retry``). In a dry run no connection is opened and no secret is needed.

Credentials are read from the environment variables named by ``key_env`` and
``secret_env`` and sent as is in the ``key_header`` and ``secret_header``
headers of the authenticated request only (no request signing). Their values
are registered with ``ctx.add_secret`` and never written anywhere.

Example (the shipped default, offline)::

    [phases.api]
    dry_run = true
    [[phases.api.exchanges]]
    name = "example"
    base_url = "https://api.example.com"
    health_path = "/v1/ping"
    time_path = "/v1/time"
    time_field = "serverTime"
    time_format = "ms"
    auth_path = "/v1/account"
    key_env = "EXAMPLE_API_KEY"
    secret_env = "EXAMPLE_API_SECRET"
    key_pattern = "[A-Za-z0-9-]{16,64}"

Module-level imports stay light: httpx is imported only when a request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.hookspecs import hookimpl

if TYPE_CHECKING:
    from harness.config import Phase
    from harness.context import PhaseContext
    from harness.outcomes import PhaseResult
    from harness.session import Session

__all__ = ["event_schemas", "phase_resume", "phase_run", "phase_schema", "summarize"]

PLUGIN = "api"


@hookimpl
def phase_schema() -> Mapping[str, Any]:
    from harness.plugins.api.settings import PHASE_SCHEMA

    return PHASE_SCHEMA


@hookimpl
def event_schemas() -> Mapping[str, Mapping[str, Any]]:
    from harness.plugins.api.settings import CHECK_EVENT_SCHEMA

    return {"api.check": CHECK_EVENT_SCHEMA}


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult | None:
    if phase.plugin != PLUGIN:
        return None
    from harness.plugins.api.phase import run_phase

    return run_phase(phase.name, phase.settings, ctx)


@hookimpl
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """A resumed run does not re-check: the summary marks the phase's exchanges so."""
    if phase.plugin != PLUGIN:
        return
    from harness.plugins.api.phase import REPORT_ARTIFACT
    from harness.plugins.api.settings import parse_exchanges

    if REPORT_ARTIFACT not in ctx.artifacts:
        ctx.artifacts.put(REPORT_ARTIFACT, [])
    reports = ctx.artifacts.get(REPORT_ARTIFACT, list)
    for ex in parse_exchanges(phase.settings):
        reports.append(
            {
                "phase": phase.name,
                "exchange": ex.name,
                "base_url": ex.base_url,
                "status": "resumed",
                "checks": {},
            }
        )


@hookimpl
def summarize(session: Session) -> Mapping[str, Any] | None:
    from harness.plugins.api.phase import REPORT_ARTIFACT

    if REPORT_ARTIFACT not in session.artifacts:
        return None
    reports: list[dict[str, Any]] = session.artifacts.get(REPORT_ARTIFACT, list)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for report in reports:
        for check in report["checks"].values():
            counts[check["status"]] += 1
    return {"api": {"exchanges": reports, "checks": counts}}
