"""Plugin loading: entry points, ``-p``, ``disable``, autoload switch, load errors, requirements."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from core_helpers import Result, base_env, check_run, harness, latest, phase_rows, write

Cli = Callable[..., Result]

MYPLUG = '''
"""A third-party plugin installed with an entry point."""
from harness import PhaseResult, hookimpl


@hookimpl
def phase_schema():
    return {"type": "object", "additionalProperties": False,
            "properties": {"greeting": {"type": "string", "default": "hi"}}}


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "myplug":
        return None
    return PhaseResult.passed(f"myplug says {phase.settings['greeting']}")
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A fake installed distribution ``myplug 1.2.3`` with a ``harness`` entry point."""
    site = tmp_path / "site"
    write(site / "myplug.py", MYPLUG)
    info = site / "myplug-1.2.3.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: myplug\nVersion: 1.2.3\n")
    write(info / "entry_points.txt", "[harness]\nmyplug = myplug\n")
    write(
        tmp_path / "harness.toml",
        """
        [phases.greet]
        plugin = "myplug"
        greeting = "hello"
        """,
    )
    return site


def _ep_env(site: Path, **extra: str | None) -> dict[str, str]:
    return base_env(**{"HARNESS_DISABLE_PLUGIN_AUTOLOAD": None, "PYTHONPATH": str(site), **extra})


def test_entry_point_plugin_listed(tmp_path: Path, site: Path) -> None:
    result = harness("plugins", "--json", cwd=tmp_path, env=_ep_env(site))
    assert result.code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    mine = rows["myplug"]
    assert mine["source"] == "entry point"
    assert mine["dist"] == "myplug"
    assert mine["version"] == "1.2.3"
    assert mine["disabled"] is False
    assert set(mine["hooks"]) == {"phase_schema", "phase_run"}
    assert rows["jsonl"]["source"] == "builtin"

    text = harness("plugins", cwd=tmp_path, env=_ep_env(site))
    assert text.code == 0
    line = next(x for x in text.stdout.splitlines() if x.startswith("myplug"))
    assert "myplug 1.2.3" in line
    assert "entry point" in line
    assert "phase_run" in text.stdout


def test_entry_point_plugin_runs(tmp_path: Path, site: Path) -> None:
    result = harness("run", cwd=tmp_path, env=_ep_env(site))
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    row = phase_rows(summary)["greet"]
    assert row["status"] == "passed"
    assert row["message"] == "myplug says hello"
    used = {p["name"]: p for p in summary["plugins"]}
    assert used["myplug"]["version"] == "1.2.3"


def test_entry_point_plugin_disabled_with_p_no(tmp_path: Path, site: Path) -> None:
    listed = harness("plugins", "--json", "-p", "no:myplug", cwd=tmp_path, env=_ep_env(site))
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["myplug"]["disabled"] is True

    result = harness("run", "-p", "no:myplug", cwd=tmp_path, env=_ep_env(site))
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    row = phase_rows(summary)["greet"]
    assert row["status"] == "skipped"
    assert "disabled" in row["message"]
    assert "myplug" not in {p["name"] for p in summary["plugins"]}


def test_autoload_switch_ignores_entry_points(tmp_path: Path, site: Path) -> None:
    env = _ep_env(site, HARNESS_DISABLE_PLUGIN_AUTOLOAD="1")
    other = write(tmp_path / "other" / "harness.toml", "[harness]\n").parent
    listed = harness("plugins", "--json", cwd=other, env=env)
    assert listed.code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["myplug"]["disabled"] is True  # installed, left out: listed as disabled
    assert "myplug" not in {r["name"] for r in json.loads(listed.stdout) if not r["disabled"]}
    result = harness("run", cwd=tmp_path, env=env)
    # one rule for "plugin not loaded" (issue 12): its phase is skipped, as with -p no:myplug
    assert result.code in (0, 5), result.output
    assert "plugin 'myplug' is disabled" in result.output
    assert "Traceback" not in result.stderr


def test_disable_in_config(tmp_path: Path, cli: Cli) -> None:
    write(
        tmp_path / "harness.toml",
        """
        [harness]
        disable = ["github"]
        [phases.a]
        plugin = "command"
        run = ["true"]
        """,
    )
    listed = cli("plugins", "--json", cwd=tmp_path)
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["github"]["disabled"] is True
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    assert (latest(tmp_path) / "summary.json").exists()


