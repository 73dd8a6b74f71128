"""The heat group through the real definitions (daily, then weekly partitions), and its backtests on a
constructed index market."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from sentiment_pipeline.backtest import engine, strategies
from sentiment_pipeline.heat import rules
from sentiment_pipeline.platform.partitions import trading_week_partitions


def read(db, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


@pytest.fixture
def heat_db(chain_db):
    db, _, weeks, _ = chain_db
    return db, weeks


def test_daily_heat_sums_to_ten_thousand_and_groups_partition_the_market(heat_db):
    db, _ = heat_db
    stocks = read(db, "select trade_date, sum(heat) s, count(*) n from heat.stock_daily group by 1")
    assert stocks.height == 33 and (stocks["s"] - 10_000).abs().max() < 1e-6
    groups = read(db, "select trade_date, sum(heat) s, sum(member_count) n from heat.group_daily group by 1")
    assert (groups["s"] - 10_000).abs().max() < 1e-6
    assert groups.sort("trade_date")["n"].to_list() == stocks.sort("trade_date")["n"].to_list()
    assert read(db, "select distinct components from heat.stock_daily")["components"].to_list() == [
        "browse_count+watchlist_adds+click_count"]


def test_weekly_partitions_skip_the_closed_week_and_chain_the_change(heat_db):
    db, weeks = heat_db
    assert "2019-02-04" not in trading_week_partitions.get_partition_keys()
    keys = sorted({e.partition for e in weeks.all_events if e.event_type_value == "ASSET_MATERIALIZATION"})
    assert keys == ["2018-12-31", "2019-01-07", "2019-01-14", "2019-01-21", "2019-01-28", "2019-02-11",
                    "2019-02-18"]
    group = read(db, "select * from heat.group_weekly where index_group = 'csi300' order by week_start")
    assert group["week_end"].to_list()[:2] == [dt.date(2019, 1, 4), dt.date(2019, 1, 11)]  # a 3-day first week
    assert group["week_end"].to_list()[-3:] == [dt.date(2019, 2, 1), dt.date(2019, 2, 15), dt.date(2019, 2, 22)]
    heat = group["heat"].to_list()
    # The first week has no change (nothing before 2019-01-02); the 02-11 week compares with the week of 01-28,
    # across the holiday.
    assert group["heat_change"][0] is None and group["heat_change_ma2"][1] is None
    assert group["heat_change"][5] == pytest.approx(heat[5] / heat[4] - 1)
    assert group["heat_change_ma2"][6] == pytest.approx((heat[6] / heat[5] - 1 + heat[5] / heat[4] - 1) / 2)
    monitor = read(db, "select topic, count(*) n from heat.weekly_monitor where week_start = '2019-02-18' "
                       "group by 1 order by 1")
    assert dict(monitor.iter_rows()) == {"concept_down": 3, "concept_up": 3, "group": 5, "rotation": 1,
                                         "sw_l1_down": 3, "sw_l1_up": 3}
    materialization = next(e.event_specific_data.materialization for e in weeks.all_events
                           if e.event_type_value == "ASSET_MATERIALIZATION" and e.partition == "2019-02-18"
                           and e.asset_key == dg.AssetKey(["heat", "weekly_monitor"]))
    assert "热度轮动" in materialization.metadata["monitor"].value


def test_heat_kinds_are_recorded_and_the_first_change_says_why_it_is_null(heat_db):
    db, _ = heat_db
    assert read(db, "select distinct heat_kind from heat.group_daily union select distinct heat_kind "
                    "from heat.sector_daily")["heat_kind"].to_list() == ["counts"]
    weeks = read(db, "select week_start, heat_kind, change_null_reason, count(*) n from heat.sector_weekly "
                     "where heat_change is null group by all order by 1")
    # Every sector's change is null in the first week only (the synthetic source has counts every day).
    assert weeks.select("week_start", "heat_kind", "change_null_reason").rows() == [
        (dt.date(2018, 12, 31), "counts", "no_previous_week")]


def test_concept_portfolios_are_the_rule_on_the_stored_week(heat_db):
    db, weeks = heat_db
    held = read(db, "select * from heat.concept_portfolios")
    # The first MA2 (hence the first portfolios) is in the third week.
    assert sorted(held["week_start"].unique().to_list()) == [
        dt.date(2019, 1, 14), dt.date(2019, 1, 21), dt.date(2019, 1, 28), dt.date(2019, 2, 11), dt.date(2019, 2, 18)]
    sides = held.group_by("week_start", "side").agg(weight=pl.col("weight").sum(), stocks=pl.len(),
                                                   worst_rank=pl.col("concept_rank").max())
    assert sides.height == 10 and (sides["weight"] - 1).abs().max() < 1e-9
    assert sides["stocks"].max() <= 50 and sides["worst_rank"].max() <= 5
    # The week of 2019-02-18 recomputed from the stored inputs of that week only.
    span = "between '2019-02-18' and '2019-02-22'"
    expected = rules.concept_portfolios(
        read(db, "select * from heat.sector_weekly where week_start = '2019-02-18'"),
        read(db, f"select trade_date, code, heat from heat.stock_daily where trade_date {span}"),
        read(db, f"select trade_date, code, float_mcap from core.daily_bars where trade_date {span}"),
        read(db, "select * from raw.concept_membership"))
    order = ["side", "code"]
    stored = held.filter(pl.col("week_start") == dt.date(2019, 2, 18)).sort(order)
    assert expected.height > 0 and stored.equals(expected.sort(order))
    # Its concepts are the week's five highest MA2.
    top5 = read(db, "select sector from heat.sector_weekly where week_start = '2019-02-18' and sector_kind = "
                    "'concept' and rank <= 5 order by rank")["sector"].to_list()
    assert {c for cs in stored["concepts"] for c in cs.split(",")} <= set(top5)
    materialization = next(e.event_specific_data.materialization for e in weeks.all_events
                           if e.event_type_value == "ASSET_MATERIALIZATION" and e.partition == "2019-02-18"
                           and e.asset_key == dg.AssetKey(["heat", "concept_portfolios"]))
    assert materialization.metadata["top"].value == stored.filter(pl.col("side") == "top").height


def test_heat_backtests_are_written(heat_db):
    db, _ = heat_db
    runs = read(db, "select strategy, trades, weekly_hit_rate from backtest.runs where strategy like '%heat%' "
                    "order by 1")
    assert runs["strategy"].to_list() == [
        "concept_heat_baskets_bottom", "concept_heat_baskets_top", "concept_heat_bottom", "concept_heat_top",
        "heat_rotation", "heat_rotation_hold_csi1000", "heat_rotation_hold_csi2000", "heat_rotation_hold_csi300",
        "heat_rotation_hold_csi500"]
    assert (runs["trades"] >= 1).all()


def test_rotation_holds_the_chosen_index_over_the_next_week():
    # Two indexes over two weeks: the week of 2024-03-04 picks csi500 (decided Friday 03-08), traded at the
    # open of 03-11 (the previous close), held to the next decision; 03-15 goes to cash.
    days = [dt.date(2024, 3, d) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18)]
    closes = {"000300": np.linspace(3500, 3600, len(days)), "000905": np.array(
        [5000, 5010, 5020, 5030, 5040, 5100, 5150, 5200, 5250, 5300, 5000], dtype=float)}
    index_daily = pl.DataFrame([{"trade_date": d, "index_code": c, "pre_close": None, "close": float(v[i])}
                                for c, v in closes.items() for i, d in enumerate(days)],
                               schema_overrides={"pre_close": pl.Float64})
    panel = strategies.index_panel(index_daily)
    rotation = pl.DataFrame({"week_start": [dt.date(2024, 3, 4), dt.date(2024, 3, 11)],
                             "week_end": [dt.date(2024, 3, 8), dt.date(2024, 3, 15)],
                             "leader": ["csi500", "others"], "position": ["csi500", "cash"]})
    plan = strategies.heat_rotation_plan(rotation)
    assert plan.decision_days == [dt.date(2024, 3, 8), dt.date(2024, 3, 15)]
    result = engine.run(panel, plan.targets, engine.INDEX_RULES, decision_days=plan.decision_days, days=days)
    nav = dict(result.nav.select("trade_date", "nav").iter_rows())
    # Bought at 5040 (the open of 03-11 = the close of 03-08), sold at 5300 (the open of 03-18).
    assert nav[dt.date(2024, 3, 8)] == pytest.approx(1e7)
    assert nav[dt.date(2024, 3, 15)] == pytest.approx(1e7 * 5300 / 5040)
    assert nav[dt.date(2024, 3, 18)] == pytest.approx(1e7 * 5300 / 5040)  # cash: the fall to 5000 is missed
    assert result.trades.select("trade_date", "code", "side").rows() == [
        (dt.date(2024, 3, 11), "csi500", "buy"), (dt.date(2024, 3, 18), "csi500", "sell")]
