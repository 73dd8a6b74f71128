"""STMS rules (domain.md §7) on hand-computed cases, and a three-sector market through the real Dagster definitions."""

import datetime as dt
import math

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from sentiment_pipeline.definitions import build_definitions
from sentiment_pipeline.market import membership
from sentiment_pipeline.platform import calendar
from sentiment_pipeline.stms import scores as stms
from sentiment_pipeline.sources.base import (
    CONCEPT_MEMBERSHIP_SCHEMA,
    INDUSTRY_HISTORY_SCHEMA,
    MAIN_FLOW_SCHEMA,
    NORTHBOUND_SCHEMA,
    RAW_QUOTE_SCHEMA,
    SECURITIES_SCHEMA,
    MarketSource,
    conform,
)

# ------------------------------------------------------------------------------------------------------- bands


def values(expr, **cols):
    return pl.DataFrame(cols).select(expr).to_series().to_list()


def test_a1_bands_at_their_edges():
    r5 = [0.02, 0.0, -0.01, 0.01, 0.01, 0.0, -0.02]
    r20 = [0.01, -0.01, -0.02, 0.01, 0.02, 0.0, -0.01]
    # r5>r20 & r5>0 · r5>r20 & r5=0 · r5>r20 & r5<0 · r5=r20>0 · r5<r20 & r5>0 · r5=r20=0 · r5<r20<0
    assert values(stms.band_a1(pl.col("r5"), pl.col("r20")), r5=r5, r20=r20) == [100, 75, 75, 50, 50, 0, 0]


def test_a2_bands_at_their_edges():
    x = [1.5000001, 1.5, 1.2000001, 1.2, 1.0000001, 1.0, 0.5, None]
    assert values(stms.band_a2(pl.col("x")), x=x) == [100, 75, 75, 50, 50, 0, 0, 0]


def test_c1_bands_at_their_edges():
    share = [0.05, 0.0499, 0.02, 0.0199, 1e-9, 0.0]
    assert values(stms.band_c1(pl.col("s")), s=share) == [100, 75, 75, 50, 50, 0]


def test_c2_bands_at_their_edges():
    share = [0.7, 0.6999, 0.5, 0.4999, 0.3, 0.2999, None]
    assert values(stms.band_c2(pl.col("s")), s=share) == [100, 75, 75, 25, 25, 0, 0]


# ------------------------------------------------------------------------------------------------ B components


def daily_frame(rows):
    """Sector-day rows with complete windows; unspecified figures neutral."""
    base = {"ret_5d": 0.0, "ret_20d": 0.0, "turnover_5d": 1.0, "turnover_20d": 1.0, "amount_5d": 5.0,
            "amount_20d": 20.0, "limit_up_share": 0.0, "above_ma20_share": 0.0, "main_inflow_share_5d": None,
            "north_inflow_share_5d": None, "window_status": "complete", "sector_kind": "sw_l1"}
    return pl.DataFrame([{**base, **r} for r in rows], schema_overrides={
        "main_inflow_share_5d": pl.Float64, "north_inflow_share_5d": pl.Float64, "turnover_5d": pl.Float64,
        "turnover_20d": pl.Float64})


def test_inflow_percentile_ranks_average_ties_and_zero_non_positive_shares():
    day = dt.date(2024, 3, 1)
    main = {"s1": 0.1, "s2": 0.1, "s3": 0.3, "s4": -0.2, "s5": 0.0}
    scored = stms.score_sectors(daily_frame(
        [{"trade_date": day, "sector": s, "main_inflow_share_5d": v} for s, v in main.items()])).sort("sector")
    # ascending ranks: s4 1, s5 2, s1/s2 3.5 each, s3 5; ÷ 5 sectors; non-positive shares score 0
    assert scored["b2"].to_list() == [70.0, 70.0, 100.0, 0.0, 0.0]


def test_a_sector_without_flow_data_ranks_as_zero_inflow():
    day = dt.date(2024, 3, 1)
    main = {"s1": 0.03, "s2": 0.02, "s3": None, "s4": None}
    scored = stms.score_sectors(daily_frame(
        [{"trade_date": day, "sector": s, "main_inflow_share_5d": v} for s, v in main.items()])).sort("sector")
    # nulls rank with zero at 1.5; s2 3rd, s1 4th of 4
    assert scored["b2"].to_list() == [100.0, 75.0, 0.0, 0.0]