def test_essential_plugin_cannot_be_disabled(tmp_path: Path, cli: Cli) -> None:
    """jsonl writes the events.jsonl that --resume, validate and harness.testing read."""
    write(tmp_path / "harness.toml", '[phases.a]\nplugin = "command"\nrun = ["true"]\n')
    result = cli("run", "-p", "no:jsonl", cwd=tmp_path)
    assert result.code == 4
    assert "plugin 'jsonl': cannot be disabled" in result.stderr
    assert "--resume" in result.stderr
    assert not (tmp_path / "runs").exists()
    write(
        tmp_path / "harness.toml",
        '[harness]\ndisable = ["jsonl"]\n[phases.a]\nplugin = "command"\nrun = ["true"]\n',
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 4
    assert "harness.toml: harness.disable[0]: plugin 'jsonl': cannot be disabled" in result.stderr
    assert "Traceback" not in result.output


def test_local_plugin_via_cli_p(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "extra.py", MYPLUG.replace('"myplug"', '"extra"'))
    write(tmp_path / "harness.toml", '[phases.x]\nplugin = "extra"\n')
    assert cli("run", "-q", cwd=tmp_path).code == 4  # not loaded
    result = cli("run", "-q", "-p", str(tmp_path / "extra.py"), cwd=tmp_path)
    assert result.code == 0, result.output
    _, summary = check_run(latest(tmp_path))
    assert phase_rows(summary)["x"]["status"] == "passed"
    assert {p["name"]: p["source"] for p in summary["plugins"]}["extra"] == "cli"


BAD_PLUGINS = [
    pytest.param("import nonexistent_module_xyz\n", "nonexistent_module_xyz", id="import-error"),
    pytest.param("raise RuntimeError('boom at import')\n", "boom at import", id="raises"),
    pytest.param("def broken(:\n", "SyntaxError", id="syntax-error"),
    pytest.param(
        "from harness import hookimpl\n\n@hookimpl\ndef phase_runn(phase, ctx):\n    return None\n",
        "phase_runn",
        id="unknown-hook",
    ),
    pytest.param(
        "from harness import hookimpl\n\n@hookimpl\ndef phase_run(phase, ctx, extra):\n"
        "    return None\n",
        "extra",
        id="bad-signature",
    ),
    pytest.param(
        "from harness import hookimpl\n\n@hookimpl\ndef config_schema():\n"
        "    return {'type': 'objekt'}\n",
        "config_schema",
        id="invalid-schema",
    ),
    pytest.param(
        "from harness import hookimpl\n\n@hookimpl\ndef event_schemas():\n"
        "    return {'notnamespaced': {'type': 'object'}}\n",
        "notnamespaced",
        id="event-type-not-namespaced",
    ),
]


@pytest.mark.parametrize(("source", "needle"), BAD_PLUGINS)
def test_bad_plugin_exit_4_one_line(tmp_path: Path, cli: Cli, source: str, needle: str) -> None:
    write(tmp_path / "badplug.py", source)
    write(
        tmp_path / "harness.toml",
        '[harness]\nplugins = ["./badplug.py"]\n[phases.a]\nplugin = "command"\nrun = ["true"]\n',
    )
    result = cli("run", cwd=tmp_path)
    assert result.code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "badplug" in lines[0]
    assert needle in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
    listed = cli("plugins", cwd=tmp_path)
    assert listed.code == 4
    assert "badplug" in listed.stderr


def test_bad_plugin_subprocess(tmp_path: Path) -> None:
    write(
        tmp_path / "badplug.py",
        "from harness import hookimpl\n\n@hookimpl\ndef nosuchhook():\n    pass\n",
    )
    write(tmp_path / "harness.toml", '[harness]\nplugins = ["./badplug.py"]\n')
    result = harness("run", cwd=tmp_path)
    assert result.code == 4
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "badplug" in result.stderr
    assert "nosuchhook" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_plugin_file(tmp_path: Path, cli: Cli) -> None:
    write(tmp_path / "harness.toml", '[harness]\nplugins = ["./nothere.py"]\n')
    result = cli("run", cwd=tmp_path)
    assert result.code == 4
    assert "nothere" in result.stderr


@pytest.mark.parametrize(
    ("requirement", "code"),
    [
        ("pluggy>=1.0", 0),
        ("pluggy>=99", 4),
        ("nonexistent-dist", 4),
        ("nonexistent-dist>=1", 4),
        ("not a requirement!!", 4),
    ],
)
def test_required_plugins(tmp_path: Path, cli: Cli, requirement: str, code: int) -> None:
    write(
        tmp_path / "harness.toml",
        f'[harness]\nrequired_plugins = ["{requirement}"]\n'
        '[phases.a]\nplugin = "command"\nrun = ["true"]\n',
    )
    result = cli("run", "-q", cwd=tmp_path)
    assert result.code == code, result.output
    if code:
        assert requirement.split(">")[0].split()[0] in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
