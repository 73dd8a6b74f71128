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
