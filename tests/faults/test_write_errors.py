"""Write errors on any file (issue 11, item 3): exit 3, one line naming the file, whole lines.

Without root: ``RLIMIT_FSIZE`` in the child (a write past it fails with EFBIG, as a
full disk does with ENOSPC) and ``/dev/full`` (ENOSPC) as harness's stdout.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fault_io import harness, latest, limit_file_size, py_cmd, run_dirs, validate, write

TWO_PHASES = f"""
[phases.a]
plugin = "command"
run = {py_cmd("print('a' * 200)")}
[phases.b]
plugin = "command"
run = {py_cmd("pass")}
"""

BIG_SUMMARY = """
from harness import hookimpl


@hookimpl
def summarize(session):
    return {"big": {"padding": "x" * 20000}}
"""


def test_summary_that_cannot_be_written(tmp_path: Path) -> None:
    """summary.json is the file that fails: exit 3, one line naming it, events whole."""
    write(tmp_path / "big.py", BIG_SUMMARY)
    write(tmp_path / "harness.toml", '[harness]\nplugins = ["big.py"]\n' + TWO_PHASES)
    result = harness("run", cwd=tmp_path, preexec_fn=limit_file_size(12000))
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    run_dir = latest(tmp_path)
    lines = [line for line in result.stdout.splitlines() if "cannot write" in line]
    assert len(lines) == 1, result.output
    assert str(run_dir / "summary.json") in lines[0]
    assert "File too large" in lines[0]
    assert not (run_dir / "summary.json").exists()
    assert (run_dir / "events.jsonl").read_bytes().endswith(b"\n")
    assert validate(run_dir) == []
    check = harness("validate", str(run_dir), cwd=tmp_path)
    assert check.code == 0, check.output
    assert "summary.json could not be written" in check.stdout


@pytest.mark.parametrize("limit", [300, 1500, 3000])
def test_every_limit_leaves_a_consistent_record(tmp_path: Path, limit: int) -> None:
    """Whatever file fails first: exit 0 or 3, whole lines, a summary agreeing with the exit."""
    write(tmp_path / "harness.toml", TWO_PHASES)
    result = harness("run", cwd=tmp_path, preexec_fn=limit_file_size(limit))
    assert result.code in (0, 3), result.output
    assert "Traceback" not in result.output
    if result.code == 3:  # one line names the file that could not be written
        assert "File too large" in result.output, result.output
    dirs = run_dirs(tmp_path)
    if not dirs:  # nothing recorded at all: no directory left behind
        assert result.code == 3
        return
    run_dir = dirs[0]
    events = run_dir / "events.jsonl"
    if events.exists() and events.stat().st_size:
        assert events.read_bytes().endswith(b"\n")
    summary = run_dir / "summary.json"
    if summary.exists():
        doc = json.loads(summary.read_text())
        assert doc["exit_code"] == result.code
        assert validate(run_dir) == []


def test_stdout_on_a_full_disk(tmp_path: Path) -> None:
    """The console's stream fails (ENOSPC): exit 3, the run's files are whole and agree."""
    write(tmp_path / "harness.toml", TWO_PHASES)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*__import__("fault_io").HARNESS, "run"],
            cwd=tmp_path,
            env=__import__("fault_io").base_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = latest(tmp_path)
    assert validate(run_dir) == []
    doc = json.loads((run_dir / "summary.json").read_text())
    assert doc["exit_code"] == 3
    assert any("No space left" in e["message"] for e in doc["plugin_errors"])
