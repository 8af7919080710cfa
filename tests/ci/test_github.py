"""The ``github`` plugin: workflow-command annotations and the step summary."""

from __future__ import annotations

from helpers import command_phase, load_flags

from harness.plugins.github import escape_data, escape_property, workflow_command
from harness.testing import Harnesser

GITHUB = load_flags("github")

LEAKY = """
from harness import hookimpl, PhaseFailed

@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "leaky":
        return None
    ctx.add_secret("tok-123456789")
    raise PhaseFailed("100% refused: key tok-123456789\\nsecond line")
"""


def test_escaping_follows_github_rules() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert workflow_command("error", "x: y, z", title="phase a: failed, really") == (
        "::error title=phase a%3A failed%2C really::x: y, z"
    )
    assert workflow_command("notice", "plain") == "::notice::plain"


def test_annotations_and_summary_in_actions(harnesser: Harnesser) -> None:
    summary = harnesser.path / "step_summary.md"
    summary.write_text("# earlier step\n", "utf-8")
    result = harnesser.run(
        {
            "harness": {"on_failure": "continue"},
            "phases": {
                "ok": command_phase(0),
                "bad": command_phase(2),
                "login": {"plugin": "leaky"},
            },
        },
        plugins={"leaky": LEAKY},
        cli_plugins=GITHUB,
        subprocess=True,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1
    result.assert_outcomes(passed=1, failed=2)
    errors = [line for line in result.stdout.lines if line.startswith("::error")]
    assert errors == [
        "::error title=harness phase bad failed::python3 exited with code 2: to stderr",
        "::error title=harness phase login failed::100%25 refused: key ***",
    ]
    assert not any(line.startswith("::warning") for line in result.stdout.lines)
    text = summary.read_text("utf-8")
    assert text.startswith("# earlier step\n")  # appended, not overwritten
    assert "harness: failed (exit 1)" in text
    assert "| ok | command | ✅ passed | 1 |" in text
    assert "| bad | command | ❌ failed | 1 |" in text
    assert "tok-123456789" not in text
    assert "tok-123456789" not in "\n".join(result.stdout.lines)


def test_inactive_outside_actions(harnesser: Harnesser) -> None:
    summary = harnesser.path / "step_summary.md"
    result = harnesser.run(
        {"phases": {"bad": command_phase(2)}},
        cli_plugins=GITHUB,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(failed=1)
    assert not any(line.startswith("::") for line in result.stdout.lines)
    assert not summary.exists()


def test_switches(harnesser: Harnesser) -> None:
    summary = harnesser.path / "step_summary.md"
    result = harnesser.run(
        {"phases": {"bad": command_phase(2)}, "plugins": {"github": {"annotations": False}}},
        cli_plugins=GITHUB,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    result.assert_outcomes(failed=1)
    assert not any(line.startswith("::") for line in result.stdout.lines)
    assert "| bad | command |" in summary.read_text("utf-8")
