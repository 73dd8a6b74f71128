"""The real Dagster definitions, materialized into a temporary DuckDB file and queried."""

import duckdb
import polars as pl
import dagster as dg

from sentiment_pipeline.catalog import ASSETS
from sentiment_pipeline.definitions import build_definitions
from sentiment_pipeline.platform.partitions import trading_day_partitions, trading_week_partitions
from sentiment_pipeline.sources.synthetic import SyntheticSource

TABLES = ["raw.daily_quotes", "core.daily_bars", "sentiment.limit_ladder", "sentiment.ladder_daily",
          "sentiment.phase_daily"]


RAW_DAILY = ["limit_up_pools", "main_fund_flows", "northbound_flows", "attention", "index_daily", "margin_balance",
             "suspensions"]
RAW_REFERENCE = ["index_membership", "industry_history", "concept_membership"]
QUALITY = ["quality/limit_up_reconciliation", "quality/limit_up_disagreements"]
STMS = ["stms/sector_daily", "stms/scores", "stms/top_list"]
BACKTEST = ["backtest/stms_top_sw", "backtest/stms_top_sw_weekly", "backtest/stms_risers_sw", "backtest/stms_three_highs_sw",
            "backtest/stms_top_concept", "backtest/phase_limit_up_follow", "backtest/heat_rotation",
            "backtest/concept_heat_top", "backtest/concept_heat_bottom", "backtest/concept_heat_baskets_top",
            "backtest/concept_heat_baskets_bottom"]
# Each strategy's rows of backtest.nav, .trades and .blocked_orders are assets too (its row of backtest.runs is its key).
BACKTEST += [f"{k}_{table}" for k in BACKTEST for table in ("nav", "trades", "blocked_orders")]
# The backtests of the heat tables: never run here either.
HEAT_BACKTESTS = ("heat_rotation", "concept_heat_top", "concept_heat_bottom", "concept_heat_baskets_top",
                  "concept_heat_baskets_bottom")
HEAT_DAILY = ["heat/stock_daily", "heat/group_daily", "heat/sector_daily"]
HEAT_WEEKLY = ["heat/group_weekly", "heat/sector_weekly", "heat/rotation", "heat/concept_portfolios",
               "heat/weekly_monitor"]
RESEARCH = ["research/regime_summary", "research/regime_distribution", "research/rate_correlation",
            "research/phase_forward", "research/phase_path"]
REVIEW = ["review/crowding", "review/weekly"]


def run(defs, start, end, raise_on_error=True, stms=False, backtest=False):
    """Materialize a range; STMS (its 20-day windows need the days before the range) and the backtests
    (whole history, test_backtest_assets.py) only on request; never the heat, research or review
    (test_heat_assets.py, test_research_assets.py)."""
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys()
            if (backtest or k.path[0] != "backtest") and (stms or k.path[0] not in ("stms", "backtest"))
            and k.path[0] not in ("heat", "research", "review") and k.path[-1] not in HEAT_BACKTESTS]
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        raise_on_error=raise_on_error, asset_selection=keys,
    )


def read(db, sql):
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


def snapshot(db):
    order = {"sentiment.ladder_daily": "trade_date", "sentiment.phase_daily": "trade_date"}
    return {t: read(db, f"select * from {t} order by {order.get(t, 'trade_date, code')}") for t in TABLES}


def test_partitions_are_trading_days():
    keys = trading_day_partitions.get_partition_keys()
    assert keys[0] == "2019-01-02"
    assert "2019-02-04" not in keys and "2019-02-11" in keys  # Spring Festival 2019
    i = keys.index("2024-10-08")
    assert keys[i - 1] == "2024-09-30"  # National Day week
    assert trading_day_partitions.timezone == "Asia/Shanghai"


