"""Market heat rules (note 001) on hand-computed cases."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.heat import rules

D = dt.date


def test_stock_heat_sums_the_counts_and_shares_ten_thousand_a_day():
    attention = pl.DataFrame({
        "trade_date": [D(2024, 1, 2)] * 3 + [D(2024, 1, 3)] * 2,
        "code": ["000001", "000002", "000003", "000001", "000002"],
        "browse_count": [300, 100, None, 10, 30], "watchlist_adds": [50, None, None, 0, 10],
        "click_count": [150, 100, None, 0, 0],
        "attention_index": [None, None, 80.0, None, None], "hot_rank": [None] * 5,
    }, schema_overrides={"attention_index": pl.Float64, "hot_rank": pl.Int32})
    heat = rules.stock_heat(attention)
    # 000003 has only an attention index on a day of counts: left out (one kind a day).
    assert heat.select("trade_date", "code", "heat_raw", "heat").rows() == [
        (D(2024, 1, 2), "000001", 500.0, pytest.approx(10_000 * 500 / 700)),
        (D(2024, 1, 2), "000002", 200.0, pytest.approx(10_000 * 200 / 700)),
        (D(2024, 1, 3), "000001", 10.0, pytest.approx(2_000.0)),
        (D(2024, 1, 3), "000002", 40.0, pytest.approx(8_000.0)),
    ]
    assert heat["components"].to_list()[:2] == ["browse_count+watchlist_adds+click_count", "browse_count+click_count"]
    assert heat.group_by("trade_date").agg(pl.col("heat").sum())["heat"].to_list() == pytest.approx([10_000] * 2)


def test_without_counts_the_attention_index_then_the_rank():
    attention = pl.DataFrame({
        "trade_date": [D(2024, 6, 3)] * 2 + [D(2024, 6, 4)] * 2, "code": ["000001", "000002"] * 2,
        "browse_count": [None] * 4, "watchlist_adds": [None] * 4, "click_count": [None] * 4,
        "attention_index": [60.0, 40.0, None, None], "hot_rank": [1, 3, 1, 3],
    }, schema_overrides={"browse_count": pl.Int64, "watchlist_adds": pl.Int64, "click_count": pl.Int64})
    heat = rules.stock_heat(attention)
    assert heat.select("components", "heat").rows() == [
        ("attention_index", pytest.approx(6_000)), ("attention_index", pytest.approx(4_000)),
        ("hot_rank", pytest.approx(7_500)), ("hot_rank", pytest.approx(2_500)),  # 1/1 : 1/3
    ]


def membership() -> pl.DataFrame:
    # 000001 in CSI 300 from the first snapshot; 000002 joins CSI 300 on Wednesday 2024-01-03 (it was in 500).
    return pl.DataFrame({
        "index_code": ["000300", "000905", "000300", "000300"],
        "code": ["000001", "000002", "000001", "000002"],
        "effective_date": [D(2023, 12, 11), D(2023, 12, 11), D(2024, 1, 3), D(2024, 1, 3)],
    })


def test_groups_partition_the_market_with_membership_as_of_the_day():
    heat = pl.DataFrame({"trade_date": [D(2024, 1, 2)] * 3 + [D(2024, 1, 3)] * 3,
                         "code": ["000001", "000002", "000003"] * 2,
                         "heat": [5_000.0, 3_000.0, 2_000.0, 4_000.0, 4_000.0, 2_000.0]})
    daily = rules.group_heat_daily(heat, membership())
    rows = {(d, g): (n, h) for d, g, n, h in daily.rows()}
    assert rows[(D(2024, 1, 2), "csi300")] == (1, 5_000.0)
    assert rows[(D(2024, 1, 2), "csi500")] == (1, 3_000.0)
    assert rows[(D(2024, 1, 3), "csi300")] == (2, 8_000.0)  # joined mid-week
    assert rows[(D(2024, 1, 3), "csi500")] == (0, 0.0)
    assert rows[(D(2024, 1, 3), "others")] == (1, 2_000.0)
    assert daily.group_by("trade_date").agg(pl.col("heat").sum())["heat"].to_list() == [10_000.0] * 2


def test_index_groups_as_of_the_day_when_stocks_leave_and_indexes_overlap():
    membership = pl.DataFrame({
        "index_code": ["000300", "000905", "000905", "000905"], "code": ["000001", "000001", "000002", "000003"],
        "effective_date": [D(2024, 1, 3), D(2024, 1, 3), D(2024, 1, 3), D(2024, 1, 5)],
    })
    days = pl.DataFrame({"trade_date": [D(2024, 1, 5), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 5), D(2024, 1, 3),
                                        D(2024, 1, 5)],
                         "code": ["000003", "000001", "000002", "000002", "000001", "000001"]})
    # before any snapshot: others; 000001 in both 300 and 500: csi300; 000002 left CSI 500 on 01-05: others
    assert rules.index_groups(days, membership)["index_group"].to_list() == [
        "csi500", "others", "csi500", "others", "csi300", "csi300"]


def test_sector_heat_counts_the_members_with_heat_that_day_in_each_of_their_sectors():
    heat = pl.DataFrame({"trade_date": [D(2024, 1, 2)] * 2, "code": ["000001", "000002"], "heat": [10.0, 5.0]})
    members = pl.DataFrame({
        "trade_date": [D(2024, 1, 2)] * 6,
        "code": ["000001", "000002", "000001", "000002", "000003", "000001"],
        "sector_kind": ["sw_l1", "sw_l1", "concept", "concept", "concept", "concept"],
        "sector": ["银行", "银行", "A", "A", "A", "B"],
    })
    # 000003 has no heat that day: not a member with heat
    assert rules.sector_heat_daily(heat, members).rows() == [
        (D(2024, 1, 2), "concept", "A", 2, 15.0), (D(2024, 1, 2), "concept", "B", 1, 10.0),
        (D(2024, 1, 2), "sw_l1", "银行", 2, 15.0)]


def test_weekly_change_and_ma2_over_a_holiday_week():
    # Three weeks: 2024-02-05 (5 days), 2024-02-12 (Spring Festival: no trading day, absent), 2024-02-19
    # (5 days), 2024-02-26 (2 days only in the data). The change compares with the previous week that has days.
    days = [D(2024, 2, 5 + i) for i in range(5)] + [D(2024, 2, 19 + i) for i in range(5)] + [D(2024, 2, 26),
                                                                                               D(2024, 2, 27)]
    heat_a = [100.0] * 5 + [150.0, 150.0, 150.0, 150.0, 100.0] + [70.0, 90.0]
    daily = pl.DataFrame({"trade_date": days * 2, "index_group": ["csi300"] * 12 + ["others"] * 12,
                          "heat": heat_a + [200.0] * 12})
    weeks = rules.weekly(daily, ["index_group"]).filter(pl.col("index_group") == "csi300")
    assert weeks.select("week_start", "week_end", "heat").rows() == [
        (D(2024, 2, 5), D(2024, 2, 9), 100.0), (D(2024, 2, 19), D(2024, 2, 23), 140.0),
        (D(2024, 2, 26), D(2024, 2, 27), 80.0)]
    assert weeks["heat_change"].to_list() == [None, pytest.approx(0.4), pytest.approx(80 / 140 - 1)]
    assert weeks["heat_change_ma2"].to_list() == [None, None, pytest.approx((0.4 + 80 / 140 - 1) / 2)]
    # others: flat, MA2 0 > csi300's negative MA2 in the last week: rank 1.
    last = rules.weekly(daily, ["index_group"]).filter(pl.col("week_start") == D(2024, 2, 26))
    assert dict(last.select("index_group", "rank").iter_rows()) == {"csi300": 2, "others": 1}


def test_rotation_holds_the_leader_or_cash_when_others_leads():
    group_weekly = pl.DataFrame({
        "week_start": [D(2024, 3, 4)] * 5 + [D(2024, 3, 11)] * 5, "week_end": [D(2024, 3, 8)] * 5 + [D(2024, 3, 15)] * 5,
        "index_group": list(rules.GROUPS) * 2,
        "heat_change_ma2": [0.1, 0.3, 0.2, -0.1, 0.0] + [0.1, 0.0, 0.0, 0.05, 0.2]})
    chosen = rules.rotation(group_weekly)
    assert chosen.select("week_start", "leader", "position").rows() == [
        (D(2024, 3, 4), "csi500", "csi500"), (D(2024, 3, 11), "others", "cash")]


def test_a_week_without_every_groups_ma2_has_no_rotation():
    group_weekly = pl.DataFrame({"week_start": [D(2024, 3, 4)] * 5, "week_end": [D(2024, 3, 8)] * 5,
                                 "index_group": list(rules.GROUPS),
                                 "heat_change_ma2": [0.1, None, 0.2, -0.1, 0.0]})
    assert rules.rotation(group_weekly).is_empty()


def test_weekly_monitor_sentences():
    group_weekly = pl.DataFrame({"week_start": [D(2024, 3, 4)] * 5, "week_end": [D(2024, 3, 8)] * 5,
                                 "index_group": list(rules.GROUPS), "heat": [3000.0, 2000.0, 2000.0, 1000.0, 2000.0],
                                 "heat_change": [0.1, -0.05, 0.0, 0.2, -0.1],
                                 "heat_change_ma2": [0.05, 0.0, 0.0, 0.1, -0.02], "rank": [2, 3, 4, 1, 5]})
    sector_weekly = pl.DataFrame({"week_start": [D(2024, 3, 4)] * 3, "week_end": [D(2024, 3, 8)] * 3,
                                  "sector_kind": ["sw_l1"] * 3, "sector": ["电子", "银行", "汽车"],
                                  "heat": [500.0, 300.0, 200.0], "heat_change": [0.352, -0.2, 0.01],
                                  "heat_change_ma2": [0.1, 0.0, 0.0], "rank": [1, 2, 3]})
    monitor = rules.weekly_monitor(group_weekly, sector_weekly, rules.rotation(group_weekly), top=1)
    sentences = dict(((t, r), s) for t, r, s in monitor.select("topic", "rank", "sentence").rows())
    assert sentences[("group", 1)] == "沪深300热度3000,环比+10.0%,两周均值+5.0%"
    assert sentences[("rotation", 1)] == "热度轮动:中证2000热度变化两周均值最高(+10.0%),下周持有中证2000"
    assert sentences[("sw_l1_up", 1)] == "行业升温第1:电子,热度环比+35.2%"
    assert sentences[("sw_l1_down", 1)] == "行业降温第1:银行,热度环比-20.0%"
