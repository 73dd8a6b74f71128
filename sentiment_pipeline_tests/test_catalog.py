"""The catalog as the UI and consumers see it: one definition per table, each asset's kinds, owner, table name,
column schema and blocking check, each day's own metadata, and the SQL contract generated from the models."""

import re
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from sentiment_pipeline.backtest import assets as backtest
from sentiment_pipeline.backtest.tables import BacktestNav, BacktestRuns, BacktestTrades, BlockedOrders
from sentiment_pipeline.catalog import ASSETS, TABLES
from sentiment_pipeline.definitions import JOB_NAME, build_definitions, feedable
from sentiment_pipeline.platform import tables
from sentiment_pipeline.research import tables as research
from sentiment_pipeline.platform.partitions import trading_week_partitions
from sentiment_pipeline.platform.wiring import SCHEMA_CHECK
from sentiment_pipeline.sources.base import MarketSource
from sentiment_pipeline.sources.synthetic import SyntheticSource

ROOT = Path(__file__).resolve().parents[1]


def test_sql_contract_is_generated_from_the_table_models():
    assert (ROOT / "sql" / "tables.sql").read_text() == tables.contract(TABLES), (
        "sql/tables.sql drifted from the models: regenerate it with "
        "`python -m sentiment_pipeline.catalog > sql/tables.sql`")


def test_every_table_has_a_name_a_key_and_a_description_per_column():
    names = [tables.table_name(m) for m in TABLES]
    assert len(names) == len(set(names)) == 42
    for model in TABLES:
        schema = model.to_schema()
        assert re.fullmatch(r"(raw|core|sentiment|quality|stms|heat|research|review|backtest)\.[a-z_0-9]+", schema.name), schema.name
        assert schema.description and schema.unique, schema.name
        assert set(schema.unique) <= set(schema.columns), schema.name
        for name, column in schema.columns.items():
            assert column.description and "\n" not in column.description, (schema.name, name)


def test_ddl_of_a_table_lists_types_nullability_and_allowed_values():
    from sentiment_pipeline.ladder.tables import PhaseDaily

    ddl = tables.ddl(PhaseDaily)
    assert ddl.split("CREATE TABLE")[0].rstrip().endswith("Row key: (trade_date).")
    assert "CREATE TABLE sentiment.phase_daily (" in ddl
    assert re.search(r"trade_date\s+DATE,\s+-- NOT NULL: ", ddl)
    assert re.search(r"phase_code\s+VARCHAR,\s+-- .*\[one of 'ice_slump', ", ddl)
    assert re.search(r"promotion_rate\s+DOUBLE,\s+-- (?!NOT NULL)", ddl)


# Each backtest strategy's rows of each backtest table are an asset: its row of backtest.runs is the strategy's
# own key, the others carry the table's name after it.
BACKTEST_SUFFIX = {BacktestRuns: "", BacktestNav: "_nav", BacktestTrades: "_trades", BlockedOrders: "_blocked_orders"}


def assets_and_their_tables() -> dict[dg.AssetKey, type]:
    """Every asset and the table it writes: one asset per table, and one per backtest strategy and table."""
    own = {tables.asset_key(m): m for m in TABLES if m not in backtest.TABLES}
    slices = {dg.AssetKey(["backtest", f"{s}{BACKTEST_SUFFIX[m]}"]): m for s in backtest.STRATEGIES
              for m in backtest.TABLES}
    return {**own, **slices}


