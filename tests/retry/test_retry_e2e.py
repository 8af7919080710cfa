"""End to end: ``harness run`` as a subprocess with a flaky local phase plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

HARNESS = [sys.executable, "-m", "harness"]

FLAKY = '''
"""A phase that fails ``fail_times`` times, then passes (counter file next to the config)."""
from harness.errors import NonRetryableError, RetryableError
from harness.hookspecs import hookimpl
from harness.outcomes import PhaseResult


@hookimpl
def phase_schema():
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fail_times": {"type": "integer", "default": 2},
            "error": {"enum": ["os", "nonretryable", "retry_after"], "default": "os"},
            "retry_after": {"type": "number", "default": 0.5},
            "operation": {"type": "boolean", "default": False},
        },
    }


def _bump(ctx, name):
    counter = ctx.resolve_path(name)
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    return n + 1


def _attempt(phase, ctx, name):
    n = _bump(ctx, name)
    if n <= phase.settings["fail_times"]:
        kind = phase.settings["error"]
        if kind == "nonretryable":
            raise NonRetryableError("credentials rejected")
        if kind == "retry_after":
            raise RetryableError("429 too many requests", retry_after=phase.settings["retry_after"])
        raise ConnectionResetError(f"flaky failure {n}")
    return n


@hookimpl
def phase_run(phase, ctx):
    if phase.plugin != "flaky":
        return None
    if phase.settings["operation"]:
        n = ctx.retry(_attempt, phase, ctx, "op-counter", name="fetch")
        return PhaseResult.passed(f"fetch passed on call {n}")
    n = _attempt(phase, ctx, "counter")
    return PhaseResult.passed(f"passed on attempt {n}")
'''

POLICY = '''
"""A third-party error policy: always retry after 0.25 s, at most twice."""
from harness.hookspecs import hookimpl
from harness.outcomes import GiveUp, Retry


@hookimpl
def on_error(phase, ctx, call):
    if call.attempt > 2:
        return GiveUp("custom policy: enough")
    return Retry(0.25, "custom policy", {"policy": "custom"})
'''


def write_config(tmp: Path, body: str, *, extra_plugins: tuple[str, ...] = ()) -> None:
    (tmp / "flaky.py").write_text(FLAKY)
    plugins = json.dumps(["./flaky.py", *extra_plugins])
    (tmp / "harness.toml").write_text(f"[harness]\nplugins = {plugins}\n" + textwrap.dedent(body))


def env(no_sleep: bool = True) -> dict[str, str]:
    out = dict(os.environ)
    out["HARNESS_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    out.pop("HARNESS_NO_SLEEP", None)
    if no_sleep:
        out["HARNESS_NO_SLEEP"] = "1"
    return out


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str], out: Path) -> None:
        self.proc = proc
        self.out = out
        self.summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
        self.events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    def phase(self, name: str = "flaky") -> dict[str, Any]:
        phases = self.summary["phases"]
        if isinstance(phases, dict):
            return dict(phases[name])
        return next(p for p in phases if p["name"] == name)


def run(tmp: Path, *args: str, no_sleep: bool = True, out_name: str = "out") -> Run:
    out = tmp / out_name
    proc = subprocess.run(
        [*HARNESS, "run", "--output-dir", str(out), *args],
        cwd=tmp,
        env=env(no_sleep),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (out / "summary.json").exists(), proc.stdout + proc.stderr
    return Run(proc, out)


def test_flaky_phase_passes_on_third_attempt_with_the_schedule(tmp_path: Path) -> None:
    write_config(tmp_path, "[phases.flaky]\n")
    r = run(tmp_path)
    assert r.proc.returncode == 0, r.proc.stdout + r.proc.stderr
    assert r.summary["status"] == "success"
    assert r.phase()["status"] == "passed"
    assert r.phase()["attempts"] == 3
    retries = r.of("retry")
    assert [e["data"]["delay_s"] for e in retries] == [1.0, 2.0]
    assert [e["data"]["attempt"] for e in retries] == [1, 2]
    assert all(e["phase"] == "flaky" for e in retries)
    assert all(e["data"]["error_type"] == "ConnectionResetError" for e in retries)
    assert retries[0]["data"]["jitter"] == "none"
    assert r.summary["retry"]["settings"]["max_retries"] == 3
    assert isinstance(r.summary["retry"]["seed"], int)
    assert "retrying in 1 s" in r.proc.stdout  # the console shows the retries
    for name in ("events.jsonl", "summary.json"):
        check = subprocess.run(
            [*HARNESS, "validate", str(r.out / name)], capture_output=True, text=True, env=env()
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_per_phase_override_and_seeded_jitter_reproducible(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [plugins.retry]
        seed = 42
        [phases.flaky]
        fail_times = 3
        [phases.flaky.retry]
        jitter = "full"
        base_delay = 10.0
        max_retries = 4
        """,
    )
    r1 = run(tmp_path)
    assert r1.proc.returncode == 0, r1.proc.stdout + r1.proc.stderr
    (tmp_path / "counter").unlink()
    second = tmp_path / "second"
    second.mkdir()
    for name in ("flaky.py", "harness.toml"):
        (second / name).write_text((tmp_path / name).read_text())
    r2 = run(second)

    from harness.plugins.backoff import BackoffPolicy, schedule

    policy = BackoffPolicy(jitter="full", base_delay=10.0, max_retries=4, seed=42)
    expected = schedule(policy, phase="flaky")[:3]
    for r in (r1, r2):
        assert [e["data"]["delay_s"] for e in r.of("retry")] == expected
        assert r.phase()["attempts"] == 4
        assert r.summary["retry"]["seed"] == 42
        assert r.summary["retry"]["phases"]["flaky"]["jitter"] == "full"


