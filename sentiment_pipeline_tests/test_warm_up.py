"""The main command's warm-up: a new range first stores the earlier days its streaks and windows read, so a
database started on any day gives the same ladder and phases as one started earlier."""

import datetime as dt

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentiment_pipeline import cli
from sentiment_pipeline.definitions import build_definitions

from .conftest import REAL_DATA

KEYS = [f"2019-05-{d:02d}" for d in (6, 7, 8, 9, 10, 13)]


def test_the_warm_up_runs_from_the_first_missing_day_the_range_reads():
    assert cli.warm_up_keys(KEYS, "2019-05-13", 3, set(), None) == KEYS[2:5]
    assert cli.warm_up_keys(KEYS, "2019-05-13", 3, set(KEYS[2:5]), None) == []  # all stored: nothing to do
    assert cli.warm_up_keys(KEYS, "2019-05-13", 3, {KEYS[2], KEYS[4]}, None) == KEYS[3:5]  # from the first gap
    assert cli.warm_up_keys(KEYS, "2019-05-13", 5, set(), dt.date(2019, 5, 9)) == KEYS[3:5]  # the source's first day
    assert cli.warm_up_keys(KEYS, "2019-05-06", 5, set(), None) == []  # the first partition: nothing before it


def test_the_lookback_comes_from_the_graphs_windows_and_the_streak_seed():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    every = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None]
    # review/weekly reads 13 weeks of the daily series (its 60-day charts): 13 × 5 + 4 trading days; crowding's
    # year of history is a statistic, not warmed up
    assert cli.lookback_days(defs, every) == 69
    ladder_only = [k for k in every if k.path[0] in ("raw", "core", "sentiment")]
    assert cli.lookback_days(defs, ladder_only) == cli.STREAK_SEED_DAYS == 60


SELECT = ("key:raw/securities or key:raw/daily_quotes or key:core/daily_bars or key:sentiment/limit_ladder or "
          "key:sentiment/ladder_daily or key:sentiment/phase_daily")
COMPARED = ("2019-07-01", "2019-07-12")


def _ladder_and_phases(db) -> tuple[pl.DataFrame, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as conn:
        def read(sql):
            return pl.from_arrow(conn.execute(sql, list(COMPARED)).to_arrow_table())
        return (read("select * from sentiment.limit_ladder where trade_date between ? and ? order by all"),
                read("select * from sentiment.phase_daily where trade_date between ? and ? order by all"))


def _started_on(start: str, tmp_path, monkeypatch, *flags: str):
    db = tmp_path / f"{start}{''.join(flags)}.duckdb"
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    assert cli.main([f"{start}...{COMPARED[1]}", "--select", SELECT, *flags]) == 0
    return _ladder_and_phases(db)


def test_a_database_started_later_gives_the_same_ladder_and_phases(instance_home, tmp_path, monkeypatch, capsys):
    ladder, phases = _started_on("2019-06-03", tmp_path, monkeypatch)
    later_ladder, later_phases = _started_on(COMPARED[0], tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "warm-up 2019-03-05 → 2019-05-31: 60 earlier trading day(s)" in out
    assert "warm-up 2019-04-01 → 2019-06-28: 60 earlier trading day(s)" in out
    # the summary says where the figures come from
    assert ("source: synthetic (a simulated market: never evidence about the real one) · period: 2019-07-01 → "
            "2019-07-12, seeded from 2019-04-01") in out
    assert later_ladder.equals(ladder) and later_phases.equals(phases)
    assert ladder["streak"].max() >= 2  # streaks that began before the later start are in the comparison
    # without the warm-up, streaks are counted from the range's first day
    cold, _ = _started_on(COMPARED[0], tmp_path, monkeypatch, "--no-warm-up")
    assert cold["streak"].sum() < ladder["streak"].sum()


RESEARCH_SELECT = SELECT + " or key:raw/index_daily or key:research/market_daily"


def test_a_range_split_into_runs_gives_the_same_forward_returns_as_one_run(instance_home, tmp_path, monkeypatch,
                                                                          capsys):
    """Each run refreshes the 20 stored days before it, whose forward windows reach into it: no holes at run
    boundaries, only the last 20 stored days lack a 20-day forward return."""
    tables = {}
    for per_run in ("0", "15"):
        db = tmp_path / f"split{per_run}.duckdb"
        monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
        assert cli.main(["2019-03-01...2019-05-31", "--select", RESEARCH_SELECT, "--days-per-run", per_run,
                         "--no-history"]) == 0
        with duckdb.connect(str(db), read_only=True) as conn:
            tables[per_run] = pl.from_arrow(conn.execute("select * from research.market_daily order by trade_date")
                                            .to_arrow_table())
    # the same rows and values (products over other windows differ in the last bits only)
    assert_frame_equal(tables["15"], tables["0"], check_exact=False, rel_tol=1e-12, abs_tol=1e-15)
    whole = tables["0"]
    assert whole.filter(pl.col("all_a_fwd_20").is_null())["trade_date"].to_list() == whole["trade_date"].to_list()[-20:]
    assert whole.filter(pl.col("all_a_fwd_5").is_null())["trade_date"].to_list() == whole["trade_date"].to_list()[-5:]
    # whole-history assets alone read every stored day (the warm-up's too), whatever the default range
    capsys.readouterr()
    research = " or ".join(f"key:research/{t}" for t in ("regime_summary", "regime_distribution", "rate_correlation",
                                                          "phase_forward", "phase_path"))  # one step
    assert cli.main(["--select", research]) == 0
    out = capsys.readouterr().out
    assert "5 whole-history assets over every stored day" in out
    assert f"period: {whole['trade_date'].min()} → 2019-05-31" in out


TDX = REAL_DATA / "tdx" / "vipdoc"


@pytest.mark.skipif(not TDX.is_dir(), reason="../shared/data/real is absent")
def test_tongdaxin_started_on_2020_07_01_equals_started_on_2020_06_01(instance_home, tmp_path, monkeypatch):
    """The issue's case on the real bars: the ladder and phases of 2020-07-01…10 do not depend on the day the
    database started."""
    monkeypatch.setenv("SENTIMENT_SOURCE", "tdx")
    monkeypatch.setenv("SENTIMENT_TDX_DIR", str(TDX))
    tables = {}
    for start in ("2020-06-01", "2020-07-01"):
        db = tmp_path / f"tdx{start}.duckdb"
        monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
        assert cli.main([f"{start}...2020-07-10", "--select", SELECT]) == 0
        with duckdb.connect(str(db), read_only=True) as conn:
            tables[start] = [pl.from_arrow(conn.execute(f"select * from sentiment.{t} where trade_date between "
                                                        "'2020-07-01' and '2020-07-10' order by all").to_arrow_table())
                             for t in ("limit_ladder", "phase_daily")]
    assert tables["2020-07-01"][0].equals(tables["2020-06-01"][0])
    assert tables["2020-07-01"][1].equals(tables["2020-06-01"][1])
    assert tables["2020-07-01"][0]["streak"].max() >= 3