def test_assets_carry_kinds_owner_table_name_column_schema_and_blocking_checks(pipeline_env):
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    assert set(backtest.TABLES) == set(BACKTEST_SUFFIX) and len(backtest.STRATEGIES) == 11
    expected = assets_and_their_tables()
    assert set(graph.get_all_asset_keys()) == set(expected)
    by_key = {k: m for k, m in expected.items() if m not in backtest.TABLES}
    strategies = {k for k, m in expected.items() if m in backtest.TABLES}
    for key, model in expected.items():
        node = graph.get(key)
        # Every asset: the table it writes, its columns as the model defines them, and the table's row key.
        assert node.metadata["dagster/table_name"] == tables.table_name(model), key
        assert node.metadata["dagster/column_schema"].schema == tables.column_schema(model), key
        columns = node.metadata["dagster/column_schema"].schema.columns
        assert [c.name for c in columns] == list(model.to_schema().columns), key
        assert all(c.description for c in columns), key
        assert node.metadata["row_key"] == ", ".join(model.to_schema().unique), key
        assert {"duckdb", "polars"} <= node.kinds and node.description, key
        assert node.owners and node.owners[0].startswith("team:"), key
        assert "dagster/code_references" in node.metadata, key
        check = graph.get_check_spec(dg.AssetCheckKey(key, SCHEMA_CHECK))
        assert check.blocking, key
    assert {k: graph.get(k).metadata["row_key"] for k in expected if k.path[1].startswith("stms_top_sw_weekly")} == {
        dg.AssetKey(["backtest", "stms_top_sw_weekly"]): "strategy",
        dg.AssetKey(["backtest", "stms_top_sw_weekly_nav"]): "strategy, trade_date",
        dg.AssetKey(["backtest", "stms_top_sw_weekly_trades"]): "strategy, trade_date, code, side",
        dg.AssetKey(["backtest", "stms_top_sw_weekly_blocked_orders"]): "strategy, trade_date, code, side"}
    for name in backtest.STRATEGIES:
        keys = {dg.AssetKey(["backtest", f"{name}{suffix}"]) for suffix in BACKTEST_SUFFIX.values()}
        # One step per strategy (its op keeps the name run config uses), owning its rows of the four tables.
        assets_def = defs.get_assets_def(dg.AssetKey(["backtest", name]))
        assert assets_def.node_def.name == f"backtest__{name}" and set(assets_def.keys) == keys, name
        rows = f"strategy = '{name}'" + (" or strategy like 'heat_rotation_hold_%'" if name == "heat_rotation" else "")
        for key in keys:
            node = graph.get(key)
            assert node.group_name == "backtest" and node.owners == ["team:strategy-research"], key
            assert node.metadata["slice"] == rows, key
            assert node.partitions_def is None, key
    for key, model in by_key.items():
        node = graph.get(key)
        assert ("synthetic" in node.kinds) == (key.path[0] == "raw"), key
        assert node.metadata["dagster/table_name"] == ".".join(key.path)
        assert node.description == model.to_schema().description
    checks = {c: graph.get_check_spec(c) for c in graph.asset_check_keys}
    schema_checks = [spec for c, spec in checks.items() if c.name == SCHEMA_CHECK]
    assert len(schema_checks) == 38 + 44 and all(spec.blocking for spec in schema_checks)
    assert checks[dg.AssetCheckKey(dg.AssetKey(["stms", "sector_daily"]), "complete_windows")].blocking
    assert checks[dg.AssetCheckKey(dg.AssetKey(["stms", "sector_daily"]), "sw_l1_taxonomy")].blocking
    assert not checks[dg.AssetCheckKey(dg.AssetKey(["stms", "sector_daily"]), "sw_l1_complete")].blocking
    assert not checks[dg.AssetCheckKey(dg.AssetKey(["core", "index_groups"]), "csi_list_size")].blocking
    assert not checks[dg.AssetCheckKey(dg.AssetKey(["quality", "limit_up_reconciliation"]),
                                       "limit_up_agreement")].blocking
    job = defs.resolve_job_def(JOB_NAME)
    weekly = {k for k in by_key if graph.get(k).partitions_def == trading_week_partitions}
    assert len(weekly) == 7
    research_tables = {tables.asset_key(m) for m in research.RESEARCH}  # whole history, unpartitioned
    assert set(job.asset_layer.selected_asset_keys) == set(by_key) - weekly - research_tables
    assert set(defs.resolve_job_def("whole_history").asset_layer.selected_asset_keys) == strategies | research_tables
    assert set(defs.resolve_job_def("weekly").asset_layer.selected_asset_keys) == weekly


class BarsOnlySource(SyntheticSource):
    """A source with bars and securities only, like a TongDaXin folder: the side datasets are the interface's
    unimplemented defaults."""

    def source_name(self) -> str:
        return "bars_only"

    main_fund_flows = MarketSource.main_fund_flows
    northbound_flows = MarketSource.northbound_flows
    attention = MarketSource.attention
    index_membership = MarketSource.index_membership
    industry_history = MarketSource.industry_history
    concept_membership = MarketSource.concept_membership
    index_daily = MarketSource.index_daily
    margin_balance = MarketSource.margin_balance


