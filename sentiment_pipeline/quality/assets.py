"""Data-quality assets: our limit-ups and streaks against the published limit-up pools. Thin wiring around
reconcile.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import dagster as dg
import polars as pl

from sentiment_pipeline.ladder.tables import LimitLadder
from sentiment_pipeline.market.tables import DailyBars, LimitUpPools
from sentiment_pipeline.platform.markdown import md_table
from sentiment_pipeline.platform.partitions import partition_days, trading_day_partitions
from sentiment_pipeline.platform.tables import asset_key
from sentiment_pipeline.platform.wiring import DUCKDB_POOL, output_name, schema_check, table_out, validated
from sentiment_pipeline.quality import tables as t
from sentiment_pipeline.quality.reconcile import BARS_COLUMNS, LADDER_COLUMNS, reconcile_limit_ups, summarize

OWNER = "team:data-quality"
RECONCILIATION = asset_key(t.LimitUpReconciliation)
DISAGREEMENTS = asset_key(t.LimitUpDisagreements)
AGREEMENT_CHECK = "limit_up_agreement"
LADDER_LOOKBACK_DAYS = 30  # trading days of ladder history to tell suspensions and pre-history runs apart


class ReconciliationConfig(dg.Config):
    """Agreement below these shares (over the run's compared days) makes the check warn."""

    min_found_share: float = 0.99
    min_streak_agreement: float = 0.95


def _agreement_day(df: pl.DataFrame) -> dict:
    return {r["trade_date"]: {"pool_available": r["pool_available"], "found_share": r["found_share"],
                              "streak_agreement": r["streak_agreement"],
                              "disagreements": r["disagreement_count"]}
            for r in df.iter_rows(named=True)}


@dg.multi_asset(
    outs={output_name(m): table_out(m, group="quality", owner=OWNER)
          for m in (t.LimitUpReconciliation, t.LimitUpDisagreements)},
    ins={
        "bars": dg.AssetIn(asset_key(DailyBars), metadata={"columns": BARS_COLUMNS}),
        "ladder": dg.AssetIn(asset_key(LimitLadder), metadata={"columns": LADDER_COLUMNS},
                             partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-LADDER_LOOKBACK_DAYS)),
        "pools": dg.AssetIn(asset_key(LimitUpPools), partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1)),
    },
    check_specs=[
        schema_check(t.LimitUpReconciliation), schema_check(t.LimitUpDisagreements),
        dg.AssetCheckSpec(AGREEMENT_CHECK, asset=RECONCILIATION,
                          description="share of pool limit-ups we also flag, and of streak heights we agree on "
                                      "(warns; does not stop the run)"),
    ],
    partitions_def=trading_day_partitions, backfill_policy=dg.BackfillPolicy.single_run(), pool=DUCKDB_POOL,
    name="limit_up_reconciliation",
)
def limit_up_reconciliation(context: dg.AssetExecutionContext, config: ReconciliationConfig, bars: pl.DataFrame,
                            ladder: pl.DataFrame, pools: pl.DataFrame):
    daily, details = reconcile_limit_ups(bars, ladder, pools, partition_days(context))
    totals = summarize(daily)
    reasons = details.group_by("kind", "reason").len().sort("kind", "reason")
    found, streaks = totals["found_share"], totals["streak_agreement"]
    passed = (found is None or found >= config.min_found_share) and (
        streaks is None or streaks >= config.min_streak_agreement)
    check_meta = {**{k: v for k, v in totals.items() if v is not None},
                  "min_found_share": config.min_found_share, "min_streak_agreement": config.min_streak_agreement}
    if not totals["days_compared"]:
        context.log.info("quality.limit_up_reconciliation: no published pool for these days; nothing to compare")
    elif not passed:
        context.log.warning(f"quality.limit_up_reconciliation: agreement below threshold: {totals}")
    yield dg.AssetCheckResult(asset_key=RECONCILIATION, check_name=AGREEMENT_CHECK, passed=passed,
                              severity=dg.AssetCheckSeverity.WARN, metadata=check_meta)
    yield from validated(context, daily, t.LimitUpReconciliation, day_metadata=_agreement_day, multi_output=True)
    yield from validated(context, details, t.LimitUpDisagreements, multi_output=True, run_metadata={
        "reasons": dg.MetadataValue.md(md_table(reasons)) if reasons.height else "none"})


assets = [limit_up_reconciliation]
TABLES = [t.LimitUpReconciliation, t.LimitUpDisagreements]