def test_definitions_list_assets_partitions_and_checks(pipeline_env):
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"raw/securities", "raw/daily_quotes", "core/daily_bars", "core/index_groups", "sentiment/limit_ladder",
                    "sentiment/ladder_daily", "sentiment/phase_daily", *(f"raw/{r}" for r in RAW_DAILY),
                    *(f"raw/{r}" for r in RAW_REFERENCE), *QUALITY, *STMS, *BACKTEST, *HEAT_DAILY, *HEAT_WEEKLY,
                    "research/market_daily", *RESEARCH, *REVIEW}
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert {(k, "schema_valid") for k in keys} | {("quality/limit_up_reconciliation", "limit_up_agreement"),
                                                  ("stms/sector_daily", "complete_windows"),
                                                  ("stms/sector_daily", "sw_l1_taxonomy"),
                                                  ("stms/sector_daily", "sw_l1_complete"),
                                                  ("core/index_groups", "csi_list_size")} == checks
    for key in keys:
        node = graph.get(dg.AssetKey.from_user_string(key))
        unpartitioned = key in ("raw/securities", *BACKTEST, *RESEARCH) or key.removeprefix("raw/") in RAW_REFERENCE
        weekly = key in (*HEAT_WEEKLY, *REVIEW)
        expected = None if unpartitioned else (trading_week_partitions if weekly else trading_day_partitions)
        assert node.partitions_def == expected, key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_materialize_a_range_then_query_and_rerun_identically(pipeline_env):
    defs = build_definitions()
    result = run(defs, "2019-03-01", "2019-03-08")
    assert result.success
    checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 21  # a schema check per asset (19), the reconciliation's agreement, the CSI list sizes
    assert all(e.event_specific_data.passed for e in checks if e.event_specific_data.asset_check_key.name == "schema_valid")
    # The synthetic vendor's pool agrees on every limit-up; the rest is runs older than our history
    # (the range has no stored past) and new listings, which the vendor leaves out of its pool.
    agreement = next(e.event_specific_data for e in checks
                     if e.event_specific_data.asset_check_key.name == "limit_up_agreement")
    assert agreement.metadata["found_share"].value == 1.0 and agreement.metadata["days_compared"].value == 6
    reasons = read(pipeline_env, "select distinct reason from quality.limit_up_disagreements order by 1")
    assert reasons["reason"].to_list() == ["history_start", "new_listing"]
    first = snapshot(pipeline_env)
    daily = first["sentiment.ladder_daily"]
    assert daily["trade_date"].cast(pl.String).to_list() == [
        "2019-03-01", "2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07", "2019-03-08"]
    bars = first["core.daily_bars"]
    assert bars.height == first["raw.daily_quotes"].height > 20_000
    assert set(bars["exchange"].unique()) <= {"SH", "SZ", "BJ"}
    # ladder_daily agrees with the per-stock ladder it summarises
    ladder = first["sentiment.limit_ladder"]
    lu = ladder.filter("eligible", "is_limit_up").group_by("trade_date").len().sort("trade_date")
    assert lu["len"].cast(pl.Int32).to_list() == daily["limit_up_count"].to_list()
    assert first["sentiment.phase_daily"]["trade_date"].to_list() == daily["trade_date"].to_list()
    # the first day of the range had no stored previous day: no rates, no phase
    assert daily["promotion_rate"][0] is None
    assert first["sentiment.phase_daily"]["no_phase_reason"][0] == "previous_day_missing"

    assert run(defs, "2019-03-01", "2019-03-08").success
    second = snapshot(pipeline_env)
    for t in TABLES:
        assert first[t].equals(second[t]), t


def test_ranges_chain_through_the_stored_previous_day(pipeline_env):
    defs = build_definitions()
    assert run(defs, "2019-03-01", "2019-03-29").success
    whole = snapshot(pipeline_env)
    pipeline_env.unlink()
    assert run(defs, "2019-03-01", "2019-03-15").success
    assert run(defs, "2019-03-18", "2019-03-29").success
    split = snapshot(pipeline_env)
    for t in TABLES:
        assert whole[t].equals(split[t]), t
    assert split["sentiment.ladder_daily"].filter(pl.col("trade_date") == pl.date(2019, 3, 18))["promotion_rate"][0] is not None


class ChangedHistorySource(SyntheticSource):
    """The synthetic market with every 2019-03-12 close pinned to its limit-up (a corrected history)."""

    def daily_quotes(self, start, end):
        df = super().daily_quotes(start, end)
        day = pl.col("trade_date") == pl.date(2019, 3, 12)
        lu = (pl.col("pre_close") * 1.1 * 100 + 0.5).floor() / 100
        main = pl.col("code").str.starts_with("60") & ~pl.col("is_st")
        return df.with_columns(
            close=pl.when(day & main).then(lu).otherwise(pl.col("close")),
            high=pl.when(day & main).then(pl.max_horizontal(lu, "high")).otherwise(pl.col("high")),
        )


