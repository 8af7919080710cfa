"""Commands that look at finished (or running) runs: runs, show, compare, baseline, events.

Registered on the app in :mod:`harness.cli`. Heavy imports stay inside the commands so
``harness --version`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["baseline_app", "compare", "events", "runs", "show"]

EXIT_USAGE = 4

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config whose [harness] runs_dir holds the runs (found as `harness run` finds it).",
        metavar="PATH",
    ),
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option("--runs-dir", help="The runs folder (overrides the config's).", metavar="DIR"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
RunArg = Annotated[
    str,
    typer.Argument(
        help="Run id, unique prefix, path, latest (the newest run started), "
        "latest-success or latest-failed.",
        metavar="RUN",
    ),
]


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"harness: error: {message}", err=True)
    return typer.Exit(code)


def _resolve(spec: str, config: Path | None, runs_dir: Path | None) -> Path:
    from harness.errors import UsageError
    from harness.history import resolve_run, runs_dir_for

    cwd = Path.cwd()
    try:
        return resolve_run(spec, runs_dir_for(config, runs_dir, cwd), cwd)
    except UsageError as exc:
        raise _fail(str(exc)) from None


def _dump(value: object) -> str:
    import json

    return json.dumps(value, indent=2, allow_nan=False, default=str)


def runs(config: ConfigOpt = None, runs_dir: RunsDirOpt = None, as_json: JsonOpt = False) -> None:
    """List the runs under runs_dir, newest first."""
    from harness.errors import UsageError
    from harness.history import list_runs, runs_dir_for
    from harness.runview import runs_lines

    try:
        folder = runs_dir_for(config, runs_dir, Path.cwd())
    except UsageError as exc:
        raise _fail(str(exc)) from None
    infos = list_runs(folder)
    if as_json:
        typer.echo(_dump([i.as_dict() for i in infos]))
        return
    if not infos:
        typer.echo(f"no runs under {folder}")
        return
    for line in runs_lines(infos):
        typer.echo(line)


def show(
    run: RunArg = "latest",
    config: ConfigOpt = None,
    runs_dir: RunsDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json.")] = False,
) -> None:
    """Print one run's summary as the end-of-run table."""
    from harness.history import load_run
    from harness.runview import show_lines

    info = load_run(_resolve(run, config, runs_dir))
    if as_json:
        typer.echo(_dump(info.summary or info.as_dict()))
        return
    for line in show_lines(info):
        typer.echo(line)


def compare(
    a: Annotated[str, typer.Argument(help="The earlier run (RUN).", metavar="A")],
    b: Annotated[str, typer.Argument(help="The later run (RUN).", metavar="B")] = "latest",
    config: ConfigOpt = None,
    runs_dir: RunsDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per phase status and duration, per strategy and symbol the figures, from A to B."""
    from harness.compare import compare_runs
    from harness.runview import compare_lines

    result = compare_runs(_resolve(a, config, runs_dir), _resolve(b, config, runs_dir))
    if as_json:
        typer.echo(_dump(result))
        return
    for line in compare_lines(result):
        typer.echo(line)


baseline_app = typer.Typer(
    name="baseline",
    help="Baselines: the figures of a run a strategy phase gates on (`baseline = FILE`).",
    no_args_is_help=True,
)


@baseline_app.command("save")
def baseline_save(
    run: RunArg = "latest",
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The baseline file to write.", metavar="PATH"),
    ] = Path("baseline.json"),
    config: ConfigOpt = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Write RUN's figures per strategy and symbol to a reviewable baseline file."""
    from harness.baseline import collect, save
    from harness.errors import UsageError
    from harness.history import load_run

    run_dir = _resolve(run, config, runs_dir)
    info = load_run(run_dir)
    try:
        save(collect(run_dir), output)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    if info.status != "success":
        typer.echo(f"harness: warning: run {info.run_id} is {info.status}", err=True)
    typer.echo(f"wrote {output} from run {info.run_id}")


def events(
    run: RunArg = "latest",
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type", "-t", help="Event types starting with this (data.). Repeatable.", metavar="T"
        ),
    ] = None,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", help="Events of this phase. Repeatable.", metavar="NAME"),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Minimum level: debug, info, warning, error.", metavar="L"),
    ] = None,
    since_seq: Annotated[
        int, typer.Option("--since-seq", help="Only events after this seq.", metavar="N")
    ] = 0,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Tail the log (also across a resume) until the run ends, or Ctrl-C.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    pretty: Annotated[bool, typer.Option("--pretty", help="Indented JSON.")] = False,
    count: Annotated[bool, typer.Option("--count", help="Print only how many match.")] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Exit 1 if a selected event has this level or above.", metavar="L"
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            help="--follow: seconds to wait for a resume after session_end.",
            metavar="S",
        ),
    ] = 2.0,
    config: ConfigOpt = None,
    runs_dir: RunsDirOpt = None,
) -> None:
    """Query a run's event log (types, phases, levels), or follow it live."""
    import json

    from harness.eventquery import LEVELS, EventFilter, at_least, format_text, read_events
    from harness.eventquery import follow as tail
    from harness.rundir import EVENTS_FILE

    for name, value in (("--level", level), ("--fail-on", fail_on)):
        if value is not None and value not in LEVELS:
            raise _fail(f"{name} {value!r}: choose one of {', '.join(LEVELS)}")
    path = _resolve(run, config, runs_dir) / EVENTS_FILE
    if not follow and not path.is_file():
        raise _fail(f"{path}: no such file")
    select = EventFilter(tuple(type_ or ()), tuple(phase or ()), level, since_seq)
    source = tail(path, grace=grace) if follow else read_events(path)
    matched, failing = 0, False
    try:
        for event in source:
            if not select(event):
                continue
            matched += 1
            if fail_on is not None and at_least(event, fail_on):
                failing = True
            if count:
                continue
            if pretty:
                typer.echo(json.dumps(event, indent=2))
            elif as_json:
                typer.echo(json.dumps(event, separators=(",", ":")))
            else:
                typer.echo(format_text(event))
    except KeyboardInterrupt:
        pass  # Ctrl-C ends --follow; what matched so far counts
    except BrokenPipeError:  # `harness events | head`: the reader has enough
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1 if failing else 0) from None
    if count:
        typer.echo(str(matched))
    if failing:
        raise typer.Exit(1)