def test_b_components_follow_the_flows_there_are_data_for():
    day = dt.date(2024, 3, 1)
    scored = stms.score_sectors(daily_frame([{"trade_date": day, "sector": "s1"}]))
    assert scored.select("b_components", "score_b").row(0) == ("none", 0.0)


def test_a_sector_without_20_days_of_figures_is_not_scored():
    day = dt.date(2024, 3, 1)
    scored = stms.score_sectors(daily_frame([{"trade_date": day, "sector": "old"},
                                             {"trade_date": day, "sector": "new", "ret_20d": None}]))
    assert scored["sector"].to_list() == ["old"] and scored["sector_count"].to_list() == [1]


def test_b_uses_both_flows_until_2024_08_16_and_main_force_alone_after():
    rows = []
    for day, north in ((dt.date(2024, 8, 16), {"s1": 0.02, "s2": -0.01}), (dt.date(2024, 8, 19), None)):
        for sector, main in (("s1", 0.01), ("s2", 0.03)):
            rows.append({"trade_date": day, "sector": sector, "main_inflow_share_5d": main,
                         "north_inflow_share_5d": north[sector] if north else None})
    scored = stms.score_sectors(daily_frame(rows)).sort("trade_date", "sector")
    assert scored["b_components"].to_list() == ["north+main"] * 2 + ["main"] * 2
    assert scored["b1"].to_list() == [100.0, 0.0, 0.0, 0.0]
    assert scored["b2"].to_list() == [50.0, 100.0, 50.0, 100.0]
    assert scored["score_b"].to_list() == [75.0, 50.0, 50.0, 100.0]


# -------------------------------------------------------------------------------------------- sector figures


def bars_frame(rows):
    return pl.DataFrame(rows, schema={"trade_date": pl.Date, "code": pl.String, "close": pl.Float64,
                                      "pre_close": pl.Float64, "turnover_rate": pl.Float64,
                                      "float_mcap": pl.Float64, "amount": pl.Float64, "is_limit_up": pl.Boolean},
                        orient="row")


def test_returns_are_weighted_by_the_previous_days_float_cap():
    d1, d2 = dt.date(2024, 3, 1), dt.date(2024, 3, 4)
    bars = bars_frame([
        (d1, "600001", 10.0, 10.0, 0.01, 300.0, 1e6, False), (d1, "600002", 10.0, 10.0, 0.02, 100.0, 1e6, False),
        # today's caps (1000 and 1) must not be the weights
        (d2, "600001", 11.0, 10.0, 0.03, 1000.0, 1e6, True), (d2, "600002", 10.0, 10.0, 0.01, 1.0, 1e6, False),
    ])
    members = pl.DataFrame({"trade_date": [d1, d1, d2, d2], "code": ["600001", "600002"] * 2,
                            "sector_kind": "sw_l1", "sector": "银行"})
    empty_flows = pl.DataFrame(schema=MAIN_FLOW_SCHEMA)
    values_ = stms.sector_day_values(stms.stock_features(bars), members, empty_flows,
                                     pl.DataFrame(schema=NORTHBOUND_SCHEMA)).sort("trade_date")
    day2 = values_.row(1, named=True)
    assert day2["ret"] == pytest.approx(0.75 * 0.10 + 0.25 * 0.0)
    assert day2["turnover"] == pytest.approx(0.75 * 0.03 + 0.25 * 0.01)
    assert (day2["member_count"], day2["limit_up_count"], day2["amount"]) == (2, 1, 2e6)
    assert values_.row(0, named=True)["ret"] is None  # no previous day: no weights
    assert day2["main_inflow"] is None  # no flow data is not zero inflow


def test_a_stock_resuming_from_a_suspension_has_no_weight():
    d1, d3 = dt.date(2024, 3, 1), dt.date(2024, 3, 5)  # it did not trade on 03-04
    bars = bars_frame([(d1, "600001", 10.0, 10.0, 0.01, 300.0, 1e6, False),
                       (d3, "600001", 11.0, 10.0, 0.01, 330.0, 1e6, True)])
    assert stms.stock_features(bars)["weight"].to_list() == [None, None]


