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
                         "heat": [5_000.0, 3_000.0, 2_000.0, 4_000.0, 4_000.0, 2_000.0],
                         "components": ["browse_count+click_count"] * 3 + ["hot_rank"] * 3})
    daily = rules.group_heat_daily(heat, membership())
    rows = {(d, g): (n, h) for d, g, n, h, _ in daily.rows()}
    # The day's kind of heat, from the stock heat's components.
    assert dict(daily.select("trade_date", "heat_kind").unique().iter_rows()) == {
        D(2024, 1, 2): "counts", D(2024, 1, 3): "hot_rank"}
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
    heat = pl.DataFrame({"trade_date": [D(2024, 1, 2)] * 2, "code": ["000001", "000002"], "heat": [10.0, 5.0],
                         "components": ["attention_index"] * 2})
    members = pl.DataFrame({
        "trade_date": [D(2024, 1, 2)] * 6,
        "code": ["000001", "000002", "000001", "000002", "000003", "000001"],
        "sector_kind": ["sw_l1", "sw_l1", "concept", "concept", "concept", "concept"],
        "sector": ["银行", "银行", "A", "A", "A", "B"],
    })
    # 000003 has no heat that day: not a member with heat
    assert rules.sector_heat_daily(heat, members).rows() == [
        (D(2024, 1, 2), "concept", "A", 2, 15.0, "attention_index"),
        (D(2024, 1, 2), "concept", "B", 1, 10.0, "attention_index"),
        (D(2024, 1, 2), "sw_l1", "银行", 2, 15.0, "attention_index")]


def test_weekly_change_and_ma2_over_a_holiday_week():
    # Three weeks: 2024-02-05 (5 days), 2024-02-12 (Spring Festival: no trading day, absent), 2024-02-19
    # (5 days), 2024-02-26 (2 days only in the data). The change compares with the previous week that has days.
    days = [D(2024, 2, 5 + i) for i in range(5)] + [D(2024, 2, 19 + i) for i in range(5)] + [D(2024, 2, 26),
                                                                                               D(2024, 2, 27)]
    heat_a = [100.0] * 5 + [150.0, 150.0, 150.0, 150.0, 100.0] + [70.0, 90.0]
    daily = pl.DataFrame({"trade_date": days * 2, "index_group": ["csi300"] * 12 + ["others"] * 12,
                          "heat": heat_a + [200.0] * 12, "heat_kind": ["counts"] * 24})
    weeks = rules.weekly(daily, ["index_group"]).filter(pl.col("index_group") == "csi300")
    assert weeks.select("week_start", "week_end", "heat").rows() == [
        (D(2024, 2, 5), D(2024, 2, 9), 100.0), (D(2024, 2, 19), D(2024, 2, 23), 140.0),
        (D(2024, 2, 26), D(2024, 2, 27), 80.0)]
    assert weeks["heat_change"].to_list() == [None, pytest.approx(0.4), pytest.approx(80 / 140 - 1)]
    assert weeks["change_null_reason"].to_list() == ["no_previous_week", None, None]
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


def test_a_weekly_change_never_compares_heats_of_different_kinds():
    # One group, one day a week (two in the mixed week), Mondays from 2024-03-04.
    mondays = [D(2024, 3, 4) + dt.timedelta(weeks=i) for i in range(9)]
    days = [*mondays[:4], mondays[4], mondays[4] + dt.timedelta(days=1), *mondays[5:]]
    kinds = ["counts", "counts", "counts", "hot_rank", "hot_rank", "counts", "counts", "counts", "counts", None]
    heat = [100.0, 120.0, 150.0, 300.0, 150.0, 90.0, 100.0, 0.0, 50.0, 60.0]
    daily = pl.DataFrame({"trade_date": days, "index_group": ["csi300"] * 10, "heat": heat, "heat_kind": kinds})
    weeks = rules.weekly(daily, ["index_group"])
    assert weeks.select("week_start", "heat_kind", "heat", "change_null_reason").rows() == [
        (mondays[0], "counts", 100.0, "no_previous_week"),
        (mondays[1], "counts", 120.0, None),
        (mondays[2], "counts", 150.0, None),
        (mondays[3], "hot_rank", 300.0, "components_changed"),  # 1 / rank vs counts: never compared
        (mondays[4], "mixed", 120.0, "components_mixed"),  # a week of 1 / rank and counts days
        (mondays[5], "counts", 100.0, "components_mixed"),  # against that mixed week
        (mondays[6], "counts", 0.0, None),
        (mondays[7], "counts", 50.0, "previous_heat_zero"),
        (mondays[8], None, 60.0, "components_unknown"),  # a day written before heat_kind was recorded
    ]
    assert weeks["heat_change"].to_list() == [None, pytest.approx(0.2), pytest.approx(0.25), None, None, None,
                                              pytest.approx(-1.0), None, None]
    # The MA2 needs both changes: only the third week has it.
    assert weeks["heat_change_ma2"].to_list() == [None, None, pytest.approx(0.225), *[None] * 6]


