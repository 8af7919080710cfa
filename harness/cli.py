"""The ``harness`` command line (typer): commands only, the work is elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.version import __version__

app = typer.Typer(
    name="harness",
    help="Run phased smoke runs (data, strategy, API, commands) with pluggable phases.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 4


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"harness: error: {message}", err=True)
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
        "\\[tool.harness], then the built-in default).",
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


@app.command()
def run(
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
    junit_xml: Annotated[
        Path | None,
        typer.Option(
            "--junit-xml",
            help="Also write a JUnit XML report here (CI test reporters).",
            metavar="PATH",
        ),
    ] = None,
) -> None:
    """Run the configured phases and write a run directory."""
    import json

    from harness.app import RunOptions
    from harness.app import run as run_harness
    from harness.errors import UsageError

    overrides = tuple(set_ or ())
    if junit_xml is not None:
        # the same as [plugins.junit] path, made absolute against the working directory
        overrides += (f"plugins.junit.path={json.dumps(str(junit_xml.absolute()))}",)

    options = RunOptions(
        config=config,
        output_dir=output_dir,
        phases=tuple(phase or ()),
        dry_run=dry_run,
        plugins=tuple(plugin or ()),
        overrides=overrides,
        resume=resume,
        verbosity=verbose - quiet,
    )
    try:
        outcome = run_harness(options)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    if outcome.exit_code == 5:
        typer.echo(
            "harness: no phases selected (every phase is disabled or none is configured)", err=True
        )
    raise typer.Exit(outcome.exit_code)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("harness.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter harness.toml."""
    from harness.starter import starter_config

    if path.is_dir():
        path = path / "harness.toml"
    if path.exists() and not force:
        raise _fail(f"{path} exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_config(), "utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {path}")


@app.command()
def plugins(
    config: ConfigOpt = None,
    plugin: PluginOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Load and validate everything as a run would; exit 4 naming each problem.",
        ),
    ] = False,
) -> None:
    """List every plugin: name, source, distribution, version, hooks."""
    from harness.errors import UsageError
    from harness.prepare import RunOptions, prepare

    options = RunOptions(config=config, plugins=tuple(plugin or ()))
    if check:
        from harness.pluginscheck import check_plugins

        problems = check_plugins(options)
        for problem in problems:
            typer.echo(f"harness: problem: {problem}", err=True)
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


def _normalise(argv: list[str]) -> list[str]:
    """``--resume`` takes an optional value: alone (or before another option) it means latest."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg == "--resume" and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            out.append("latest")
    return out


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit codes as DESIGN.md (click usage errors -> 4)."""
    args = _normalise(list(sys.argv[1:] if argv is None else argv))
    command = typer.main.get_command(app)
    try:
        result: Any = command.main(args=args, prog_name="harness", standalone_mode=False)
    except Exception as exc:  # click's exception family, vendored by typer
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(EXIT_USAGE if code == 2 else code)
        typer.echo(f"harness: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(3)
    except KeyboardInterrupt:
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