def test_ma20_needs_20_bars_and_uses_back_adjusted_closes():
    days = calendar.trading_days_between(dt.date(2024, 1, 2), dt.date(2024, 2, 29))[:21]
    rows, close = [], 10.0
    for i, d in enumerate(days):
        pre = close
        if i == 19:  # a 10-for-10 split on day 20: the raw close halves, the reference close too
            pre, close = close / 2, close / 2 + 0.05
        else:
            close = close + 0.05
        rows.append((d, "600001", round(close, 2), round(pre, 2), 0.01, 1e9, 1e6, False))
    flags = stms.stock_features(bars_frame(rows))["above_ma20"].to_list()
    assert flags[:19] == [None] * 19  # fewer than 20 bars: left out
    assert flags[19:] == [True, True]  # rising every day; the split is not a fall


def test_a_stocks_first_bar_takes_nothing_from_the_stock_before_it():
    """Rows are by code: 600002's first bar follows 600001's last one, a trading day earlier, yet has no weight."""
    d1, d2 = dt.date(2024, 3, 1), dt.date(2024, 3, 4)
    bars = bars_frame([(d2, "600002", 11.0, 10.0, 0.01, 300.0, 1e6, False),
                       (d1, "600001", 10.0, 10.0, 0.01, 100.0, 1e6, False)])
    features = stms.stock_features(bars)
    assert features.select("code", "ret", "weight").rows() == [("600001", 0.0, None), ("600002", pytest.approx(0.1), None)]


def test_ma20_bars_must_lie_within_the_lookback():
    """20 bars spread over more than 60 trading days (a long suspension) do not count, whatever was loaded."""
    days = calendar.trading_days_between(dt.date(2024, 1, 2), dt.date(2024, 12, 31))
    picked = days[:10] + days[55:65]  # the 20th bar back is 64 trading days before the last
    rows = [(d, "600001", 10.0 + 0.1 * i, 10.0 + 0.1 * (i - 1), 0.01, 1e9, 1e6, False) for i, d in enumerate(picked)]
    assert stms.stock_features(bars_frame(rows))["above_ma20"].to_list()[-1] is None


# ------------------------------------------------------------------------------------------------- membership


def test_sw_membership_is_point_in_time_in_the_taxonomy_of_the_day():
    switch = dt.date(2021, 7, 30)
    history = pl.DataFrame({
        "code": ["600001", "600001", "600002", "600002", "600003", "600004", "600004"],
        "start_date": [dt.date(2015, 1, 5), switch, dt.date(2015, 1, 5), switch, dt.date(2015, 1, 5),
                       dt.date(2015, 1, 5), dt.date(2021, 7, 31)],
        "industry_code": ["220101", "770101", "210101", "740101", None, None, None],
        "industry_name": ["化工", "美容护理", "采掘", "煤炭", "采掘", "银行", None],
        "taxonomy": ["sw2014", "sw2021", "sw2014", "sw2021", "sw2014", "sw2014", "sw2021"],
    }).cast(INDUSTRY_HISTORY_SCHEMA)
    days = pl.DataFrame({"trade_date": [dt.date(2021, 7, 29), switch, dt.date(2021, 8, 2)] * 4,
                         "code": ["600001"] * 3 + ["600002"] * 3 + ["600003"] * 3 + ["600004"] * 3})
    got = membership.sw_l1_members(days, history).select("trade_date", "code", "sector").rows()
    # SW2014 names on 07-29, SW2021 from 07-30. 600003 has no SW2021 row: unclassified from 07-30, not guessed;
    # 600004's SW2014 row is not carried into SW2021, and its row without an industry leaves it unclassified.
    assert got == [(dt.date(2021, 7, 29), "600001", "化工"), (switch, "600001", "美容护理"),
                   (dt.date(2021, 8, 2), "600001", "美容护理"), (dt.date(2021, 7, 29), "600002", "采掘"),
                   (switch, "600002", "煤炭"), (dt.date(2021, 8, 2), "600002", "煤炭"),
                   (dt.date(2021, 7, 29), "600003", "采掘"), (dt.date(2021, 7, 29), "600004", "银行")]
    unclassified = membership.unclassified_days(days, membership.sw_l1_members(days, history))
    assert unclassified.rows() == [(dt.date(2021, 7, 29), 0), (switch, 2), (dt.date(2021, 8, 2), 2)]


