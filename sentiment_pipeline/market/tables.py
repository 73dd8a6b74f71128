"""The market tables: one pandera model per table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from sentiment_pipeline.market.membership import INDEX_LIST_SIZE, SW2014_L1, SW2021_L1, sw_taxonomy_of
from sentiment_pipeline.sources.base import NORTHBOUND_LAST_DAY

CODE = {"str_matches": r"^\d{6}$"}  # 6-digit exchange code


class Securities(pa.DataFrameModel):
    """raw.securities: the source's securities master."""

    code: str = pa.Field(str_matches=r"^\d{6}$", description="6-digit exchange code, e.g. '600519'")
    name: str = pa.Field(nullable=True, description="short name (简称); null where the source has no names (tdx)")
    exchange: str = pa.Field(isin=["SH", "SZ", "BJ"], description="listing exchange")
    board: str = pa.Field(isin=["main", "chinext", "star", "bse"], description="listing board")
    list_date: dt.date = pa.Field(nullable=True,
                                  description="listing date; null when listed before the source's history starts")
    delist_date: dt.date = pa.Field(nullable=True, description="delisting date; null while listed")

    class Config:
        name = "raw.securities"
        description = "Securities master as the source gives it. Unpartitioned: rewritten whole."
        strict = True
        unique = ["code"]


class RawDailyQuotes(pa.DataFrameModel):
    """raw.daily_quotes: the source's bars as given (types, keys and price sanity only)."""

    trade_date: dt.date = pa.Field(nullable=False, description="trading day")
    code: str = pa.Field(str_matches=r"^\d{6}$", description="6-digit exchange code")
    open: float = pa.Field(gt=0, description="opening price, CNY")
    high: float = pa.Field(gt=0, description="day's high, CNY")
    low: float = pa.Field(gt=0, description="day's low, CNY")
    close: float = pa.Field(gt=0, description="closing price, CNY")
    pre_close: float = pa.Field(
        gt=0, nullable=True,
        description="exchange reference close (ex-rights adjusted), CNY; tdx: previous record's close; "
                    "null only where the source lacks it (tdx first record)",
    )
    volume: int = pa.Field(ge=0, nullable=True,
                           description="volume traded, shares; null where the source lacks it")
    amount: float = pa.Field(ge=0, nullable=True,
                             description="amount traded (成交额), CNY; null where the source lacks it")
    turnover_rate: float = pa.Field(ge=0, nullable=True,
                                    description="volume / float shares, fraction; null for tdx")
    float_mcap: float = pa.Field(gt=0, nullable=True, description="float market cap, CNY; null for tdx")
    is_st: bool = pa.Field(nullable=True,
                           description="ST/*ST on that day; null where the source cannot tell (tdx, some akshare "
                                       "history days)")

    class Config:
        name = "raw.daily_quotes"
        description = "The source's daily bars as given; suspended days have no row."
        strict = True
        unique = ["trade_date", "code"]

    @pa.dataframe_check(error="low <= open, close <= high")
    def ohlc_consistent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        o, h, l, c = (pl.col(x) for x in ("open", "high", "low", "close"))
        return data.lazyframe.select((l <= o) & (o <= h) & (l <= c) & (c <= h))

    # Non-nullable columns reject NaN as null; in nullable ones NaN would pass `gt`/`ge` (Polars orders NaN above
    # every number) and reach the limit prices. Missing is null; NaN is a broken source value.
    @pa.check("pre_close", "amount", "turnover_rate", "float_mcap", name="not_nan",
              error="NaN (a missing value must be null)")
    def not_nan(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_not_nan().fill_null(True))


