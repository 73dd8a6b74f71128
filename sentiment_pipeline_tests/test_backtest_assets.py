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

from sentiment_pipeline.backtest import charts, engine
from sentiment_pipeline.backtest.assets import PANEL_COLUMNS, assets as strategy_assets
from sentiment_pipeline_tests.conftest import materialize_jobs
from sentiment_pipeline.platform.wiring import SCHEMA_CHECK

STRATEGIES = sorted(a.key.path[1] for a in strategy_assets)
# heat_rotation also writes buy-and-hold of each index beside it.
RUN_NAMES = sorted([*STRATEGIES, *(f"heat_rotation_hold_{g}" for g in ("csi300", "csi500", "csi1000", "csi2000"))])
FIRST_END, SECOND = dt.date(2019, 2, 22), ("2019-02-25", "2019-03-29")
# The heat weeks' last trading days in run 1 (the Spring Festival week of 2019-02-04 has none): note 001's
# concept portfolios decide on each, with rows from the third week on (the first MA2).
HEAT_WEEK_ENDS = [dt.date(2019, 1, 4), dt.date(2019, 1, 11), dt.date(2019, 1, 18), dt.date(2019, 1, 25),
                  dt.date(2019, 2, 1), dt.date(2019, 2, 15), dt.date(2019, 2, 22)]


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
    assert (meta["source"].value, meta["period"].value) == ("synthetic", f"2019-01-02 → {FIRST_END}")
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


def test_every_row_names_its_source_and_each_run_its_period_and_membership(two_runs):
    db, _, before, *_ = two_runs
    for table, frame in before.items():
        assert frame.height and frame["source"].to_list() == ["synthetic"] * frame.height, table
    runs = before["runs"]
    assert (runs["start_date"] == dt.date(2019, 1, 2)).all() and (runs["end_date"] == FIRST_END).all()
    # The latest SW classification start on or before the last decision day (2019-02-22) ...
    sw = read(db, f"select max(start_date) d from raw.industry_history where start_date <= '{FIRST_END}'")["d"].item()
    assert sw == dt.date(2019, 2, 18)
    # ... the synthetic source's one concept snapshot, and the CSI lists the heat rotation's groups came from.
    snapshots = read(db, "select distinct snapshot_date d from raw.concept_membership")["d"].to_list()
    assert snapshots == [dt.date(2019, 1, 2)]
    lists = read(db, f"select max(effective_date) d from raw.index_membership where effective_date <= '{FIRST_END}'")
    assert lists["d"].item() == dt.date(2019, 1, 2)
    concept = dt.date(2019, 1, 2)
    assert dict(runs.select("strategy", "membership_date").iter_rows()) == {
        "stms_top_sw": sw, "stms_top_sw_weekly": sw, "stms_risers_sw": sw, "stms_three_highs_sw": sw,
        "stms_top_concept": concept, "concept_heat_top": concept, "concept_heat_bottom": concept,
        "concept_heat_baskets_top": concept, "concept_heat_baskets_bottom": concept,
        "heat_rotation": dt.date(2019, 1, 2), "phase_limit_up_follow": None,
        **{f"heat_rotation_hold_{g}": None for g in ("csi300", "csi500", "csi1000", "csi2000")}}


def test_concept_heat_top_and_bottom_trade_the_stored_portfolios_weekly(two_runs):
    """Note 001's portfolios as heat.concept_portfolios holds them: decided on every heat week's last trading day
    (weeks without rows in cash), executed at the next open. The stored run is the engine on those targets."""
    db, _, before, *_ = two_runs
    bars = read(db, f"select {', '.join(PANEL_COLUMNS)} from core.daily_bars")
    securities = read(db, "select code, delist_date from raw.securities")
    portfolios = read(db, "select week_end, side, code, weight from heat.concept_portfolios")
    weeks = read(db, "select distinct week_end from heat.sector_weekly order by 1")["week_end"].to_list()
    assert weeks == HEAT_WEEK_ENDS
    days = sorted(bars["trade_date"].unique().to_list())
    runs = before["runs"]
    for side in ("top", "bottom"):
        name = f"concept_heat_{side}"
        held = portfolios.filter(pl.col("side") == side)
        targets = held.select(trade_date="week_end", code="code", weight="weight")
        result = engine.run(bars, targets, engine.Rules(), decision_days=HEAT_WEEK_ENDS, days=days,
                            delistings=securities)
        mine = lambda table: before[table].filter(pl.col("strategy") == name).drop("strategy", "source")  # noqa: E731
        columns = list(result.trades.columns)
        assert mine("trades").select(columns).sort(columns).equals(result.trades.sort(columns)), name
        assert mine("nav").select("trade_date", "nav", "cash").equals(result.nav.select("trade_date", "nav", "cash"))
        assert mine("blocked_orders").height == result.blocked.height == 0
        # Cash until the first portfolio (decided 2019-01-18) is bought at the open of 01-21; then each week's
        # decision trades at the next week's first open (02-01's after the Spring Festival, on 02-11).
        nav = mine("nav")
        cash_days = nav.filter(pl.col("trade_date") <= dt.date(2019, 1, 18))
        assert cash_days.select("nav", "positions_value").rows() == [(10_000_000.0, 0.0)] * 13
        trades = mine("trades")
        assert sorted(trades["trade_date"].unique().to_list()) == [
            dt.date(2019, 1, 21), dt.date(2019, 1, 28), dt.date(2019, 2, 11), dt.date(2019, 2, 18)]
        assert set(trades.filter(pl.col("trade_date") == dt.date(2019, 1, 21))["code"]) == set(
            held.filter(pl.col("week_end") == dt.date(2019, 1, 18))["code"])
        run = runs.filter(pl.col("strategy") == name).row(0, named=True)
        assert (run["signal_days"], run["trades"]) == (5, result.trades.height)
        assert {k: v for k, v in json.loads(run["params"]).items() if k not in ("engine", "risk_free")} == {
            "portfolios": "heat.concept_portfolios", "side": side, "concepts": 5, "small_cap_cut_percent": 20,
            "per_concept": 10}
    # The old construction, whole concepts as baskets, stays as a reference under its own names.
    for name in ("concept_heat_baskets_top", "concept_heat_baskets_bottom"):
        run = runs.filter(pl.col("strategy") == name).row(0, named=True)
        assert run["signal_days"] == 5 and json.loads(run["params"])["n"] == 5