def test_a_stock_before_its_first_classification_has_no_industry():
    history = pl.DataFrame({
        "code": ["600001", "600002"], "start_date": [dt.date(2022, 1, 5), dt.date(2024, 3, 4)],
        "industry_code": [None, None], "industry_name": ["银行", "电子"], "taxonomy": ["sw2021", "sw2021"],
    }).cast(INDUSTRY_HISTORY_SCHEMA)
    days = pl.DataFrame({"trade_date": [dt.date(2024, 3, 4), dt.date(2024, 3, 1)] * 2,
                         "code": ["600002", "600002", "600001", "600001"]})
    # 600002 on 03-01 is not in 600001's industry (the classification before it in code order); rows by code, day
    assert membership.sw_l1_members(days, history).select("trade_date", "code", "sector").rows() == [
        (dt.date(2024, 3, 1), "600001", "银行"), (dt.date(2024, 3, 4), "600001", "银行"),
        (dt.date(2024, 3, 4), "600002", "电子")]


def test_concept_boards_snapshotted_on_different_days_are_all_members():
    snaps = pl.DataFrame({"concept_name": ["A", "B", "C"], "code": ["600001", "600001", "600001"],
                          "snapshot_date": [dt.date(2024, 3, 1), dt.date(2024, 3, 5), dt.date(2024, 1, 2)]}
                         ).cast(CONCEPT_MEMBERSHIP_SCHEMA)
    days = pl.DataFrame({"trade_date": [dt.date(2024, 3, 6)], "code": ["600001"]})
    # A and B were snapshotted two days apart; C was last seen over a month before the newest snapshot: gone
    assert sorted(membership.concept_members(days, snaps)["sector"].to_list()) == ["A", "B"]


def test_concept_membership_comes_from_the_latest_snapshot_known_that_day():
    snaps = pl.DataFrame({"concept_name": ["AI", "AI", "AI"], "code": ["600001", "600001", "600002"],
                          "snapshot_date": [dt.date(2024, 3, 1), dt.date(2024, 3, 8), dt.date(2024, 3, 8)]}
                         ).cast(CONCEPT_MEMBERSHIP_SCHEMA)
    days = pl.DataFrame({"trade_date": [dt.date(2024, 2, 29), dt.date(2024, 3, 4), dt.date(2024, 3, 8)] * 2,
                         "code": ["600001"] * 3 + ["600002"] * 3})
    got = membership.concept_members(days, snaps).sort("trade_date", "code").select("trade_date", "code").rows()
    # 02-29 precedes every snapshot: it takes the first (look-ahead, labelled by concept_look_ahead)
    assert got == [(dt.date(2024, 2, 29), "600001"), (dt.date(2024, 3, 4), "600001"), (dt.date(2024, 3, 8), "600001"),
                   (dt.date(2024, 3, 8), "600002")]
    assert membership.concept_look_ahead([dt.date(2024, 2, 29), dt.date(2024, 3, 4)], snaps) == {
        "concept_membership_as_of": "2024-03-01 … 2024-03-08", "concept_look_ahead_days": 1,
        "concept_look_ahead": "1 of 2 day(s) precede the first concept snapshot (2024-03-01): their concept "
                              "membership is from the future (look-ahead and survivorship)"}
    assert membership.concept_look_ahead([dt.date(2024, 3, 4)], snaps)["concept_look_ahead_days"] == 0


def test_concept_members_are_the_snapshot_codes_trading_that_day():
    snaps = pl.DataFrame({"concept_name": ["AI"] * 3, "code": ["600003", "600002", "600001"],
                          "snapshot_date": [dt.date(2024, 3, 1)] * 3}).cast(CONCEPT_MEMBERSHIP_SCHEMA)
    # 600002 is suspended on 03-04; 600003 never trades
    days = pl.DataFrame({"trade_date": [dt.date(2024, 3, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 4)],
                         "code": ["600001", "600002", "600001"]})
    got = membership.concept_members(days, snaps).sort("trade_date", "code").select("trade_date", "code").rows()
    assert got == [(dt.date(2024, 3, 1), "600001"), (dt.date(2024, 3, 1), "600002"), (dt.date(2024, 3, 4), "600001")]


# ----------------------------------------------------------------------------------------------------- signals