MONDAY, FRIDAY = D(2024, 3, 4), D(2024, 3, 8)


def concept_case():
    """Six concepts with an MA2 (A 0.5, B 0.4, C 0.3, D 0.2, and E and F tied at 0.1), G without one, and an
    industry with a higher MA2 than any concept. Caps in 100 M CNY, heat on Friday 2024-03-08 unless said."""
    weekly = pl.DataFrame({
        "week_start": [MONDAY] * 8, "week_end": [FRIDAY] * 8, "sector_kind": ["concept"] * 7 + ["sw_l1"],
        "sector": ["A", "B", "C", "D", "E", "F", "G", "银行"],
        "heat_change_ma2": [0.5, 0.4, 0.3, 0.2, 0.1, 0.1, None, 0.9]})
    a = [f"1000{i:02d}" for i in range(1, 16)]  # A: 15 members, caps 1..15: the 3 smallest out
    a_heat = [999.0] * 3 + [96.0, 94.0, 94.0, 93.0, 92.0, 91.0, 90.0, 89.0, 88.0, 87.0, 87.0, 85.0]
    # B: 5 members, one out: 200001 and 200002 tie on the smallest cap, the lower code goes.
    b, b_cap, b_heat = ["200001", "200002", "200003", "200004", "200005"], [5.0, 5.0, 7.0, 8.0, 9.0], \
        [500.0, 30.0, 25.0, 30.0, 40.0]
    # C: 300001-300003 and 200005 with caps (4: none out, though 300001 is the smallest of all); 300003 has no
    # heat that week; 300004 has no float cap; 300005 has no bar on Friday (suspended).
    members = {"A": a, "B": b, "C": ["300001", "300002", "300003", "200005", "300004", "300005"],
               "D": ["400001"], "E": ["500001"], "F": ["600001"], "G": ["700001"]}
    concepts = pl.DataFrame(
        [{"concept_name": k, "code": c, "snapshot_date": D(2024, 1, 2)} for k, codes in members.items() for c in codes]
        # a snapshot taken after the decision: not used for it
        + [{"concept_name": "A", "code": "100099", "snapshot_date": D(2024, 3, 11)}])
    caps = {**dict(zip(a, [float(i) for i in range(1, 16)])), **dict(zip(b, b_cap)), "300001": 1.0, "300002": 2.0,
            "300003": 3.0, "300004": None, "400001": 10.0, "500001": 10.0, "600001": 10.0, "700001": 10.0,
            "100099": 99.0}
    bars = pl.DataFrame({"trade_date": [FRIDAY] * len(caps) + [D(2024, 3, 7)], "code": [*caps, "300005"],
                         "float_mcap": [c and c * 1e8 for c in caps.values()] + [1e8]})
    heat_of = {**dict(zip(a, a_heat)), **dict(zip(b, b_heat)), "300001": 50.0, "300002": 60.0, "300004": 70.0,
               "400001": 5.0, "500001": 6.0, "600001": 7.0, "700001": 8.0, "100099": 5000.0}
    heat = pl.DataFrame({"trade_date": [FRIDAY] * len(heat_of) + [MONDAY, D(2024, 3, 7), D(2024, 3, 11)],
                         "code": [*heat_of, "200002", "300005", "200002"],
                         # 200002: 10 on Monday and 30 on Friday, a week's mean of 20; the next Monday's is not read
                         "heat": [*heat_of.values(), 10.0, 80.0, 9000.0]})
    return weekly, heat, bars, concepts


