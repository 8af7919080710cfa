"""Settings a schema cannot check stop ``harness run`` at start-up: exit 4, one line naming
file and key, no traceback, no run directory (the ``configure`` hook)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.plugins.data.loader import LoadError
from harness.plugins.data.settings import DataSettings, check_settings

from .helpers import HARNESS, good_rows, harness_run, load, run_summary, write_csv

TOML = '[phases.data]\npaths = ["a.csv"]\ninterval = "1d"\n'


def _problems(**raw: object) -> list[tuple[str, object]]:
    return [(p.key, p.given) for p in check_settings(DataSettings.from_mapping(raw))]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/Paris", "US/Eastern"])
def test_known_timezones_pass(zone: str) -> None:
    assert _problems(timezone=zone) == []


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "utc+1", "../etc/passwd", "Factory"])
def test_unknown_timezones_are_problems(zone: str) -> None:
    assert _problems(timezone=zone) == [("timezone", zone)]


@pytest.mark.parametrize(
    "fmt",
    ["%Y-%m-%d", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S%.f%:z", "%m/%d/%y %I:%M %p", "%s", "%F %T"],
)
def test_usable_timestamp_formats_pass(fmt: str) -> None:
    assert _problems(timestamp_format=fmt) == []


@pytest.mark.parametrize("fmt", ["%Q-%m-%d", "2024", "%H:%M", "%Y-%m-%d %H", "%Y-%m-%d %"])
def test_unusable_timestamp_formats_are_problems(fmt: str) -> None:
    assert _problems(timestamp_format=fmt) == [("timestamp_format", fmt)]


def test_other_problems() -> None:
    assert _problems(columns={"price": "px"}) == [("columns.price", "price")]
    assert _problems(columns={"close": "px"}, symbol_column="px") == [("symbol_column", "px")]
    assert _problems(delimiter='"') == [("delimiter", '"')]
    assert _problems(interval="1x") == [("interval", "1x")]
    assert _problems(paths=["nothing/*.csv"]) == []  # files may appear later


def test_a_polars_error_while_loading_is_a_load_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", good_rows())
    with pytest.raises(LoadError, match=r"^.*a\.csv: cannot read as csv: .*Mars/Olympus"):
        load([path], timezone="Mars/Olympus")


cli = pytest.mark.skipif(not HARNESS.exists(), reason="harness CLI not installed")


@cli
@pytest.mark.parametrize(
    ("setting", "key", "given"),
    [
        ("phases.data.timezone=Mars/Olympus", "phases.data.timezone", "'Mars/Olympus'"),
        ('phases.data.timestamp_format="%Y %H"', "phases.data.timestamp_format", "'%Y %H'"),
        ("phases.data.columns.close=symbol", "phases.data.symbol_column", None),
    ],
)
def test_bad_setting_exits_4_before_the_run(
    tmp_path: Path, setting: str, key: str, given: str | None
) -> None:
    write_csv(tmp_path / "a.csv", good_rows())
    toml = TOML + ('symbol_column = "symbol"\n' if "symbol_column" in key else "")
    result = harness_run(tmp_path, "--set", setting, toml=toml)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    # the line names where the value came from: the --set option (or the file)
    assert "--set" in line or str(tmp_path / "harness.toml") in line
    assert key in line
    if given is not None:
        assert f"got {given}" in line
    assert not (tmp_path / "runs").exists()


@cli
def test_timezone_in_the_file_is_checked_too(tmp_path: Path) -> None:
    result = harness_run(tmp_path, toml='[phases.prices]\nplugin = "data"\ntimezone = "Nowhere"\n')
    assert result.returncode == 4, result.stdout + result.stderr
    assert "phases.prices.timezone: expected an IANA time zone" in result.stderr
    assert not (tmp_path / "runs").exists()


@cli
def test_a_valid_timezone_converts_to_utc(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", good_rows())
    result = harness_run(tmp_path, toml=TOML + 'timezone = "America/New_York"\n')
    assert result.returncode == 0, result.stdout + result.stderr
    assert run_summary(tmp_path)["data"]["first"] == "2024-01-01T05:00:00Z"