def ranking(days_ranks: dict[int, list[str]]) -> pl.DataFrame:
    """Scores frame from rank orders per trading day (index into the calendar from 2024-03-01)."""
    days = calendar.trading_days_between(dt.date(2024, 3, 1), dt.date(2024, 3, 29))
    rows = []
    for k, order in days_ranks.items():
        for r, sector in enumerate(order, start=1):
            score = 100.0 - 10 * r
            rows.append({"trade_date": days[k], "sector_kind": "sw_l1", "sector": sector, "a1": 0.0, "a2": 0.0,
                         "b1": 0.0, "b2": 0.0, "c1": 0.0, "c2": 0.0, "score_a": score, "score_b": score,
                         "score_c": score, "stms": score, "rank": r, "sector_count": len(order),
                         "b_components": "main", "a2_basis": "turnover"})
    return pl.DataFrame(rows).cast({"rank": pl.Int32, "sector_count": pl.Int32}), days


def test_risers_come_from_below_the_top_third_into_the_top_within_three_days():
    base = list("ABCDEFGHI")  # 9 sectors: the top third is ranks 1-3, top_n = 2 here
    scores, days = ranking({
        0: base,
        1: base,
        2: ["G", "A", "B", "C", "D", "E", "F", "H", "I"],  # G: 7th → 1st in one day
        3: ["G", "D", "A", "B", "C", "E", "F", "H", "I"],  # D: 5th yesterday → 2nd; G still counts (7th 2 days ago)
        4: ["A", "G", "D", "B", "C", "E", "F", "H", "I"],  # A: 3rd, 2nd, 1st before: never below the top third
    })
    signals = stms.add_signals(scores, stms.SignalRules(top_n=2))
    risers = signals.filter("is_riser").select("trade_date", "sector", "riser_days").rows()
    assert risers == [(days[2], "G", 1), (days[3], "G", 2), (days[3], "D", 1), (days[4], "G", 3)]
    g = signals.filter((pl.col("sector") == "G") & (pl.col("trade_date") == days[2])).row(0, named=True)
    assert (g["rank_change_1d"], g["rank_change_2d"], g["rank_change_3d"]) == (6, 6, None)


def test_three_highs_need_the_total_and_every_sub_score_in_the_top_group():
    scores, days = ranking({0: ["A", "B", "C", "D"]})
    # B is 2nd overall but last on momentum (A): not a three-high
    scores = scores.with_columns(score_a=pl.when(pl.col("sector") == "B").then(0.0).otherwise(pl.col("score_a")))
    signals = stms.add_signals(scores, stms.SignalRules(top_n=2))
    assert signals.filter("is_three_high")["sector"].to_list() == ["A"]


@pytest.mark.parametrize(("a", "b", "c", "label"), [
    (80, 20, 80, "hot_money_theme"), (80, 80, 20, "institution_led_trend"), (50, 50, 90, "pure_sentiment_spike"),
    (20, 20, 90, None), (80, 20, 50, "momentum_without_funds"), (20, 80, 50, "fund_led_bottoming"),
    (60, 60, 60, None),
])
def test_structure_labels_follow_note_002(a, b, c, label):
    scores, _ = ranking({0: ["A"]})
    row = stms.add_signals(scores.with_columns(score_a=pl.lit(float(a)), score_b=pl.lit(float(b)),
                                               score_c=pl.lit(float(c)))).row(0, named=True)
    assert row["structure"] == label
    assert (row["structure_note"] is None) == (label is None)


# ---------------------------------------------------------------------------- three sectors through Dagster

DAYS = calendar.trading_days_between(calendar.FIRST_PARTITION, dt.date(2019, 3, 29))[:25]  # complete from the 21st
SECTOR_OF = {"600001": "银行", "600002": "银行", "600011": "钢铁", "600012": "钢铁", "600021": "电子",
             "600022": "电子"}


def daily_returns(sector: str, i: int) -> float:
    if sector == "银行":
        return 0.01
    if sector == "钢铁":
        return 0.10 if i == 24 else (0.02 if i >= 20 else -0.01)  # the last day: limit-up
    return -0.02


def turnover_of(sector: str, i: int) -> float:
    late = i >= 20
    return {"银行": 0.01, "钢铁": 0.03 if late else 0.01, "电子": 0.013 if late else 0.01}[sector]


def closes() -> dict[str, list[float]]:
    """Fen prices; a +10% day lands exactly on the limit price (half-up)."""
    out = {}
    for code, sector in SECTOR_OF.items():
        price, series = 10.0, []
        for i in range(len(DAYS)):
            price = math.floor(price * (1 + daily_returns(sector, i)) * 100 + 0.5) / 100 if i else 10.0
            series.append(price)
        out[code] = series
    return out


