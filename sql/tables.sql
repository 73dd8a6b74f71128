-- The DuckDB tables the pipeline writes: the contract for consumers.
-- Generated from the table models (sentiment_pipeline/*/tables.py) by `python -m sentiment_pipeline.catalog`;
-- a test fails when this file and the models drift apart, and another checks it against the written tables.
-- Database file: $SENTIMENT_DUCKDB_PATH (default data/market.duckdb). Every partitioned table is
-- written per trading day through its `trade_date` column (a re-run replaces its days).
-- Rates are fractions (0.25 = 25%). Prices in CNY.

-- Securities master as the source gives it. Unpartitioned: rewritten whole. Row key: (code).
CREATE TABLE raw.securities (
    code        VARCHAR, -- NOT NULL: 6-digit exchange code, e.g. '600519'
    name        VARCHAR, -- short name (简称); null where the source has no names (tdx)
    exchange    VARCHAR, -- NOT NULL: listing exchange [one of 'SH', 'SZ', 'BJ']
    board       VARCHAR, -- NOT NULL: listing board [one of 'main', 'chinext', 'star', 'bse']
    list_date   DATE,    -- listing date; null when listed before the source's history starts
    delist_date DATE     -- delisting date; null while listed
);

-- The source's daily bars as given; suspended days have no row. Row key: (trade_date, code).
CREATE TABLE raw.daily_quotes (
    trade_date    DATE,    -- NOT NULL: trading day
    code          VARCHAR, -- NOT NULL: 6-digit exchange code
    open          DOUBLE,  -- NOT NULL: opening price, CNY
    high          DOUBLE,  -- NOT NULL: day's high, CNY
    low           DOUBLE,  -- NOT NULL: day's low, CNY
    close         DOUBLE,  -- NOT NULL: closing price, CNY
    pre_close     DOUBLE,  -- exchange reference close (ex-rights adjusted), CNY; tdx: previous record's close; null only where the source lacks it (tdx first record)
    volume        BIGINT,  -- volume traded, shares; null where the source lacks it
    amount        DOUBLE,  -- amount traded (成交额), CNY; null where the source lacks it
    turnover_rate DOUBLE,  -- volume / float shares, fraction; null for tdx
    float_mcap    DOUBLE,  -- float market cap, CNY; null for tdx
    is_st         BOOLEAN  -- ST/*ST on that day; null where the source cannot tell (tdx, some akshare history days)
);

-- Validated bars with exchange, board, listing age, limit prices and limit flags. Row key: (trade_date, code).
CREATE TABLE core.daily_bars (
    trade_date       DATE,    -- NOT NULL: trading day
    code             VARCHAR, -- NOT NULL: 6-digit exchange code
    open             DOUBLE,  -- NOT NULL: opening price, CNY
    high             DOUBLE,  -- NOT NULL: day's high, CNY
    low              DOUBLE,  -- NOT NULL: day's low, CNY
    close            DOUBLE,  -- NOT NULL: closing price, CNY
    pre_close        DOUBLE,  -- exchange reference close (ex-rights adjusted), CNY; tdx: previous record's close; null only where the source lacks it (tdx first record)
    volume           BIGINT,  -- volume traded, shares; null where the source lacks it
    amount           DOUBLE,  -- amount traded (成交额), CNY; null where the source lacks it
    turnover_rate    DOUBLE,  -- volume / float shares, fraction; null for tdx
    float_mcap       DOUBLE,  -- float market cap, CNY; null for tdx
    is_st            BOOLEAN, -- ST/*ST on that day; null where the source cannot tell (tdx, some akshare history days)
    exchange         VARCHAR, -- NOT NULL: exchange, from the code [one of 'SH', 'SZ', 'BJ']
    board            VARCHAR, -- NOT NULL: board, from the code; selects the price-limit rule [one of 'main', 'chinext', 'star', 'bse']
    list_date        DATE,    -- listing date from raw.securities; null if unknown
    listing_age      INTEGER, -- exchange trading days since listing, 1 on the listing day; null if unknown
    limit_up_price   DOUBLE,  -- limit-up price, CNY (reference close × (1 + limit), half-up to the fen); null on days without a limit (new-listing windows)
    limit_down_price DOUBLE,  -- limit-down price, CNY; null on days without a limit
    is_limit_up      BOOLEAN, -- NOT NULL: close == limit_up_price (涨停); false on days without a limit
    is_broken        BOOLEAN, -- NOT NULL: high == limit_up_price and close < it (炸板)
    is_one_word      BOOLEAN, -- NOT NULL: open == high == low == close == limit_up_price (一字板)
    is_limit_down    BOOLEAN  -- NOT NULL: close == limit_down_price (跌停); false on days without a limit
);

-- Published limit-up pools, kept every day (upstream keeps recent days only). synthetic: derived from the
-- simulated bars; tdx: THS CSVs when SENTIMENT_THS_DIR is set; akshare: East Money. Row key: (trade_date, pool,
-- code).
CREATE TABLE raw.limit_up_pools (
    trade_date      DATE,    -- NOT NULL: trading day the pool describes
    pool            VARCHAR, -- NOT NULL: which pool; 'previous' lists yesterday's limit-ups with today's figures [one of 'limit_up', 'previous', 'broken', 'limit_down']
    code            VARCHAR, -- NOT NULL: 6-digit exchange code
    name            VARCHAR, -- short name as published
    close           DOUBLE,  -- close, CNY
    pct_change      DOUBLE,  -- change on the day, fraction
    amount          DOUBLE,  -- amount traded, CNY
    float_mcap      DOUBLE,  -- float market cap, CNY
    turnover_rate   DOUBLE,  -- turnover, fraction of float shares
    sealed_amount   DOUBLE,  -- CNY on the limit bid at the close (封板资金 / 封单额)
    first_seal_time VARCHAR, -- time of the first seal, 'HH:MM:SS'
    last_seal_time  VARCHAR, -- time of the last seal, 'HH:MM:SS'; the 'previous' pool: yesterday's seal time
    broken_count    INTEGER, -- times the seal opened (炸板次数)
    streak          INTEGER, -- the publisher's consecutive limit-up height ('previous': yesterday's); null when not stated
    limit_up_stat   VARCHAR, -- the publisher's boards-in-days text: '3/2' (East Money), '3天2板' (THS)
    is_new_listing  BOOLEAN  -- the publisher flags a new listing (THS only)
);

-- Main-force (super-large + large orders) net inflow per stock and day. Row key: (trade_date, code).
CREATE TABLE raw.main_fund_flows (
    trade_date      DATE,    -- NOT NULL: trading day
    code            VARCHAR, -- NOT NULL: 6-digit exchange code
    main_net_inflow DOUBLE   -- main-force net inflow, CNY (negative: outflow)
);

-- Stock Connect (northbound) holdings and net inflow per stock and day; no rows after 2024-08-16 (HKEX stopped
-- daily disclosure). Row key: (trade_date, code).
CREATE TABLE raw.northbound_flows (
    trade_date            DATE,    -- NOT NULL: trading day, 2024-08-16 at the latest
    code                  VARCHAR, -- NOT NULL: 6-digit exchange code
    holding_shares        DOUBLE,  -- shares held through Stock Connect; null for synthetic
    northbound_net_inflow DOUBLE   -- northbound net inflow, CNY; akshare: change in shares held × close
);

-- Attention per stock and day: each source fills the components it has, the rest are null. Row key: (trade_date,
-- code).
CREATE TABLE raw.attention (
    trade_date           DATE,    -- NOT NULL: trading day
    code                 VARCHAR, -- NOT NULL: 6-digit exchange code
    browse_count         BIGINT,  -- page views (浏览); synthetic only
    watchlist_adds       BIGINT,  -- watchlist additions (加自选); synthetic only
    click_count          BIGINT,  -- clicks; synthetic only
    attention_index      DOUBLE,  -- East Money 关注指数; akshare daily run only
    hot_rank             INTEGER, -- East Money popularity rank, 1 = most watched; akshare only
    new_follower_share   DOUBLE,  -- 新晋粉丝 share of followers, fraction; akshare backfill only
    loyal_follower_share DOUBLE   -- 铁杆粉丝 share of followers, fraction; akshare backfill only
);

-- Index series per day; the whole market is index_code 'all_a' (akshare: CSI All Share 000985). Row key:
-- (trade_date, index_code).
CREATE TABLE raw.index_daily (
    trade_date DATE,    -- NOT NULL: trading day
    index_code VARCHAR, -- NOT NULL: '000300', '000905', '000852', '932000' (CSI 300/500/1000/2000), 'all_a' (whole market); synthetic and tdx also '000001' (Shanghai Composite); tdx has no 'all_a' and no '932000'
    index_name VARCHAR, -- index name as published; null when not given
    pre_close  DOUBLE,  -- previous close, index points; null when not given
    close      DOUBLE,  -- NOT NULL: close, index points
    amount     DOUBLE   -- amount traded in the index's members, CNY
);

-- Whole-market margin balance (融资融券余额), published the next morning. Row key: (trade_date).
CREATE TABLE raw.margin_balance (
    trade_date     DATE,   -- NOT NULL: trading day whose closing balance this is
    margin_balance DOUBLE  -- NOT NULL: 融资融券余额 (financing plus securities lending) at the close, CNY
);

-- CSI 300/500/1000/2000 members; one snapshot per effective date (akshare: from the first live run on).
-- Unpartitioned: rewritten whole. Row key: (index_code, code, effective_date).
CREATE TABLE raw.index_membership (
    index_code     VARCHAR, -- NOT NULL: the CSI index [one of '000300', '000905', '000852', '932000']
    code           VARCHAR, -- NOT NULL: the member's 6-digit code
    effective_date DATE,    -- NOT NULL: the date of the weights file the snapshot came from
    weight         DOUBLE   -- fraction of the index; null for synthetic
);

-- SW level-1 classification history, named in the taxonomy of each start date: one industry per stock and day (a
-- classification holds until the stock's next start_date). Unpartitioned: rewritten whole. Row key: (code,
-- start_date).
CREATE TABLE raw.industry_history (
    code          VARCHAR, -- NOT NULL: 6-digit exchange code
    start_date    DATE,    -- NOT NULL: first day of this classification (in force until the code's next start_date)
    industry_code VARCHAR, -- SW industry code such as '480301'; null for synthetic
    industry_name VARCHAR, -- SW level-1 name in the taxonomy of start_date, e.g. '化工' (SW2014), '基础化工' (SW2021); null: the stock has no level-1 industry from start_date on (unclassified, never guessed)
    taxonomy      VARCHAR  -- NOT NULL: the SW taxonomy the name is from: the 2014 one before 2021-07-30, the 2021 one from then on [one of 'sw2014', 'sw2021']
);

-- Concept board members as seen in each snapshot. Unpartitioned: rewritten whole. Row key: (concept_name, code,
-- snapshot_date).
CREATE TABLE raw.concept_membership (
    concept_name  VARCHAR, -- NOT NULL: concept board name, e.g. '人工智能'
    code          VARCHAR, -- NOT NULL: the member's 6-digit code
    snapshot_date DATE     -- NOT NULL: day of the snapshot; synthetic: one snapshot dated 2019-01-02
);

-- Per trading day, each CSI index's list in force and how many of its members traded: the index groups heat and
-- the benchmarks compare. A list of another size than 300 / 500 / 1,000 fails the check csi_list_size (a
-- warning); an index without a list that day has no row (no CSI 2000 list in the membership folder: no CSI 2000
-- rows). Row key: (trade_date, index_code).
CREATE TABLE core.index_groups (
    trade_date          DATE,    -- NOT NULL: trading day
    index_code          VARCHAR, -- NOT NULL: the CSI index: 000300, 000905, 000852, 932000 (CSI 2000, where a source lists it) [one of '000300', '000852', '000905', '932000']
    list_date           DATE,    -- NOT NULL: effective date of the list in force that day (raw.index_membership)
    list_size           INTEGER, -- NOT NULL: members in that list
    members_with_bar    INTEGER, -- NOT NULL: members with a bar that day
    members_without_bar INTEGER  -- NOT NULL: members without a bar that day (suspended, or delisted before the next review)
);

-- Suspended stock-days as the source lists them (baostock's tradestatus 0): a suspension is not a traded bar, so
-- these days have no row in raw.daily_quotes. Empty for a source that does not list them (a day without a bar is
-- then the only sign). Row key: (trade_date, code).
CREATE TABLE raw.suspensions (
    trade_date DATE,    -- NOT NULL: trading day
    code       VARCHAR, -- NOT NULL: 6-digit exchange code
    pre_close  DOUBLE,  -- the day's reference close, CNY
    is_st      BOOLEAN  -- ST or *ST that day
);

-- Per stock and day: the ladder (连板): limit flags, streak, opening-run flag and eligibility for the sentiment
-- statistics. Row key: (trade_date, code).
CREATE TABLE sentiment.limit_ladder (
    trade_date       DATE,    -- NOT NULL: trading day
    code             VARCHAR, -- NOT NULL: 6-digit exchange code
    is_st            BOOLEAN, -- ST/*ST that day, from core.daily_bars; null where the source cannot tell (counted as not ST)
    listing_age      INTEGER, -- exchange trading days since listing, 1 on the listing day; null if unknown
    is_limit_up      BOOLEAN, -- NOT NULL: closes at the limit-up price (涨停)
    is_broken        BOOLEAN, -- NOT NULL: touches the limit-up price and closes below it (炸板)
    is_limit_down    BOOLEAN, -- NOT NULL: closes at the limit-down price (跌停)
    pct_change       DOUBLE,  -- close / pre_close - 1; null without a pre_close
    streak           INTEGER, -- NOT NULL: consecutive limit-up days (连板), 0 on other days; the stock's previous trading day counts (suspensions do not break it)
    in_opening_run   BOOLEAN, -- NOT NULL: a new listing's listing day and the limit-ups straight after it
    eligible         BOOLEAN, -- NOT NULL: counted in the sentiment statistics
    exclusion_reason VARCHAR  -- why the stock is left out of the statistics; null when eligible [one of 'st', 'new_listing', 'st+new_listing']
);

-- Per day, over the eligible universe: counts, seal rate, height, the ladder by streak, promotion rate (晋级率) and
-- per-level rates. Row key: (trade_date).
CREATE TABLE sentiment.ladder_daily (
    trade_date          DATE,    -- NOT NULL: trading day
    limit_up_count      INTEGER, -- NOT NULL: eligible stocks closing limit-up (涨停)
    broken_count        INTEGER, -- NOT NULL: eligible stocks with a broken board (炸板)
    limit_down_count    INTEGER, -- NOT NULL: eligible stocks closing limit-down (跌停)
    up_count            INTEGER, -- NOT NULL: eligible stocks with close > pre_close
    down_count          INTEGER, -- NOT NULL: eligible stocks with close < pre_close
    seal_rate           DOUBLE,  -- limit_up / (limit_up + broken), fraction; null when both are 0
    max_height          INTEGER, -- NOT NULL: highest streak (最高连板); 0 without limit-ups
    count_h1            INTEGER, -- NOT NULL: eligible stocks with streak 1 (首板)
    count_h2            INTEGER, -- NOT NULL: eligible stocks with streak 2
    count_h3            INTEGER, -- NOT NULL: eligible stocks with streak 3
    count_h4            INTEGER, -- NOT NULL: eligible stocks with streak 4
    count_h5            INTEGER, -- NOT NULL: eligible stocks with streak 5
    count_h6            INTEGER, -- NOT NULL: eligible stocks with streak 6
    count_h7            INTEGER, -- NOT NULL: eligible stocks with streak 7
    count_h8            INTEGER, -- NOT NULL: eligible stocks with streak 8
    count_h9            INTEGER, -- NOT NULL: eligible stocks with streak 9
    count_h10_plus      INTEGER, -- NOT NULL: eligible stocks with streak >= 10
    prev_trade_date     DATE,    -- the market's previous trading day; null when the calendar has none
    prev_limit_up_count INTEGER, -- limit_up_count on prev_trade_date; null when that day is not stored
    has_previous_day    BOOLEAN, -- NOT NULL: prev_trade_date is stored, so the rates can be computed
    promotion_rate      DOUBLE,  -- 晋级率: streak >= 2 today / limit-ups on prev_trade_date; null without a stored previous day or when it had no limit-ups
    rate_1to2           DOUBLE,  -- streak 2 today / streak 1 on prev_trade_date; null when that count is 0 or missing
    rate_2to3           DOUBLE,  -- streak 3 today / streak 2 on prev_trade_date; null when that count is 0 or missing
    rate_3to4           DOUBLE,  -- streak 4 today / streak 3 on prev_trade_date; null when that count is 0 or missing
    rate_4plus          DOUBLE   -- streak >= 5 today / streak >= 4 on prev_trade_date; null when that count is 0 or missing
);

-- Per day: the sentiment phase of note 000 (height band × promotion-rate band, 12 phases), or the reason there
-- is none. Row key: (trade_date).
CREATE TABLE sentiment.phase_daily (
    trade_date      DATE,    -- NOT NULL: trading day
    max_height      INTEGER, -- NOT NULL: highest streak (最高连板), from sentiment.ladder_daily
    promotion_rate  DOUBLE,  -- 晋级率, fraction, from sentiment.ladder_daily; null when it has none
    phase_code      VARCHAR, -- the phase's stable English code; null when the day has no phase [one of 'ice_slump', 'ice_buildup', 'ice_stirring', 'chaos_cooling', 'chaos_tug_of_war', 'chaos_active', 'mainline_divergence', 'mainline_steady', 'mainline_acceleration', 'climax_fading', 'climax_splitting', 'climax_euphoria']
    phase_name      VARCHAR, -- the phase's Chinese name; null when the day has no phase [one of '冰点低迷期', '冰点蓄势期', '冰点异动期', '混沌降温期', '混沌拉锯期', '混沌活跃期', '主线分歧期', '主线稳健期', '主线加速期', '高潮衰退期', '高潮分化期', '高潮亢奋期']
    no_phase_reason VARCHAR  -- why the day has no phase; null when it has one [one of 'previous_day_missing', 'no_limit_up_previous_day', 'max_height_below_2']
);

-- Per day: the published limit-up pool against our flags and streaks. Counts are null on days without a pool
-- (pool_available false): nothing was compared. Row key: (trade_date).
CREATE TABLE quality.limit_up_reconciliation (
    trade_date         DATE,    -- NOT NULL: trading day
    pool_available     BOOLEAN, -- NOT NULL: the source has a limit-up pool for the day
    pool_count         INTEGER, -- stocks in the pool
    ours_count         INTEGER, -- stocks core.daily_bars flags as limit-up (every stock, ST included)
    both_count         INTEGER, -- limit-ups in the pool and flagged by us
    only_ours_count    INTEGER, -- limit-ups we flag that the pool does not list
    only_pool_count    INTEGER, -- limit-ups the pool lists that we do not flag
    found_share        DOUBLE,  -- both_count / pool_count; null when pool_count is 0
    streak_compared    INTEGER, -- limit-ups found by both where the pool states a consecutive height
    streak_agree_count INTEGER, -- of streak_compared, those where the pool's height equals our streak
    streak_agreement   DOUBLE,  -- streak_agree_count / streak_compared; null when streak_compared is 0
    disagreement_count INTEGER  -- rows in quality.limit_up_disagreements that day
);

-- Every disagreement between the published limit-up pool and our flags or streaks, with its reason. Row key:
-- (trade_date, code, kind).
CREATE TABLE quality.limit_up_disagreements (
    trade_date  DATE,    -- NOT NULL: trading day
    code        VARCHAR, -- NOT NULL: 6-digit exchange code
    kind        VARCHAR, -- NOT NULL: a limit-up only in our flags, only in the pool, or in both with different heights [one of 'only_ours', 'only_pool', 'streak']
    our_streak  INTEGER, -- our streak that day; null for only_pool
    pool_streak INTEGER, -- the pool's consecutive height; null for only_ours
    reason      VARCHAR, -- NOT NULL: the first explanation that applies, in README order; README "Reconciliation" says what each means [one of 'st', 'new_listing', 'board_not_in_pool', 'absent_from_pool', 'missing_bar', 'price_mismatch', 'reference_close', 'suspension', 'history_start', 'previous_day_not_in_pool', 'streak_definition']
    detail      VARCHAR  -- the prices or heights behind the reason
);

-- Per sector and day: the float-cap weighted figures of STMS, the sector trend momentum score of note 002
-- (domain.md §7), and their 5/20-day windows. Sectors are SW level-1 industries named in the taxonomy of the day
-- (28 SW2014 industries before 2021-07-30, 31 SW2021 ones from then on) and concept boards, with membership as
-- known that day (concepts before their first snapshot: that snapshot, look-ahead, said in the metadata);
-- windows count trading days, and a day whose 20-day window (21 days of bars) reaches before the first partition
-- has no score, by design. Row key: (trade_date, sector_kind, sector).
CREATE TABLE stms.sector_daily (
    trade_date            DATE,    -- NOT NULL: trading day
    sector_kind           VARCHAR, -- NOT NULL: SW level-1 industry or concept board [one of 'sw_l1', 'concept']
    sector                VARCHAR, -- NOT NULL: sector name, e.g. '银行', '人工智能'
    member_count          INTEGER, -- NOT NULL: members with a bar that day
    ret                   DOUBLE,  -- return: float-cap weighted (weights: float cap on the previous trading day), or equal-weighted over the members that traded the day before when no member has a float cap (return_weighting)
    return_weighting      VARCHAR, -- how ret weights the members: 'float_cap' where the source has float caps, 'equal' where it has none (TongDaXin); null without a member that traded the day before [one of 'float_cap', 'equal']
    ret_5d                DOUBLE,  -- ret compounded over the last 5 trading days; null unless all 5 exist
    ret_20d               DOUBLE,  -- ret compounded over the last 20 trading days; null unless the window is complete and all 20 exist
    turnover              DOUBLE,  -- float-cap weighted turnover, fraction; null without a weighted member
    turnover_5d           DOUBLE,  -- mean turnover over 5 trading days; null unless all 5 exist
    turnover_20d          DOUBLE,  -- mean turnover over 20 trading days; null unless the window is complete and all 20 exist
    amount                DOUBLE,  -- members' amount traded, CNY
    amount_5d             DOUBLE,  -- amount over 5 trading days, CNY; null unless all 5 exist
    amount_20d            DOUBLE,  -- amount over 20 trading days, CNY; null unless the window is complete and all 20 exist
    main_inflow_5d        DOUBLE,  -- main-force net inflow over 5 trading days, CNY; null unless all 5 have data
    north_inflow_5d       DOUBLE,  -- northbound net inflow over 5 trading days, CNY; null unless all 5 have data
    main_inflow_share_5d  DOUBLE,  -- main_inflow_5d / amount_5d; null when either is missing
    north_inflow_share_5d DOUBLE,  -- north_inflow_5d / amount_5d; null after 2024-08-16
    limit_up_count        INTEGER, -- NOT NULL: members closing limit-up
    limit_up_share        DOUBLE,  -- NOT NULL: limit_up_count / member_count
    above_ma20_share      DOUBLE,  -- members closing above their MA20 (back-adjusted) / members with 20 bars in 60 trading days; null when no member has them
    ma20_excluded_count   INTEGER, -- NOT NULL: members left out of above_ma20_share (their last 20 bars span more than 60 trading days)
    window_days           INTEGER, -- NOT NULL: loaded trading days among the 21 the 20-day window needs
    window_status         VARCHAR  -- NOT NULL: state of the 20-day window; only complete windows get 20-day figures and scores [one of 'complete', 'before_history', 'short_window']
);

-- Per sector and day with a complete window and its 5/20-day figures: sub-scores, STMS, rank within the kind,
-- rank changes and signals. Row key: (trade_date, sector_kind, sector).
CREATE TABLE stms.scores (
    trade_date     DATE,    -- NOT NULL: trading day
    sector_kind    VARCHAR, -- NOT NULL: SW level-1 industry or concept board [one of 'sw_l1', 'concept']
    sector         VARCHAR, -- NOT NULL: sector name
    a1             DOUBLE,  -- NOT NULL: band from ret_5d vs ret_20d [one of 0.0, 50.0, 75.0, 100.0]
    a2             DOUBLE,  -- NOT NULL: band from turnover_5d / turnover_20d, or from the mean amounts' ratio (a2_basis) [one of 0.0, 50.0, 75.0, 100.0]
    a2_basis       VARCHAR, -- NOT NULL: what a2 compares: 'turnover' (the note's rule), or 'amount' (the 5-day over the 20-day mean amount) where the source has no turnover rate: float-cap weighted turnover is amount over float cap, so with the float cap steady over 20 days the two ratios agree [one of 'turnover', 'amount']
    b1             DOUBLE,  -- NOT NULL: north_inflow_share_5d > 0: its ascending percentile rank among the kind × 100, else 0
    b2             DOUBLE,  -- NOT NULL: main_inflow_share_5d, the same (a sector without flow data ranks as zero)
    c1             DOUBLE,  -- NOT NULL: band from limit_up_share [one of 0.0, 50.0, 75.0, 100.0]
    c2             DOUBLE,  -- NOT NULL: band from above_ma20_share [one of 0.0, 25.0, 75.0, 100.0]
    score_a        DOUBLE,  -- NOT NULL: momentum score A = (a1 + a2) / 2
    score_b        DOUBLE,  -- NOT NULL: fund-flow score B: the mean of the components in b_components, 0 when none
    score_c        DOUBLE,  -- NOT NULL: sentiment score C = (c1 + c2) / 2
    stms           DOUBLE,  -- NOT NULL: STMS = 0.4 A + 0.3 B + 0.3 C
    rank           INTEGER, -- NOT NULL: 1 = best within the kind that day; ties broken by sector name
    sector_count   INTEGER, -- NOT NULL: sectors of the kind ranked that day
    b_components   VARCHAR, -- NOT NULL: the flows with data that day, which score_b averages [one of 'north+main', 'main', 'north', 'none']
    rank_change_1d INTEGER, -- rank 1 trading day earlier − rank today (positive = rose); null when not ranked then
    rank_change_2d INTEGER, -- rank 2 trading days earlier − rank today; null when not ranked then
    rank_change_3d INTEGER, -- rank 3 trading days earlier − rank today; null when not ranked then
    is_riser       BOOLEAN, -- NOT NULL: in the top group now, below the top third of the ranking 1–3 trading days earlier
    riser_days     INTEGER, -- the smallest such number of days; null unless is_riser [one of 1, 2, 3]
    is_three_high  BOOLEAN, -- NOT NULL: total, A, B and C all in the top group (ties count)
    structure      VARCHAR, -- the pattern of note 002 §4.4; null when none applies [one of 'hot_money_theme', 'institution_led_trend', 'pure_sentiment_spike', 'momentum_without_funds', 'fund_led_bottoming']
    structure_note VARCHAR  -- the sub-scores and the note's reading; null without a structure
);

-- The daily top list per kind: the best-ranked sectors of stms.scores (run config size, 10). Row key:
-- (trade_date, sector_kind, rank).
CREATE TABLE stms.top_list (
    trade_date     DATE,    -- NOT NULL: trading day
    sector_kind    VARCHAR, -- NOT NULL: SW level-1 industry or concept board [one of 'sw_l1', 'concept']
    rank           INTEGER, -- NOT NULL: rank within the kind that day, 1 = best
    sector         VARCHAR, -- NOT NULL: sector name
    stms           DOUBLE,  -- NOT NULL: STMS = 0.4 A + 0.3 B + 0.3 C
    score_a        DOUBLE,  -- NOT NULL: momentum score A
    score_b        DOUBLE,  -- NOT NULL: fund-flow score B
    score_c        DOUBLE,  -- NOT NULL: sentiment score C
    rank_change_1d INTEGER, -- rank 1 trading day earlier − rank today (positive = rose); null when not ranked then
    is_riser       BOOLEAN, -- NOT NULL: a riser in stms.scores
    is_three_high  BOOLEAN, -- NOT NULL: a three-high in stms.scores
    structure      VARCHAR  -- the pattern of note 002 §4.4 (see stms.scores); null when none applies
);

-- Per stock and day: its share of the market's attention (note 001), 10,000 a day in all. Row key: (trade_date,
-- code).
CREATE TABLE heat.stock_daily (
    trade_date DATE,    -- NOT NULL: trading day
    code       VARCHAR, -- NOT NULL: 6-digit exchange code
    heat_raw   DOUBLE,  -- NOT NULL: sum of the day's attention components (see components)
    heat       DOUBLE,  -- NOT NULL: 10,000 × heat_raw ÷ the market's total that day
    components VARCHAR  -- NOT NULL: what heat_raw sums: browse_count+watchlist_adds+click_count (or a subset), attention_index, or hot_rank (as 1 / rank)
);

-- Per day: the heat of each CSI index group and of the rest of the market (membership as of the day); the five
-- sum to 10,000. Row key: (trade_date, index_group).
CREATE TABLE heat.group_daily (
    trade_date   DATE,    -- NOT NULL: trading day
    index_group  VARCHAR, -- NOT NULL: CSI 300/500/1000/2000 members that day, or others [one of 'csi300', 'csi500', 'csi1000', 'csi2000', 'others']
    member_count INTEGER, -- NOT NULL: stocks of the group with heat that day
    heat         DOUBLE,  -- NOT NULL: sum of the members' heat
    heat_kind    VARCHAR  -- NOT NULL: what the day's heat is a share of: attention counts, East Money's attention index, or 1 / popularity rank [one of 'counts', 'attention_index', 'hot_rank']
);

-- Per day: the heat of each SW level-1 industry and concept board. Row key: (trade_date, sector_kind, sector).
CREATE TABLE heat.sector_daily (
    trade_date   DATE,    -- NOT NULL: trading day
    sector_kind  VARCHAR, -- NOT NULL: SW level-1 industry or concept board [one of 'sw_l1', 'concept']
    sector       VARCHAR, -- NOT NULL: sector name
    member_count INTEGER, -- NOT NULL: members with heat that day (membership as of the day)
    heat         DOUBLE,  -- NOT NULL: sum of the members' heat (a stock counts in each of its concepts)
    heat_kind    VARCHAR  -- NOT NULL: what the day's heat is a share of: attention counts, East Money's attention index, or 1 / popularity rank [one of 'counts', 'attention_index', 'hot_rank']
);

-- Per trading week: each index group's mean heat, its change and two-week mean change. Row key: (week_start,
-- index_group).
CREATE TABLE heat.group_weekly (
    week_start         DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end           DATE,    -- NOT NULL: the week's last trading day in the data
    index_group        VARCHAR, -- NOT NULL: index group [one of 'csi300', 'csi500', 'csi1000', 'csi2000', 'others']
    heat               DOUBLE,  -- NOT NULL: mean daily heat over the week's trading days
    heat_kind          VARCHAR, -- the week's heat_kind: that of all its days, mixed when they differ, null when unknown (daily rows written before heat_kind was recorded) [one of 'counts', 'attention_index', 'hot_rank', 'mixed']
    heat_change        DOUBLE,  -- heat ÷ the previous trading week's − 1; null (see change_null_reason) in the first week and across kinds
    change_null_reason VARCHAR, -- why heat_change is null (null when it is not): no previous week, either week's heat_kind unknown or mixed, the two weeks of different kinds (never compared), or a previous heat of 0 [one of 'no_previous_week', 'components_unknown', 'components_mixed', 'components_changed', 'previous_heat_zero']
    heat_change_ma2    DOUBLE,  -- mean of this and the previous week's heat_change
    rank               INTEGER  -- 1 = highest heat_change_ma2 that week
);

-- Per trading week: each industry's and concept's mean heat, change and two-week mean change. Row key:
-- (week_start, sector_kind, sector).
CREATE TABLE heat.sector_weekly (
    week_start         DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end           DATE,    -- NOT NULL: the week's last trading day in the data
    sector_kind        VARCHAR, -- NOT NULL: SW level-1 industry or concept board [one of 'sw_l1', 'concept']
    sector             VARCHAR, -- NOT NULL: sector name
    heat               DOUBLE,  -- NOT NULL: mean daily heat over the week's trading days
    heat_kind          VARCHAR, -- the week's heat_kind: that of all its days, mixed when they differ, null when unknown (daily rows written before heat_kind was recorded) [one of 'counts', 'attention_index', 'hot_rank', 'mixed']
    heat_change        DOUBLE,  -- heat ÷ the previous trading week's − 1; null (see change_null_reason) in the first week and across kinds
    change_null_reason VARCHAR, -- why heat_change is null (null when it is not): no previous week, either week's heat_kind unknown or mixed, the two weeks of different kinds (never compared), or a previous heat of 0 [one of 'no_previous_week', 'components_unknown', 'components_mixed', 'components_changed', 'previous_heat_zero']
    heat_change_ma2    DOUBLE,  -- mean of this and the previous week's heat_change
    rank               INTEGER  -- 1 = highest heat_change_ma2 within the kind
);

-- Per trading week: the broad-index heat rotation's choice for the next week (note 001). Row key: (week_start).
CREATE TABLE heat.rotation (
    week_start DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end   DATE,    -- NOT NULL: the week's last trading day in the data
    leader     VARCHAR, -- NOT NULL: the index group with the highest heat_change_ma2 [one of 'csi300', 'csi500', 'csi1000', 'csi2000', 'others']
    leader_ma2 DOUBLE,  -- NOT NULL: its heat_change_ma2
    position   VARCHAR  -- NOT NULL: held over the next week: the leader's index, or cash when others leads [one of 'csi300', 'csi500', 'csi1000', 'csi2000', 'cash']
);

-- Per trading week: note 001's concept heat TOP and BOTTOM portfolios. The 5 concepts with the highest
-- heat_change_ma2; in each, the smallest 20% of members by float cap (rounded down) left out; TOP holds the 10
-- highest-heat members of each, BOTTOM the 10 lowest; a stock held once, equal weight, for the next week. Row
-- key: (week_start, side, code).
CREATE TABLE heat.concept_portfolios (
    week_start   DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end     DATE,    -- NOT NULL: the week's last trading day in the data: the day the portfolio is decided (membership, float caps and heat as of it), held one week
    side         VARCHAR, -- NOT NULL: top: each concept's highest-heat members; bottom: its lowest-heat members [one of 'top', 'bottom']
    code         VARCHAR, -- NOT NULL: 6-digit exchange code of the stock held
    weight       DOUBLE,  -- NOT NULL: equal weight: 1 ÷ the stocks of the side that week
    heat         DOUBLE,  -- NOT NULL: the stock's heat that week: mean daily heat over its days with heat
    float_mcap   DOUBLE,  -- NOT NULL: float market cap on week_end, CNY (the size cut's measure)
    concept_rank INTEGER, -- NOT NULL: best rank among the concepts it is held through (1 = highest heat_change_ma2 that week)
    concepts     VARCHAR  -- NOT NULL: the chosen concepts it is held through, comma-separated, best rank first
);

-- Per trading week: the monitor's sentences as rows (groups, rotation, movers). Row key: (week_start, topic,
-- rank).
CREATE TABLE heat.weekly_monitor (
    week_start      DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end        DATE,    -- NOT NULL: the week's last trading day in the data
    topic           VARCHAR, -- NOT NULL: group (each index group), rotation, sw_l1_up / sw_l1_down / concept_up / concept_down (largest heat change up or down) [one of 'group', 'rotation', 'sw_l1_up', 'sw_l1_down', 'concept_up', 'concept_down']
    rank            INTEGER, -- NOT NULL: order within the topic
    subject         VARCHAR, -- NOT NULL: the group, the position held, or the sector
    heat            DOUBLE,  -- the week's heat; null for the rotation
    heat_change     DOUBLE,  -- heat change vs the previous week
    heat_change_ma2 DOUBLE,  -- two-week mean change
    sentence        VARCHAR  -- NOT NULL: the sentence in Chinese, as a weekly monitor writes it
);

-- Per trading day: regime, all-A and CSI 2000 returns, turnover, the next-day return of the day's limit-up
-- stocks and forward returns at 1/5/10/20 days (note 000, domain.md §4). Forward columns fill as later days are
-- stored: a run re-reads 21 trading days ahead. Row key: (trade_date).
CREATE TABLE research.market_daily (
    trade_date               DATE,    -- NOT NULL: trading day
    regime                   VARCHAR, -- market regime of the configured table (domain.md §4); null outside it [one of 'bull', 'range', 'bear']
    all_a_return             DOUBLE,  -- whole-market return on the day
    all_a_source             VARCHAR, -- NOT NULL: official: the source's all-A index; simulated: the synthetic market's own index; computed: float-cap weighted over the stored bars (previous-day weights; equal where none) [one of 'official', 'simulated', 'computed']
    csi2000_return           DOUBLE,  -- CSI 2000 (932000) return; null where not stored
    total_amount             DOUBLE,  -- the stored bars' amount traded, CNY
    limit_up_next_day_return DOUBLE,  -- mean close-to-close return t → next trading day of t's eligible limit-up stocks that trade that day. Evaluation data: reads days after t, never a signal for t.
    limit_up_next_day_count  INTEGER, -- NOT NULL: how many of them traded the next day
    all_a_fwd_1              DOUBLE,  -- all-A return compounded from the close of t over the next 1 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    all_a_fwd_5              DOUBLE,  -- all-A return compounded from the close of t over the next 5 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    all_a_fwd_10             DOUBLE,  -- all-A return compounded from the close of t over the next 10 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    all_a_fwd_20             DOUBLE,  -- all-A return compounded from the close of t over the next 20 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    csi2000_fwd_1            DOUBLE,  -- CSI 2000 return compounded from the close of t over the next 1 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    csi2000_fwd_5            DOUBLE,  -- CSI 2000 return compounded from the close of t over the next 5 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    csi2000_fwd_10           DOUBLE,  -- CSI 2000 return compounded from the close of t over the next 10 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    csi2000_fwd_20           DOUBLE,  -- CSI 2000 return compounded from the close of t over the next 20 trading day(s); null when that runs past the last stored day. Evaluation data: reads days after t, never a signal for t.
    source                   VARCHAR  -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
);

-- Per market regime (and all days): height and promotion rate as note 000 describes them. Row key: (regime).
CREATE TABLE research.regime_summary (
    regime              VARCHAR, -- NOT NULL: bull, range or bear (domain.md §4), or 'all' for every stored day [one of 'bull', 'range', 'bear', 'all']
    first_day           DATE,    -- NOT NULL: first stored day of the regime
    last_day            DATE,    -- NOT NULL: last stored day of the regime
    days                INTEGER, -- NOT NULL: stored trading days
    height_mode         INTEGER, -- NOT NULL: most frequent daily height (smallest on a tie)
    height_q1           DOUBLE,  -- NOT NULL: daily height, first quartile
    height_median       DOUBLE,  -- NOT NULL: daily height, median
    height_q3           DOUBLE,  -- NOT NULL: daily height, third quartile
    share_height_ge6    DOUBLE,  -- NOT NULL: share of days with height ≥ 6
    rate_days           INTEGER, -- NOT NULL: days with a promotion rate
    rate_median         DOUBLE,  -- median promotion rate
    share_rate_gt25     DOUBLE,  -- share of those days with rate > 25%
    mean_limit_up_count DOUBLE,  -- NOT NULL: mean daily count of eligible limit-ups
    source              VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    period_start        DATE,    -- NOT NULL: first trading day the figures read
    period_end          DATE     -- NOT NULL: last trading day the figures read
);

-- Per regime (and all days): the distribution of daily height and of promotion rate. Row key: (regime, measure,
-- bucket_low).
CREATE TABLE research.regime_distribution (
    regime       VARCHAR, -- NOT NULL: bull, range or bear (domain.md §4), or 'all' for every stored day [one of 'bull', 'range', 'bear', 'all']
    measure      VARCHAR, -- NOT NULL: which distribution [one of 'max_height', 'promotion_rate']
    bucket_low   DOUBLE,  -- NOT NULL: the height, or the rate bucket's lower bound (fraction)
    bucket       VARCHAR, -- NOT NULL: label: the height, or e.g. '25–30%' (lower bound included)
    days         INTEGER, -- NOT NULL: days in the bucket
    share        DOUBLE,  -- NOT NULL: share of the regime's days with the measure
    source       VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    period_start DATE,    -- NOT NULL: first trading day the figures read
    period_end   DATE     -- NOT NULL: last trading day the figures read
);

-- Per regime (and all days): correlation of the promotion rate with the next day's returns. Row key: (regime,
-- target, method).
CREATE TABLE research.rate_correlation (
    regime       VARCHAR, -- NOT NULL: bull, range or bear (domain.md §4), or 'all' for every stored day [one of 'bull', 'range', 'bear', 'all']
    target       VARCHAR, -- NOT NULL: limit_up_next_day (t's limit-ups on t+1) or all_a_next_day [one of 'limit_up_next_day', 'all_a_next_day']
    method       VARCHAR, -- NOT NULL: SciPy pearsonr or spearmanr [one of 'pearson', 'spearman']
    coefficient  DOUBLE,  -- null with fewer than 3 pairs or a constant series
    n            INTEGER, -- NOT NULL: days with both values
    p_value      DOUBLE,  -- two-sided p-value
    source       VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    period_start DATE,    -- NOT NULL: first trading day the figures read
    period_end   DATE     -- NOT NULL: last trading day the figures read
);

-- Per phase: mean forward return, win rate and odds at 1/5/10/20 days (note 000). Row key: (phase_code, target,
-- horizon).
CREATE TABLE research.phase_forward (
    phase_code   VARCHAR, -- NOT NULL: the phase of day t [one of 'ice_slump', 'ice_buildup', 'ice_stirring', 'chaos_cooling', 'chaos_tug_of_war', 'chaos_active', 'mainline_divergence', 'mainline_steady', 'mainline_acceleration', 'climax_fading', 'climax_splitting', 'climax_euphoria']
    phase_name   VARCHAR, -- NOT NULL: its Chinese name [one of '冰点低迷期', '冰点蓄势期', '冰点异动期', '混沌降温期', '混沌拉锯期', '混沌活跃期', '主线分歧期', '主线稳健期', '主线加速期', '高潮衰退期', '高潮分化期', '高潮亢奋期']
    target       VARCHAR, -- NOT NULL: limit_ups: t's limit-up stocks on t+1; all_a / csi2000: the index [one of 'limit_ups', 'all_a', 'csi2000']
    horizon      INTEGER, -- NOT NULL: trading days after t [one of 1, 5, 10, 20]
    days         INTEGER, -- NOT NULL: phase days with the forward return
    mean_return  DOUBLE,  -- NOT NULL: mean forward return
    win_rate     DOUBLE,  -- NOT NULL: share of forward returns > 0
    odds         DOUBLE,  -- mean gain ÷ mean loss; null without a loss
    source       VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    period_start DATE,    -- NOT NULL: first trading day the figures read
    period_end   DATE     -- NOT NULL: last trading day the figures read
);

-- Per phase and index: the mean cumulative return on each of the 20 trading days after. Row key: (phase_code,
-- target, day).
CREATE TABLE research.phase_path (
    phase_code      VARCHAR, -- NOT NULL: the phase of day t [one of 'ice_slump', 'ice_buildup', 'ice_stirring', 'chaos_cooling', 'chaos_tug_of_war', 'chaos_active', 'mainline_divergence', 'mainline_steady', 'mainline_acceleration', 'climax_fading', 'climax_splitting', 'climax_euphoria']
    phase_name      VARCHAR, -- NOT NULL: its Chinese name [one of '冰点低迷期', '冰点蓄势期', '冰点异动期', '混沌降温期', '混沌拉锯期', '混沌活跃期', '主线分歧期', '主线稳健期', '主线加速期', '高潮衰退期', '高潮分化期', '高潮亢奋期']
    target          VARCHAR, -- NOT NULL: the index [one of 'all_a', 'csi2000']
    day             INTEGER, -- NOT NULL: trading days after t
    days            INTEGER, -- NOT NULL: phase days whose whole 20-day path is stored
    mean_cum_return DOUBLE,  -- NOT NULL: mean return from the close of t to the close of t+day
    source          VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    period_start    DATE,    -- NOT NULL: first trading day the figures read
    period_end      DATE     -- NOT NULL: last trading day the figures read
);

-- Per trading week and concept: share of market turnover and its percentile in the concept's own trailing year
-- (crowding, note 000's weekly review). Row key: (week_start, concept).
CREATE TABLE review.crowding (
    week_start      DATE,    -- NOT NULL: the week's Monday (the partition key)
    concept         VARCHAR, -- NOT NULL: concept board
    amount_share    DOUBLE,  -- NOT NULL: its members' amount ÷ the market's, over the week
    window_weeks    INTEGER, -- NOT NULL: weeks of its share in the trailing 52
    crowding        DOUBLE,  -- percentile of amount_share among those weeks (share ≤ it, × 100); null with fewer than 26
    crowding_change DOUBLE,  -- crowding − the previous week's
    rank            INTEGER, -- 1 = most crowded (ties: larger share first)
    source          VARCHAR  -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
);

-- Per trading week: note 000's market review, each figure with its change on the week before. Row key:
-- (week_start).
CREATE TABLE review.weekly (
    week_start                DATE,    -- NOT NULL: the week's Monday (the partition key)
    week_end                  DATE,    -- NOT NULL: the week's last stored trading day
    trading_days              INTEGER, -- NOT NULL: stored trading days in the week
    all_a_return              DOUBLE,  -- all-A return over the week (compounded)
    all_a_return_change       DOUBLE,  -- all_a_return − the previous trading week's; null in the first week
    avg_amount                DOUBLE,  -- mean daily amount traded (成交额), CNY
    avg_amount_change         DOUBLE,  -- avg_amount − the previous trading week's; null in the first week
    avg_up_count              DOUBLE,  -- mean daily number of rising eligible stocks
    avg_up_count_change       DOUBLE,  -- avg_up_count − the previous trading week's; null in the first week
    avg_limit_up_count        DOUBLE,  -- mean daily eligible limit-up count
    avg_limit_up_count_change DOUBLE,  -- avg_limit_up_count − the previous trading week's; null in the first week
    main_net_flow             DOUBLE,  -- main-force net inflow summed over the week, CNY; null when the source has no flows
    main_net_flow_change      DOUBLE,  -- main_net_flow − the previous trading week's; null in the first week
    margin_balance            DOUBLE,  -- margin balance (融资融券余额) at the week's last day with one, CNY
    margin_balance_change     DOUBLE,  -- margin_balance − the previous trading week's; null in the first week
    max_height                INTEGER, -- the week's highest daily height
    phases                    VARCHAR, -- the week's phases with their days, in order
    top_concepts              VARCHAR, -- the five most crowded concepts with their crowding
    source                    VARCHAR  -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
);

-- One row per strategy: its parameters and what it earned after costs under A-share trading rules, beside the
-- all-A benchmark over the same days. Row key: (strategy).
CREATE TABLE backtest.runs (
    strategy                    VARCHAR, -- NOT NULL: strategy name (the asset's name)
    source                      VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    description                 VARCHAR, -- NOT NULL: what the strategy holds, in one sentence
    params                      VARCHAR, -- NOT NULL: the strategy's and the engine's parameters, JSON
    start_date                  DATE,    -- NOT NULL: first day of the backtest (first stored day of core.daily_bars)
    end_date                    DATE,    -- NOT NULL: last day of the backtest
    membership_date             DATE,    -- the latest membership the strategy used, as of its last decision day: the newest raw.concept_membership snapshot_date in force (concept strategies; the first snapshot when the day precedes it), the latest raw.industry_history start_date on or before it (SW industry strategies), or the latest raw.index_membership effective_date on or before it (heat_rotation, whose index groups it is); null for strategies that use no membership
    days                        INTEGER, -- NOT NULL: market trading days from start_date to end_date
    signal_days                 INTEGER, -- NOT NULL: decision days with at least one name to hold
    final_nav                   DOUBLE,  -- NOT NULL: NAV at end_date, CNY
    total_return                DOUBLE,  -- NOT NULL: final NAV ÷ starting capital − 1
    annual_return               DOUBLE,  -- NOT NULL: (1 + total_return)^(252 / days) − 1
    annual_volatility           DOUBLE,  -- NOT NULL: standard deviation of daily returns × √252
    sharpe                      DOUBLE,  -- mean daily excess return ÷ its standard deviation × √252; null for a flat NAV
    max_drawdown                DOUBLE,  -- NOT NULL: deepest fall from a running peak of the NAV, ≤ 0
    max_drawdown_peak           DATE,    -- day of the peak before the deepest fall; null when the peak is the starting capital
    max_drawdown_trough         DATE,    -- day of the deepest fall's trough
    calmar                      DOUBLE,  -- annual_return ÷ |max_drawdown|; null without a drawdown
    round_trips                 INTEGER, -- NOT NULL: closed round trips (a position from zero back to zero)
    win_rate                    DOUBLE,  -- share of round trips with a profit after costs
    profit_loss_ratio           DOUBLE,  -- mean profit of winning round trips ÷ mean loss of losing ones
    round_trip_mean_return      DOUBLE,  -- mean return of a round trip after every cost
    signal_next_day_return      DOUBLE,  -- what note 000 measures: mean over signal days of the chosen stocks' close-to-close return to the next trading day, before costs; null for strategies without one
    signal_overnight_gap        DOUBLE,  -- mean over signal days of the chosen stocks' close-to-next-open return: the part of the note's measure a buyer at the next open cannot get
    signal_open_to_open_return  DOUBLE,  -- mean over signal days of the chosen stocks' next open to the open after, before costs: what the strategy can get
    trades                      INTEGER, -- NOT NULL: rows in backtest.trades
    blocked_orders              INTEGER, -- NOT NULL: rows in backtest.blocked_orders
    annual_turnover             DOUBLE,  -- NOT NULL: (buys + sells) ÷ 2 ÷ mean NAV, per 252 days
    total_costs                 DOUBLE,  -- NOT NULL: commission + stamp duty + slippage paid, CNY
    returns_by_year             VARCHAR, -- NOT NULL: calendar-year returns, JSON {year: return}
    ytd_return                  DOUBLE,  -- return of the last calendar year in the period, to end_date
    weekly_hit_rate             DOUBLE,  -- share of trading weeks with a gain, among the weeks with a position
    benchmark                   VARCHAR, -- NOT NULL: the benchmark series: the source's all-A index (simulated: the synthetic market's own), or computed from the bars (float-cap weighted, previous-day caps) [one of 'all_a official', 'all_a simulated', 'all_a computed']
    benchmark_total_return      DOUBLE,  -- NOT NULL: the benchmark's total return over the same days
    benchmark_annual_return     DOUBLE,  -- NOT NULL: the benchmark's annualised return
    benchmark_annual_volatility DOUBLE,  -- NOT NULL: the benchmark's annualised volatility
    benchmark_sharpe            DOUBLE,  -- the benchmark's Sharpe ratio
    benchmark_max_drawdown      DOUBLE,  -- NOT NULL: the benchmark's maximum drawdown
    benchmark_returns_by_year   VARCHAR, -- NOT NULL: the benchmark's calendar-year returns, JSON
    chart_path                  VARCHAR  -- PNG of the equity curve, drawdown and benchmark
);

-- Per strategy and day: the NAV, its cash and positions, drawdown and the benchmark's NAV. Row key: (strategy,
-- trade_date).
CREATE TABLE backtest.nav (
    strategy        VARCHAR, -- NOT NULL: strategy name (the asset's name)
    source          VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    trade_date      DATE,    -- NOT NULL: trading day
    nav             DOUBLE,  -- NOT NULL: cash + positions at the close, CNY
    cash            DOUBLE,  -- NOT NULL: cash at the close, CNY (never negative)
    positions_value DOUBLE,  -- NOT NULL: shares × close (last close while suspended), CNY
    drawdown        DOUBLE,  -- NOT NULL: nav ÷ its running peak (from the starting capital) − 1
    benchmark_nav   DOUBLE   -- the benchmark grown from the same capital; null on days without a benchmark return
);

-- The trade ledger of every strategy: one row per executed order. Row key: (strategy, trade_date, code, side).
CREATE TABLE backtest.trades (
    strategy       VARCHAR, -- NOT NULL: strategy name (the asset's name)
    source         VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    trade_date     DATE,    -- NOT NULL: day of the execution (at the open; a delisting at the last close)
    code           VARCHAR, -- NOT NULL: stock code, or index series name
    side           VARCHAR, -- NOT NULL: buy or sell [one of 'buy', 'sell']
    shares         DOUBLE,  -- NOT NULL: shares (whole lots for stocks; units for index series)
    price          DOUBLE,  -- NOT NULL: execution price before slippage, CNY
    amount         DOUBLE,  -- NOT NULL: shares × price, CNY
    commission     DOUBLE,  -- NOT NULL: commission, CNY (rate × amount, at least the minimum)
    stamp_duty     DOUBLE,  -- NOT NULL: stamp duty on sells at the rate of the day, CNY
    slippage_cost  DOUBLE,  -- NOT NULL: slippage paid, CNY
    reason         VARCHAR, -- NOT NULL: rebalance (a decision), retry (a blocked order) or delisted [one of 'rebalance', 'retry', 'delisted']
    position_after DOUBLE   -- NOT NULL: shares held after the trade (0: the holding is closed)
);

-- Orders the trading rules stopped, with the reason; retried at the next open unless dropped. Row key:
-- (strategy, trade_date, code, side).
CREATE TABLE backtest.blocked_orders (
    strategy   VARCHAR, -- NOT NULL: strategy name (the asset's name)
    source     VARCHAR, -- NOT NULL: market source the figures come from: synthetic (a simulated market: never evidence about the real one), tdx, akshare or baostock
    trade_date DATE,    -- NOT NULL: day the order could not execute
    code       VARCHAR, -- NOT NULL: stock code, or index series name
    side       VARCHAR, -- NOT NULL: buy or sell [one of 'buy', 'sell']
    shares     DOUBLE,  -- shares of the order; null for a buy that could not be sized (no bar to price it)
    reason     VARCHAR  -- NOT NULL: suspended (no bar), delisted (no bar again), limit_up_open (a buy at a limit-up open), limit_down_open (a sell at a limit-down open) [one of 'suspended', 'delisted', 'limit_up_open', 'limit_down_open']
);