def test_concept_portfolios_are_the_notes_top_and_bottom():
    portfolios = rules.concept_portfolios(*concept_case())
    held = {side: part.select("code", "concept_rank", "concepts").rows()
            for (side,), part in portfolios.group_by("side")}
    a = [f"1000{i:02d}" for i in range(1, 16)]
    # A: 100001-100003 (the smallest caps, the hottest) are out; of the 12 left, TOP takes the 10 hottest
    # (100013 and 100014 tie at 87: the lower code), BOTTOM the 10 coolest (100005 and 100006 tie at 94).
    top_a, bottom_a = a[3:13], [*a[4:5], *a[6:15]]
    b = ["200002", "200003", "200004", "200005"]  # 200001 out (cap tie with 200002), 4 left: all held
    # C adds 300001 and 300002; 200005, also in C, is held once, through B first. D and E: their one member.
    # F (tied with E on MA2, a later name), G (no MA2) and the industry are not taken.
    rest = [("300001", 3, "C"), ("300002", 3, "C"), ("400001", 4, "D"), ("500001", 5, "E")]
    for side, a_codes in (("top", top_a), ("bottom", bottom_a)):
        assert held[side] == [*((c, 1, "A") for c in a_codes), *((c, 2, "B") for c in b[:3]), ("200005", 2, "B,C"),
                              *rest], side
    assert portfolios["weight"].to_list() == [pytest.approx(1 / 18)] * 36
    assert portfolios["week_end"].unique().to_list() == [FRIDAY]
    row = portfolios.filter((pl.col("side") == "top") & (pl.col("code") == "200002")).row(0, named=True)
    assert (row["heat"], row["float_mcap"]) == (pytest.approx(20.0), 5e8)  # the week's mean, Friday's cap
    assert portfolios.columns == list(rules.PORTFOLIO_SCHEMA)


@pytest.mark.parametrize(("members", "out"), [(1, 0), (4, 0), (5, 1), (9, 1), (10, 2), (14, 2), (15, 3)])
def test_the_smallest_fifth_by_cap_rounds_down(members, out):
    codes = [f"8000{i:02d}" for i in range(1, members + 1)]
    weekly = pl.DataFrame({"week_start": [MONDAY], "week_end": [FRIDAY], "sector_kind": ["concept"], "sector": ["K"],
                           "heat_change_ma2": [0.1]})
    bars = pl.DataFrame({"trade_date": [FRIDAY] * members, "code": codes,
                         "float_mcap": [1e8 * (members - i) for i in range(members)]})  # the last codes smallest
    heat = pl.DataFrame({"trade_date": [FRIDAY] * members, "code": codes, "heat": [1.0] * members})
    concepts = pl.DataFrame({"concept_name": ["K"] * members, "code": codes,
                             "snapshot_date": [D(2024, 1, 2)] * members})
    held = rules.concept_portfolios(weekly, heat, bars, concepts, per_concept=100)
    assert held.filter(pl.col("side") == "top")["code"].to_list() == codes[:members - out]


def test_weeks_decide_apart_and_a_week_with_fewer_concepts_takes_those_it_has():
    weekly, heat, bars, concepts = concept_case()
    # Only D has an MA2 the week before: that week holds D's member alone.
    before = weekly.with_columns(week_start=pl.lit(D(2024, 2, 26)), week_end=pl.lit(D(2024, 3, 1)),
                                 heat_change_ma2=pl.when(pl.col("sector") == "D").then(pl.col("heat_change_ma2")))
    shift = {"trade_date": pl.col("trade_date") - dt.timedelta(days=7)}
    earlier_heat = heat.filter(pl.col("trade_date") <= FRIDAY).with_columns(**shift)
    portfolios = rules.concept_portfolios(pl.concat([before, weekly]), pl.concat([heat, earlier_heat]),
                                          pl.concat([bars, bars.with_columns(**shift)]), concepts)
    earlier = portfolios.filter(pl.col("week_start") == D(2024, 2, 26))
    assert earlier.select("side", "code", "weight", "concepts").rows() == [
        ("top", "400001", 1.0, "D"), ("bottom", "400001", 1.0, "D")]
    assert portfolios.filter(pl.col("week_start") == MONDAY).equals(rules.concept_portfolios(*concept_case()))
