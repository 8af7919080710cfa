"""One writer per run directory; never overwrite what harness did not write (issue 11, 4-5)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fault_io import harness, latest, py_cmd, run_dirs, start, validate, wait_for, write

# phase b fails until the file "go" exists, then waits for "release" (so runs overlap)
RESUMABLE = f"""
[phases.a]
plugin = "command"
run = {py_cmd("pass")}
[phases.b]
plugin = "command"
run = {
    py_cmd('''
import os, sys, time
if not os.path.exists("go"):
    sys.exit(1)
open("b-started", "w").close()
for _ in range(600):
    if os.path.exists("release"):
        break
    time.sleep(0.05)
''')
}
"""


def test_concurrent_resumes_one_writer(tmp_path: Path) -> None:
    """Two --resume of one run at once: one continues it, the other exits 4 naming its pid."""
    write(tmp_path / "harness.toml", RESUMABLE)
    assert harness("run", "-q", cwd=tmp_path).code == 1
    run_dir = latest(tmp_path)
    (tmp_path / "go").touch()
    first = start("run", "--resume", cwd=tmp_path)
    wait_for(lambda: (tmp_path / "b-started").exists(), what="the first resume to run b")
    second = harness("run", "--resume", cwd=tmp_path)
    (tmp_path / "release").touch()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    assert second.code == 4, second.output
    assert f"pid {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert validate(run_dir) == []
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert sum(e["type"] == "session_end" for e in events) == 2  # the failed run, one resume
    # the lock went with its holder: a later resume is refused for another reason only
    third = harness("run", "--resume", cwd=tmp_path)
    assert third.code == 0, third.output


def test_resume_refused_while_a_new_run_writes(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", RESUMABLE)
    (tmp_path / "go").touch()
    proc = start("run", cwd=tmp_path)
    try:
        wait_for(lambda: (tmp_path / "b-started").exists(), what="the run to reach b")
        second = harness("run", "--resume", cwd=tmp_path)
        assert second.code == 4, second.output
        assert f"pid {proc.pid}" in second.stderr
        check = harness("validate", str(latest(tmp_path)), cwd=tmp_path)
        assert f"running now: pid {proc.pid}" in check.stdout
    finally:
        (tmp_path / "release").touch()
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_failing_latest_leaves_no_directory(tmp_path: Path) -> None:
    """``latest`` cannot be replaced (a real folder there): exit 4, no empty run directory."""
    write(tmp_path / "harness.toml", RESUMABLE)
    (tmp_path / "go").touch()
    (tmp_path / "release").touch()
    write(tmp_path / "runs" / "latest" / "keep.txt", "mine\n")
    result = harness("run", cwd=tmp_path)
    assert result.code == 4, result.output
    assert "latest" in result.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest"]
    assert (tmp_path / "runs" / "latest" / "keep.txt").read_text() == "mine\n"


def test_output_dir_refuses_the_config_in_use(tmp_path: Path) -> None:
    """``--output-dir .`` next to the config in use (named config.toml): refused, untouched."""
    text = f'# my notes, keep them\n[phases.a]\nplugin = "command"\nrun = {py_cmd("pass")}\n'
    config = write(tmp_path / "config.toml", text)
    before = config.stat().st_mtime_ns
    result = harness("run", "--config", "config.toml", "--output-dir", ".", cwd=tmp_path)
    assert result.code == 4, result.output
    assert "config.toml" in result.stderr
    assert config.read_text() == text
    assert config.stat().st_mtime_ns == before
    assert not (tmp_path / "events.jsonl").exists()


def test_output_dir_refuses_any_harness_file(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", f'[phases.a]\nplugin = "command"\nrun = {py_cmd("pass")}\n')
    out = tmp_path / "out"
    write(out / "report.html", "<p>someone else's</p>\n")
    result = harness("run", "--output-dir", "out", cwd=tmp_path)
    assert result.code == 4, result.output
    assert "report.html" in result.stderr
    assert (out / "report.html").read_text() == "<p>someone else's</p>\n"
    fresh = harness("run", "--output-dir", "fresh", cwd=tmp_path)
    assert fresh.code == 0, fresh.output
    assert validate(tmp_path / "fresh") == []


def test_resume_refuses_symlinked_run_files(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", RESUMABLE)
    assert harness("run", "-q", cwd=tmp_path).code == 1
    run_dir = latest(tmp_path)
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes((run_dir / "events.jsonl").read_bytes())
    (run_dir / "events.jsonl").unlink()
    os.symlink(outside, run_dir / "events.jsonl")
    before = outside.read_bytes()
    result = harness("run", "--resume", cwd=tmp_path)
    assert result.code == 4, result.output
    assert "symbolic link" in result.stderr
    assert "events.jsonl" in result.stderr
    assert outside.read_bytes() == before


def test_config_error_leaves_no_directory(tmp_path: Path) -> None:
    write(tmp_path / "harness.toml", "[harness]\nheartbeat_interval = nan\n")
    result = harness("run", cwd=tmp_path)
    assert result.code == 4, result.output
    assert run_dirs(tmp_path) == []


def test_resume_never_writes_over_the_config_in_use(tmp_path: Path) -> None:
    """--resume with the run's own config.toml as --config: refused, the file untouched."""
    write(tmp_path / "harness.toml", RESUMABLE)
    assert harness("run", "-q", cwd=tmp_path).code == 1
    run_dir = latest(tmp_path)
    config = run_dir / "config.toml"
    before = config.read_bytes()
    result = harness("run", "--resume", str(run_dir), "--config", str(config), cwd=tmp_path)
    assert result.code == 4, result.output
    assert "configuration in use" in result.stderr
    assert config.read_bytes() == before
