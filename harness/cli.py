"""The ``harness`` command line (typer): commands only, the work is elsewhere."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.exitcodes import ExitCode
from harness.report.cli import report_command
from harness.version import __version__

app = typer.Typer(
    name="harness",
    help="Run phased smoke runs (data, strategy, API, commands) with pluggable phases.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = int(ExitCode.USAGE_ERROR)


def _mask(message: str) -> str:
    """``message`` with secret-named environment variables' values masked."""
    import os

    from harness.redact import Redactor

    return Redactor.from_environment(os.environ).redact(message)


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"harness: error: {_mask(message)}", err=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """harness: a plugin-based, pytest-style phase harness."""


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: nearest harness.toml, then pyproject.toml "
        "\\[tool.harness], then the built-in demo, refused under CI); "
        "'builtin:demo' asks for the demo.",
        metavar="PATH",
    ),
]
PluginOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-p",
        help="Load plugin NAME (module or .py file), or 'no:NAME' to disable one. Repeatable.",
        metavar="NAME",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config key: KEY.PATH=VALUE (TOML value). Repeatable.",
        metavar="KEY=VALUE",
    ),
]


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    config: ConfigOpt = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            help="Write the run exactly here (must not hold a run).",
            metavar="DIR",
        ),
    ] = None,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", help="Run only this phase. Repeatable.", metavar="NAME"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Open no connections and need no secrets.")
    ] = False,
    plugin: PluginOpt = None,
    set_: SetOpt = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Resume RUN (id or path; alone: the latest run), skipping phases that passed.",
            metavar="[RUN]",
        ),
    ] = None,
    quiet: Annotated[
        int,
        typer.Option("--quiet", "-q", count=True, help="Only the final line.", show_default=False),
    ] = 0,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="Every event, debug included.", show_default=False
        ),
    ] = 0,
) -> None:
    """Run the configured phases and write a run directory.

    Plugins add more options (listed below with their help): each sets one
    configuration key, as --set does.
    """
    import os

    from harness.app import RunOptions
    from harness.app import run as run_harness
    from harness.errors import UsageError
    from harness.prepare import demo_notice, report_usage_error

    options = RunOptions(
        config=config,
        output_dir=output_dir,
        phases=tuple(phase or ()),
        dry_run=dry_run,
        plugins=tuple(plugin or ()),
        overrides=tuple(set_ or ()),
        resume=resume,
        verbosity=verbose - quiet,
    )
    try:
        # plugin options (ctx.args: what the core options left) first: an explicit --set wins
        plugin_overrides = _plugin_overrides(ctx.args, [*(plugin or ())])
        options = dataclasses.replace(options, overrides=(*plugin_overrides, *(set_ or ())))
        if config is None:  # no config file: the built-in demo, loudly; never under CI
            notice = demo_notice(Path.cwd(), os.environ)
            if notice:
                typer.echo(f"harness: {notice}", err=True)
        outcome = run_harness(options)
    except UsageError as exc:
        masked = exc.masked(_mask)
        report_usage_error(masked, options)  # CI: an annotation, a step summary, a JUnit file
        raise _fail(str(masked)) from None
    if outcome.exit_code == ExitCode.NO_PHASES:
        typer.echo(
            "harness: no phases selected (every phase is disabled or none is configured)", err=True
        )
    _ignore_signals()  # the summary is written: the exit code is the summary's
    raise typer.Exit(outcome.exit_code)


@app.command()
def init(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Where to write the config (default: harness.toml; with --pyproject: "
            "pyproject.toml)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing harness.toml.")
    ] = False,
    pyproject: Annotated[
        bool,
        typer.Option(
            "--pyproject",
            help="Add a commented [tool.harness] section to an existing pyproject.toml "
            "(the rest of the file is kept; refused when the section exists).",
        ),
    ] = False,
) -> None:
    """Write a commented starter harness.toml (or a [tool.harness] section)."""
    from harness.errors import UsageError
    from harness.starter import append_to_pyproject, starter_config

    name = "pyproject.toml" if pyproject else "harness.toml"
    path = path if path is not None else Path(name)
    if path.is_dir():
        path = path / name
    if pyproject or path.name == "pyproject.toml":  # never replace a project's pyproject.toml
        try:
            append_to_pyproject(path)
        except UsageError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"added [tool.harness] to {path}")
        return
    if path.exists() and not force:
        raise _fail(f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config(), "utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {path}")


