"""One run, start to end: configuration, plugins, run directory, session, summary."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Config, Phase, PluginSchemas, RawConfig, apply_overrides, discover
from harness.errors import ConfigError, PluginError, UsageError
from harness.hookcall import call_each
from harness.interrupts import Interrupted, Interrupts
from harness.manager import Plugins, load_plugins, plugin_name
from harness.rundir import (
    CONFIG_FILE,
    EVENTS_FILE,
    STATE_FILE,
    SUMMARY_FILE,
    new_run_id,
    point_latest,
    read_json,
    resolve_resume,
    write_json,
)
from harness.session import PhaseReport, Session
from harness.summary import build_summary
from harness.version import __version__

__all__ = ["Prepared", "RunOptions", "RunOutcome", "prepare", "run"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INTERNAL, EXIT_USAGE, EXIT_NO_PHASES = range(6)
#: environment variables whose values are masked in every output, whatever prints them
_SECRET_ENV = re.compile(r"(?i)(secret|token|passw|api_?key|private_?key|credential|(^|_)key$)")
_RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$")
_NAMESPACED = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$")
# a password in a URL's userinfo, or a secret-looking query parameter's value
_URL_SECRETS = re.compile(
    r"(://[^/@\s]*:)[^/@\s]+(?=@)"
    r"|([?&][^=&#\s]*(?:key|token|secret|sig|pass)[^=&#\s]*=)[^&#\s]+",
    re.IGNORECASE,
)
_SECRET_KEY = re.compile(r"(?i)(secret|token|passw|api[_-]?key|private[_-]?key|credential)")


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What ``harness run`` was asked for (the CLI flags, as data)."""

    config: Path | None = None
    output_dir: Path | None = None
    phases: Sequence[str] = ()
    dry_run: bool = False
    plugins: Sequence[str] = ()
    overrides: Sequence[str] = ()
    resume: str | None = None
    verbosity: int = 0
    cwd: Path | None = None
    objects: Sequence[tuple[str, object]] = ()
    autoload: bool | None = None


@dataclass(slots=True)
class RunOutcome:
    """The result of :func:`harness.run`."""

    exit_code: int
    run_dir: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Prepared:
    """Configuration and plugins, loaded and validated; nothing has run."""

    raw: RawConfig
    plugins: Plugins
    schemas: PluginSchemas
    event_types: dict[str, tuple[str, Mapping[str, Any]]]
    config: Config


