"""A pytest plugin for harness plugin authors (opt-in, like pytest's ``pytester``).

Enable it in a ``conftest.py``::

    pytest_plugins = ["harness.testing"]

or with ``pytest -p harness.testing``. It provides the :func:`harnesser`
fixture: a :class:`Harnesser` working in ``tmp_path`` that writes a
``harness.toml`` from a dict (tomli-w), registers plugins given as objects or
as source text, runs the harness in-process or as a subprocess, and returns a
:class:`HarnessResult` whose events and summary are already validated::

    def test_my_phase(harnesser):
        result = harnesser.run(
            {"phases": {"hello": {"plugin": "my_plugin", "count": 2}}},
            plugins={"my_plugin": MY_PLUGIN_SOURCE},
        )
        result.assert_outcomes(passed=1)
        assert result.events_of("my_plugin.tick")
        result.stdout.fnmatch_lines(["*hello: passed*"])

Under the fixture ``HARNESS_NO_SLEEP=1`` is set: retry waits (still recorded in
the ``retry`` events and the summary) and ``ctx.sleep`` return at once.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["HarnessResult", "Harnesser", "harnesser"]

_STATUSES = ("passed", "failed", "skipped", "timeout")


@dataclass
class HarnessResult:
    """What one run of the harness left behind.

    :ivar exit_code: the run's exit code (4 for a usage error, with no run directory).
    :ivar run_dir: the run directory (``None`` when the run did not start).
    :ivar events: every event of ``events.jsonl``, parsed and validated.
    :ivar summary: ``summary.json``, validated (``{}`` when the run did not start).
    :ivar stdout: the console output as a :class:`pytest.LineMatcher`.
    :ivar stderr: error output (usage errors) as a :class:`pytest.LineMatcher`.
    """

    exit_code: int
    run_dir: Path | None
    events: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    stdout: pytest.LineMatcher = field(default_factory=lambda: pytest.LineMatcher([]))
    stderr: pytest.LineMatcher = field(default_factory=lambda: pytest.LineMatcher([]))

    def outcomes(self) -> dict[str, int]:
        """Phase counts by status (``passed``, ``failed``, ``skipped``, ``timeout``)."""
        counts = dict.fromkeys(_STATUSES, 0)
        for phase in self.summary.get("phases", []):
            counts[phase["status"]] = counts.get(phase["status"], 0) + 1
        return counts

    def assert_outcomes(
        self, *, passed: int = 0, failed: int = 0, skipped: int = 0, timeout: int = 0
    ) -> None:
        """Assert how many phases ended in each status (unnamed statuses must be 0)."""
        __tracebackhide__ = True
        expected = {"passed": passed, "failed": failed, "skipped": skipped, "timeout": timeout}
        got = self.outcomes()
        assert got == expected, f"outcomes {got} != expected {expected}\n{self._explain()}"

    def phase(self, name: str) -> dict[str, Any]:
        """The summary row of phase ``name``."""
        for row in self.summary.get("phases", []):
            if row["name"] == name:
                return dict(row)
        raise KeyError(f"no phase {name!r} in the summary")

    def events_of(self, type: str, phase: str | None = None) -> list[dict[str, Any]]:
        """Events of one type (optionally of one phase)."""
        return [
            e for e in self.events if e["type"] == type and (phase is None or e["phase"] == phase)
        ]

    def _explain(self) -> str:
        return "\n".join(["console output:", *self.stdout.lines, *self.stderr.lines])


class Harnesser:
    """Runs the harness in a temporary directory (the :func:`harnesser` fixture)."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self._monkeypatch = monkeypatch
        self._runs = 0
        monkeypatch.setenv("HARNESS_NO_SLEEP", "1")
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        monkeypatch.delenv("CI", raising=False)  # a CI job without a config exits 4
        monkeypatch.chdir(path)

    # -- files ---------------------------------------------------------------
    def write_config(self, config: Mapping[str, Any], name: str = "harness.toml") -> Path:
        """Write ``config`` as TOML (tomli-w) into the directory; returns its path."""
        import tomli_w

        target = self.path / name
        target.write_text(tomli_w.dumps(dict(config)), "utf-8")
        return target

    def write_plugin(self, name: str, source: str) -> str:
        """Write a plugin module ``<name>.py``; returns its ``[harness] plugins`` entry."""
        (self.path / f"{name}.py").write_text(textwrap.dedent(source), "utf-8")
        return f"./{name}.py"

    # -- running -------------------------------------------------------------
    def run(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        plugins: Mapping[str, object | str] | None = None,
        phases: Sequence[str] = (),
        overrides: Sequence[str] = (),
        cli_plugins: Sequence[str] = (),
        dry_run: bool = False,
        verbosity: int = 0,
        subprocess: bool = False,
        autoload: bool = True,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        timeout: float = 120.0,
    ) -> HarnessResult:
        """Write the config, run the harness, return the validated result.

        :param config: the configuration as a dict (``None``: keep an existing file).
        :param plugins: plugin name -> source text (written to ``<name>.py`` and
            listed in ``[harness] plugins``) or object (a module or instance
            registered as it is; in-process only).
        :param phases: ``--phase`` values.
        :param overrides: ``--set KEY=VALUE`` values.
        :param cli_plugins: ``-p`` values.
        :param subprocess: run ``python -m harness run`` instead of :func:`harness.run`.
        :param autoload: load entry-point plugins (``False`` sets
            ``HARNESS_DISABLE_PLUGIN_AUTOLOAD=1``).
        :param env: extra environment variables for the run.
        :param args: extra command-line arguments (subprocess only).
        """
        config = dict(config) if config is not None else None
        objects: list[tuple[str, object]] = []
        specs: list[str] = []
        for name, plugin in (plugins or {}).items():
            if isinstance(plugin, str):
                specs.append(self.write_plugin(name, plugin))
            else:
                objects.append((name, plugin))
        if config is not None:
            harness_table = dict(config.get("harness", {}))
            harness_table["plugins"] = [*harness_table.get("plugins", []), *specs]
            config["harness"] = harness_table
            self.write_config(config)
        elif specs:
            raise ValueError("plugins given as source text need a config to list them in")
        self._runs += 1
        output_dir = self.path / "runs" / f"run-{self._runs}"
        with self._environment(env, autoload):
            if subprocess:
                if objects:
                    raise ValueError("plugin objects can only be registered in-process")
                return self._run_subprocess(
                    output_dir, phases, overrides, cli_plugins, dry_run, verbosity, args, timeout
                )
            if args:
                raise ValueError("args are for subprocess runs; use the keyword arguments")
            return self._run_in_process(
                output_dir, phases, overrides, cli_plugins, dry_run, verbosity, objects, autoload
            )

    @contextlib.contextmanager
    def _environment(self, env: Mapping[str, str] | None, autoload: bool) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in (env or {}).items():
                mp.setenv(key, value)
            if autoload:
                mp.delenv("HARNESS_DISABLE_PLUGIN_AUTOLOAD", raising=False)
            else:
                mp.setenv("HARNESS_DISABLE_PLUGIN_AUTOLOAD", "1")
            yield

    def _run_in_process(
        self,
        output_dir: Path,
        phases: Sequence[str],
        overrides: Sequence[str],
        cli_plugins: Sequence[str],
        dry_run: bool,
        verbosity: int,
        objects: Sequence[tuple[str, object]],
        autoload: bool,
    ) -> HarnessResult:
        from harness.app import RunOptions, run
        from harness.errors import UsageError
        from harness.prepare import prepare

        options = RunOptions(
            output_dir=output_dir,
            phases=tuple(phases),
            dry_run=dry_run,
            plugins=tuple(cli_plugins),
            overrides=tuple(overrides),
            verbosity=verbosity,
            cwd=self.path,
            objects=tuple(objects),
            autoload=autoload,
        )
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                outcome = run(options)
        except UsageError as exc:
            err.write(f"harness: error: {exc}\n")
            return HarnessResult(4, None, stdout=_lines(out), stderr=_lines(err))
        types = _event_types(lambda: prepare(options).event_types)
        return _collect(outcome.exit_code, outcome.run_dir, out.getvalue(), err.getvalue(), types)

    def _run_subprocess(
        self,
        output_dir: Path,
        phases: Sequence[str],
        overrides: Sequence[str],
        cli_plugins: Sequence[str],
        dry_run: bool,
        verbosity: int,
        args: Sequence[str],
        timeout: float,
    ) -> HarnessResult:
        from harness.prepare import RunOptions, prepare

        argv = [sys.executable, "-m", "harness", "run", "--output-dir", str(output_dir)]
        argv += [f"--phase={p}" for p in phases]
        argv += [f"--set={o}" for o in overrides]
        for p in cli_plugins:
            argv += ["-p", p]
        if dry_run:
            argv.append("--dry-run")
        if verbosity:
            argv.append("-" + ("v" if verbosity > 0 else "q") * abs(verbosity))
        argv += list(args)
        proc = subprocess.run(
            argv, cwd=self.path, capture_output=True, text=True, timeout=timeout, check=False
        )
        run_dir = output_dir if (output_dir / "events.jsonl").exists() else None
        options = RunOptions(plugins=tuple(cli_plugins), overrides=tuple(overrides), cwd=self.path)
        types = _event_types(lambda: prepare(options).event_types) if run_dir else {}
        return _collect(proc.returncode, run_dir, proc.stdout, proc.stderr, types)


