"""The strategy assets through the real definitions into a temporary DuckDB: tables, pictures, metadata, a
re-run that replaces its rows, and no look-ahead: days added after t change nothing up to t+1."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

import shutil

from sentiment_pipeline.backtest import charts
from sentiment_pipeline.backtest.assets import assets as strategy_assets
from sentiment_pipeline_tests.conftest import materialize_jobs
from sentiment_pipeline.platform.wiring import SCHEMA_CHECK

STRATEGIES = sorted(a.key.path[1] for a in strategy_assets)
# heat_rotation also writes buy-and-hold of each index beside it.
RUN_NAMES = sorted([*STRATEGIES, *(f"heat_rotation_hold_{g}" for g in ("csi300", "csi500", "csi1000", "csi2000"))])
FIRST_END, SECOND = dt.date(2019, 2, 22), ("2019-02-25", "2019-03-29")


def read(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, synthetic_cache, chain_db):
    """Run 1 is the session's chain (2019-01-02 → 2019-02-22 with the backtests); run 2, on a copy of its
    database, adds 2019-02-25 → 2019-03-29 and runs them again."""
    chain, _, _, first = chain_db
    before = {t: read(chain, f"select * from backtest.{t} order by all") for t in ("runs", "nav", "trades",
                                                                                 "blocked_orders")}
    db = tmp_path_factory.mktemp("backtest") / "market.duckdb"
    with duckdb.connect(str(chain)) as conn:  # the file alone is the database once its WAL is checkpointed
        conn.execute("checkpoint")
    shutil.copyfile(chain, db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SENTIMENT_SOURCE", "synthetic")
        mp.setenv("SENTIMENT_DUCKDB_PATH", str(db))
        mp.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
        second = materialize_jobs(*SECOND)[-1]
    return chain, first, before, second, db


def test_every_strategy_writes_its_rows_and_a_picture(two_runs):
    db, first, before, *_ = two_runs
    runs = before["runs"]
    assert sorted(runs["strategy"]) == RUN_NAMES
    assert (runs["start_date"] == dt.date(2019, 1, 2)).all() and (runs["end_date"] == FIRST_END).all()
    assert before["nav"].group_by("strategy").len()["len"].to_list() == [runs["days"][0]] * len(RUN_NAMES)
    assert (runs["trades"] > 0).all() and (runs["signal_days"] > 0).all()
    assert (runs["benchmark"] == "all_a official").all()  # the synthetic source stores the all-A index
    counts = before["trades"].group_by("strategy").len()
    assert dict(counts.iter_rows()) == dict(runs.select("strategy", "trades").iter_rows())
    for strategy in STRATEGIES:
        png = db.parent / "reports" / "backtest" / f"{strategy}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert runs.filter(pl.col("strategy") == strategy)["chart_path"].item() == str(png)
    phase = runs.filter(pl.col("strategy") == "phase_limit_up_follow").row(0, named=True)
    assert phase["signal_next_day_return"] is not None
    assert json.loads(phase["params"])["phases"] == ["冰点低迷期", "混沌活跃期", "高潮分化期"]
    assert json.loads(phase["params"])["engine"]["commission_rate"] == 0.00025

    materializations = {e.asset_key.path[1]: e.event_specific_data.materialization
                        for e in first.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
                        and e.asset_key.path[0] == "backtest"}
    assert sorted(materializations) == STRATEGIES
    meta = materializations["stms_top_sw"].metadata
    chart = meta["chart"].value
    assert chart.startswith("![equity curve](data:image/png;base64,")
    assert base64.b64decode(chart.split(",", 1)[1].rstrip(")"))[:4] == b"\x89PNG"
    assert meta["trades"].value == runs.filter(pl.col("strategy") == "stms_top_sw")["trades"].item()
    checks = [e.event_specific_data for e in first.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.event_specific_data.asset_key.path[0] == "backtest"]
    assert len(checks) == len(STRATEGIES) and all(c.passed and c.check_name == SCHEMA_CHECK for c in checks)


def test_a_rerun_replaces_the_strategys_rows(two_runs):
    *_, db = two_runs
    runs = read(db, "select strategy, end_date, days from backtest.runs")
    assert runs.height == len(RUN_NAMES) and (runs["end_date"] == dt.date(2019, 3, 29)).all()
    nav = read(db, "select strategy, count(*) n, count(distinct trade_date) d from backtest.nav group by 1")
    assert (nav["n"] == nav["d"]).all() and (nav["n"] == runs["days"][0]).all()
    comments = read(db, "select count(*) n from duckdb_columns() where schema_name = 'backtest' "
                        "and comment is not null")
    assert comments["n"].item() == read(db, "select count(*) n from duckdb_columns() where "
                                            "schema_name = 'backtest'")["n"].item()


def test_no_look_ahead_days_after_t_change_nothing_up_to_t_plus_one(two_runs):
    """Run 2 stored five more weeks of bars, scores and phases, and recomputed every strategy. Each trade,
    blocked order and NAV up to 2019-02-22 (the last of them: decisions of 02-21 executed at the open of 02-22)
    is what run 1 computed when nothing after 02-22 existed."""
    _, _, before, _, db = two_runs
    cut = FIRST_END
    for table in ("trades", "blocked_orders", "nav"):
        after = read(db, f"select * from backtest.{table} where trade_date <= '{cut}' order by all")
        old = before[table]
        if table == "nav":  # benchmark_nav too; the frames match column for column
            old = old.filter(pl.col("trade_date") <= cut)
        assert after.equals(old), f"backtest.{table} up to {cut} changed when later days were added"


def test_cjk_font_is_found_for_the_pictures():
    from matplotlib import font_manager

    if not any("CJK" in f for f in font_manager.findSystemFonts()):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert charts.cjk_font() is not None


def test_a_model_that_gained_a_column_adds_it_to_the_stored_table(tmp_path):
    """The slice write adds a new model column to an existing table (older rows read null) and replaces only
    its own slice."""
    import pandera.polars as pa

    from sentiment_pipeline.platform.io_manager import TableSlices, TableSlicesTypeHandler

    class Old(pa.DataFrameModel):
        strategy: str = pa.Field(description="name")
        value: float = pa.Field(description="a figure")

        class Config:
            name = "backtest.example"

    class New(Old):
        added: float = pa.Field(nullable=True, description="a figure added later")

        class Config:
            name = "backtest.example"

    handler = TableSlicesTypeHandler()
    with duckdb.connect(str(tmp_path / "x.duckdb")) as conn:
        handler.handle_output(None, None, TableSlices({Old: pl.DataFrame({"strategy": ["a", "b"],
                                                                          "value": [1.0, 2.0]})}, "strategy", ("a",)),
                              conn)
        handler.handle_output(None, None, TableSlices({New: pl.DataFrame({"strategy": ["a"], "value": [3.0],
                                                                          "added": [4.0]})}, "strategy", ("a",)),
                              conn)
        assert conn.execute("select * from backtest.example order by all").fetchall() == [
            ("a", 3.0, 4.0), ("b", 2.0, None)]
        assert conn.execute("select comment from duckdb_columns() where column_name = 'added'").fetchone() == (
            "a figure added later",)
