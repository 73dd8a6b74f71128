"""Reconciliation reasons on hand-built cases, and the THS CSV loader."""

import datetime as dt

import polars as pl

from sentiment_pipeline.quality.reconcile import BARS_COLUMNS, reconcile_limit_ups, summarize
from sentiment_pipeline.sources.pools import POOL_SCHEMA, parse_cn_amount, parse_ths_pool, parse_ths_streak

D = [dt.date(2024, 6, 3), dt.date(2024, 6, 4), dt.date(2024, 6, 5), dt.date(2024, 6, 6)]


def bar(day, code, close, pre_close, limit, is_limit_up, listing_age=500, is_st=False, board="main"):
    return {"trade_date": day, "code": code, "board": board, "is_st": is_st, "listing_age": listing_age,
            "close": close, "pre_close": pre_close, "limit_up_price": limit, "is_limit_up": is_limit_up}


def pool_row(day, code, close, streak, name="x"):
    return {"trade_date": day, "pool": "limit_up", "code": code, "close": close, "streak": streak, "name": name}


def frames(bars, ladder, pool):
    bars = pl.DataFrame(bars).select(BARS_COLUMNS).cast({"listing_age": pl.Int32})
    ladder = pl.DataFrame(ladder, schema={"trade_date": pl.Date, "code": pl.String, "streak": pl.Int32,
                                          "in_opening_run": pl.Boolean}, orient="row")
    pools = pl.DataFrame(pool).with_columns(
        *(pl.lit(None, t).alias(c) for c, t in POOL_SCHEMA.items() if c not in pool[0])).select(
        (pl.col(c).cast(t) for c, t in POOL_SCHEMA.items()))
    return bars, ladder, pools


def test_each_kind_of_disagreement_gets_its_reason():
    day = D[3]
    bars = [
        bar(day, "600001", 11.0, 10.0, 11.0, True),  # agreed, same height
        bar(day, "600002", 5.25, 5.0, 5.25, True, is_st=True),  # ours only: ST
        bar(day, "600003", 14.4, 10.0, 14.4, True, listing_age=2),  # ours only: new listing
        bar(day, "830001", 13.0, 10.0, 13.0, True, board="bse"),  # ours only: the pool covers no BSE
        bar(day, "600005", 22.0, 20.0, 22.0, True),  # ours only, nothing explains it
        bar(day, "600006", 10.5, 10.0, 11.0, False),  # pool only: the pool's close differs
        bar(day, "600007", 11.0, 9.5, 10.45, False),  # pool only: same close, our reference close gives 10.45
        bar(day, "600009", 11.0, 10.0, 11.0, True),  # streak: a suspension inside our run
        bar(day, "600010", 11.0, 10.0, 11.0, True),  # streak: the pool missed the previous day
        bar(day, "600011", 5.25, 5.0, 5.5, False),  # pool only: *ST by the pool's name, our source had no flag
        bar(day, "600012", 11.0, 10.0, 11.0, True),  # streak: suspended through the whole lookback
    ]
    ladder = [
        (day, "600001", 1, False), (day, "600002", 1, False), (day, "600003", 1, True), (day, "830001", 1, False),
        (day, "600005", 1, False), (day, "600006", 0, False), (day, "600007", 0, False),
        (D[2], "830001", 0, False), (D[2], "600005", 0, False),  # history before their runs
        (D[0], "600009", 1, False), (D[1], "600009", 2, False), (day, "600009", 3, False),  # no bar on D[2]
        (D[2], "600010", 1, False), (day, "600010", 2, False), (day, "600011", 0, False), (day, "600012", 3, False),
    ]
    pool = [pool_row(day, c, close, s) for c, close, s in [
        ("600001", 11.0, 1), ("600006", 11.0, 1), ("600007", 11.0, 1), ("600008", 12.0, 1), ("600009", 11.0, 1),
        ("600010", 11.0, 1), ("600012", 11.0, 1)]] + [
        pool_row(day, "600011", 5.25, 1, name="*ST十一"),
        pool_row(D[2], "600099", 8.0, 1)]  # D[2] has a pool without 600010
    daily, details = reconcile_limit_ups(*frames(bars, ladder, pool), [day])
    reasons = {(r["code"], r["kind"]): r["reason"] for r in details.iter_rows(named=True)}
    assert reasons == {
        ("600002", "only_ours"): "st", ("600003", "only_ours"): "new_listing",
        ("830001", "only_ours"): "board_not_in_pool", ("600005", "only_ours"): "absent_from_pool",
        ("600006", "only_pool"): "price_mismatch", ("600007", "only_pool"): "reference_close",
        ("600008", "only_pool"): "missing_bar", ("600009", "streak"): "suspension",
        ("600010", "streak"): "previous_day_not_in_pool", ("600011", "only_pool"): "st",
        ("600012", "streak"): "suspension",
    }
    row = daily.row(0, named=True)
    assert (row["pool_count"], row["ours_count"], row["both_count"], row["only_ours_count"],
            row["only_pool_count"], row["streak_compared"], row["streak_agree_count"]) == (8, 8, 4, 4, 4, 4, 1)
    assert row["found_share"] == 0.5 and row["disagreement_count"] == 11


