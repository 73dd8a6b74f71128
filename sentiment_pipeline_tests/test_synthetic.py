"""The simulated market: determinism, rule compliance, side datasets and calibration targets."""

import datetime as dt

import polars as pl
import pytest

from sentiment_pipeline.platform import calendar
from sentiment_pipeline.market.bars import build_daily_bars
from sentiment_pipeline.ladder.streaks import compute_ladder, empty_seed, ladder_daily
from sentiment_pipeline.ladder.phases import PHASE_CODES, classify_phases
from sentiment_pipeline.sources.synthetic import SyntheticSource
from sentiment_pipeline.sources.synthetic_market import NORTHBOUND_LAST_DAY


@pytest.fixture(scope="module")
def source(synthetic_cache):
    return SyntheticSource(seed=7, cache_dir=synthetic_cache)


@pytest.fixture(scope="module")
def stats(source):
    bars = build_daily_bars(source.daily_quotes(dt.date(2019, 1, 2), dt.date(2025, 12, 31)), source.securities())
    ladder = compute_ladder(bars.with_columns(pct_change=pl.col("close") / pl.col("pre_close") - 1)
                            .select("trade_date", "code", "is_st", "listing_age", "is_limit_up", "is_broken",
                                    "is_limit_down", "pct_change"), empty_seed())
    daily = ladder_daily(ladder, calendar.previous_day_links())
    return bars, daily, classify_phases(daily)


def test_calibration_targets(stats):
    _, daily, phases = stats
    assert 40 <= daily["limit_up_count"].mean() <= 90
    assert 4 <= daily["max_height"].median() <= 8
    assert 0.15 <= daily["promotion_rate"].median() <= 0.35
    assert (daily["max_height"] >= 10).sum() > 0
    assert set(phases["phase_code"].drop_nulls().unique()) == set(PHASE_CODES)


def test_bars_obey_price_limits_and_ohlc(stats):
    bars, _, _ = stats
    limited = bars.filter(pl.col("limit_up_price").is_not_null())
    assert limited.filter((pl.col("close") > pl.col("limit_up_price") + 1e-9)
                          | (pl.col("close") < pl.col("limit_down_price") - 1e-9)).height == 0
    assert bars.filter((pl.col("low") > pl.col("open")) | (pl.col("high") < pl.col("close"))).height == 0
    assert set(bars["board"].unique()) == {"main", "chinext", "star", "bse"}
    assert bars["is_st"].sum() > 0 and bars["is_one_word"].sum() > 0
    per_day = bars.group_by("trade_date").len()
    assert 3_000 <= per_day["len"].min() and per_day["len"].max() <= 6_000
    # ex-rights days: reference close differs from the previous close
    prev = bars.sort("code", "trade_date").with_columns(prev_close=pl.col("close").shift(1).over("code"))
    assert prev.filter((pl.col("prev_close") - pl.col("pre_close")).abs() > 0.005).height > 1_000


def test_securities_master_has_listings_delistings_and_boards(source):
    sec = source.securities()
    assert 5_000 <= sec.height <= 7_000
    assert sec.filter(pl.col("delist_date").is_not_null()).height > 100
    assert sec.filter(pl.col("list_date") >= dt.date(2019, 1, 1)).height > 1_000
    assert sec.filter((pl.col("board") == "star") & (pl.col("list_date") < dt.date(2019, 7, 22))).height == 0


def test_side_datasets_are_consistent(source):
    north = source.northbound_flows(dt.date(2024, 8, 12), dt.date(2024, 8, 23))
    per_day = north.group_by("trade_date").len().sort("trade_date")
    assert per_day["trade_date"].max() == NORTHBOUND_LAST_DAY and per_day["len"].min() > 300
    main = source.main_fund_flows(dt.date(2024, 8, 12), dt.date(2024, 8, 23))
    assert main["trade_date"].n_unique() == 10 and main["main_net_inflow"].null_count() == 0
    att = source.attention(dt.date(2020, 1, 2), dt.date(2020, 1, 3))
    assert att.height > 0 and (att["browse_count"] >= att["click_count"]).all()
    members = source.index_membership()
    latest = members.filter(pl.col("effective_date") == members["effective_date"].max())
    assert latest.group_by("index_code").len().sort("index_code")["len"].to_list() == [300, 1000, 500, 2000]
    idx = source.index_daily(dt.date(2019, 1, 2), dt.date(2019, 1, 10))
    assert set(idx["index_code"]) == {"000001", "000300", "000905", "000852", "932000", "all_a"}
    assert source.margin_balance(dt.date(2019, 1, 2), dt.date(2019, 1, 10)).height == 7
    assert source.industry_history()["industry_name"].n_unique() >= 28
    assert source.concept_membership()["concept_name"].n_unique() == 300  # 40 that drive hot themes + 260 minor


def test_synthetic_pools_follow_the_bars(source):
    """The simulated vendor publishes what the rule table says, minus new listings' unopened runs."""
    pools = source.limit_up_pools(dt.date(2020, 3, 2), dt.date(2020, 3, 6))
    limit_up = pools.filter(pool="limit_up")
    previous = pools.filter(pool="previous")
    assert limit_up["trade_date"].n_unique() == 5 and (limit_up["streak"] >= 1).all()
    # day t's "previous" pool is day t-1's limit-up pool, heights included
    prev_of_0303 = previous.filter(pl.col("trade_date") == dt.date(2020, 3, 3)).select("code", "streak").sort("code")
    lu_0302 = limit_up.filter(pl.col("trade_date") == dt.date(2020, 3, 2)).select("code", "streak").sort("code")
    assert prev_of_0303.equals(lu_0302)
    assert pools.filter(pool="broken")["streak"].null_count() == pools.filter(pool="broken").height


def test_same_seed_same_market(source, tmp_path):
    again = SyntheticSource(seed=7, cache_dir=source.cache_dir).daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 4))
    assert again.equals(source.daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 4)))
