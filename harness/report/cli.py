"""``harness report [RUN]``: the typer command (the work is in :mod:`harness.report.build`).

Imports stay light (typer only): ``harness --version`` imports this module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["report_command"]

EXIT_USAGE = 4


def _fail(message: str) -> typer.Exit:
    typer.echo(f"harness: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _resolve(spec: str, config: Path | None, cwd: Path) -> Path:
    """The run directory ``spec`` names (``harness.history.resolve_run``)."""
    from harness.config import discover
    from harness.history import resolve_run

    path = Path(spec) if Path(spec).is_absolute() else cwd / spec
    if spec not in ("latest", "latest-success", "latest-failed") and path.is_dir():
        return path  # a run directory: no config needed to find it
    raw = discover(config if config is None or config.is_absolute() else cwd / config, cwd)
    runs_dir = Path(raw.settings().runs_dir)
    return resolve_run(spec, runs_dir if runs_dir.is_absolute() else raw.root / runs_dir, cwd)


def report_command(
    run: Annotated[
        str,
        typer.Argument(
            help="The run: an id, a unique prefix, a path, latest, latest-success or "
            "latest-failed.",
            metavar="[RUN]",
        ),
    ] = "latest",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the page (default <run_dir>/report.html; - for stdout).",
            metavar="PATH",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="Compare with this run (same forms as RUN).", metavar="RUN"
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config whose runs_dir RUN is looked up in.", metavar="PATH"
        ),
    ] = None,
    plugin: Annotated[
        list[str] | None,
        typer.Option(
            "-p", help="Also load plugin NAME for its report sections. Repeatable.", metavar="NAME"
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run (opens offline, from a file)."""
    from harness.errors import UsageError
    from harness.report.build import build_report, write_report
    from harness.report.load import load_run
    from harness.report.runplugins import load_run_plugins

    cwd = Path.cwd()
    try:
        run_dir = _resolve(run, config, cwd)
        base_dir = _resolve(baseline, config, cwd) if baseline is not None else None
    except UsageError as exc:
        raise _fail(str(exc)) from None
    try:
        files = load_run(run_dir)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from None
    pm, notes = load_run_plugins(run_dir, files.summary, tuple(plugin or ()))
    comparison = None
    if base_dir is not None:
        from harness.compare import compare_runs

        try:
            comparison = compare_runs(base_dir, run_dir)
        except UsageError as exc:
            raise _fail(str(exc)) from None
    built = build_report(run_dir, pm, comparison=comparison, notes=notes)
    for note in built.notes:
        typer.echo(f"harness: note: {note}", err=True)
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(built.html.encode("utf-8"))
        sys.stdout.flush()
        return
    target = output if output is not None else run_dir / "report.html"
    try:
        write_report(target, built.html)
    except OSError as exc:
        raise _fail(f"cannot write {target}: {exc.strerror or exc}") from None
    typer.echo(
        f"wrote {target} ({len(built.html.encode()) / 1e6:.2f} MB, "
        f"{len(built.sections)} sections, {built.seconds:.2f} s)"
    )