MAIN = {"银行": 1e6, "钢铁": -1e6, "电子": 3e6}
NORTH = {"银行": 2e6, "钢铁": 1e6, "电子": -1e6}


class ThreeSectorSource(MarketSource):
    def source_name(self) -> str:
        return "three-sectors"

    def securities(self):
        return conform(pl.DataFrame({"code": list(SECTOR_OF), "exchange": "SH", "board": "main",
                                     "list_date": dt.date(2010, 1, 4)}), SECURITIES_SCHEMA)

    def daily_quotes(self, start, end):
        rows = []
        for code, series in closes().items():
            for i, d in enumerate(DAYS):
                pre = series[i - 1] if i else 10.0
                rows.append({"trade_date": d, "code": code, "open": pre, "high": max(pre, series[i]),
                             "low": min(pre, series[i]), "close": series[i], "pre_close": pre, "volume": 10_000_000,
                             "amount": 1e8, "turnover_rate": turnover_of(SECTOR_OF[code], i), "float_mcap": 1e9,
                             "is_st": False})
        return conform(pl.DataFrame(rows), RAW_QUOTE_SCHEMA).filter(pl.col("trade_date").is_between(start, end))

    def _flows(self, start, end, values, column, schema):
        df = pl.DataFrame([{"trade_date": d, "code": c, column: values[s]} for d in DAYS for c, s in SECTOR_OF.items()])
        return conform(df, schema).filter(pl.col("trade_date").is_between(start, end))

    def main_fund_flows(self, start, end):
        return self._flows(start, end, MAIN, "main_net_inflow", MAIN_FLOW_SCHEMA)

    def northbound_flows(self, start, end):
        return self._flows(start, end, NORTH, "northbound_net_inflow", NORTHBOUND_SCHEMA)

    def industry_history(self):
        return conform(pl.DataFrame({"code": list(SECTOR_OF), "start_date": dt.date(2010, 1, 4),
                                     "industry_name": list(SECTOR_OF.values()), "taxonomy": "sw2014"}),
                       INDUSTRY_HISTORY_SCHEMA)

    def concept_membership(self):
        return pl.DataFrame(schema=CONCEPT_MEMBERSHIP_SCHEMA)


STMS_INPUTS = ["raw/securities", "raw/daily_quotes", "core/daily_bars", "raw/main_fund_flows",
               "raw/northbound_flows", "raw/industry_history", "raw/concept_membership", "stms/sector_daily",
               "stms/scores", "stms/top_list"]


def materialize(defs, start, end):
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in STMS_INPUTS],
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end})


def expected_last_day() -> dict[str, dict]:
    """The scores of 2019-02-12 (the 25th trading day) computed by hand from the constructed prices."""
    series = closes()
    out = {}
    for sector in ("银行", "钢铁", "电子"):
        c = series[[k for k, s in SECTOR_OF.items() if s == sector][0]]  # both members are identical
        r5, r20 = c[24] / c[19] - 1, c[24] / c[4] - 1
        t = [turnover_of(sector, i) for i in range(5, 25)]
        x = (sum(t[-5:]) / 5) / (sum(t) / 20)
        ma20 = sum(c[5:25]) / 20
        out[sector] = {"ret_5d": r5, "ret_20d": r20, "x": x, "above": 1.0 if c[24] > ma20 else 0.0,
                       "limit_up_share": 1.0 if sector == "钢铁" else 0.0}
    return out


