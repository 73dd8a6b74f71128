"""Note 000's research rules and weekly review on hand-made data: regimes, forward returns, the limit-up
next-day return, SciPy's statistics, crowding and a week with a holiday, and the report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.platform.tables import empty_frame
from sentiment_pipeline.research import report, review, rules, tables

D = dt.date


def days_from(first: dt.date, n: int) -> list[dt.date]:
    days = [d for d in calendar.trading_days() if d >= first]
    return days[:n]


# ------------------------------------------------------------------------------------------------ regimes


@pytest.mark.parametrize("day, regime", [
    (D(2018, 12, 28), None), (D(2019, 1, 2), "bull"), (D(2021, 2, 18), "bull"), (D(2021, 2, 19), "range"),
    (D(2021, 12, 13), "range"), (D(2021, 12, 14), "bear"), (D(2024, 2, 6), "bear"), (D(2024, 2, 7), "range"),
    (D(2024, 9, 23), "range"), (D(2024, 9, 24), "bull"), (D(2025, 9, 11), "bull"), (D(2025, 9, 12), None),
])
def test_regime_at_every_boundary(day, regime):
    frame = pl.DataFrame({"trade_date": [day]}).with_columns(regime=rules.regime_of(pl.col("trade_date")))
    assert frame["regime"][0] == regime


def test_regime_table_is_configurable_and_checked():
    periods = [rules.parse_period("bear 2020-01-01 2020-06-30")]
    frame = pl.DataFrame({"trade_date": [D(2019, 6, 3), D(2020, 3, 2)]})
    assert frame.select(rules.regime_of(pl.col("trade_date"), periods))["literal"].to_list() == [None, "bear"]
    with pytest.raises(ValueError, match="expected"):
        rules.parse_period("boom 2020-01-01 2020-06-30")
    with pytest.raises(ValueError, match="ends before it starts"):
        rules.parse_period("bull 2020-06-30 2020-01-01")


# ---------------------------------------------------------------------------------------- forward returns


def test_forward_returns_compound_and_are_null_past_the_last_day():
    series = pl.DataFrame({"trade_date": days_from(D(2019, 1, 2), 4), "return": [None, 0.10, -0.10, 0.20]})
    fwd = rules.forward_returns(series, [1, 2, 3], "fwd_")
    assert fwd["fwd_1"][0] == pytest.approx(0.10) and fwd["fwd_1"][2] == pytest.approx(0.20)
    assert fwd["fwd_2"][0] == pytest.approx(1.1 * 0.9 - 1) and fwd["fwd_2"][1] == pytest.approx(0.9 * 1.2 - 1)
    assert fwd["fwd_3"][0] == pytest.approx(1.1 * 0.9 * 1.2 - 1)
    # Horizons that run past the last stored day are null, not shortened.
    assert fwd["fwd_1"][3] is None and fwd["fwd_2"][2] is None and fwd["fwd_3"][1] is None


def test_forward_return_across_a_missing_day_is_null():
    days = days_from(D(2019, 1, 2), 4)
    series = rules.on_calendar(pl.DataFrame({"trade_date": [days[0], days[1], days[3]], "return": [0.0, 0.1, 0.1]}),
                               days[0], days[3])
    fwd = rules.forward_returns(series, [1, 2], "fwd_")
    assert fwd["fwd_1"].to_list()[:2] == [pytest.approx(0.1), None]  # day 3 is not stored
    assert fwd["fwd_2"].to_list()[:2] == [None, None]


def test_limit_up_next_day_skips_a_stock_suspended_the_next_day():
    t0, t1 = days_from(D(2019, 3, 1), 2)
    ladder = pl.DataFrame({
        "trade_date": [t0] * 4 + [t1], "code": ["000001", "000002", "000003", "000004", "000001"],
        "eligible": [True, True, True, False, True], "is_limit_up": [True, True, False, True, False]})
    # 000002 is suspended on t1 (no bar); 000003 did not close limit-up; 000004 is not eligible (ST).
    bars = pl.DataFrame({"trade_date": [t1, t1, t1], "code": ["000001", "000003", "000004"],
                         "close": [11.0, 5.0, 3.0], "pre_close": [10.0, 4.0, 2.0]})
    out = rules.limit_up_next_day(ladder, bars)
    assert out.filter(pl.col("trade_date") == t0).row(0) == (t0, pytest.approx(0.10), 1)
    # t1's next day is not stored: no return, count 0.
    assert out.filter(pl.col("trade_date") == t1).row(0) == (t1, None, 0)


def test_limit_up_next_day_uses_the_reference_close_on_an_ex_rights_day():
    t0, t1 = days_from(D(2019, 3, 1), 2)
    ladder = pl.DataFrame({"trade_date": [t0], "code": ["600000"], "eligible": [True], "is_limit_up": [True]})
    bars = pl.DataFrame({"trade_date": [t1], "code": ["600000"], "close": [5.5], "pre_close": [5.0]})  # 2-for-1
    assert rules.limit_up_next_day(ladder, bars)["limit_up_next_day_return"][0] == pytest.approx(0.10)


# ------------------------------------------------------------------------------------------ statistics


def _days(n: int = 40, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = days_from(D(2021, 1, 4), n)
    return pl.DataFrame({
        "trade_date": dates, "max_height": rng.integers(1, 12, n).astype(np.int32),
        "promotion_rate": rng.uniform(0, 0.6, n), "limit_up_count": rng.integers(20, 120, n).astype(np.int32),
        "limit_up_next_day_return": rng.normal(0.01, 0.03, n), "all_a_fwd_1": rng.normal(0, 0.01, n),
    }).with_columns(regime=rules.regime_of(pl.col("trade_date")))


def test_correlations_equal_scipys():
    days = _days()
    table = rules.rate_correlation(days)
    bull = days.filter(pl.col("regime") == "bull")
    for target, column in rules.CORRELATION_TARGETS.items():
        for method, fn in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
            expected = fn(bull["promotion_rate"].to_numpy(), bull[column].to_numpy())
            row = table.filter((pl.col("regime") == "bull") & (pl.col("target") == target)
                               & (pl.col("method") == method)).row(0, named=True)
            assert row["coefficient"] == pytest.approx(expected.statistic)
            assert row["p_value"] == pytest.approx(expected.pvalue)
            assert row["n"] == bull.height
    assert set(table["regime"]) == {"bull", "range", "all"}  # 2021-02-19 on is range-bound


def test_correlation_is_null_with_too_few_pairs_or_a_constant_series():
    days = _days(2).with_columns(regime=pl.lit("bear"))
    assert rules.rate_correlation(days)["coefficient"].null_count() == 8
    constant = _days(10).with_columns(promotion_rate=pl.lit(0.3))
    assert rules.rate_correlation(constant)["coefficient"].null_count() == 8


def test_regime_summary_on_a_hand_made_regime():
    dates = days_from(D(2019, 1, 2), 8)
    days = pl.DataFrame({"trade_date": dates, "max_height": [2, 6, 6, 7, 3, 6, 9, 4],
                         "promotion_rate": [None, 0.25, 0.30, 0.50, 0.10, 0.26, 0.40, 0.20],
                         "limit_up_count": [10, 20, 30, 40, 50, 60, 70, 80]}).with_columns(regime=pl.lit("bull"))
    row = rules.regime_summary(days).filter(pl.col("regime") == "bull").row(0, named=True)
    assert row["days"] == 8 and row["height_mode"] == 6
    assert (row["height_q1"], row["height_median"], row["height_q3"]) == (3.75, 6.0, 6.25)
    assert row["share_height_ge6"] == 5 / 8  # 6 counts: the note's "around 6" is ≥ 6
    assert row["rate_days"] == 7 and row["rate_median"] == pytest.approx(0.26)
    assert row["share_rate_gt25"] == pytest.approx(4 / 7)  # exactly 25% is not above it
    assert row["mean_limit_up_count"] == 45.0


def test_regime_summary_of_a_first_day_without_a_promotion_rate_is_valid():
    # A fresh deployment's first day has no rate: the columns are typed nulls, not a Null-typed column.
    days = pl.DataFrame({"trade_date": [D(2019, 1, 4)], "max_height": [3], "promotion_rate": [None],
                         "limit_up_count": [39]}, schema_overrides={"promotion_rate": pl.Float64}
                        ).with_columns(regime=pl.lit("range"))
    summary = rules.regime_summary(days)
    assert summary["rate_median"].dtype == pl.Float64 and summary["rate_median"].null_count() == 2
    tables.RegimeSummary.validate(summary.with_columns(source=pl.lit("synthetic"), period_start=D(2019, 1, 4),
                                                       period_end=D(2019, 1, 4)))


def test_rate_buckets_hold_their_lower_bound():
    dates = days_from(D(2019, 1, 2), 4)
    days = pl.DataFrame({"trade_date": dates, "max_height": [2, 2, 3, 3], "promotion_rate": [0.25, 0.2999, 0.30, 0.0],
                         "limit_up_count": [1, 1, 1, 1]}).with_columns(regime=pl.lit("bull"))
    dist = rules.regime_distribution(days).filter(pl.col("regime") == "bull")
    rate = dist.filter(pl.col("measure") == "promotion_rate")
    assert rate.select("bucket", "days").rows() == [("0–5%", 1), ("25–30%", 2), ("30–35%", 1)]
    height = dist.filter(pl.col("measure") == "max_height")
    assert height.select("bucket", "days", "share").rows() == [("2", 2, 0.5), ("3", 2, 0.5)]


def test_win_rate_and_odds_including_no_losses():
    frame = pl.DataFrame({"g": ["a"] * 4 + ["b"] * 3 + ["c"] * 2,
                          "v": [0.02, -0.01, 0.04, -0.03, 0.01, 0.03, None, -0.02, 0.0]})
    out = frame.group_by("g").agg(*rules.win_odds(pl.col("v"))).sort("g")
    a, b, c = out.rows(named=True)
    assert a["days"] == 4 and a["win_rate"] == 0.5 and a["odds"] == pytest.approx(0.03 / 0.02)
    assert a["mean_return"] == pytest.approx(0.005)
    assert b["days"] == 2 and b["win_rate"] == 1.0 and b["odds"] is None  # no loss: odds undefined
    assert c["win_rate"] == 0.0 and c["odds"] == 0.0  # a flat day is neither a gain nor a loss


def test_phase_path_uses_only_days_with_the_whole_path():
    dates = days_from(D(2019, 1, 2), 25)
    series = pl.DataFrame({"trade_date": dates, "return": [0.01] * 25})
    paths = rules.cumulative_paths(series)
    days = pl.DataFrame({"trade_date": dates[:6], "phase_code": ["ice_low"] * 6, "phase_name": ["冰点低迷期"] * 6})
    out = rules.phase_path(days, {"all_a": paths})
    # Days 0–4 have 20 days after them; day 5 has 19 and is left out of every day of the path.
    assert out["days"].unique().to_list() == [5]
    assert out.filter(pl.col("day") == 20)["mean_cum_return"][0] == pytest.approx(1.01 ** 20 - 1)


# ---------------------------------------------------------------------------------------- weekly review


def test_crowding_is_scipys_weak_percentile_of_the_trailing_year():
    rng = np.random.default_rng(1)
    mondays = [d for d in calendar.trading_days() if d.weekday() == 0 and D(2020, 1, 6) <= d <= D(2021, 12, 31)]
    days = mondays  # one trading day a week is enough: a week's share is its days' sum
    shares = rng.uniform(0.01, 0.05, len(days))
    concept = pl.DataFrame({"trade_date": days, "concept": ["芯片"] * len(days), "amount": shares * 1e12})
    market = pl.DataFrame({"trade_date": days, "total_amount": [1e12] * len(days)})
    out = review.crowding(concept, market).sort("week_start")
    assert out["window_weeks"][0] == 1 and out["crowding"][24] is None and out["crowding"][25] is not None
    i = len(days) - 1
    window = shares[i - review.CROWDING_WEEKS + 1: i + 1]
    assert out["window_weeks"][i] == 52
    assert out["crowding"][i] == pytest.approx(stats.percentileofscore(window, shares[i], kind="weak"))
    assert out["crowding_change"][i] == pytest.approx(out["crowding"][i] - out["crowding"][i - 1])


def test_a_week_with_a_holiday_averages_its_trading_days():
    # Qingming: 2019-04-05 (Friday) is a holiday; that week has four trading days.
    week = [d for d in calendar.trading_days_between(D(2019, 3, 25), D(2019, 4, 5))]
    assert len(week) == 9 and D(2019, 4, 5) not in week
    market = pl.DataFrame({"trade_date": week, "all_a_return": [0.01] * 5 + [0.02, -0.01, 0.0, 0.03],
                           "total_amount": [1e11] * 5 + [2e11, 4e11, 6e11, 8e11]})
    ladder = pl.DataFrame({"trade_date": week, "up_count": [100] * 5 + [10, 20, 30, 40],
                           "limit_up_count": [5] * 5 + [1, 2, 3, 4], "max_height": [3] * 5 + [4, 5, 6, 2]})
    phases = pl.DataFrame({"trade_date": week, "phase_name": [None] * 5 + ["混沌拉锯期", "混沌拉锯期", "混沌活跃期",
                                                                            None]})
    flows = pl.DataFrame({"trade_date": week[:7], "main_net_inflow": [1e9] * 7})
    margin = pl.DataFrame({"trade_date": week[:8], "margin_balance": [1e12 + i for i in range(8)]})
    out = review.weekly_review(market, ladder, phases, flows, margin,
                               empty_frame(tables.Crowding)).sort("week_start")
    first, second = out.rows(named=True)
    assert second["week_start"] == D(2019, 4, 1) and second["trading_days"] == 4
    assert second["week_end"] == D(2019, 4, 4)
    assert second["all_a_return"] == pytest.approx(1.02 * 0.99 * 1.0 * 1.03 - 1)
    assert second["all_a_return_change"] == pytest.approx(second["all_a_return"] - (1.01 ** 5 - 1))
    assert second["avg_amount"] == 5e11 and second["avg_amount_change"] == 4e11
    assert second["avg_up_count"] == 25 and second["avg_limit_up_count"] == 2.5
    assert second["main_net_flow"] == 2e9 and second["main_net_flow_change"] == -3e9  # 2 days with flows
    assert second["margin_balance"] == 1e12 + 7  # the last day with a balance
    assert second["max_height"] == 6 and second["phases"] == "混沌拉锯期×2 · 混沌活跃期×1"
    assert first["all_a_return_change"] is None and first["phases"] is None


def test_the_report_renders_chinese_with_its_charts(tmp_path):
    dates = days_from(D(2019, 1, 2), 60)
    n = len(dates)
    days = pl.DataFrame({"trade_date": dates, "max_height": [i % 11 for i in range(n)],
                         "promotion_rate": [0.1 + (i % 5) / 10 for i in range(n)],
                         "phase_name": ["主线稳健期" if i % 2 else None for i in range(n)],
                         "up_count": list(range(n)), "down_count": list(range(n)), "total_amount": [1e12] * n,
                         "margin_balance": [None] * n}, schema_overrides={"margin_balance": pl.Float64})
    crowded = pl.DataFrame({"rank": [1, 2], "concept": ["人工智能", "芯片"], "amount_share": [0.05, 0.04],
                            "crowding": [98.0, 90.0], "crowding_change": [None, 3.0]})
    week = {"week_start": D(2019, 3, 25), "week_end": D(2019, 3, 29), "trading_days": 5, "all_a_return": 0.0123,
            "all_a_return_change": -0.004, "avg_amount": 7.2e11, "avg_amount_change": 1e10, "avg_up_count": 2100.0,
            "avg_up_count_change": -35.0, "avg_limit_up_count": 61.0, "avg_limit_up_count_change": 4.0,
            "main_net_flow": None, "main_net_flow_change": None, "margin_balance": None,
            "margin_balance_change": None, "max_height": 7, "phases": "主线稳健期×5", "top_concepts": "人工智能 98"}
    page = report.html_report(week, crowded, days, "computed")
    assert page.count("data:image/png;base64,") == 3
    assert "A股市场周报 · 2019-03-25 周" in page and "人工智能" in page and "+1.23%" in page
    assert "由个股行情计算" in page and '<meta charset="utf-8">' in page
    summary = report.markdown(week, crowded, "reports/review/2019-03-25.html")
    assert "| 全A涨跌幅 | +1.23% | -0.40 个百分点 |" in summary and "人工智能 98 · 芯片 90 (+3)" in summary
    assert "本周仅" not in page and "其自身近 52 周中的分位" in page


@pytest.mark.parametrize("trading_days, flagged", [(1, True), (4, True), (5, False)])
def test_a_holiday_week_says_its_figures_are_not_comparable(trading_days, flagged):
    week = {"trading_days": trading_days}
    note = report.short_week_note(week)
    assert (note is not None) == flagged
    if flagged:
        assert note.startswith(f"本周仅 {trading_days} 个交易日")


def test_a_cut_through_tied_concepts_is_said():
    week = pl.DataFrame({"rank": [1, 2, 3, 4, 5, 6, 7], "crowding": [100.0] * 7})
    assert report.tie_note(week, 5) == "拥挤度 100 并列 7 个概念,按成交占比取其中 5 个列入前 5。"
    distinct = week.with_columns(crowding=pl.Series([100.0, 99, 98, 97, 96, 96, 90]))
    assert report.tie_note(distinct, 5) == "拥挤度 96 并列 2 个概念,按成交占比取其中 1 个列入前 5。"
    assert report.tie_note(distinct.with_columns(crowding=pl.Series([100.0, 99, 98, 97, 96, 95, 90])), 5) is None
    assert report.tie_note(week.head(3), 5) is None  # fewer than five ranked: nothing was cut


def test_the_crowding_footer_names_the_window_the_percentiles_span():
    young = pl.DataFrame({"window_weeks": pl.Series([39, 39], dtype=pl.Int32)})
    assert report.crowding_window_text(young) == "近 39 周(上限 52 周)"
    assert report.crowding_window_text(young.with_columns(window_weeks=pl.lit(52, pl.Int32))) == "近 52 周"
    assert report.crowding_window_text(pl.DataFrame()) == "近 52 周"


def _report_inputs(n: int = 60):
    dates = days_from(D(2019, 1, 2), n)
    days = pl.DataFrame({"trade_date": dates, "max_height": [i % 11 for i in range(n)],
                         "promotion_rate": [0.1 + (i % 5) / 10 for i in range(n)],
                         "phase_name": ["主线稳健期" if i % 2 else None for i in range(n)],
                         "up_count": list(range(n)), "down_count": list(range(n)), "total_amount": [1e12] * n,
                         "margin_balance": [1e12 + i for i in range(n)]})
    week = {"week_start": dt.datetime(2019, 3, 25), "week_end": dt.datetime(2019, 3, 29), "trading_days": 5,
            "all_a_return": 0.0123, "all_a_return_change": -0.004, "avg_amount": 7.2e11, "avg_amount_change": 1e10,
            "avg_up_count": 2100.0, "avg_up_count_change": -35.0, "avg_limit_up_count": 61.0,
            "avg_limit_up_count_change": 4.0, "main_net_flow": None, "main_net_flow_change": None,
            "margin_balance": None, "margin_balance_change": None, "max_height": None, "phases": None,
            "top_concepts": None}
    return days, week


def _crowding_rows(week: dt.date, history: int, ranked: bool) -> pl.DataFrame:
    return pl.DataFrame({"week_start": [week] * 3, "concept": ["芯片", "白酒", "光伏"], "amount_share": [0.01] * 3,
                         "window_weeks": [history] * 3, "crowding": [50.0] * 3 if ranked else [None] * 3,
                         "crowding_change": [None] * 3, "rank": [1, 2, 3] if ranked else [None] * 3},
                        schema_overrides={"crowding": pl.Float64, "rank": pl.Int32, "window_weeks": pl.Int32})


def test_a_week_without_crowded_concepts_says_why():
    """No concept data at all, fewer than 26 weeks of history (with how many more), or a ranking."""
    week = D(2019, 6, 24)
    none = review.crowding_gap(empty_frame(tables.Crowding), week)
    assert none.label == "无概念成交数据" and "stms.sector_daily" in none.text
    other_week = review.crowding_gap(_crowding_rows(D(2019, 6, 17), 30, True), week)
    assert other_week.label == "无概念成交数据"
    short = review.crowding_gap(_crowding_rows(week, 25, False), week)
    assert "历史仅 25 周" in short.text and "还差 1 周" in short.text and "3 个概念" in short.text
    assert "25 周" in short.label and "数据源无" not in short.text
    assert review.crowding_gap(_crowding_rows(week, 26, True), week) is None

    days, report_week = _report_inputs()
    no_top = empty_frame(tables.Crowding)
    page = report.html_report(report_week, no_top, days, "simulated", crowding_gap=short)
    assert short.text in page and "数据源无概念成交数据" not in page
    assert "模拟市场" in page and "由个股行情计算" not in page  # the synthetic market's index is no computed one
    summary = report.markdown(report_week, no_top, None, crowding_gap=short)
    assert f"拥挤度:{short.text}" in summary


def test_the_report_shades_its_week_and_prints_plain_dates():
    import base64
    import io

    from matplotlib import image

    days, week = _report_inputs()
    crowded = pl.DataFrame({"rank": [1], "concept": ["人工智能"], "amount_share": [0.05], "crowding": [98.0],
                            "crowding_change": [None]})
    shade = tuple(int(report.WEEK_SHADE[i:i + 2], 16) for i in (1, 3, 5))

    def shaded(images: dict) -> bool:  # the breadth chart has no legend patch: the colour is the span's
        pixels = (image.imread(io.BytesIO(base64.b64decode(images["breadth"])))[..., :3] * 255).round()
        return bool(((pixels == shade).all(axis=-1)).any())

    assert shaded(report.charts(days, crowded, (D(2019, 3, 25), D(2019, 3, 29))))
    assert not shaded(report.charts(days, crowded))
    page = report.html_report(week, crowded, days, "official")
    summary = report.markdown(week, crowded, None)
    for text in (page, summary):
        assert "2019-03-25" in text and "00:00:00" not in text and "None" not in text
    assert "2019-03-25 至 2019-03-29" in page and "黄色底纹" in page
    assert report.look_ahead_note(D(2019, 3, 29), dt.datetime(2020, 1, 2)).startswith("概念成分取自 2020-01-02 的快照")
    md = report.charts_markdown({"ladder": "AAAA"})
    assert md == "![连板高度与晋级率](data:image/png;base64,AAAA)"


def test_crowding_of_chosen_weeks_equals_the_full_computation_for_them():
    rng = np.random.default_rng(2)
    days = [d for d in calendar.trading_days() if D(2020, 1, 6) <= d <= D(2021, 6, 30)]
    concepts = ["芯片", "白酒", "光伏"]
    concept = pl.DataFrame({"trade_date": [d for d in days for _ in concepts], "concept": concepts * len(days),
                            "amount": rng.uniform(1e9, 5e9, len(days) * len(concepts))})
    market = pl.DataFrame({"trade_date": days, "total_amount": rng.uniform(8e11, 1.2e12, len(days))})
    full = review.crowding(concept, market)
    weeks = sorted(full["week_start"].unique().to_list())[-3:]
    chosen = review.crowding(concept, market, weeks)
    # Equal to the last bits allowed by Polars' multi-threaded sums (their order varies with the machine's load).
    assert_frame_equal(chosen, full.filter(pl.col("week_start").is_in(weeks)), rel_tol=1e-12)
    assert chosen["crowding_change"].null_count() == 0 and chosen.height == 9
