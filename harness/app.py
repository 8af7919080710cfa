"""One run, start to end: configuration, plugins, run directory, session, summary."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Config, Phase
from harness.deadlines import STOP_GRACE, HookTimeout, Watch, hook_timeouts
from harness.dispatch import HookResult, call_isolated, unwatch, watch
from harness.errors import UsageError
from harness.exitcodes import ExitCode
from harness.interrupts import Interrupted, Interrupts, PhaseTimeout
from harness.manager import ESSENTIAL_PLUGINS
from harness.prepare import Prepared, RunOptions, configure, prepare
from harness.redact import Redactor, mask_document, secret_values
from harness.rundir import CONFIG_FILE, choose_run_dir, release_run_dir, repair_events
from harness.runstate import RunState
from harness.session import PhaseReport
from harness.suggest import did_you_mean
from harness.summary import build_summary, write_record
from harness.tracebacks import describe
from harness.version import __version__

__all__ = ["RunOptions", "RunOutcome", "run"]


@dataclass(slots=True)
class RunOutcome:
    """The result of :func:`harness.run`: exit code, run directory, summary."""

    exit_code: int
    run_dir: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def _select(config: Config, names: Sequence[str]) -> list[Phase]:
    known = {p.name: p for p in config.phases}
    for name in names:
        if name not in known:
            listing = ", ".join(known) or "none configured"
            hint = did_you_mean(name, known)
            raise UsageError(f"--phase {name}: no such phase{hint} (phases: {listing})")
    if names:
        return [p for p in config.phases if p.name in set(names)]
    return [p for p in config.phases if p.enabled]


@contextlib.contextmanager
def masked_errors(redactor: Redactor) -> Iterator[None]:
    """Usage errors leave with every known secret masked (they end on stderr, in CI logs)."""
    try:
        yield
    except UsageError as exc:
        raise exc.masked(redactor.redact) from exc.__cause__


def run(options: RunOptions | None = None, **kwargs: Any) -> RunOutcome:
    """Run the configured phases; the Python twin of ``harness run``.

    Accepts a :class:`RunOptions` or its fields as keyword arguments. Returns a
    :class:`RunOutcome` (exit code, run directory, summary).

    :raises UsageError: for a bad configuration, plugin or option (exit code 4);
        its message has every known secret masked.
    """
    options = options or RunOptions(**kwargs)
    interrupts = Interrupts()
    interrupts.install()  # stoppable from the first moment: start-up included
    try:
        return _run(options, interrupts)
    except Interrupted as exc:  # during start-up: nothing has run
        sys.stderr.write(
            f"harness: interrupted by {exc.signame} during start-up; nothing was run\n"
        )
        return RunOutcome(ExitCode.INTERRUPTED)
    finally:
        interrupts.uninstall()


def _run(options: RunOptions, interrupts: Interrupts) -> RunOutcome:
    redactor = Redactor.from_environment(os.environ)  # GITHUB_TOKEN, EXCHANGE_API_KEY...
    with masked_errors(redactor):
        prepared = prepare(options)
        for value in secret_values(prepared.config.document):
            redactor.add(value)
        problems = configure(prepared)
        if problems:
            raise problems[0]
        phases = _select(prepared.config, options.phases)
        if not phases:
            return RunOutcome(ExitCode.NO_PHASES)
        cwd = options.cwd or Path.cwd()
        config = prepared.config
        output_dir = cwd / options.output_dir if options.output_dir is not None else None
        runs_dir = config.resolve_path(config.harness.runs_dir)
        run_dir, run_id, saved = choose_run_dir(
            runs_dir, output_dir, options.resume, config_path=config.path
        )
    try:  # the run directory is locked (one writer) until the run ends
        state = _state(prepared, options, run_dir, run_id, saved, redactor, interrupts)
        state.reports = [PhaseReport(p.name, p.plugin) for p in phases]
        return _session(state, prepared, phases, saved)
    finally:
        release_run_dir(run_dir)


def _state(
    prepared: Prepared,
    options: RunOptions,
    run_dir: Path,
    run_id: str,
    saved: dict[str, Any] | None,
    redactor: Redactor,
    interrupts: Interrupts,
) -> RunState:
    config = prepared.config
    return RunState(
        config=config,
        pluginmanager=prepared.plugins.pm,
        run_id=run_id,
        session_id=str(uuid.uuid4()),
        run_dir=run_dir,
        dry_run=options.dry_run or config.harness.dry_run,
        interrupts=interrupts,
        redactor=redactor,
        plugin_types=prepared.event_types,
        first_seq=repair_events(run_dir) + 1 if saved else 1,
        disabled=frozenset(prepared.plugins.disabled),
        verbosity=options.verbosity,
        previous_sessions=tuple(saved.get("sessions", ())) if saved else (),
    )


def _session(
    state: RunState, prepared: Prepared, phases: list[Phase], saved: dict[str, Any] | None
) -> RunOutcome:
    interrupts = state.interrupts
    done = set(saved.get("passed", ())) if saved else set()
    interrupted = False
    interrupts.grace = float(state.config.document.get("harness", {}).get("stop_grace", STOP_GRACE))
    watch(
        state.pm,
        Watch(
            timeouts=hook_timeouts(state.config.document),
            watchdog=interrupts.watchdog,
            hold=interrupts.critical(),
            open=interrupts.opened(),
            essential=frozenset(ESSENTIAL_PLUGINS),
            stopping=interrupts.stopping,
        ),
    )
    try:
        try:
            try:
                _start(state, phases, saved)
                from harness.runner import run_phases

                run_phases(state, phases, done)
            finally:
                interrupts.hold()  # the outcome is decided: signals no longer raise
        except Interrupted as exc:
            interrupted = True
            interrupts.hold()
            for report in state.reports:
                if report.status == "skipped" and not report.message:
                    report.message = f"not run: interrupted by {exc.signame}"
        except (Exception, PhaseTimeout, HookTimeout) as exc:  # a bug: still leave a summary
            interrupts.hold()
            _internal_error(state, exc)
        report_abandoned(state)
        return _finish(state, prepared, _exit_code(state, interrupted))
    finally:
        unwatch(state.pm)


def report_abandoned(state: RunState) -> None:
    """Name each hook left running past its deadline in another thread (switched off)."""
    for record in state.interrupts.watchdog.unreported():
        with contextlib.suppress(Exception):
            state.fault(record.plugin, record.hook, record.error())


def _start(state: RunState, phases: list[Phase], saved: dict[str, Any] | None) -> None:
    """``config.toml``, the ``session_start`` hook and event, a resume warning."""
    config = state.config
    state.save_state()  # resumable from the first moment
    _save_config(state)
    stopped: Interrupted | None = None
    try:
        failed = _session_start(state)
    except Interrupted as exc:  # still record the start, then stop
        failed, stopped = [], exc
    state.emit(
        "session_start",
        f"harness {__version__}: config {config.display}",
        data={
            "harness_version": __version__,
            "config_path": str(config.path) if config.path else None,
            "config_source": config.source,
            "config_hash": config.hash,
            "run_dir": str(state.run_dir),
            "phases": [p.name for p in phases],
            "dry_run": state.dry_run,
            "resumed": bool(saved),
            "pid": os.getpid(),
        },
    )
    for result in failed:  # now every sink that could open is listening
        assert result.error is not None
        state.internal_error = f"session_start of {result.plugin!r} failed"
        state.fault(result.plugin, "session_start", result.error, traceback=describe(result.error))
    state.emitter.flush(durable=True)  # the session_start event is on disk before any phase
    if stopped is not None:
        raise stopped
    if saved and saved.get("config_hash") != config.hash:
        state.emit(
            "error",
            "resuming with a different configuration than the run started with "
            f"({saved.get('config_hash', 'unknown')[:19]}... -> {config.hash[:19]}...)",
            level="warning",
            data={"previous_config_hash": saved.get("config_hash"), "resume": True},
        )


def _session_start(state: RunState) -> list[HookResult]:
    """``session_start``: the essential plugins first (the event log opens before any
    other plugin can hang or fail), then the others; returns the failures."""
    pm = state.pm
    names = {impl.plugin_name for impl in pm.hook.session_start.get_hookimpls()}
    essential = {n for n in names if n.split(".", 1)[0] in ESSENTIAL_PLUGINS}
    results = call_isolated(pm, "session_start", skip=names - essential, session=state.session)
    results += call_isolated(pm, "session_start", skip=essential, session=state.session)
    return [r for r in results if r.error]


def _internal_error(state: RunState, exc: BaseException) -> None:
    """Record a harness bug as an ``error`` event and exit code 3 (the traceback in data)."""
    text = state.redactor.redact(f"{type(exc).__name__}: {exc}")
    state.internal_error = f"internal error: {text}"
    for report in state.reports:
        if report.status == "skipped" and not report.message:
            report.message = "not run: internal error"
    with contextlib.suppress(Exception):
        state.emit(
            "error",
            f"internal error: {text}",
            level="error",
            data={"traceback": describe(exc), "internal": True},
        )


def _exit_code(state: RunState, interrupted: bool) -> ExitCode:
    if interrupted:
        return ExitCode.INTERRUPTED
    if state.internal_error or state.emitter.broken_sinks():
        return ExitCode.INTERNAL_ERROR
    if any(r.status in ("failed", "timeout") for r in state.reports):
        return ExitCode.PHASE_FAILED
    return ExitCode.OK


def _finish(state: RunState, prepared: Prepared, exit_code: ExitCode) -> RunOutcome:
    counts: dict[str, int] = {}
    for report in state.reports:
        counts[report.status] = counts.get(report.status, 0) + 1
    state.emit(
        "session_end",
        f"{exit_code.status}: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" (exit {int(exit_code)})",
        level="info" if exit_code == ExitCode.OK else "error",
        data={"status": exit_code.status, "exit_code": int(exit_code), "counts": counts},
    )
    summary = build_summary(state, exit_code, prepared.plugins.infos, __version__)
    exit_code = write_record(state, summary, exit_code)  # events, state.json, summary.json
    state.interrupts.finished(int(exit_code))  # a signal from now on keeps this exit code
    for result in call_isolated(
        state.pm,
        "session_finish",
        skip=state.emitter.broken_sinks(),  # switched off: reported once already
        session=state.session,
        exit_code=int(exit_code),
        status=exit_code.status,
    ):
        if result.error is not None:
            with contextlib.suppress(Exception):
                state.fault(result.plugin, "session_finish", result.error)
    return RunOutcome(int(exit_code), state.run_dir, summary)


def _save_config(state: RunState) -> None:
    """The resolved configuration as TOML, secrets masked (``config.toml``)."""
    import tomli_w

    document = mask_document(state.config.document, state.redactor)
    state.write_file(CONFIG_FILE, tomli_w.dumps(document))