def test_non_retryable_fails_after_one_attempt(tmp_path: Path) -> None:
    write_config(tmp_path, '[phases.flaky]\nerror = "nonretryable"\n')
    r = run(tmp_path)
    assert r.proc.returncode == 1
    assert r.phase()["status"] == "failed"
    assert r.phase()["attempts"] == 1
    assert r.of("retry") == []
    assert r.of("error")


def test_retry_after_is_honoured_and_capped(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [plugins.retry]
        max_delay = 5.0
        [phases.flaky]
        error = "retry_after"
        retry_after = 3.5
        """,
    )
    r = run(tmp_path)
    assert r.proc.returncode == 0, r.proc.stdout + r.proc.stderr
    assert [e["data"]["delay_s"] for e in r.of("retry")] == [3.5, 3.5]
    assert r.of("retry")[0]["data"]["retry_after_s"] == 3.5

    (tmp_path / "counter").unlink()
    (tmp_path / "harness.toml").write_text(
        (tmp_path / "harness.toml").read_text().replace("3.5", "60")
    )
    r = run(tmp_path, out_name="out2")
    assert [e["data"]["delay_s"] for e in r.of("retry")] == [5.0, 5.0]


def test_operation_level_retry_uses_the_same_policy(tmp_path: Path) -> None:
    write_config(tmp_path, "[phases.flaky]\noperation = true\n")
    r = run(tmp_path)
    assert r.proc.returncode == 0, r.proc.stdout + r.proc.stderr
    retries = r.of("retry")
    assert [e["data"]["operation"] for e in retries] == ["fetch", "fetch"]
    assert [e["data"]["delay_s"] for e in retries] == [1.0, 2.0]
    assert r.phase()["attempts"] == 1


def test_exhausted_retries_fail_the_phase(tmp_path: Path) -> None:
    write_config(tmp_path, "[phases.flaky]\nfail_times = 9\n[plugins.retry]\nmax_retries = 2\n")
    r = run(tmp_path)
    assert r.proc.returncode == 1
    assert r.phase()["status"] == "failed"
    assert r.phase()["attempts"] == 3
    assert len(r.of("retry")) == 2
    assert r.of("error")


@pytest.mark.parametrize("how", ["cli", "config"])
def test_retry_disabled_fails_at_once(tmp_path: Path, how: str) -> None:
    if how == "cli":
        write_config(tmp_path, "[phases.flaky]\n")
        r = run(tmp_path, "-p", "no:retry")
    else:
        write_config(tmp_path, "[phases.flaky]\n")
        toml = (tmp_path / "harness.toml").read_text()
        (tmp_path / "harness.toml").write_text(
            toml.replace("[harness]\n", '[harness]\ndisable = ["retry"]\n')
        )
        r = run(tmp_path)
    assert r.proc.returncode == 1, r.proc.stdout + r.proc.stderr
    assert r.phase()["attempts"] == 1
    assert r.of("retry") == []
    assert "retry" not in r.summary or "seed" not in r.summary.get("retry", {})


def test_third_party_policy_replaces_retry(tmp_path: Path) -> None:
    (tmp_path / "policy.py").write_text(POLICY)
    write_config(tmp_path, "[phases.flaky]\n", extra_plugins=("./policy.py",))
    toml = (tmp_path / "harness.toml").read_text()
    (tmp_path / "harness.toml").write_text(
        toml.replace("[harness]\n", '[harness]\ndisable = ["retry"]\n')
    )
    r = run(tmp_path)
    assert r.proc.returncode == 0, r.proc.stdout + r.proc.stderr
    retries = r.of("retry")
    assert [e["data"]["delay_s"] for e in retries] == [0.25, 0.25]
    assert all(e["data"]["policy"] == "custom" for e in retries)
    assert r.phase()["attempts"] == 3


def test_sigterm_during_long_backoff_exits_2_interrupted(tmp_path: Path) -> None:
    write_config(tmp_path, "[phases.flaky]\nfail_times = 9\n[plugins.retry]\nbase_delay = 30.0\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*HARNESS, "run", "--output-dir", str(out)],
        cwd=tmp_path,
        env=env(no_sleep=False),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        events = out / "events.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if events.exists() and '"type":"retry"' in events.read_text().replace(" ", ""):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("no retry event within 60 s")
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, stdout + stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["exit_code"] == 2


def test_backoff_past_the_phase_timeout_gives_up(tmp_path: Path) -> None:
    write_config(tmp_path, "[phases.flaky]\ntimeout = 1.5\nfail_times = 9\n")
    r = run(tmp_path)
    assert r.proc.returncode == 1, r.proc.stdout + r.proc.stderr
    assert r.phase()["attempts"] == 2  # 1 s fits in 1.5 s; 2 s does not
    assert [e["data"]["delay_s"] for e in r.of("retry")] == [1.0]
    assert "phase timeout" in r.of("error")[-1]["data"]["reason"]