class DailyBars(RawDailyQuotes):
    """core.daily_bars: validated bars with board, listing age, limit prices and flags."""

    exchange: str = pa.Field(isin=["SH", "SZ", "BJ"], description="exchange, from the code")
    board: str = pa.Field(isin=["main", "chinext", "star", "bse"],
                          description="board, from the code; selects the price-limit rule")
    list_date: dt.date = pa.Field(nullable=True, description="listing date from raw.securities; null if unknown")
    listing_age: pl.Int32 = pa.Field(
        ge=1, nullable=True,
        description="exchange trading days since listing, 1 on the listing day; null if unknown",
    )
    limit_up_price: float = pa.Field(
        gt=0, nullable=True,
        description="limit-up price, CNY (reference close × (1 + limit), half-up to the fen); "
                    "null on days without a limit (new-listing windows)",
    )
    limit_down_price: float = pa.Field(gt=0, nullable=True,
                                       description="limit-down price, CNY; null on days without a limit")
    is_limit_up: bool = pa.Field(description="close == limit_up_price (涨停); false on days without a limit")
    is_broken: bool = pa.Field(description="high == limit_up_price and close < it (炸板)")
    is_one_word: bool = pa.Field(description="open == high == low == close == limit_up_price (一字板)")
    is_limit_down: bool = pa.Field(description="close == limit_down_price (跌停); false on days without a limit")

    class Config:
        name = "core.daily_bars"
        description = "Validated bars with exchange, board, listing age, limit prices and limit flags."
        strict = True
        unique = ["trade_date", "code"]


class LimitUpPools(pa.DataFrameModel):
    """raw.limit_up_pools: the publisher's pools as given (limit-up, previous day's, broken, limit-down)."""

    trade_date: dt.date = pa.Field(description="trading day the pool describes")
    pool: str = pa.Field(isin=["limit_up", "previous", "broken", "limit_down"],
                         description="which pool; 'previous' lists yesterday's limit-ups with today's figures")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    name: str = pa.Field(nullable=True, description="short name as published")
    close: float = pa.Field(gt=0, nullable=True, description="close, CNY")
    pct_change: float = pa.Field(nullable=True, description="change on the day, fraction")
    amount: float = pa.Field(ge=0, nullable=True, description="amount traded, CNY")
    float_mcap: float = pa.Field(ge=0, nullable=True, description="float market cap, CNY")
    turnover_rate: float = pa.Field(ge=0, nullable=True, description="turnover, fraction of float shares")
    sealed_amount: float = pa.Field(ge=0, nullable=True,
                                    description="CNY on the limit bid at the close (封板资金 / 封单额)")
    first_seal_time: str = pa.Field(nullable=True, description="time of the first seal, 'HH:MM:SS'")
    last_seal_time: str = pa.Field(
        nullable=True, description="time of the last seal, 'HH:MM:SS'; the 'previous' pool: yesterday's seal time"
    )
    broken_count: pl.Int32 = pa.Field(ge=0, nullable=True, description="times the seal opened (炸板次数)")
    streak: pl.Int32 = pa.Field(
        ge=1, nullable=True,
        description="the publisher's consecutive limit-up height ('previous': yesterday's); null when not stated",
    )
    limit_up_stat: str = pa.Field(
        nullable=True, description="the publisher's boards-in-days text: '3/2' (East Money), '3天2板' (THS)"
    )
    is_new_listing: bool = pa.Field(nullable=True, description="the publisher flags a new listing (THS only)")

    class Config:
        name = "raw.limit_up_pools"
        description = ("Published limit-up pools, kept every day (upstream keeps recent days only). synthetic: "
                       "derived from the simulated bars; tdx: THS CSVs when SENTIMENT_THS_DIR is set; akshare: "
                       "East Money.")
        strict = True
        unique = ["trade_date", "pool", "code"]


