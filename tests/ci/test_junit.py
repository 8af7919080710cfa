"""The ``junit`` plugin: a report CI test reporters read, validated against junit-10.xsd."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from helpers import XSD, command_phase, load_flags

from harness.testing import Harnesser

JUNIT = load_flags("junit")

FAILING_START = """
from harness import hookimpl, PhaseResult

@hookimpl
def phase_start(phase, ctx):
    if phase.plugin == "brittle":
        raise RuntimeError("cannot set up brittle")

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin == "brittle":
        return PhaseResult.passed("never reached")
"""

BROKEN_SINK = """
from harness import hookimpl

@hookimpl
def sink_event(event):
    if event.type == "phase_end":
        raise OSError("disk full")
"""

LEAKY = """
from harness import hookimpl, PhaseFailed

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "leaky":
        return None
    ctx.add_secret("s3cr3t-token-value")
    raise PhaseFailed("login refused for s3cr3t-token-value")
"""


@pytest.fixture(scope="module")
def schema() -> Any:
    if not XSD.is_file():
        pytest.skip(f"JUnit XSD not found at {XSD} (shared test data outside the project)")
    import xmlschema

    return xmlschema.XMLSchema(str(XSD))


def run_junit(
    harnesser: Harnesser, phases: dict[str, Any], **kwargs: Any
) -> tuple[Any, ET.Element]:
    config = {"harness": {"on_failure": "continue"}, "phases": phases}
    result = harnesser.run(
        config,
        cli_plugins=JUNIT,
        overrides=("plugins.junit.path='reports/junit.xml'",),
        **kwargs,
    )
    path = harnesser.path / "reports" / "junit.xml"
    assert path.is_file(), result.stdout.lines
    return result, ET.parse(path).getroot()


def assert_valid(schema: Any, root: ET.Element, *, allow_error_element: bool = False) -> None:
    """Validate against junit-10.xsd.

    That XSD (Jenkins xunit's, the copy pytest keeps) declares the error element
    as ``errors``, while every reporter (Jenkins JUnit, GitLab, GitHub actions,
    surefire's own XSD) reads ``<error>`` (as pytest writes it). With
    ``allow_error_element`` the only problems allowed are ``<error>`` elements.
    """
    problems = list(schema.iter_errors(ET.tostring(root, encoding="unicode")))
    if allow_error_element:
        problems = [p for p in problems if "Unexpected child with tag 'error'" not in str(p.reason)]
    assert not problems, "\n".join(str(p) for p in problems)


def test_passed_failed_skipped_and_timeout_phases(harnesser: Harnesser, schema: Any) -> None:
    phases = {
        "ok": command_phase(0, out="all good"),
        "bad": command_phase(3, out="bad output line"),
        "slow": {
            "plugin": "command",
            "run": ["python3", "-c", "import time; time.sleep(30)"],
            "timeout": 0.5,
        },
        "later": command_phase(0, timeout=60),
    }
    result, root = run_junit(harnesser, phases)
    assert result.exit_code == 1
    assert_valid(schema, root)
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    counts = [suite.get(k) for k in ("tests", "failures", "errors", "skipped")]
    assert counts == ["4", "2", "0", "0"]
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["ok", "bad", "slow", "later"]
    assert cases["ok"].get("classname") == "harness.command"
    assert cases["ok"].find("failure") is None
    out = cases["ok"].findtext("system-out") or ""
    assert "exit_code=0" in out
    assert "all good" in out
    failure = cases["bad"].find("failure")
    assert failure is not None
    assert "exited with code 3" in (failure.get("message") or "")
    assert "bad output line" in (cases["bad"].findtext("system-out") or "")
    assert "to stderr" in (cases["bad"].findtext("system-err") or "")
    timeout = cases["slow"].find("failure")
    assert timeout is not None
    assert timeout.get("type") == "timeout"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["exit_code"] == "1"
    assert props["status"] == "failed"
    assert props["run_id"] == result.summary["run_id"]


def test_skipped_after_stop(harnesser: Harnesser, schema: Any) -> None:
    config = {"phases": {"bad": command_phase(1), "after": command_phase(0)}}
    result = harnesser.run(config, cli_plugins=JUNIT, overrides=("plugins.junit.path='j.xml'",))
    result.assert_outcomes(failed=1, skipped=1)
    root = ET.parse(harnesser.path / "j.xml").getroot()
    assert_valid(schema, root)
    skipped = root.find("testsuite/testcase[@name='after']/skipped")
    assert skipped is not None
    assert "on_failure = stop" in (skipped.get("message") or "")
    assert root.find("testsuite").get("skipped") == "1"  # type: ignore[union-attr]


def test_plugin_error_is_an_error_element(harnesser: Harnesser, schema: Any) -> None:
    result, root = run_junit(
        harnesser, {"setup": {"plugin": "brittle"}}, plugins={"brittle": FAILING_START}
    )
    result.assert_outcomes(failed=1)
    assert_valid(schema, root, allow_error_element=True)
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert "cannot set up brittle" in (error.get("message") or "")
    assert root.find("testsuite").get("errors") == "1"  # type: ignore[union-attr]


def test_secrets_never_reach_the_report(harnesser: Harnesser, schema: Any) -> None:
    _, root = run_junit(harnesser, {"login": {"plugin": "leaky"}}, plugins={"leaky": LEAKY})
    text = ET.tostring(root, encoding="unicode")
    assert "s3cr3t-token-value" not in text
    assert "login refused for ***" in text
    assert_valid(schema, root)


def test_off_by_default(harnesser: Harnesser) -> None:
    result = harnesser.run({"phases": {"ok": command_phase(0)}}, cli_plugins=JUNIT)
    result.assert_outcomes(passed=1)
    assert not list(Path(harnesser.path).rglob("*.xml"))


def test_cli_path_relative_to_config_folder(harnesser: Harnesser, schema: Any) -> None:
    """The run in a subprocess; a relative path resolves against the config's folder."""
    result = harnesser.run(
        {"phases": {"ok": command_phase(0)}, "plugins": {"junit": {"path": "out/report.xml"}}},
        cli_plugins=JUNIT,
        subprocess=True,
    )
    result.assert_outcomes(passed=1)
    root = ET.parse(harnesser.path / "out" / "report.xml").getroot()
    assert_valid(schema, root)


def test_broken_sink_is_a_session_error(harnesser: Harnesser, schema: Any) -> None:
    result, root = run_junit(
        harnesser, {"ok": command_phase(0)}, plugins={"brokensink": BROKEN_SINK}
    )
    assert result.exit_code == 3
    assert_valid(schema, root, allow_error_element=True)
    error = root.find("testsuite/testcase[@name='session']/error")
    assert error is not None
    assert "sink 'brokensink' failed" in (error.get("message") or "")
    assert root.find("testsuite/testcase[@name='ok']/failure") is None
