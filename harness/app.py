"""One run, start to end: configuration, plugins, run directory, session, summary."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Config, Phase
from harness.errors import PluginError, UsageError
from harness.hookcall import call_each
from harness.interrupts import Interrupted, Interrupts
from harness.prepare import Prepared, RunOptions, prepare
from harness.redact import SECRET_ENV, mask_document
from harness.rundir import (
    CONFIG_FILE,
    SUMMARY_FILE,
    atomic_write,
    choose_run_dir,
    repair_events,
    write_json,
)
from harness.session import PhaseReport, Session
from harness.summary import build_summary
from harness.version import __version__

__all__ = ["Prepared", "RunOptions", "RunOutcome", "prepare", "run"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INTERNAL, EXIT_USAGE, EXIT_NO_PHASES = range(6)


@dataclass(slots=True)
class RunOutcome:
    """The result of :func:`harness.run`."""

    exit_code: int
    run_dir: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def _select(config: Config, names: Sequence[str]) -> list[Phase]:
    known = {p.name: p for p in config.phases}
    for name in names:
        if name not in known:
            listing = ", ".join(known) or "none configured"
            raise UsageError(f"--phase {name}: no such phase (phases: {listing})")
    if names:
        return [p for p in config.phases if p.name in set(names)]
    return [p for p in config.phases if p.enabled]


def run(options: RunOptions | None = None, **kwargs: Any) -> RunOutcome:
    """Run the configured phases; the Python twin of ``harness run``.

    Accepts a :class:`RunOptions` or its fields as keyword arguments. Returns a
    :class:`RunOutcome` (exit code, run directory, summary).

    :raises UsageError: for a bad configuration, plugin or option (exit code 4).
    """
    options = options or RunOptions(**kwargs)
    cwd = options.cwd or Path.cwd()
    prepared = prepare(options)
    config = prepared.config
    phases = _select(config, options.phases)
    if not phases:
        return RunOutcome(EXIT_NO_PHASES)
    for result in call_each(
        prepared.plugins.pm.hook.configure, config=config, pluginmanager=prepared.plugins.pm
    ):
        if result.error is not None:
            if isinstance(result.error, UsageError):
                raise result.error
            raise PluginError(
                result.plugin, f"configure failed: {type(result.error).__name__}: {result.error}"
            )
    output_dir = cwd / options.output_dir if options.output_dir is not None else None
    runs_dir = config.resolve_path(config.harness.runs_dir)
    run_dir, run_id, state = choose_run_dir(runs_dir, output_dir, options.resume)
    first_seq = repair_events(run_dir) + 1 if state else 1
    import uuid

    interrupts = Interrupts()
    session = Session(
        config=config,
        pluginmanager=prepared.plugins.pm,
        run_id=run_id,
        session_id=str(uuid.uuid4()),
        run_dir=run_dir,
        dry_run=options.dry_run or config.harness.dry_run,
        interrupts=interrupts,
        plugin_types=prepared.event_types,
        first_seq=first_seq,
        disabled=frozenset(prepared.plugins.disabled),
        verbosity=options.verbosity,
        previous_sessions=tuple(state.get("sessions", ())) if state else (),
    )
    session.reports = [PhaseReport(p.name, p.plugin) for p in phases]
    for name, value in os.environ.items():  # GITHUB_TOKEN, EXCHANGE_API_KEY...: never echoed
        if SECRET_ENV.search(name) and len(value) >= 8:
            session.redactor.add(value)
    done = set(state.get("passed", ())) if state else set()
    interrupted = False
    interrupts.install()
    try:
        try:
            with interrupts.critical():
                _save_config(run_dir / CONFIG_FILE, config, session)
                failed = [
                    r
                    for r in call_each(session.hook.session_start, session=session)
                    if r.error is not None
                ]
                session.emit(
                    "session_start",
                    f"harness {__version__}: config {config.display}",
                    data={
                        "harness_version": __version__,
                        "config_path": str(config.path) if config.path else None,
                        "config_source": config.source,
                        "config_hash": config.hash,
                        "run_dir": str(run_dir),
                        "phases": [p.name for p in phases],
                        "dry_run": session.dry_run,
                        "resumed": bool(state),
                        "pid": os.getpid(),
                    },
                )
                for result in failed:  # now every sink that could open is listening
                    session.internal_error = f"session_start of {result.plugin!r} failed"
                    assert result.error is not None
                    session.fault(result.plugin, "session_start", result.error)
                if state and state.get("config_hash") != config.hash:
                    session.emit(
                        "error",
                        "resuming with a different configuration than the run started with "
                        f"({state.get('config_hash', 'unknown')[:19]}... -> {config.hash[:19]}...)",
                        level="warning",
                        data={"previous_config_hash": state.get("config_hash"), "resume": True},
                    )
            from harness.runner import run_phases

            run_phases(session, phases, done)
        except Interrupted as exc:
            interrupted = True
            interrupts.hold()
            for report in session.reports:
                if report.status == "skipped" and not report.message:
                    report.message = f"not run: interrupted by {exc.signame}"
        except Exception as exc:  # a bug in harness itself: still leave a summary behind
            interrupts.hold()
            _internal_error(session, exc)
        interrupts.hold()
        exit_code = _exit_code(session, interrupted)
        return _finish(session, prepared, exit_code)
    finally:
        interrupts.uninstall()


def _internal_error(session: Session, exc: Exception) -> None:
    """Record a harness bug as an ``error`` event and exit code 3 (the traceback in data)."""
    import traceback

    text = f"{type(exc).__name__}: {exc}"
    session.internal_error = f"internal error: {text}"
    for report in session.reports:
        if report.status == "skipped" and not report.message:
            report.message = "not run: internal error"
    with contextlib.suppress(Exception):
        session.emit(
            "error",
            f"internal error: {text}",
            level="error",
            data={"traceback": traceback.format_exception(exc)[-8:], "internal": True},
        )


def _exit_code(session: Session, interrupted: bool) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    if session.internal_error or session.emitter.broken_sinks():
        return EXIT_INTERNAL
    if any(r.status in ("failed", "timeout") for r in session.reports):
        return EXIT_FAILED
    return EXIT_OK


def _finish(session: Session, prepared: Prepared, exit_code: int) -> RunOutcome:
    from harness.exitcodes import status_for

    counts: dict[str, int] = {}
    for report in session.reports:
        counts[report.status] = counts.get(report.status, 0) + 1
    session.emit(
        "session_end",
        f"{status_for(exit_code)}: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" (exit {exit_code})",
        level="info" if exit_code == 0 else "error",
        data={"status": status_for(exit_code), "exit_code": exit_code, "counts": counts},
    )
    summary = build_summary(session, exit_code, prepared.plugins.infos, __version__)
    if session.emitter.broken_sinks() and exit_code in (EXIT_OK, EXIT_FAILED):
        exit_code = EXIT_INTERNAL
        summary["exit_code"], summary["status"] = exit_code, status_for(exit_code)
    write_json(session.run_dir / SUMMARY_FILE, summary)
    session.emitter.flush(durable=True)
    session.save_state()
    broken = session.emitter.broken_sinks()  # switched off: reported once already
    for result in call_each(
        session.hook.session_finish, broken, session=session, exit_code=exit_code
    ):
        if result.error is not None:
            with contextlib.suppress(Exception):
                session.fault(result.plugin, "session_finish", result.error)
    return RunOutcome(exit_code, session.run_dir, summary)


def _save_config(path: Path, config: Config, session: Session) -> None:
    """The resolved configuration as TOML, secrets masked (``config.toml``)."""
    import tomli_w

    document = mask_document(config.document, session.redactor.redact)
    atomic_write(path, tomli_w.dumps(document).encode())