def _schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid draft 2020-12 JSON Schema, or ``None``.

    jsonschema-rs answers fast (start-up path); pure-Python jsonschema explains.
    """
    import jsonschema_rs

    if isinstance(schema, Mapping) and jsonschema_rs.meta.is_valid(dict(schema)):
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    return None if isinstance(schema, Mapping) else "not a JSON object"


def _collect_schemas(
    plugins: Plugins,
) -> tuple[PluginSchemas, dict[str, tuple[str, Mapping[str, Any]]]]:
    hook = plugins.pm.hook
    out: dict[str, dict[str, Mapping[str, Any]]] = {"settings": {}, "phase": {}}
    for kind, caller in (("settings", hook.config_schema), ("phase", hook.phase_schema)):
        for result in call_each(caller):
            if result.error is not None:
                raise PluginError(result.plugin, f"{caller.name} failed: {result.error}")
            if result.value is None:
                continue
            problem = _schema_problem(result.value)
            if problem:
                raise PluginError(result.plugin, f"{caller.name}: invalid JSON Schema: {problem}")
            out[kind][result.plugin] = result.value
    types: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for result in call_each(hook.event_schemas):
        if result.error is not None:
            raise PluginError(result.plugin, f"event_schemas failed: {result.error}")
        for name, schema in dict(result.value or {}).items():
            if not _NAMESPACED.match(name):
                raise PluginError(
                    result.plugin, f"event type {name!r} must be namespaced like 'plugin.kind'"
                )
            if name in types:
                raise PluginError(
                    result.plugin, f"event type {name!r} is already declared by {types[name][0]!r}"
                )
            problem = _schema_problem(schema)
            if problem:
                raise PluginError(result.plugin, f"schema of {name!r}: {problem}")
            types[name] = (result.plugin, schema)
    return PluginSchemas(out["settings"], out["phase"]), types


def prepare(options: RunOptions) -> Prepared:
    """Discover and validate the configuration and load every plugin.

    :raises UsageError: (``ConfigError``, ``PluginError``) for anything the user must fix.
    """
    cwd = options.cwd or Path.cwd()
    config_path = options.config
    if config_path is not None and not config_path.is_absolute():
        config_path = cwd / config_path
    raw = apply_overrides(discover(config_path, cwd), options.overrides)
    settings = raw.settings()
    try:
        plugins = load_plugins(
            extra=settings.plugins,
            disable=settings.disable,
            cli=options.plugins,
            root=raw.root,
            required=settings.required_plugins,
            autoload=options.autoload,
            objects=options.objects,
        )
    except PluginError as exc:  # one the config asked for: name the file and the entry
        for index, spec in enumerate(settings.plugins):
            if plugin_name(spec) == exc.plugin:
                key = f"{raw.key_prefix}harness.plugins[{index}]"
                raise ConfigError(str(exc), path=raw.display, key=key) from exc
        raise
    schemas, event_types = _collect_schemas(plugins)
    config = Config(raw, schemas, loaded=plugins.loaded, disabled=plugins.disabled)
    runners = {impl.plugin_name for impl in plugins.pm.hook.phase_run.get_hookimpls()}
    for phase in config.phases:
        if phase.plugin in plugins.loaded and phase.plugin not in runners:
            raise config.error(
                f"phases.{phase.name}.plugin",
                f"a plugin that runs phases (implements phase_run): {', '.join(sorted(runners))}",
                repr(phase.plugin),
            )
    return Prepared(raw, plugins, schemas, event_types, config)


def _select(config: Config, names: Sequence[str]) -> list[Phase]:
    known = {p.name: p for p in config.phases}
    for name in names:
        if name not in known:
            listing = ", ".join(known) or "none configured"
            raise UsageError(f"--phase {name}: no such phase (phases: {listing})")
    if names:
        return [p for p in config.phases if p.name in set(names)]
    return [p for p in config.phases if p.enabled]


def _masked(value: Any, redact: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "***"
            if _SECRET_KEY.search(k)
            and not k.endswith(("_env", "_header", "_pattern"))
            and isinstance(v, str)
            else _masked(v, redact)
            for k, v in value.items()
            if v is not None  # TOML has no null: an unset optional key is left out
        }
    if isinstance(value, list):
        return [_masked(v, redact) for v in value if v is not None]
    if isinstance(value, str):
        return _URL_SECRETS.sub(lambda m: (m[1] or m[2]) + "***", redact(value))
    return value


def _run_dir(
    prepared: Prepared, options: RunOptions, cwd: Path
) -> tuple[Path, str, dict[str, Any] | None]:
    runs_dir = prepared.config.resolve_path(prepared.config.harness.runs_dir)
    if options.resume is not None:
        run_dir = resolve_resume(runs_dir, options.resume or None)
        if options.output_dir is not None:
            run_dir = (
                (cwd / options.output_dir)
                if not options.output_dir.is_absolute()
                else options.output_dir
            )
        state_path = run_dir / STATE_FILE
        if not state_path.is_file():
            raise UsageError(f"--resume: {run_dir} holds no {STATE_FILE} to resume from")
        try:
            state = read_json(state_path)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--resume: {state_path} is unreadable: {exc}") from None
        problem = _state_problem(state)
        if problem:
            raise UsageError(f"--resume: {state_path} is not a harness state file: {problem}")
        return run_dir, str(state["run_id"]), state
    run_id = new_run_id()
    if options.output_dir is not None:
        run_dir = (
            options.output_dir if options.output_dir.is_absolute() else cwd / options.output_dir
        )
        for name in (EVENTS_FILE, SUMMARY_FILE, STATE_FILE):
            if (run_dir / name).exists():
                raise UsageError(
                    f"--output-dir {run_dir} already holds a run ({name}); "
                    "choose another folder or --resume it"
                )
    else:
        run_dir = runs_dir / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if options.output_dir is None:
            point_latest(runs_dir, run_dir)
    except OSError as exc:
        raise UsageError(f"cannot create the run directory {run_dir}: {exc}") from None
    return run_dir, run_id, None


def _state_problem(state: Any) -> str | None:
    """Why ``state`` (a parsed ``state.json``) cannot be resumed, or ``None``."""
    if not isinstance(state, dict):
        return "not a JSON object"
    if not _RUN_ID.match(str(state.get("run_id", ""))):
        return f"run_id {state.get('run_id')!r} is not a run id"
    for key in ("sessions", "passed"):
        value = state.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{key} is not a list of names"
    return None


def _repair_events(run_dir: Path) -> int:
    """Drop a torn last line of ``events.jsonl``; return the last ``seq`` written."""
    import orjson

    path = run_dir / EVENTS_FILE
    if not path.exists():
        return 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as fh:
            fh.truncate(end)
    lines = data[:end].splitlines()
    for line in reversed(lines):
        try:
            return int(orjson.loads(line)["seq"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


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
    run_dir, run_id, state = _run_dir(prepared, options, cwd)
    first_seq = _repair_events(run_dir) + 1 if state else 1
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
        if _SECRET_ENV.search(name) and len(value) >= 8:
            session.redactor.add(value)
    done = set(state.get("passed", ())) if state else set()
    interrupted = False
    interrupts.install()
    try:
        try:
            with interrupts.critical():
                write_json_toml(
                    run_dir / CONFIG_FILE, _masked(config.document, session.redactor.redact)
                )
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
    from harness.summary import status_for

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


def write_json_toml(path: Path, document: Mapping[str, Any]) -> None:
    """The resolved configuration as TOML (secrets masked)."""
    import tomli_w

    from harness.rundir import atomic_write

    atomic_write(path, tomli_w.dumps(dict(document)).encode())
