"""The hook reference is generated from the hook specs and must stay in sync."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import ModuleType

from helpers import REPO

import harness.hookspecs


def load_generator() -> ModuleType:
    path = REPO / "scripts" / "gen_hooks_doc.py"
    spec = importlib.util.spec_from_file_location("gen_hooks_doc", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_hook_spec_has_a_docstring() -> None:
    gen = load_generator()
    names = [name for name, _, _ in gen.hookspecs()]
    assert "phase_run" in names
    assert "sink_event" in names
    assert gen.undocumented() == [], "document these hook specs in harness/hookspecs.py"


def test_every_hook_is_in_the_reference() -> None:
    text = (REPO / "docs" / "hooks.md").read_text("utf-8")
    for name in dir(harness.hookspecs):
        if hasattr(getattr(harness.hookspecs, name), "harness_spec"):
            assert f"### `{name}`" in text, name


def test_hooks_md_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_hooks_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + "\nrun: python scripts/gen_hooks_doc.py"


def test_the_example_workflow_uses_the_ci_commands() -> None:
    text = (REPO / "docs" / "github-workflow.yml").read_text("utf-8")
    assert "harness plugins --check" in text
    assert "--junit-xml" in text
