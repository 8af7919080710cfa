"""``harness report`` through the CLI (subprocess), no browser: content, escaping, secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import HOSTILE, SECRET, harness_report, real_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_run(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def page(run_dir: Path) -> str:
    proc = harness_report("latest", cwd=run_dir.parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert "wrote " in proc.stdout
    return (run_dir / "report.html").read_text("utf-8")


def test_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page
    assert "uPlot" in page  # the chart library is inlined


def test_has_the_run_and_its_phases(page: str, run_dir: Path) -> None:
    import json

    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["run_id"] in page
    assert summary["config"]["hash"] in page
    for section in ("Run", "Timeline", "Metrics", "Retries and errors", "Data", "Strategy", "API"):
        assert f">{section}<" in page
    for phase in ("data", "strategy", "api", "mine"):
        assert f"<td>{phase}</td>" in page
    assert "sma_cross" in page
    assert "min_trades" in page  # a gate with value and threshold
    assert 'class="heatmap"' in page  # the 2x2 sweep
    assert "<figcaption>widgets</figcaption>" in page  # a heartbeat metric over time


def test_third_party_section_shows_and_a_bad_one_is_named(page: str) -> None:
    assert '>My phase <span class="by">from plugin myphase</span>' in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>raw</b>" not in page
    assert "section &#x27;Broken&#x27; block 0: type must be one of" in page


def test_hostile_text_is_escaped_and_no_secret(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page  # the retry message
    assert SECRET not in page
    assert page.count("<script") == 3  # data, uPlot, the report's own script


def test_output_option_and_baseline(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "r.html"
    proc = harness_report(str(run_dir), "-o", str(target), "--baseline", str(run_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = target.read_text("utf-8")
    assert "Compared with baseline" in text


def test_not_a_run_is_a_usage_error(tmp_path: Path) -> None:
    proc = harness_report(str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 4
    assert "harness: error:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_report_plugin_writes_the_page_at_the_end_of_the_run(run_dir: Path) -> None:
    import json

    text = (run_dir / "plugin-report.html").read_text("utf-8")
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["run_id"] in text
    assert ">My phase <span" in text  # sections of the run's own plugins
    assert ">Strategy <span" in text
    assert SECRET not in text
    assert HOSTILE not in text


def test_a_run_without_summary_still_has_a_report(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    killed = tmp_path / "killed"
    shutil.copytree(run_dir, killed)
    (killed / "summary.json").unlink()
    proc = harness_report(str(killed), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (killed / "report.html").read_text("utf-8")
    assert "summary.json: missing" in text
    assert 'id="timeline"' in text


def test_run_report_flag(tmp_path: Path) -> None:
    import subprocess

    from .helpers import HARNESS, env

    out = tmp_path / "run"
    proc = subprocess.run(
        [*HARNESS, "run", "-c", "builtin:demo", "--phase=data", "--report", "-o", str(out), "-q"],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "report.html").read_text("utf-8")
    assert 'id="data"' in text
    assert "report" in (out / "config.toml").read_text("utf-8")  # recorded as a setting