def _lines(buffer: io.StringIO) -> pytest.LineMatcher:
    return pytest.LineMatcher(buffer.getvalue().splitlines())


def _event_types(load: Any) -> dict[str, Mapping[str, Any]]:
    from harness.errors import UsageError

    try:
        return {name: schema for name, (_, schema) in load().items()}
    except UsageError:
        return {}


def check_plugin_events(
    events: Iterable[Mapping[str, Any]], types: Mapping[str, Mapping[str, Any]], where: str
) -> list[str]:
    """Problems of plugin events: a namespaced type not declared, ``data`` not matching."""
    from harness.events import CORE_EVENT_TYPES
    from harness.validation import describe_error, first_error

    problems: list[str] = []
    for number, event in enumerate(events, 1):
        kind = event["type"]
        if kind in CORE_EVENT_TYPES:
            continue
        schema = types.get(kind)
        if schema is None:
            problems.append(f"{where}:{number}: event type {kind!r} is not declared")
            continue
        error = first_error(schema, event["data"])
        if error is not None:
            key, expected, given = describe_error(error, ["data"])
            problems.append(f"{where}:{number}: {key}: expected {expected}, got {given}")
    return problems


def _collect(
    exit_code: int,
    run_dir: Path | None,
    stdout: str,
    stderr: str,
    types: Mapping[str, Mapping[str, Any]],
) -> HarnessResult:
    import orjson

    from harness.checkfile import check_events, check_summary

    result = HarnessResult(
        exit_code,
        run_dir,
        stdout=pytest.LineMatcher(stdout.splitlines()),
        stderr=pytest.LineMatcher(stderr.splitlines()),
    )
    if run_dir is None:
        return result
    events_path, summary_path = run_dir / "events.jsonl", run_dir / "summary.json"
    problems = check_events(events_path)
    result.events = [orjson.loads(line) for line in events_path.read_bytes().splitlines()]
    problems += check_plugin_events(result.events, types, str(events_path))
    if summary_path.exists():
        problems += check_summary(summary_path)
        result.summary = orjson.loads(summary_path.read_bytes())
    else:
        problems.append(f"{summary_path}: missing")
    if problems:
        pytest.fail("harness wrote invalid files:\n" + "\n".join(problems), pytrace=False)
    return result


@pytest.fixture
def harnesser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harnesser:
    """A :class:`Harnesser` in ``tmp_path`` (the working directory during the test)."""
    return Harnesser(tmp_path, monkeypatch)