def test_days_without_a_pool_are_not_compared():
    bars = [bar(D[0], "600001", 11.0, 10.0, 11.0, True), bar(D[1], "600001", 12.1, 11.0, 12.1, True)]
    ladder = [(D[0], "600001", 1, False), (D[1], "600001", 2, False)]
    daily, details = reconcile_limit_ups(*frames(bars, ladder, [pool_row(D[1], "600001", 12.1, 2)]), D[:2])
    assert daily["pool_available"].to_list() == [False, True]
    assert daily["ours_count"].to_list() == [None, 1] and daily["streak_agreement"].to_list() == [None, 1.0]
    assert details.is_empty()
    assert summarize(daily) == {"days_compared": 1, "pool_limit_ups": 1, "found_by_both": 1, "only_ours": 0,
                                "only_pool": 0, "found_share": 1.0, "streaks_compared": 1, "streak_agreement": 1.0}


def test_board_coverage_is_judged_per_day():
    """A BSE limit-up is `board_not_in_pool` only on a day the pool lists no BSE stock."""
    bars = [bar(d, "830001", 13.0, 10.0, 13.0, True, board="bse") for d in D[2:]]
    ladder = [(D[1], "830001", 0, False), (D[2], "830001", 1, False), (D[3], "830001", 1, False)]
    pool = [pool_row(D[2], "600001", 11.0, 1), pool_row(D[3], "830002", 13.0, 1)]
    _, details = reconcile_limit_ups(*frames(bars, ladder, pool), D[2:])
    ours = details.filter(pl.col("kind") == "only_ours")
    assert ours.select("trade_date", "reason").rows() == [(D[2], "board_not_in_pool"), (D[3], "absent_from_pool")]


def test_a_run_older_than_the_loaded_history_is_history_start():
    day = D[1]
    bars = [bar(day, "600001", 12.1, 11.0, 12.1, True)]
    ladder = [(D[0], "600001", 1, False), (day, "600001", 2, False)]  # our history starts on D[0]
    _, details = reconcile_limit_ups(*frames(bars, ladder, [pool_row(day, "600001", 12.1, 5)]), [day])
    assert details.select("kind", "our_streak", "pool_streak", "reason").rows() == [("streak", 2, 5, "history_start")]


def test_ths_amounts_codes_and_streaks_parse():
    amounts = pl.DataFrame({"a": ["1.119亿", "1785万", "9.17万手", "532", "-", None]})
    assert amounts.select(parse_cn_amount("a")).to_series().to_list() == [111_900_000.0, 17_850_000.0, 91_700.0, 532.0,
                                                                     None, None]
    streaks = pl.DataFrame({"s": ["首板", "3天3板", "4天2板", "10天10板", None]})
    assert streaks.select(parse_ths_streak("s")).to_series().to_list() == [1, 3, None, 10, None]
    raw = pl.DataFrame({
        "涨停日期": ["2023-01-03", "2023-01-03"], "股票代码": ["002976.SZ", "bad"], "股票名称": ["瑞玛精密", "?"],
        "收盘价": ["12.2", "1"], "首次涨停时间": ["09:01:00", None], "最后涨停时间": ["09:31:00", None],
        "连板情况": ["3天3板", "首板"], "成交金额": ["1785万", "1"], "换手率": ["0.32", "1"], "封单额": ["1.119亿", "1"],
        "涨幅": ["10.01", "1"], "流通市值": ["55亿", "1"], "是否新股": ["0", "0"], "开板次数": [None, "2.0"]})
    pool = parse_ths_pool(raw, "limit_up")
    assert pool.height == 1  # a row without a six-digit code is dropped
    row = pool.row(0, named=True)
    assert (row["code"], row["streak"], row["amount"], row["sealed_amount"], row["float_mcap"]) == (
        "002976", 3, 17_850_000.0, 111_900_000.0, 5.5e9)
    assert row["pct_change"] == 0.1001 and row["turnover_rate"] == 0.0032 and row["broken_count"] == 0
    assert row["is_new_listing"] is False