def test_rewriting_a_range_in_the_middle_keeps_later_days_consistent(pipeline_env):
    defs = build_definitions()
    assert run(defs, "2019-03-01", "2019-03-29").success
    before = snapshot(pipeline_env)
    # Unchanged input: later days proven unchanged.
    result = run(defs, "2019-03-11", "2019-03-13")
    # The run's own figures are on its schema check, not copied onto every day's materialization.
    meta = next(e.event_specific_data.metadata for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.asset_key == dg.AssetKey(["sentiment", "limit_ladder"]))
    assert meta["later_rows_recomputed"].value == 0 and meta["later_rows_checked"].value > 0
    assert all(before[t].equals(snapshot(pipeline_env)[t]) for t in TABLES)
    # Changed input: streaks after the range are recomputed, and match a clean run on the new history.
    changed = dg.Definitions(assets=ASSETS, resources={**defs.resources, "market_source": ChangedHistorySource(
        seed=7, cache_dir=defs.resources["market_source"].cache_dir)}, executor=dg.in_process_executor)
    assert run(changed, "2019-03-11", "2019-03-13").success
    rewritten = snapshot(pipeline_env)
    assert not rewritten["sentiment.limit_ladder"].equals(before["sentiment.limit_ladder"])
    pipeline_env.unlink()
    assert run(changed, "2019-03-01", "2019-03-29").success
    clean = snapshot(pipeline_env)
    for t in ("sentiment.limit_ladder", "sentiment.ladder_daily", "sentiment.phase_daily"):
        assert clean[t].equals(rewritten[t]), t


class BrokenSource(SyntheticSource):
    """Returns one bar whose high is below its close."""

    def daily_quotes(self, start, end):
        df = super().daily_quotes(start, end)
        return df.with_columns(
            high=pl.when((pl.col("code") == "600000") & (pl.col("trade_date") == pl.date(2019, 3, 5)))
            .then(pl.col("close") - 0.5).otherwise(pl.col("high"))
        )


def test_bad_input_stops_the_run_names_the_problem_and_writes_nothing(pipeline_env):
    defs = build_definitions()
    bad = dg.Definitions(assets=ASSETS, resources={**defs.resources, "market_source": BrokenSource(
        seed=7, cache_dir=defs.resources["market_source"].cache_dir)}, executor=dg.in_process_executor)
    result = run(bad, "2019-03-04", "2019-03-06", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.message) + str(failure.event_specific_data.user_failure_data)
    for needle in ("raw.daily_quotes", "2019-03-04...2019-03-06", "low <= open, close <= high",
                   "code=600000", "trade_date=2019-03-05"):
        assert needle in message, needle
    check = next(e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.asset_key == dg.AssetKey(["raw", "daily_quotes"]))
    assert check.event_specific_data.passed is False
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert not started & {"core__daily_bars", "sentiment__limit_ladder", "limit_up_reconciliation"}, started
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        tables = {r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema not like '\\_%' escape '\\'").fetchall()}
    # Nothing of the failed table or anything downstream of it; independent raw datasets may land.
    assert not tables & {"raw.daily_quotes", "core.daily_bars", *[t for t in tables if t.split(".")[0] in
                                                                   ("sentiment", "quality")]}, tables
    materialized = {e.asset_key.path[0] + "." + e.asset_key.path[1] for e in result.all_events
                    if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert materialized == {"raw.securities", *(f"raw.{r}" for r in RAW_DAILY + RAW_REFERENCE)}, materialized


def test_sql_contract_matches_the_written_tables(chain_db):
    import re
    from pathlib import Path

    # The session's chain starts at the first partition, so STMS has complete windows and every table is written.
    db = chain_db[0]
    ddl = (Path(__file__).resolve().parents[1] / "sql" / "tables.sql").read_text()
    documented = {
        m.group(1): [tuple(line.split()[:2]) for line in m.group(2).splitlines()
                     if line.strip() and not line.strip().startswith("--")]
        for m in re.finditer(r"CREATE TABLE (\S+) \((.*?)\n\);", ddl, re.S)
    }
    with duckdb.connect(str(db), read_only=True) as conn:
        for table, columns in documented.items():
            actual = [(r[0], r[1]) for r in conn.execute(f"describe {table}").fetchall()]
            assert [(c, t.rstrip(",")) for c, t in columns] == actual, table
    assert len(documented) == 42
