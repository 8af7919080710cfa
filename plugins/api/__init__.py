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
are registered as secrets when the session starts (so that they are masked
from the first event of the run, output of earlier phases included) and
never written anywhere.

TLS certificates are always verified (no setting turns that off); a private
CA (exchange testnet, corporate proxy) is trusted with an exchange's
``ca_bundle`` PEM file, relative to the config file. A certificate that does not
verify fails the request at once (not retried).

Settings the schema cannot check (a ``base_url`` holding credentials, a query
or plain ``http://`` to a remote host, an invalid ``key_pattern``, ``auth_path``
without credentials...) are rejected by ``configure``: exit code 4 before
anything runs.

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

from harness import hookimpl
from harness.plugins.api.report_section import report_sections  # noqa: F401

if TYPE_CHECKING:
    from harness import Config, Phase, PhaseContext, PhaseResult, Session

__all__ = [
    "configure",
    "event_schemas",
    "phase_resume",
    "phase_run",
    "phase_schema",
    "session_start",
    "summarize",
]

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
def configure(config: Config) -> None:
    """Reject, at start-up, every api phase setting that is well-typed but wrong.

    The first problem of the first bad exchange is raised as
    ``phases.<phase>.exchanges[<i>].<key>``; a base URL is shown masked. A
    ``ca_bundle`` must be a PEM file of CA certificates (checked offline, in a
    dry run too).
    """
    from harness.plugins.api.configcheck import ca_bundle_problem, exchange_problems
    from harness.plugins.api.settings import parse_exchanges

    for phase in config.phases:
        if phase.plugin != PLUGIN:
            continue
        for index, ex in enumerate(parse_exchanges(phase.settings)):
            ca_file = None if ex.ca_bundle is None else config.resolve_path(ex.ca_bundle)
            ca_problem = ca_bundle_problem(ex, ca_file)
            for problem in [*exchange_problems(ex), *([ca_problem] if ca_problem else [])]:
                key = f"phases.{phase.name}.exchanges[{index}].{problem.key}"
                raise config.error(key, problem.expected, problem.given)


@hookimpl
def session_start(session: Session) -> None:
    """Register the credential values as secrets before the first event of the run.

    Every ``key_env`` / ``secret_env`` of every api phase that is set in the
    environment, whether or not (and before) the phase runs: an earlier phase
    printing one is masked too.
    """
    import os

    from harness.plugins.api.settings import parse_exchanges

    for phase in session.config.phases:
        if phase.plugin != PLUGIN:
            continue
        for ex in parse_exchanges(phase.settings):
            for var in (ex.key_env, ex.secret_env):
                value = os.environ.get(var) if var else None
                if not value:
                    continue
                session.add_secret(value)  # its stripped form too: printed lines lose the newline


@hookimpl
def phase_run(phase: Phase, ctx: PhaseContext) -> PhaseResult:
    from harness.plugins.api.phase import run_phase

    return run_phase(phase.name, phase.settings, ctx)


@hookimpl
def phase_resume(phase: Phase, ctx: PhaseContext) -> None:
    """A resumed run does not re-check: the summary marks the phase's exchanges so."""
    from harness.plugins.api.configcheck import safe_url
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
                "base_url": safe_url(ex.base_url),
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