def test_three_sectors_end_to_end_through_the_real_definitions(pipeline_env):
    defs = build_definitions()
    defs = dg.Definitions(assets=list(defs.assets), resources={**defs.resources, "market_source": ThreeSectorSource()},
                          executor=dg.in_process_executor)
    assert materialize(defs, DAYS[0].isoformat(), DAYS[-1].isoformat()).success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        daily = pl.from_arrow(conn.execute("select * from stms.sector_daily order by all").to_arrow_table())
        scores = pl.from_arrow(conn.execute("select * from stms.scores order by all").to_arrow_table())
        top = pl.from_arrow(conn.execute("select * from stms.top_list order by all").to_arrow_table())
    # no score before the 21st day (20 returns need 21 days of bars), by design
    assert scores["trade_date"].min() == DAYS[20]
    assert daily.filter(pl.col("trade_date") < DAYS[20])["window_status"].unique().to_list() == [
        "before_history"]
    assert scores.filter(pl.col("trade_date") == DAYS[20])["a1"].max() > 0  # the first scored day is whole
    exp = expected_last_day()
    last = {r["sector"]: r for r in daily.filter(pl.col("trade_date") == DAYS[24]).iter_rows(named=True)}
    for sector, e in exp.items():
        got = last[sector]
        assert got["ret_5d"] == pytest.approx(e["ret_5d"], abs=1e-12) and got["ret_20d"] == pytest.approx(
            e["ret_20d"], abs=1e-12), sector
        assert got["turnover_5d"] / got["turnover_20d"] == pytest.approx(e["x"])
        assert got["main_inflow_share_5d"] == pytest.approx(MAIN[sector] / 1e8)
        assert got["north_inflow_share_5d"] == pytest.approx(NORTH[sector] / 1e8)
        assert (got["limit_up_share"], got["above_ma20_share"], got["member_count"]) == (
            e["limit_up_share"], e["above"], 2)
    # Hand-computed bands: 银行 r5<r20, x=1; 钢铁 r5>r20>…, x=2, both limit-up; 电子 falling, x≈1.21.
    s = {r["sector"]: r for r in scores.filter(pl.col("trade_date") == DAYS[24]).iter_rows(named=True)}
    assert [s[k]["a1"] for k in ("银行", "钢铁", "电子")] == [50.0, 100.0, 75.0]
    assert [s[k]["a2"] for k in ("银行", "钢铁", "电子")] == [0.0, 100.0, 75.0]
    # main shares 1% / -1% / 3% → ranks 2/3, 1/3, 3/3; north 2% / 1% / -1% → 3/3, 2/3, 1/3
    assert [s[k]["b2"] for k in ("银行", "钢铁", "电子")] == pytest.approx([200 / 3, 0.0, 100.0])
    assert [s[k]["b1"] for k in ("银行", "钢铁", "电子")] == pytest.approx([100.0, 200 / 3, 0.0])
    assert [s[k]["c1"] for k in ("银行", "钢铁", "电子")] == [0.0, 100.0, 0.0]
    assert [s[k]["c2"] for k in ("银行", "钢铁", "电子")] == [100.0, 100.0 * exp["钢铁"]["above"], 0.0]
    for k in s:
        a = (s[k]["a1"] + s[k]["a2"]) / 2
        b = (s[k]["b1"] + s[k]["b2"]) / 2
        c = (s[k]["c1"] + s[k]["c2"]) / 2
        assert s[k]["stms"] == pytest.approx(0.4 * a + 0.3 * b + 0.3 * c)
    assert [r["sector"] for r in sorted(s.values(), key=lambda r: r["rank"])] == ["钢铁", "银行", "电子"]
    assert top.filter(pl.col("trade_date") == DAYS[24])["sector"].to_list() == ["钢铁", "银行", "电子"]


def test_a_short_window_fails_the_check_and_scores_nothing(pipeline_env):
    defs = build_definitions()
    defs = dg.Definitions(assets=list(defs.assets), resources={**defs.resources, "market_source": ThreeSectorSource()},
                          executor=dg.in_process_executor)
    # The first three days, then the last five: their 20-day windows reach into a gap after the first stored day.
    assert materialize(defs, DAYS[0].isoformat(), DAYS[2].isoformat()).success
    result = materialize(defs, DAYS[20].isoformat(), DAYS[24].isoformat())
    assert not result.success
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.asset_check_key.name == "complete_windows")
    assert check.passed is False and check.metadata["short_window_days"].value == 5
    # Their windows reach back to DAYS[0]: the days of the gap are the ones to load.
    assert check.metadata["days_without_bars"].value == ", ".join(str(d) for d in DAYS[3:13])
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:  # the scores did not run for the range
        assert conn.execute("select count(*) from stms.scores where trade_date >= ?", [DAYS[20]]).fetchone() == (0,)


