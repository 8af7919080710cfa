"""Issue 12, item 5: CI gets every failure (config and plugin errors too); groups per phase."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from daily_helpers import harness, write

BAD = '[harness]\nruns_dir = "r"\n\n[phases.data]\ninterval = "1d"\ntimout = 3\n'


def _github(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_WORKSPACE": str(tmp_path),
    }


def test_a_config_error_gives_annotation_summary_and_junit(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", BAD)
    result = harness("run", "--junit-xml", "out/junit.xml", cwd=tmp_path, **_github(tmp_path))
    assert result.code == 4, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(
        "::error file=harness.toml,line=6,title=harness configuration error::"
    )
    assert "phases.data.timout" in errors[0]
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert "harness: configuration error (exit 4)" in summary
    assert "phases.data.timout" in summary
    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert root.get("errors") == "1"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 1
    error = cases[0].find("error")
    assert error is not None
    assert error.get("type") == "ConfigError"
    assert "phases.data.timout" in (error.get("message") or "")


def test_a_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", '[phases.data]\ninterval = "1d"\ncalendar = \n')
    result = harness("run", cwd=tmp_path, **_github(tmp_path))
    assert result.code == 4
    assert "::error file=harness.toml,line=3," in result.stdout


def test_a_plugin_error_and_the_junit_path_from_the_config(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        '[harness]\nplugins = ["nosuch_plugin_mod"]\n\n[plugins.junit]\npath = "j.xml"\n'
        "\n[phases.data]\n",
    )
    result = harness("run", cwd=tmp_path, **_github(tmp_path))
    assert result.code == 4, result.output
    assert "::error file=harness.toml,line=2,title=harness configuration error::" in result.stdout
    assert "nosuch_plugin_mod" in (tmp_path / "summary.md").read_text("utf-8")
    assert (tmp_path / "j.xml").is_file()


def test_a_missing_config_under_ci_is_reported_too(tmp_path: Path) -> None:
    result = harness("run", "--junit-xml", "j.xml", cwd=tmp_path, **_github(tmp_path))
    assert result.code == 4
    assert "::error title=harness usage error::no config file" in result.stdout
    assert "no config file" in (tmp_path / "summary.md").read_text("utf-8")
    assert (tmp_path / "j.xml").is_file()


def test_outside_github_no_workflow_commands(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", BAD)
    result = harness("run", cwd=tmp_path)
    assert result.code == 4
    assert "::" not in result.stdout


def test_phases_are_grouped_and_a_located_failure_is_annotated(tmp_path: Path) -> None:
    fail = "import sys; print('boom'); sys.exit('prices.csv:12: bad row')"
    write(
        tmp_path / "harness.toml",
        '[phases.ok]\nplugin = "command"\nrun = ["true"]\n\n'
        f'[phases.bad]\nplugin = "command"\nrun = ["python3", "-c", "{fail}"]\n',
    )
    result = harness("run", cwd=tmp_path, **_github(tmp_path))
    assert result.code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines.count("::group::phase ok") == 1
    assert lines.count("::group::phase bad") == 1
    assert lines.count("::endgroup::") == 2
    start, end = lines.index("::group::phase ok"), lines.index("::endgroup::")
    assert start < end < lines.index("::group::phase bad")
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=prices.csv,line=12,title=harness phase bad failed::")
