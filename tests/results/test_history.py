"""``harness runs``, ``show`` and ``compare`` on real runs (three runs made once per module)."""

from __future__ import annotations

from pathlib import Path

from results_helpers import query


def test_runs_lists_newest_first_with_status_and_roi(history: Path) -> None:
    rows = query("runs", "--json", cwd=history).json()
    assert [r["status"] for r in rows] == ["failed", "success", "success"]
    assert rows[0]["phases_failed"] == 1
    assert rows[0]["roi"] is None
    assert rows[1]["phases_passed"] == 2
    assert isinstance(rows[1]["roi"], float)
    assert rows[0]["started"] > rows[1]["started"] > rows[2]["started"]
    text = query("runs", cwd=history).stdout.splitlines()
    assert text[0].split() == ["run", "started", "status", "time", "passed", "failed", "roi"]
    assert [line.split()[0] for line in text[1:]] == [r["run_id"] for r in rows]


def test_show_resolves_latest_prefix_and_path(history: Path) -> None:
    rows = query("runs", "--json", cwd=history).json()
    failed, newest_ok = rows[0], rows[1]

    latest = query("show", cwd=history)
    assert latest.code == 0
    assert f"run {failed['run_id']}  failed (exit 1)" in latest.stdout
    assert ["broken", "command", "failed", "1"] in [
        line.split()[:4] for line in latest.stdout.splitlines()
    ]
    last = latest.stdout.splitlines()[-1]
    assert last.startswith("failed: 1 failed in ")
    assert last.endswith("(exit 1)")

    ok = query("show", "latest-success", cwd=history)
    assert f"run {newest_ok['run_id']}  success" in ok.stdout
    assert "sma_cross     AAPL" in ok.stdout
    assert ok.stdout.rstrip().endswith("(exit 0)")
    assert query("show", "latest-failed", cwd=history).stdout == latest.stdout
    prefix = newest_ok["run_id"][:-3]
    if sum(r["run_id"].startswith(prefix) for r in rows) == 1:
        assert query("show", prefix, cwd=history).stdout == ok.stdout
    assert query("show", newest_ok["path"], cwd=history).stdout == ok.stdout
    assert query("show", "--json", "latest", cwd=history).json()["status"] == "failed"


def test_run_errors_exit_4(history: Path) -> None:
    ambiguous = query("show", "2", cwd=history)
    assert ambiguous.code == 4
    assert "ambiguous, 3 runs match" in ambiguous.stderr
    assert query("show", "nope", cwd=history).code == 4
    assert query("show", "--runs-dir", "elsewhere", cwd=history).code == 4


def test_compare_names_changed_strategy_figures(history: Path) -> None:
    result = query("compare", "--json", "latest-success", "latest-success", cwd=history).json()
    assert result["changed"] is False
    rows = query("runs", "--json", cwd=history).json()
    newer, older = rows[1]["run_id"], rows[2]["run_id"]
    result = query("compare", "--json", older, newer, cwd=history).json()
    assert result["changed"] is True
    assert [p["name"] for p in result["phases"]] == ["data", "strategy"]
    by_key = {(r["strategy"], r["symbol"]): r for r in result["strategies"]}
    assert len(by_key) == 8
    sma = by_key[("sma_cross", "AAPL")]["figures"]
    assert set(sma) == {"final_equity", "roi", "trades", "wins", "max_drawdown"}
    assert sma["trades"]["change"] == sma["trades"]["b"] - sma["trades"]["a"] != 0
    assert not by_key[("buy_and_hold", "AAPL")]["changed"]
    text = query("compare", older, newer, cwd=history).stdout
    assert "sma_cross     AAPL" in text
    assert text.splitlines()[-1] == "changed: 4 of 8 strategy/symbol rows, 0 phase statuses"
    # a phase only in one run
    both = query("compare", "--json", older, "latest", cwd=history).json()
    assert {p["name"]: (p["a"] is None, p["b"] is None) for p in both["phases"]} == {
        "data": (False, True),
        "strategy": (False, True),
        "broken": (True, False),
    }