def test_a_first_range_in_mid_history_is_not_a_short_window(pipeline_env):
    """Windows that reach before the database's first day of bars have nothing to load: no score, no failure."""
    defs = build_definitions()
    defs = dg.Definitions(assets=list(defs.assets), resources={**defs.resources, "market_source": ThreeSectorSource()},
                          executor=dg.in_process_executor)
    assert materialize(defs, DAYS[20].isoformat(), DAYS[24].isoformat()).success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        status = conn.execute("select distinct window_status from stms.sector_daily").fetchall()
    assert status == [("before_history",)]


def test_the_window_start_is_twenty_trading_days_before_the_first_day():
    days = calendar.trading_days()
    first = dt.date(2024, 10, 8)  # after National Day: 20 trading days reach back into August
    assert stms.window_start(first) == days[days.index(first) - 20] == dt.date(2024, 8, 30)
    assert stms.window_start(calendar.FIRST_PARTITION) == days[days.index(calendar.FIRST_PARTITION) - 20]


def test_the_days_missing_from_a_short_window_are_named():
    """A gap one day long (a Friday a daily run missed) is what the error names, not the whole lookback."""
    days = calendar.trading_days_between(dt.date(2025, 12, 1), dt.date(2026, 1, 28))
    gap = dt.date(2026, 1, 23)
    loaded = [d for d in days if d != gap]
    assert stms.window_status(loaded, [dt.date(2026, 1, 28)])["window_status"].to_list() == ["short_window"]
    assert stms.missing_window_days(loaded, [dt.date(2026, 1, 28)]) == [gap]
    assert stms.missing_window_days(loaded, [dt.date(2026, 1, 22)]) == []  # its window ends before the gap
    # The window's first day (LONG = 20 trading days back) counts; the day before it does not.
    start = days.index(dt.date(2026, 1, 28)) - stms.LONG
    assert stms.missing_window_days(days[start + 1:], [dt.date(2026, 1, 28)]) == [days[start]]
    assert stms.missing_window_days(days[start:], [dt.date(2026, 1, 28)]) == []


# ------------------------------------------------------------------------------------------------------ report


def test_the_next_day_spread_compares_the_top_sectors_with_all_of_them():
    from sentiment_pipeline.stms import report

    d0, d1, d2 = dt.date(2024, 3, 1), dt.date(2024, 3, 4), dt.date(2024, 3, 5)
    scores = pl.DataFrame({"trade_date": [d0] * 3 + [d1] * 3, "sector_kind": ["sw_l1"] * 6,
                           "sector": ["A", "B", "C"] * 2, "rank": [1, 2, 3, 3, 2, 1]})
    daily = pl.DataFrame({"trade_date": [d0] * 3 + [d1] * 3 + [d2] * 3, "sector_kind": ["sw_l1"] * 9,
                          "sector": ["A", "B", "C"] * 3,
                          "ret": [0.0, 0.0, 0.0, 0.03, 0.0, -0.03, 0.01, 0.02, 0.06]})
    spread = report.next_day_spread(scores, daily, top=1)
    # d0's top (A) earns 3% on d1 against a 0% mean; d1's top (C) 6% on d2 against 3%; d2 has no next day
    assert spread["trade_date"].to_list() == [d0, d1]
    assert spread.select("top", "all", "spread").to_numpy().ravel().tolist() == pytest.approx(
        [0.03, 0.0, 0.03, 0.06, 0.03, 0.03])
    assert report.spread_test(spread["spread"])["verdict"] == "n/a (too few days)"
    rng = np.random.default_rng(1)
    positive = report.spread_test(pl.Series(0.002 + rng.normal(0, 0.001, 60)))
    assert positive["days"] == 60 and positive["p"] < 0.05 and positive["verdict"] == "top sectors beat the rest"
    assert report.spread_test(pl.Series(rng.normal(0, 0.01, 60)))["verdict"] == "no difference at 5%"


def test_the_stms_report_reads_a_database_and_says_where_it_comes_from(chain_db, capsys):
    from sentiment_pipeline.stms import report

    db, *_ = chain_db
    assert report.main([str(db), "--days", "2019-02-22"]) == 0
    out = capsys.readouterr().out
    assert "- bars: 2019-01-02 →" in out and "no stored day precedes it" in out
    assert "| stms_top_sw |" in out and "| all-A (all_a simulated) |" in out
    assert "| CSI 300 index file (price, bought at the first close) |" in out
    assert "| 2019-02-22 |" in out
    # the synthetic concept snapshot is dated on the first day: no look-ahead said
    assert "look-ahead" not in out
