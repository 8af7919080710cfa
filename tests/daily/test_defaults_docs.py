"""Issue 12, item 8: default timeouts; the README's examples are what the program does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from daily_helpers import clean_env, harness, write

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text("utf-8"), re.S)


def _events(folder: Path, type_: str) -> list[dict[str, object]]:
    lines = (folder / "runs" / "latest" / "events.jsonl").read_text("utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == type_]


def test_builtin_phases_default_timeouts(tmp_path: Path) -> None:
    write(
        tmp_path / "harness.toml",
        "[phases.data]\n\n[phases.strategy]\n[[phases.strategy.strategies]]\n"
        'name = "buy_and_hold"\n\n[phases.api]\ndry_run = true\n'
        '[[phases.api.exchanges]]\nname = "x"\nbase_url = "https://api.example.com"\n\n'
        '[phases.cmd]\nplugin = "command"\nrun = ["true"]\n\n'
        '[phases.quick]\nplugin = "data"\ntimeout = 60\n',
    )
    result = harness("run", "-q", cwd=tmp_path)
    assert result.code == 0, result.output
    timeouts = {e["phase"]: e["data"]["timeout_s"] for e in _events(tmp_path, "phase_start")}
    assert timeouts == {
        "data": 7200.0,
        "strategy": 7200.0,
        "api": 3600.0,
        "cmd": None,
        "quick": 60.0,
    }


def test_the_readme_event_line_is_written_that_way(tmp_path: Path) -> None:
    (example,) = [b for b in _blocks("json") if '"type":"heartbeat"' in b]
    line = example.strip()
    assert "\n" not in line
    doc = json.loads(line)
    assert json.dumps(doc, separators=(",", ":"), ensure_ascii=False) == line
    write(tmp_path / "harness.toml", '[phases.wait]\nplugin = "command"\nrun = ["sleep", "0.3"]\n')
    result = harness("run", "-q", "--set", "harness.heartbeat_interval=0.05", cwd=tmp_path)
    assert result.code == 0, result.output
    written = (tmp_path / "runs" / "latest" / "events.jsonl").read_text("utf-8").splitlines()
    beat = next(x for x in written if '"type":"heartbeat"' in x)  # the README's grep finds it
    assert list(json.loads(beat)) == list(doc)  # same keys, same order
    assert json.dumps(json.loads(beat), separators=(",", ":"), ensure_ascii=False) == beat


def test_the_readme_python_api_example_runs(tmp_path: Path) -> None:
    (code,) = [b for b in _blocks("python") if "harness.run(" in b]
    write(tmp_path / "harness.toml", "[phases.data]\n")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code_, run_dir, status = proc.stdout.split()[-3:]
    assert (code_, status) == ("0", "success")
    assert (Path(run_dir) / "summary.json").is_file()
    summary = json.loads((Path(run_dir) / "summary.json").read_text("utf-8"))
    assert summary["phases"][0]["name"] == "data"