def test_a_source_without_side_datasets_leaves_out_what_it_cannot_feed_and_says_why():
    kept, left_out = feedable(ASSETS, BarsOnlySource(seed=7, cache_dir="unused"))
    # Flows are empty by design without them (STMS's B is then 0); memberships are not: STMS needs them and is
    # left out with the first missing one it reaches.
    assert "raw/main_fund_flows" not in left_out and "raw/northbound_flows" not in left_out
    assert left_out["stms/scores"] in {f"source 'bars_only' does not provide {d}"
                                       for d in ("industry_history", "concept_membership")}
    assert left_out["core/index_groups"] == "source 'bars_only' does not provide index_membership"
    assert {"stms/sector_daily", "stms/scores", "stms/top_list", "backtest/stms_top_sw"} <= left_out.keys()
    # Heat needs attention: every heat asset and the heat backtests go, with that reason.
    assert left_out["heat/stock_daily"] == left_out["heat/weekly_monitor"] == (
        "source 'bars_only' does not provide attention")
    assert {"backtest/heat_rotation", "backtest/concept_heat_top", "backtest/concept_heat_bottom",
            "backtest/concept_heat_baskets_top", "backtest/concept_heat_baskets_bottom"} <= left_out.keys()
    kept_keys = {k.to_user_string() for a in kept for k in a.keys}
    assert kept_keys == {"raw/securities", "raw/daily_quotes", "raw/limit_up_pools", "core/daily_bars",
                         "raw/main_fund_flows", "raw/northbound_flows", "raw/suspensions",
                         "sentiment/limit_ladder", "sentiment/ladder_daily", "sentiment/phase_daily",
                         "quality/limit_up_reconciliation", "quality/limit_up_disagreements",
                         "backtest/phase_limit_up_follow", "backtest/phase_limit_up_follow_nav",
                         "backtest/phase_limit_up_follow_trades", "backtest/phase_limit_up_follow_blocked_orders"}
    # (the benchmark is then computed from the bars)
    assert feedable(ASSETS, SyntheticSource(seed=7, cache_dir="unused"))[1] == {}


def test_each_day_carries_its_own_metadata_and_the_run_its_totals(pipeline_env):
    defs = build_definitions()
    job = defs.resolve_job_def(JOB_NAME)
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] not in ("stms", "backtest", "heat", "research", "review")]
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys,
        tags={"dagster/asset_partition_range_start": "2019-03-04", "dagster/asset_partition_range_end": "2019-03-08"})
    assert result.success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        phases = pl.from_arrow(conn.execute("select * from sentiment.phase_daily order by trade_date").to_arrow_table())
        bars = dict(conn.execute("select cast(trade_date as varchar), count(*) from core.daily_bars "
                                 "group by 1").fetchall())
        comment = conn.execute("select comment from duckdb_columns() where schema_name = 'core' and "
                               "table_name = 'daily_bars' and column_name = 'is_limit_up'").fetchone()[0]
    materializations = [e.event_specific_data.materialization for e in result.all_events
                        if e.event_type_value == "ASSET_MATERIALIZATION"]
    phase_days = {m.partition: m.metadata for m in materializations if m.asset_key.path == ["sentiment", "phase_daily"]}
    assert len(phase_days) == 5
    for row in phases.iter_rows(named=True):
        meta = phase_days[str(row["trade_date"])]
        assert meta["dagster/row_count"].value == 1
        assert meta["max_height"].value == row["max_height"]
        expected = (f"{row['phase_name']} ({row['phase_code']})" if row["phase_code"]
                    else f"none: {row['no_phase_reason']}")
        assert meta["phase"].value == expected
    bar_days = {m.partition: m.metadata["dagster/row_count"].value for m in materializations
                if m.asset_key.path == ["core", "daily_bars"]}
    assert bar_days == bars and len(set(bar_days.values())) > 1  # each day its own count, not the range's
    assert all("rows" not in m.metadata and "first_day" not in m.metadata for m in materializations)
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.asset_key == dg.AssetKey(["core", "daily_bars"]))
    assert check.metadata["rows"].value == sum(bars.values()) and check.metadata["days"].value == 5
    assert result.dagster_run.job_name == JOB_NAME
    assert comment == "close == limit_up_price (涨停); false on days without a limit"  # from the model
