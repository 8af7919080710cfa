"""``check_plugins``: everything a run would load, checked, one line per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.app import RunOptions
from harness.pluginscheck import check_plugins

GOOD = """
from harness import hookimpl, PhaseResult

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin == "good":
        return PhaseResult.passed("ok")
"""
NO_RUNNER = """
from harness import hookimpl

@hookimpl
def config_schema():
    return {"type": "object", "properties": {"level": {"type": "integer", "default": 1}},
            "additionalProperties": False}
"""
BAD_SCHEMA = """
from harness import hookimpl

@hookimpl
def event_schemas():
    return {"bad.kind": {"type": "no-such-type"}}
"""
BAD_HOOK = """
from harness import hookimpl

@hookimpl
def phase_run(phase, ctx, nonsense):
    return None
"""
BAD_CONFIGURE = """
from harness import hookimpl

@hookimpl
def configure(config):
    raise RuntimeError("needs a database")
"""


def setup(tmp_path: Path, plugins: dict[str, str], config: str) -> RunOptions:
    for name, source in plugins.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), "utf-8")
    listed = ", ".join(f'"./{n}.py"' for n in plugins)
    (tmp_path / "harness.toml").write_text(
        f"[harness]\nplugins = [{listed}]\n" + textwrap.dedent(config), "utf-8"
    )
    return RunOptions(cwd=tmp_path, autoload=False)


def test_ok(tmp_path: Path) -> None:
    options = setup(tmp_path, {"good": GOOD}, "[phases.a]\nplugin = 'good'\n")
    assert check_plugins(options) == []


def test_phase_without_runner(tmp_path: Path) -> None:
    options = setup(
        tmp_path,
        {"good": GOOD, "norun": NO_RUNNER},
        "[phases.a]\nplugin = 'good'\n[phases.b]\nplugin = 'norun'\n",
    )
    problems = check_plugins(options)
    assert len(problems) == 1
    assert "phases.b" in problems[0]
    assert "implements phase_run" in problems[0]
    assert "'norun'" in problems[0]


def test_disabled_phase_plugin_is_fine(tmp_path: Path) -> None:
    options = setup(tmp_path, {"good": GOOD}, "[phases.a]\nplugin = 'good'\n")
    options = RunOptions(cwd=tmp_path, autoload=False, plugins=("no:good",))
    assert check_plugins(options) == []


@pytest.mark.parametrize(
    ("plugins", "config", "expected"),
    [
        ({"badschema": BAD_SCHEMA}, "", "badschema"),
        ({"badhook": BAD_HOOK}, "", "nonsense"),
        ({"norun": NO_RUNNER}, "[plugins.norun]\nlevel = 'high'\n", "plugins.norun.level"),
        ({"good": GOOD}, "[phases.a]\nplugin = 'missing'\n", "phases.a.plugin"),
        (
            {"boom": BAD_CONFIGURE},
            "",
            "harness.toml): RuntimeError: needs a database",  # names the plugin and the file
        ),
    ],
    ids=[
        "invalid-event-schema",
        "bad-hookimpl",
        "bad-config-section",
        "unknown-plugin",
        "configure",
    ],
)
def test_problems_are_named(
    tmp_path: Path, plugins: dict[str, str], config: str, expected: str
) -> None:
    problems = check_plugins(setup(tmp_path, plugins, config))
    assert len(problems) == 1, problems
    assert expected in problems[0]
    if "boom" in plugins:
        assert problems[0].startswith("plugin 'boom': configure failed (")


def test_every_broken_plugin_is_named(tmp_path: Path) -> None:
    options = setup(
        tmp_path,
        {"good": GOOD, "hookless": BAD_HOOK, "schemaless": BAD_SCHEMA, "missing": "import nope\n"},
        "[phases.a]\nplugin = 'good'\n",
    )
    problems = check_plugins(options)
    named = {
        name for name in ("hookless", "schemaless", "missing") if any(name in p for p in problems)
    }
    assert named == {"hookless", "schemaless", "missing"}, problems
    assert len(problems) == 3