class MainFundFlows(pa.DataFrameModel):
    """raw.main_fund_flows: main-force (super-large + large orders) net inflow per stock and day, CNY."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    main_net_inflow: float = pa.Field(nullable=True, description="main-force net inflow, CNY (negative: outflow)")

    class Config:
        name = "raw.main_fund_flows"
        description = "Main-force (super-large + large orders) net inflow per stock and day."
        strict = True
        unique = ["trade_date", "code"]


class NorthboundFlows(pa.DataFrameModel):
    """raw.northbound_flows: Stock Connect holdings and net inflow per stock and day, until 2024-08-16."""

    trade_date: dt.date = pa.Field(le=NORTHBOUND_LAST_DAY, description="trading day, 2024-08-16 at the latest")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    holding_shares: float = pa.Field(ge=0, nullable=True,
                                     description="shares held through Stock Connect; null for synthetic")
    northbound_net_inflow: float = pa.Field(
        nullable=True, description="northbound net inflow, CNY; akshare: change in shares held × close"
    )

    class Config:
        name = "raw.northbound_flows"
        description = ("Stock Connect (northbound) holdings and net inflow per stock and day; no rows after "
                       "2024-08-16 (HKEX stopped daily disclosure).")
        strict = True
        unique = ["trade_date", "code"]


class Attention(pa.DataFrameModel):
    """raw.attention: per stock and day, the attention components the source has (the rest null)."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    browse_count: int = pa.Field(ge=0, nullable=True, description="page views (浏览); synthetic only")
    watchlist_adds: int = pa.Field(ge=0, nullable=True, description="watchlist additions (加自选); synthetic only")
    click_count: int = pa.Field(ge=0, nullable=True, description="clicks; synthetic only")
    attention_index: float = pa.Field(ge=0, nullable=True,
                                      description="East Money 关注指数; akshare daily run only")
    hot_rank: pl.Int32 = pa.Field(ge=1, nullable=True,
                                  description="East Money popularity rank, 1 = most watched; akshare only")
    new_follower_share: float = pa.Field(ge=0, le=1, nullable=True,
                                         description="新晋粉丝 share of followers, fraction; akshare backfill only")
    loyal_follower_share: float = pa.Field(ge=0, le=1, nullable=True,
                                           description="铁杆粉丝 share of followers, fraction; akshare backfill only")

    class Config:
        name = "raw.attention"
        description = "Attention per stock and day: each source fills the components it has, the rest are null."
        strict = True
        unique = ["trade_date", "code"]


class IndexDaily(pa.DataFrameModel):
    """raw.index_daily: index closes and amounts; the whole market is index_code 'all_a'."""

    trade_date: dt.date = pa.Field(description="trading day")
    index_code: str = pa.Field(
        description="'000300', '000905', '000852', '932000' (CSI 300/500/1000/2000), 'all_a' (whole market); "
                    "synthetic and tdx also '000001' (Shanghai Composite); tdx has no 'all_a' and no '932000'"
    )
    index_name: str = pa.Field(nullable=True, description="index name as published; null when not given")
    pre_close: float = pa.Field(gt=0, nullable=True,
                                description="previous close, index points; null when not given")
    close: float = pa.Field(gt=0, description="close, index points")
    amount: float = pa.Field(ge=0, nullable=True, description="amount traded in the index's members, CNY")

    class Config:
        name = "raw.index_daily"
        description = ("Index series per day; the whole market is index_code 'all_a' (akshare: CSI All Share "
                       "000985).")
        strict = True
        unique = ["trade_date", "index_code"]


class MarginBalance(pa.DataFrameModel):
    """raw.margin_balance: whole-market margin balance (融资融券余额), CNY."""

    trade_date: dt.date = pa.Field(description="trading day whose closing balance this is")
    margin_balance: float = pa.Field(
        gt=0, description="融资融券余额 (financing plus securities lending) at the close, CNY"
    )

    class Config:
        name = "raw.margin_balance"
        description = "Whole-market margin balance (融资融券余额), published the next morning."
        strict = True
        unique = ["trade_date"]


class Suspensions(pa.DataFrameModel):
    """raw.suspensions: stock-days the exchange suspended (no bar), where the source lists them (baostock)."""

    trade_date: dt.date = pa.Field(description="trading day")
    code: str = pa.Field(**CODE, description="6-digit exchange code")
    pre_close: float = pa.Field(gt=0, nullable=True, description="the day's reference close, CNY")
    is_st: bool = pa.Field(nullable=True, description="ST or *ST that day")

    class Config:
        name = "raw.suspensions"
        description = ("Suspended stock-days as the source lists them (baostock's tradestatus 0): a suspension is "
                       "not a traded bar, so these days have no row in raw.daily_quotes. Empty for a source that "
                       "does not list them (a day without a bar is then the only sign).")
        strict = True
        unique = ["trade_date", "code"]


class IndexMembership(pa.DataFrameModel):
    """raw.index_membership: CSI 300/500/1000/2000 members from the snapshot effective on effective_date."""

    index_code: str = pa.Field(isin=["000300", "000905", "000852", "932000"],
                               description="the CSI index")
    code: str = pa.Field(**CODE, description="the member's 6-digit code")
    effective_date: dt.date = pa.Field(description="the date of the weights file the snapshot came from")
    weight: float = pa.Field(ge=0, le=1, nullable=True, description="fraction of the index; null for synthetic")

    class Config:
        name = "raw.index_membership"
        description = ("CSI 300/500/1000/2000 members; one snapshot per effective date (akshare: from the first "
                       "live run on). Unpartitioned: rewritten whole.")
        strict = True
        unique = ["index_code", "code", "effective_date"]