def _plugin_overrides(args: list[str], cli_plugins: list[str]) -> list[str]:
    """``--set`` items for the options plugins add to ``harness run`` (``--junit-xml X``)."""
    from harness.options import parse_plugin_args
    from harness.prepare import plugin_options

    if not args:
        return []
    return parse_plugin_args(plugin_options(cli_plugins, Path.cwd()), args, Path.cwd())


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def plugins(
    ctx: typer.Context,
    config: ConfigOpt = None,
    plugin: PluginOpt = None,
    set_: SetOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Load and validate everything as a run would; exit 4 naming each problem.",
        ),
    ] = False,
) -> None:
    """List every plugin: name, source, distribution, version, hooks.

    Takes the options ``harness run`` takes that choose the configuration and the
    plugins (--config, -p, --set and the options plugins add), so ``--check``
    validates exactly what that run would load.
    """
    from harness.errors import UsageError
    from harness.prepare import RunOptions, prepare

    try:
        overrides = (*_plugin_overrides(ctx.args, [*(plugin or ())]), *(set_ or ()))
    except UsageError as exc:
        raise _fail(str(exc)) from None
    options = RunOptions(config=config, plugins=tuple(plugin or ()), overrides=overrides)
    if check:
        from harness.pluginscheck import check_plugins

        problems = check_plugins(options)
        for problem in problems:
            typer.echo(f"harness: problem: {_mask(problem)}", err=True)
        if problems:
            raise typer.Exit(EXIT_USAGE)
    try:
        prepared = prepare(options)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    infos = prepared.plugins.infos
    if as_json:
        import json

        rows = [
            {
                "name": i.name,
                "source": i.source,
                "module": i.module,
                "dist": i.dist,
                "version": i.version,
                "disabled": i.disabled,
                "hooks": i.hooks,
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for i in infos:
        dist = f"{i.dist} {i.version}" if i.dist else "-"
        state = " (disabled)" if i.disabled else ""
        typer.echo(f"{i.name}{state}  [{i.source}]  {dist}  {i.module}")
        if i.hooks:
            typer.echo(f"    hooks: {', '.join(i.hooks)}")
    if check:
        typer.echo(
            f"ok: {len(prepared.plugins.loaded)} plugins loaded, "
            f"config {prepared.config.display} valid"
        )


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="event, summary or config", metavar="KIND")],
    config: ConfigOpt = None,
) -> None:
    """Print a JSON Schema (the config schema includes plugin-contributed keys)."""
    import json

    from harness.errors import UsageError
    from harness.schemadoc import composed_schema

    if kind not in ("event", "summary", "config"):
        raise _fail(f"unknown schema {kind!r}: choose event, summary or config")
    try:
        doc = composed_schema(kind, config)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps(doc, indent=2))


@app.command()
def validate(
    path: Annotated[
        Path, typer.Argument(help="An events.jsonl or a summary.json (or a run directory).")
    ],
) -> None:
    """Check an events.jsonl (schema, gapless seq, one run) or a summary.json."""
    from harness.checkfile import check_path

    if not path.exists():
        raise _fail(f"{path}: no such file or folder")
    problems, what = check_path(path)
    if problems:
        for line in problems[:50]:
            typer.echo(f"{line}", err=True)
        if len(problems) > 50:
            typer.echo(f"... and {len(problems) - 50} more", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {what}")


# run history, compare, baselines, event query (harness/cli_results.py)
from harness.cli_results import baseline_app, compare, events, runs, show  # noqa: E402

app.command("runs")(runs)
app.command("show")(show)
app.command("compare")(compare)
app.add_typer(baseline_app, name="baseline")
app.command("events")(events)


app.command("report")(report_command)


def _normalise(argv: list[str]) -> list[str]:
    """``--resume`` takes an optional value: alone (or before another option) it means latest."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg == "--resume" and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            out.append("latest")
    return out


def _cli_plugins(args: list[str]) -> list[str]:
    """The ``-p`` values of a command line (``-p NAME``, ``-pNAME``, ``-p=NAME``)."""
    found: list[str] = []
    for i, arg in enumerate(args):
        if arg == "-p" and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith("-p") and not arg.startswith("--") and len(arg) > 2:
            found.append(arg[2:].lstrip("="))
    return found


def _plugin_help(command: Any, args: list[str]) -> None:
    """For ``harness run --help``: list the options plugins add, as the command's epilog."""
    run_command = getattr(command, "commands", {}).get("run")
    if run_command is None or not {"--help", "-h"} & set(args):
        return
    if next((a for a in args if not a.startswith("-")), None) != "run":
        return
    from harness.options import describe_options
    from harness.prepare import plugin_options

    run_command.epilog = describe_options(plugin_options(_cli_plugins(args), Path.cwd()))


def _startup_signal(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM before the run has started: one line, exit 2 (nothing was written)."""
    import os
    import signal

    name = signal.Signals(signum).name
    os.write(2, f"harness: interrupted by {name} during start-up\n".encode())
    os._exit(int(ExitCode.INTERRUPTED))


def _ignore_signals() -> None:
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit codes as DESIGN.md (click usage errors -> 4)."""
    from harness.errors import UsageError

    args = _normalise(list(sys.argv[1:] if argv is None else argv))
    if next((a for a in args if not a.startswith("-")), None) == "run":
        import signal

        # until the run installs its own handlers (and after it restores these): exit 2
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _startup_signal)
    if not args:  # bare `harness`: the help, as asked for (click's no_args_is_help exits 2)
        args = ["--help"]
    command = typer.main.get_command(app)
    try:
        _plugin_help(command, args)
        result: Any = command.main(args=args, prog_name="harness", standalone_mode=False)
    except UsageError as exc:  # a plugin that cannot load while its options are listed
        typer.echo(f"harness: error: {_mask(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # click's exception family, vendored by typer
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(EXIT_USAGE if code == 2 else code)
        typer.echo(f"harness: internal error: {_mask(f'{type(exc).__name__}: {exc}')}", err=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
    sys.exit(result if isinstance(result, int) else 0)
