-- The DuckDB tables the pipeline writes: the contract for consumers.
-- Database file: $SENTIMENT_DUCKDB_PATH (default data/market.duckdb). Every partitioned table is
-- written per trading day through its `trade_date` column (a re-run replaces its days).
-- Rates are fractions (0.25 = 25%). Prices in CNY. The tests check this file against the real tables.

-- Securities master as the source gives it. Row key: code.
CREATE TABLE raw.securities (
    code        VARCHAR,  -- 6-digit code, e.g. '600519'
    name        VARCHAR,  -- null where the source has no names (tdx)
    exchange    VARCHAR,  -- 'SH', 'SZ' or 'BJ'
    board       VARCHAR,  -- 'main', 'chinext', 'star' or 'bse'
    list_date   DATE,     -- null when listed before the source's history starts
    delist_date DATE      -- null while listed
);

-- The source's daily bars as given; suspended days have no row. Row key: (trade_date, code).
CREATE TABLE raw.daily_quotes (
    trade_date    DATE,
    code          VARCHAR,
    open          DOUBLE,
    high          DOUBLE,
    low           DOUBLE,
    close         DOUBLE,
    pre_close     DOUBLE,   -- exchange reference close (ex-rights adjusted); tdx: previous record's close
    volume        BIGINT,   -- shares
    amount        DOUBLE,   -- CNY
    turnover_rate DOUBLE,   -- fraction of float shares; null for tdx
    float_mcap    DOUBLE,   -- float market cap, CNY; null for tdx
    is_st         BOOLEAN   -- ST/*ST on that day; null for tdx
);

-- Validated bars with limit prices and flags. Row key: (trade_date, code).
CREATE TABLE core.daily_bars (
    trade_date       DATE,
    code             VARCHAR,
    exchange         VARCHAR,  -- 'SH', 'SZ', 'BJ'
    board            VARCHAR,  -- 'main', 'chinext', 'star', 'bse'
    is_st            BOOLEAN,
    open             DOUBLE,
    high             DOUBLE,
    low              DOUBLE,
    close            DOUBLE,
    pre_close        DOUBLE,
    volume           BIGINT,
    amount           DOUBLE,
    turnover_rate    DOUBLE,
    float_mcap       DOUBLE,
    list_date        DATE,
    listing_age      INTEGER,  -- exchange trading days since listing, 1 on the listing day; null if unknown
    limit_up_price   DOUBLE,   -- null on days without a limit (new-listing windows)
    limit_down_price DOUBLE,
    is_limit_up      BOOLEAN,  -- close == limit_up_price (涨停)
    is_broken        BOOLEAN,  -- high == limit_up_price and close < it (炸板)
    is_one_word      BOOLEAN,  -- open == high == low == close == limit_up_price (一字板)
    is_limit_down    BOOLEAN   -- close == limit_down_price (跌停)
);

-- Per stock and day: the ladder (连板). Row key: (trade_date, code).
CREATE TABLE sentiment.limit_ladder (
    trade_date       DATE,
    code             VARCHAR,
    is_st            BOOLEAN,
    listing_age      INTEGER,
    is_limit_up      BOOLEAN,
    is_broken        BOOLEAN,
    is_limit_down    BOOLEAN,
    pct_change       DOUBLE,   -- close / pre_close - 1
    streak           INTEGER,  -- consecutive limit-up days; the stock's previous trading day counts (suspensions do not break it)
    in_opening_run   BOOLEAN,  -- listing day and the limit-ups straight after it
    eligible         BOOLEAN,  -- counted in the sentiment statistics
    exclusion_reason VARCHAR   -- 'st', 'new_listing', 'st+new_listing' or null
);

-- Per day, over the eligible universe. Row key: trade_date.
CREATE TABLE sentiment.ladder_daily (
    trade_date          DATE,
    limit_up_count      INTEGER,
    broken_count        INTEGER,
    limit_down_count    INTEGER,
    up_count            INTEGER,  -- close > pre_close
    down_count          INTEGER,  -- close < pre_close
    seal_rate           DOUBLE,   -- limit_up / (limit_up + broken); null when both are 0
    max_height          INTEGER,  -- 最高连板; 0 without limit-ups
    count_h1            INTEGER,  -- stocks with streak 1 … 9
    count_h2            INTEGER,
    count_h3            INTEGER,
    count_h4            INTEGER,
    count_h5            INTEGER,
    count_h6            INTEGER,
    count_h7            INTEGER,
    count_h8            INTEGER,
    count_h9            INTEGER,
    count_h10_plus      INTEGER,  -- streak >= 10
    prev_trade_date     DATE,     -- the market's previous trading day
    prev_limit_up_count INTEGER,  -- null when that day is not stored
    has_previous_day    BOOLEAN,
    promotion_rate      DOUBLE,   -- streak >= 2 today / limit-ups on prev_trade_date (晋级率)
    rate_1to2           DOUBLE,   -- streak 2 today / streak 1 yesterday
    rate_2to3           DOUBLE,
    rate_3to4           DOUBLE,
    rate_4plus          DOUBLE    -- streak >= 5 today / streak >= 4 yesterday
);

-- Per day: the sentiment phase (note 000). Row key: trade_date.
CREATE TABLE sentiment.phase_daily (
    trade_date      DATE,
    max_height      INTEGER,
    promotion_rate  DOUBLE,
    phase_code      VARCHAR,  -- e.g. 'ice_slump' … 'climax_euphoria' (README lists all 12)
    phase_name      VARCHAR,  -- e.g. '冰点低迷期'
    no_phase_reason VARCHAR   -- 'previous_day_missing', 'no_limit_up_previous_day', 'max_height_below_2'
);

-- ---------------------------------------------------------------------------------------- raw side datasets

-- Published limit-up pools, kept every day (upstream keeps recent days only). Row key: (trade_date, pool, code).
-- synthetic: derived from the simulated bars; tdx: THS CSVs when SENTIMENT_THS_DIR is set; akshare: East Money.
CREATE TABLE raw.limit_up_pools (
    trade_date      DATE,
    pool            VARCHAR,  -- 'limit_up', 'previous' (yesterday's limit-ups, today), 'broken' or 'limit_down'
    code            VARCHAR,
    name            VARCHAR,
    close           DOUBLE,
    pct_change      DOUBLE,   -- fraction
    amount          DOUBLE,   -- CNY
    float_mcap      DOUBLE,   -- CNY
    turnover_rate   DOUBLE,   -- fraction
    sealed_amount   DOUBLE,   -- CNY on the limit bid at the close (封板资金 / 封单额)
    first_seal_time VARCHAR,  -- 'HH:MM:SS'
    last_seal_time  VARCHAR,  -- 'HH:MM:SS'; the 'previous' pool: yesterday's seal time
    broken_count    INTEGER,  -- times the seal opened
    streak          INTEGER,  -- the publisher's consecutive height ('previous': yesterday's); null when not stated
    limit_up_stat   VARCHAR,  -- the publisher's boards-in-days text: '3/2' (East Money), '3天2板' (THS)
    is_new_listing  BOOLEAN   -- the publisher flags a new listing (THS only)
);

-- Main-force (super-large + large orders) net inflow. Row key: (trade_date, code).
CREATE TABLE raw.main_fund_flows (
    trade_date      DATE,
    code            VARCHAR,
    main_net_inflow DOUBLE    -- CNY
);

-- Stock Connect (northbound) holdings; no rows after 2024-08-16 (HKEX stopped daily disclosure). Row key: (trade_date, code).
CREATE TABLE raw.northbound_flows (
    trade_date            DATE,
    code                  VARCHAR,
    holding_shares        DOUBLE,  -- shares held; null for synthetic
    northbound_net_inflow DOUBLE   -- CNY; akshare: change in shares held × close
);

-- Attention: each source fills the components it has, the rest are null. Row key: (trade_date, code).
CREATE TABLE raw.attention (
    trade_date           DATE,
    code                 VARCHAR,
    browse_count         BIGINT,   -- synthetic
    watchlist_adds       BIGINT,   -- synthetic
    click_count          BIGINT,   -- synthetic
    attention_index      DOUBLE,   -- akshare daily run: East Money 关注指数
    hot_rank             INTEGER,  -- akshare: East Money popularity rank (1 = most watched)
    new_follower_share   DOUBLE,   -- akshare backfill: 新晋粉丝, fraction
    loyal_follower_share DOUBLE    -- akshare backfill: 铁杆粉丝, fraction
);

-- Index series; the whole market is index_code 'all_a' (akshare: CSI All Share 000985). Row key: (trade_date, index_code).
CREATE TABLE raw.index_daily (
    trade_date DATE,
    index_code VARCHAR,  -- '000300', '000905', '000852', '932000', 'all_a' (synthetic also '000001')
    index_name VARCHAR,
    pre_close  DOUBLE,
    close      DOUBLE,
    amount     DOUBLE    -- CNY
);

-- Whole-market margin balance (融资融券余额), published the next morning. Row key: trade_date.
CREATE TABLE raw.margin_balance (
    trade_date     DATE,
    margin_balance DOUBLE  -- CNY
);

-- CSI 300/500/1000/2000 members; one snapshot per effective date (akshare: from the first live run on).
-- Row key: (index_code, code, effective_date). Unpartitioned: rewritten whole.
CREATE TABLE raw.index_membership (
    index_code     VARCHAR,  -- '000300', '000905', '000852', '932000'
    code           VARCHAR,
    effective_date DATE,     -- the date of the weights file the snapshot came from
    weight         DOUBLE    -- fraction of the index; null for synthetic
);

-- SW level-1 classification history, named in the taxonomy of each start date. Row key: (code, start_date, taxonomy).
CREATE TABLE raw.industry_history (
    code          VARCHAR,
    start_date    DATE,
    industry_code VARCHAR,  -- level-1 code such as '480000'; null for synthetic
    industry_name VARCHAR,  -- e.g. '化工' (sw2014) and '基础化工' (sw2021)
    taxonomy      VARCHAR   -- 'sw2014' before 2021-07-30, 'sw2021' from then on
);

-- Concept board members as seen in each snapshot. Row key: (concept_name, code, snapshot_date).
CREATE TABLE raw.concept_membership (
    concept_name  VARCHAR,
    code          VARCHAR,
    snapshot_date DATE     -- synthetic: one snapshot dated 2019-01-02
);

-- ------------------------------------------------------------------------------------------------- quality

-- Per day: the published limit-up pool against our flags and streaks. Row key: trade_date.
-- Counts are null on days without a pool (pool_available false): nothing was compared.
CREATE TABLE quality.limit_up_reconciliation (
    trade_date         DATE,
    pool_available     BOOLEAN,
    pool_count         INTEGER,  -- stocks in the pool
    ours_count         INTEGER,  -- stocks core.daily_bars flags as limit-up (every stock, ST included)
    both_count         INTEGER,
    only_ours_count    INTEGER,
    only_pool_count    INTEGER,
    found_share        DOUBLE,   -- both_count / pool_count
    streak_compared    INTEGER,  -- found by both where the pool states a consecutive height
    streak_agree_count INTEGER,
    streak_agreement   DOUBLE,   -- streak_agree_count / streak_compared
    disagreement_count INTEGER   -- rows in quality.limit_up_disagreements that day
);

-- Every disagreement with its reason. Row key: (trade_date, code, kind).
CREATE TABLE quality.limit_up_disagreements (
    trade_date  DATE,
    code        VARCHAR,
    kind        VARCHAR,  -- 'only_ours', 'only_pool' or 'streak'
    our_streak  INTEGER,
    pool_streak INTEGER,
    reason      VARCHAR,  -- see README "Reconciliation" for the list and what each means
    detail      VARCHAR   -- the prices or heights behind the reason
);

-- ---------------------------------------------------------------------------------------------------- stms
-- STMS, the sector trend momentum score of note 002 (domain.md §7). Sectors: SW level-1 industries on the
-- 2021 names (28 before 2021-07-30, 31 after) and concept boards, with membership as known that day.
-- Windows count trading days. A day whose 20-day window (21 days of bars: each return needs the day before)
-- reaches before the first partition (the first 20) has no score, by design.

-- Per sector and day. Row key: (trade_date, sector_kind, sector).
CREATE TABLE stms.sector_daily (
    trade_date            DATE,
    sector_kind           VARCHAR,  -- 'sw_l1' or 'concept'
    sector                VARCHAR,  -- e.g. '银行', '人工智能'
    member_count          INTEGER,  -- members with a bar that day
    ret                   DOUBLE,   -- float-cap weighted return (weights: float cap on the previous trading day)
    ret_5d                DOUBLE,   -- compounded over the last 5 trading days; null unless all 5 exist
    ret_20d               DOUBLE,   -- … 20 trading days; null unless the window is complete and all 20 exist
    turnover              DOUBLE,   -- float-cap weighted turnover, fraction
    turnover_5d           DOUBLE,   -- mean over 5 days
    turnover_20d          DOUBLE,   -- mean over 20 days
    amount                DOUBLE,   -- CNY
    amount_5d             DOUBLE,
    main_inflow_5d        DOUBLE,   -- main-force net inflow over 5 days, CNY
    north_inflow_5d       DOUBLE,   -- northbound, CNY
    main_inflow_share_5d  DOUBLE,   -- main_inflow_5d / amount_5d
    north_inflow_share_5d DOUBLE,   -- north_inflow_5d / amount_5d; null after 2024-08-16
    limit_up_count        INTEGER,
    limit_up_share        DOUBLE,   -- members closing limit-up / member_count
    above_ma20_share      DOUBLE,   -- members closing above their MA20 / members with 20 bars in 60 days
    ma20_excluded_count   INTEGER,  -- members left out of above_ma20_share (their 20 bars span > 60 days)
    window_days           INTEGER,  -- loaded trading days among the 21 the window needs
    window_status         VARCHAR   -- 'complete', 'before_first_partition' or 'short_window'
);

-- Per sector and day with a complete window and its 5/20-day figures. Row key: (trade_date, sector_kind, sector).
CREATE TABLE stms.scores (
    trade_date     DATE,
    sector_kind    VARCHAR,
    sector         VARCHAR,
    a1             DOUBLE,   -- 100 / 75 / 50 / 0 from ret_5d vs ret_20d
    a2             DOUBLE,   -- from turnover_5d / turnover_20d
    b1             DOUBLE,   -- northbound share > 0: ascending percentile rank × 100, else 0
    b2             DOUBLE,   -- main-force share, the same (a sector without flow data ranks as zero)
    c1             DOUBLE,   -- from limit_up_share
    c2             DOUBLE,   -- 100 / 75 / 25 / 0 from above_ma20_share
    score_a        DOUBLE,   -- (a1 + a2) / 2
    score_b        DOUBLE,   -- the mean of the components in b_components (0 when 'none')
    score_c        DOUBLE,   -- (c1 + c2) / 2
    stms           DOUBLE,   -- 0.4 A + 0.3 B + 0.3 C
    rank           INTEGER,  -- 1 = best within the kind that day; ties broken by sector name
    sector_count   INTEGER,  -- sectors of the kind ranked that day
    b_components   VARCHAR,  -- 'north+main', 'main' (after 2024-08-16), 'north' or 'none': flows with data
    rank_change_1d INTEGER,  -- rank 1 trading day earlier − rank today (positive = rose)
    rank_change_2d INTEGER,
    rank_change_3d INTEGER,
    is_riser       BOOLEAN,  -- in the top group now, below the top third of the ranking 1–3 days earlier
    riser_days     INTEGER,  -- the smallest such number of days
    is_three_high  BOOLEAN,  -- total, A, B and C all in the top group
    structure      VARCHAR,  -- note 002 §4.4: fund_led_bottoming, momentum_without_funds, pure_sentiment_spike,
                             -- hot_money_theme, institution_led_trend; null when none applies
    structure_note VARCHAR   -- the sub-scores and the note's reading
);

-- The daily top list per kind. Row key: (trade_date, sector_kind, rank).
CREATE TABLE stms.top_list (
    trade_date     DATE,
    sector_kind    VARCHAR,
    rank           INTEGER,
    sector         VARCHAR,
    stms           DOUBLE,
    score_a        DOUBLE,
    score_b        DOUBLE,
    score_c        DOUBLE,
    rank_change_1d INTEGER,
    is_riser       BOOLEAN,
    is_three_high  BOOLEAN,
    structure      VARCHAR
);