class IndustryHistory(pa.DataFrameModel):
    """raw.industry_history: SW level-1 industry of each stock from start_date on, in that date's taxonomy."""

    code: str = pa.Field(**CODE, description="6-digit exchange code")
    start_date: dt.date = pa.Field(description="first day of this classification (in force until the code's next "
                                               "start_date)")
    industry_code: str = pa.Field(nullable=True,
                                  description="SW industry code such as '480301'; null for synthetic")
    industry_name: str = pa.Field(
        nullable=True,
        description="SW level-1 name in the taxonomy of start_date, e.g. '化工' (SW2014), '基础化工' (SW2021); null: "
                    "the stock has no level-1 industry from start_date on (unclassified, never guessed)")
    taxonomy: str = pa.Field(
        isin=["sw2014", "sw2021"],
        description="the SW taxonomy the name is from: the 2014 one before 2021-07-30, the 2021 one from then on",
    )

    class Config:
        name = "raw.industry_history"
        description = ("SW level-1 classification history, named in the taxonomy of each start date: one industry "
                       "per stock and day (a classification holds until the stock's next start_date). "
                       "Unpartitioned: rewritten whole.")
        strict = True
        unique = ["code", "start_date"]

    @pa.dataframe_check(error="taxonomy is sw2014 before 2021-07-30 and sw2021 from then on")
    def taxonomy_of_the_day(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("taxonomy") == sw_taxonomy_of(pl.col("start_date")))

    @pa.dataframe_check(error="industry_name is one of its taxonomy's level-1 industries (28 in SW2014, 31 in "
                              "SW2021)")
    def name_in_taxonomy(cls, data: pa.PolarsData) -> pl.LazyFrame:
        name, taxonomy = pl.col("industry_name"), pl.col("taxonomy")
        return data.lazyframe.select(name.is_null() | pl.when(taxonomy == "sw2014").then(name.is_in(sorted(SW2014_L1)))
                                     .otherwise(name.is_in(sorted(SW2021_L1))))


class ConceptMembership(pa.DataFrameModel):
    """raw.concept_membership: concept board members as seen in the snapshot of snapshot_date."""

    concept_name: str = pa.Field(description="concept board name, e.g. '人工智能'")
    code: str = pa.Field(**CODE, description="the member's 6-digit code")
    snapshot_date: dt.date = pa.Field(description="day of the snapshot; synthetic: one snapshot dated 2019-01-02")

    class Config:
        name = "raw.concept_membership"
        description = "Concept board members as seen in each snapshot. Unpartitioned: rewritten whole."
        strict = True
        unique = ["concept_name", "code", "snapshot_date"]


class IndexGroups(pa.DataFrameModel):
    """core.index_groups: per trading day and CSI index, the list in force and its members with a bar."""

    trade_date: dt.date = pa.Field(description="trading day")
    index_code: str = pa.Field(isin=sorted(INDEX_LIST_SIZE), description="the CSI index: 000300, 000905, 000852, "
                                                                         "932000 (CSI 2000, where a source lists it)")
    list_date: dt.date = pa.Field(description="effective date of the list in force that day (raw.index_membership)")
    list_size: pl.Int32 = pa.Field(ge=1, description="members in that list")
    members_with_bar: pl.Int32 = pa.Field(ge=0, description="members with a bar that day")
    members_without_bar: pl.Int32 = pa.Field(
        ge=0, description="members without a bar that day (suspended, or delisted before the next review)")

    class Config:
        name = "core.index_groups"
        description = ("Per trading day, each CSI index's list in force and how many of its members traded: the "
                       "index groups heat and the benchmarks compare. A list of another size than 300 / 500 / 1,000 "
                       "fails the check csi_list_size (a warning); an index without a list that day has no row (no "
                       "CSI 2000 list in the membership folder: no CSI 2000 rows).")
        strict = True
        unique = ["trade_date", "index_code"]

    @pa.dataframe_check(error="members_with_bar + members_without_bar = list_size")
    def members_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("members_with_bar") + pl.col("members_without_bar") == pl.col("list_size"))
