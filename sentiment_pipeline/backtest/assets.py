"""Strategy assets (group `backtest`): each strategy is one step that reads every stored day, runs the engine and
replaces its own rows of backtest.runs, .nav, .trades and .blocked_orders (each row with the market source's name)
in one transaction, validated first, with an equity-curve PNG beside the database. Its rows of each table are an
asset of their own, with the table's name, column schema and row key (table_keys): `backtest/<strategy>` (its row
of backtest.runs, with the headline figures and the picture), `backtest/<strategy>_nav`, `_trades` and
`_blocked_orders`. Thin wiring around strategies.py, engine.py and report.py."""

# No `from __future__ import annotations`: Dagster resolves config and resource annotations at runtime.
import base64
import dataclasses
import json
import time
from pathlib import Path
from typing import Literal

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.backtest import charts, engine, metrics, report, strategies
from sentiment_pipeline.backtest import tables as t
from sentiment_pipeline.heat import rules as heat_rules
from sentiment_pipeline.heat import tables as heat
from sentiment_pipeline.ladder import tables as ladder
from sentiment_pipeline.market import indices, membership
from sentiment_pipeline.market import tables as market
from sentiment_pipeline.platform import storage
from sentiment_pipeline.platform.io_manager import SHARED_READ, TableSlices
from sentiment_pipeline.platform.tables import asset_key, table_name
from sentiment_pipeline.platform.wiring import slices_asset, validated_slices
from sentiment_pipeline.sources.base import ALL_A_INDEX, MarketSource
from sentiment_pipeline.stms import tables as stms

OWNER = "team:strategy-research"
GROUP = "backtest"
DEFAULT_RULES = engine.Rules()
PANEL_COLUMNS = ["trade_date", "code", "open", "close", "pre_close", "limit_up_price", "limit_down_price",
                 "float_mcap", "listing_age"]


class EngineConfig(dg.Config):
    """The engine's rules (defaults: engine.Rules) and the Sharpe ratio's risk-free rate."""

    capital: float = DEFAULT_RULES.capital
    commission_rate: float = DEFAULT_RULES.commission_rate
    min_commission: float = DEFAULT_RULES.min_commission
    slippage_bps: float = DEFAULT_RULES.slippage_bps
    rebalance_band: float = DEFAULT_RULES.rebalance_band
    blocked: Literal["retry", "drop"] = DEFAULT_RULES.blocked  # at the next open, or not at all
    risk_free: float = 0.0  # annual

    def rules(self) -> engine.Rules:
        return engine.Rules(capital=self.capital, commission_rate=self.commission_rate,
                            min_commission=self.min_commission, slippage_bps=self.slippage_bps,
                            rebalance_band=self.rebalance_band, blocked=self.blocked)

    def strategy_params(self) -> dict:
        engine_fields = set(EngineConfig.model_fields)
        return {k: v for k, v in self.model_dump().items() if k not in engine_fields}


class StmsSectorConfig(EngineConfig):
    kind: Literal["sw_l1", "concept"] = "sw_l1"
    signal: Literal["stms", "risers", "three_highs"] = "stms"  # top by rank, or the best-ranked of them
    top_n: int = 3
    rebalance: Literal["daily", "weekly"] = "daily"  # weekly: decided on each week's last trading day


class StmsWeeklyConfig(StmsSectorConfig):
    rebalance: Literal["daily", "weekly"] = "weekly"


class StmsRisersConfig(StmsSectorConfig):
    signal: Literal["stms", "risers", "three_highs"] = "risers"


class StmsThreeHighsConfig(StmsSectorConfig):
    signal: Literal["stms", "risers", "three_highs"] = "three_highs"


class StmsConceptConfig(StmsSectorConfig):
    kind: Literal["sw_l1", "concept"] = "concept"


class PhaseFollowConfig(EngineConfig):
    phases: list[str] = list(strategies.STRONG_NEXT_DAY_PHASES)


# Inputs most strategies read whole: read once per whole-history run (platform/io_manager.py, SHARED_READ).
BARS_IN = dg.AssetIn(asset_key(market.DailyBars), metadata={"columns": PANEL_COLUMNS, SHARED_READ: True})
# Delisting dates, known in advance: a holding is sold at its last close once its date has come.
SECURITIES_IN = dg.AssetIn(asset_key(market.Securities), metadata={"columns": ["code", "delist_date"],
                                                                  SHARED_READ: True})
INDUSTRY_IN = dg.AssetIn(asset_key(market.IndustryHistory), metadata={SHARED_READ: True})
CONCEPTS_IN = dg.AssetIn(asset_key(market.ConceptMembership), metadata={SHARED_READ: True})


def table_keys(strategy: str) -> dict[type, dg.AssetKey]:
    """The strategy's asset of each backtest table: its row of backtest.runs is `backtest/<strategy>` (the
    strategy as the UI lists it), its rows of the others `backtest/<strategy>_<table>`."""
    return {model: dg.AssetKey([GROUP, strategy if model is t.BacktestRuns
                                else f"{strategy}_{table_name(model).split('.')[1]}"]) for model in t.TABLES}


def strategy_asset(name: str, description: str, *, references: str | None = None, **kwargs):
    """The multi-asset of a strategy (slices_asset): its op `backtest__<name>`, one asset per backtest table
    (table_keys) owning the rows `strategy = '<name>'`, and those of its reference portfolios (`references`, a
    LIKE pattern of their names)."""
    rows = f"strategy = '{name}'" + (f" or strategy like '{references}'" if references else "")
    descriptions = {model: description if model is t.BacktestRuns else
                    f"{name}'s rows of {table_name(model)} ({rows}): {model.to_schema().description}"
                    for model in t.TABLES}
    descriptions[t.BacktestRuns] += (f" Its row of backtest.runs ({rows}): parameters and headline figures, with "
                                     "the equity-curve picture in the materialization.")
    return slices_asset(dg.AssetKey([GROUP, name]).to_python_identifier(), table_keys(name), rows=rows,
                        group=GROUP, owner=OWNER, descriptions=descriptions, **kwargs)


def _benchmark(index: pl.DataFrame, bars: pl.DataFrame, simulated: bool) -> tuple[pl.DataFrame, str]:
    series, label = indices.all_a_returns(index, bars)
    if label == "official" and simulated:
        label = "simulated"  # the synthetic market's own index is no official series
    return series, f"all_a {label}"


def _stored_indexes(conn) -> pl.DataFrame:
    """The all-A (the benchmark) and CSI 300 (the reference) series, when the source stored them: raw.index_daily
    is not declared as an input, so a source without index series (tdx) still runs the strategies, on the
    benchmark computed from the bars."""
    return (storage.query(conn, "select trade_date, index_code, pre_close, close from raw.index_daily "
                                f"where index_code in ('{ALL_A_INDEX}', '000300') order by trade_date", [])
            if storage.table_exists(conn, "raw.index_daily") else pl.DataFrame())


def _backtest(context: dg.AssetExecutionContext, name: str, description: str, title: str, config: EngineConfig,
              plan: strategies.Plan, bars: pl.DataFrame, securities: pl.DataFrame | None, duckdb: DuckDBResource,
              market_source: MarketSource, signal_returns: dict | None = None, panel: pl.DataFrame | None = None,
              rules: engine.Rules | None = None, references: tuple = (), labels: dict | None = None,
              params: dict | None = None):
    """Run the plan (on `panel`, default the bars) and `references` — (name, description, plan) reference
    portfolios on the same panel, such as buy-and-hold — and yield their rows of the backtest tables, each
    with the source's name. `params`: the strategy's parameters beyond its config's."""
    started = time.perf_counter()
    source = market_source.source_name()
    days = sorted(bars["trade_date"].unique().to_list())
    rules = rules or config.rules()
    with duckdb.get_connection() as conn:
        stored_indexes = _stored_indexes(conn)
    benchmark, label = _benchmark(stored_indexes, bars, market_source.is_simulated())
    chart = Path(duckdb.database).parent / "reports" / "backtest" / f"{name}.png"
    runs = [(name, description, plan, str(chart), signal_returns),
            *((n, d, p, None, None) for n, d, p in references)]
    parts = []
    for run_name, run_description, run_plan, chart_path, returns in runs:
        # The whole panel, not a filtered copy (memory): names never targeted stay flat in the arrays.
        result = engine.run(bars if panel is None else panel, run_plan.targets, rules,
                            decision_days=run_plan.decision_days, days=days, delistings=securities)
        strategy = report.Strategy(run_name, run_description, {**config.strategy_params(), **(params or {})})
        parts.append(report.tables(strategy, result, benchmark, label, source=source,
                                   signal_days=run_plan.signal_days, membership_date=run_plan.membership_date,
                                   signal_returns=returns, risk_free=config.risk_free, chart_path=chart_path))
    context.log.info(f"{name}: {len(runs)} backtest(s) over {len(days)} days in {time.perf_counter() - started:.1f} s")
    frames = {model: pl.concat([p[model] for p in parts], how="vertical_relaxed") for model in parts[0]}
    keys = table_keys(name)
    run, *reference_runs = (p[t.BacktestRuns].row(0, named=True) for p in parts)
    # The picture names the strategy's key and its figures, with the reference portfolios' NAVs beside it.
    texts = charts.equity_texts(run, keys[t.BacktestRuns].to_user_string(), title)
    charts.equity_chart(parts[0][t.BacktestNav], texts, chart, references=[
        (charts.reference_label(r, name), p[t.BacktestNav]) for r, p in zip(reference_runs, parts[1:])])
    names = tuple(r[0] for r in runs)
    mine = parts[0][t.BacktestNav]
    yield from validated_slices(context, TableSlices(frames, "strategy", names), keys, metadata={
        t.BacktestRuns: {**_run_metadata(run, chart, reference_runs), "chart_title": texts.title,
                         "chart_figures": texts.figures,
                         **metrics.index_reference(stored_indexes, days), **(labels or {})},
        t.BacktestNav: {"strategies": ", ".join(names), "period": f"{days[0]} → {days[-1]}",
                        "cash_days": mine.filter(pl.col("positions_value") <= 0).height},
        t.BacktestTrades: {"strategies": ", ".join(names)},
        t.BlockedOrders: {"strategies": ", ".join(names)}})


def _run_metadata(run: dict, chart: Path, references: list[dict] = ()) -> dict:
    pct = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
    ratio = lambda v: None if v is None else round(v, 3)  # noqa: E731
    image = base64.b64encode(chart.read_bytes()).decode()
    # Note 000's measure beside what the open can get, before costs.
    paper = {} if run["signal_next_day_return"] is None else {
        "signal_next_day_return_pct": pct(run["signal_next_day_return"]),
        "signal_overnight_gap_pct": pct(run["signal_overnight_gap"]),
        "signal_open_to_open_return_pct": pct(run["signal_open_to_open_return"])}
    return {
        **paper,
        "annual_return_pct": pct(run["annual_return"]), "max_drawdown_pct": pct(run["max_drawdown"]),
        "sharpe": ratio(run["sharpe"]), "win_rate_pct": pct(run["win_rate"]),
        "profit_loss_ratio": ratio(run["profit_loss_ratio"]),
        "round_trip_mean_return_pct": pct(run["round_trip_mean_return"]),
        "ytd_return_pct": pct(run["ytd_return"]), "weekly_hit_rate_pct": pct(run["weekly_hit_rate"]),
        "trades": run["trades"], "blocked_orders": run["blocked_orders"],
        "benchmark_annual_return_pct": pct(run["benchmark_annual_return"]),
        "returns_by_year_pct": dg.MetadataValue.json({y: pct(r) for y, r in json.loads(run["returns_by_year"]).items()}),
        "source": run["source"], "period": f"{run['start_date']} → {run['end_date']}",
        "membership_date": str(run["membership_date"]) if run["membership_date"] else None,
        "chart": dg.MetadataValue.md(f"![equity curve](data:image/png;base64,{image})"),
        "chart_path": dg.MetadataValue.path(str(chart)),
        **({"references": dg.MetadataValue.md("\n".join(
            f"- {r['strategy']}: annual {pct(r['annual_return'])}%, max drawdown {pct(r['max_drawdown'])}%"
            for r in references))} if references else {}),
    }


def stms_strategy(name: str, config_type: type, description: str, title: str):
    """A named STMS sector strategy asset whose config defaults are `config_type`'s; `title` (the picture's) may
    name the configured {top_n}."""

    @strategy_asset(name, description,
                    ins={"bars": BARS_IN, "securities": SECURITIES_IN,
                         "scores": dg.AssetIn(asset_key(stms.StmsScores), metadata={"columns": [
                             "trade_date", "sector_kind", "sector", "rank", "is_riser", "is_three_high"],
                             SHARED_READ: True}),
                         "industry_history": INDUSTRY_IN, "concept_membership": CONCEPTS_IN})
    def _asset(context: dg.AssetExecutionContext, config: config_type, bars: pl.DataFrame,
               securities: pl.DataFrame, scores: pl.DataFrame, industry_history: pl.DataFrame,
               concept_membership: pl.DataFrame, duckdb: DuckDBResource, market_source: MarketSource):
        plan = strategies.stms_sector_plan(scores, bars, industry_history, concept_membership, kind=config.kind,
                                           signal=config.signal, top_n=config.top_n, rebalance=config.rebalance)
        labels = (membership.concept_look_ahead(sorted(scores["trade_date"].unique().to_list()), concept_membership)
                  if config.kind == "concept" else {})
        yield from _backtest(context, name, description, title.format(top_n=config.top_n), config, plan, bars,
                             securities, duckdb, market_source, labels=labels)

    return _asset


stms_top_sw = stms_strategy(
    "stms_top_sw", StmsSectorConfig,
    "Holds the top-N SW level-1 industries by STMS (default 3), each as its float-cap weighted member basket, "
    "rebalanced daily at the next open (note 002 §5).", "STMS 申万一级前{top_n} 行业篮子")
stms_top_sw_weekly = stms_strategy(
    "stms_top_sw_weekly", StmsWeeklyConfig,
    "stms_top_sw decided on each week's last trading day only (trades at the next week's first open): the "
    "same signal with a fifth of the rebalancing.", "STMS 申万一级前{top_n} 行业篮子(周度调仓)")
stms_risers_sw = stms_strategy(
    "stms_risers_sw", StmsRisersConfig,
    "Holds the best-ranked N SW level-1 industries among the day's STMS risers (rank rising into the top "
    "within 1–3 days), as float-cap weighted baskets; cash on days without risers.", "STMS 申万一级 排名跃升")
stms_three_highs_sw = stms_strategy(
    "stms_three_highs_sw", StmsThreeHighsConfig,
    "Holds the best-ranked N SW level-1 industries that are 'three highs' (total and every sub-score in the "
    "top group), as float-cap weighted baskets; cash on days without one.", "STMS 申万一级 三高行业")
stms_top_concept = stms_strategy(
    "stms_top_concept", StmsConceptConfig,
    "Holds the top-N concept boards by STMS (default 3), each as its float-cap weighted member basket, "
    "rebalanced daily.", "STMS 概念板块前{top_n} 篮子")

PHASE_DESCRIPTION = (
    "On days whose sentiment phase is one note 000 names as strong for the next day (冰点低迷期, 混沌活跃期, "
    "高潮分化期 by default), buys that day's eligible limit-up stocks in equal weights at the next open and "
    "sells them at the open after; beside it, the note's own measure (close-to-close next-day return).")


@strategy_asset("phase_limit_up_follow", PHASE_DESCRIPTION,
                ins={"bars": BARS_IN, "securities": SECURITIES_IN,
                     "phases": dg.AssetIn(asset_key(ladder.PhaseDaily), metadata={"columns": [
                         "trade_date", "phase_name"]})},
                deps=[asset_key(ladder.LimitLadder)])
def phase_limit_up_follow(context: dg.AssetExecutionContext, config: PhaseFollowConfig, bars: pl.DataFrame,
                          securities: pl.DataFrame, phases: pl.DataFrame, duckdb: DuckDBResource,
                          market_source: MarketSource):
    unknown = set(config.phases) - set(phases["phase_name"].drop_nulls().unique().to_list())
    if unknown:
        context.log.warning(f"phase(s) never seen in sentiment.phase_daily: {sorted(unknown)}")
    # The eligible limit-ups only (~60 a day), filtered by DuckDB: the whole ladder is every stock-day.
    with duckdb.get_connection() as conn:
        limit_ups = storage.query(conn, "select trade_date, code, eligible, is_limit_up from sentiment.limit_ladder "
                                        "where eligible and is_limit_up", [])
    plan = strategies.limit_up_follow_plan(phases, limit_ups, config.phases)
    measured = strategies.next_day_returns(plan.targets, bars).select("close_to_close", "overnight_gap",
                                                                      "open_to_open").mean()
    yield from _backtest(context, "phase_limit_up_follow", PHASE_DESCRIPTION, "情绪周期 涨停股次日跟随",
                         config, plan, bars, securities, duckdb, market_source,
                         signal_returns=measured.row(0, named=True) if plan.targets.height else None)


class HeatRotationConfig(EngineConfig):
    """Index series trade in fractional units, without stamp duty (an index fund) and the minimum commission."""

    min_commission: float = 0.0

    def rules(self) -> engine.Rules:
        return dataclasses.replace(super().rules(), lot_size=0, stamp_duty=())


HEAT_ROTATION_DESCRIPTION = (
    "Note 001's broad-index heat rotation: at each week's last trading day, holds the CSI 300/500/1000/2000 index "
    "whose group's heat_change_ma2 is highest over the next week, cash when the rest of the market leads; "
    "beside it, buy-and-hold of each index (strategies heat_rotation_hold_<group>).")


@strategy_asset("heat_rotation", HEAT_ROTATION_DESCRIPTION, references="heat_rotation_hold_%",
                ins={"bars": dg.AssetIn(asset_key(market.DailyBars), metadata={"columns": [
                         "trade_date", "code", "close", "pre_close", "float_mcap"], SHARED_READ: True}),
                     "index_daily": dg.AssetIn(asset_key(market.IndexDaily)),
                     "rotation_weeks": dg.AssetIn(asset_key(heat.HeatRotation)),
                     # The lists the rotation's index groups came from (heat/group_daily): for membership_date.
                     "index_membership": dg.AssetIn(asset_key(market.IndexMembership),
                                                    metadata={"columns": ["effective_date"]})})
def heat_rotation(context: dg.AssetExecutionContext, config: HeatRotationConfig, bars: pl.DataFrame,
                  index_daily: pl.DataFrame, rotation_weeks: pl.DataFrame, index_membership: pl.DataFrame,
                  duckdb: DuckDBResource, market_source: MarketSource):
    panel = strategies.index_panel(index_daily)
    plan = strategies.heat_rotation_plan(rotation_weeks)
    plan = dataclasses.replace(plan, membership_date=strategies.index_list_as_of(
        max(plan.decision_days, default=None), index_membership))
    holds = tuple((f"heat_rotation_hold_{group}", f"Buy-and-hold of the {group} index from the first day.",
                   strategies.hold_plan(panel, group))
                  for group in strategies.INDEX_OF_GROUP if group in set(panel["code"].unique().to_list()))
    yield from _backtest(context, "heat_rotation", HEAT_ROTATION_DESCRIPTION, "热度轮动 宽基指数", config, plan,
                         bars, None, duckdb, market_source, panel=panel, rules=config.rules(), references=holds)


# Note 001's concept heat portfolios (heat.concept_portfolios), traded as the table holds them.
PORTFOLIO_PARAMS = {"portfolios": "heat.concept_portfolios", "concepts": heat_rules.PORTFOLIO_CONCEPTS,
                    "small_cap_cut_percent": heat_rules.SMALL_CAP_CUT_PERCENT,
                    "per_concept": heat_rules.PER_CONCEPT}
PORTFOLIO_IN = dg.AssetIn(asset_key(heat.ConceptPortfolios), metadata={"columns": [
    "week_start", "week_end", "side", "code", "weight"]})
# Every week of the heat weekly tables decides, with portfolio rows or without (cash).
HEAT_WEEKS_IN = dg.AssetIn(asset_key(heat.SectorHeatWeekly), metadata={"columns": ["week_start", "week_end"]})


def concept_portfolio_strategy(name: str, side: str, description: str, title: str):
    @strategy_asset(name, description,
                    ins={"bars": BARS_IN, "securities": SECURITIES_IN, "portfolios": PORTFOLIO_IN,
                         "heat_weeks": HEAT_WEEKS_IN, "concept_membership": CONCEPTS_IN})
    def _asset(context: dg.AssetExecutionContext, config: EngineConfig, bars: pl.DataFrame,
               securities: pl.DataFrame, portfolios: pl.DataFrame, heat_weeks: pl.DataFrame,
               concept_membership: pl.DataFrame, duckdb: DuckDBResource, market_source: MarketSource):
        plan = strategies.concept_portfolio_plan(portfolios, heat_weeks, side=side)
        # The portfolios' members are as of each week_end (heat/rules.py): the snapshot in force on the last.
        plan = dataclasses.replace(plan, membership_date=strategies.concept_snapshot_as_of(
            max(plan.decision_days, default=None), concept_membership))
        labels = membership.concept_look_ahead(plan.decision_days, concept_membership)
        yield from _backtest(context, name, description, title, config, plan, bars, securities, duckdb,
                             market_source, labels=labels, params={**PORTFOLIO_PARAMS, "side": side})

    return _asset


concept_heat_top = concept_portfolio_strategy(
    "concept_heat_top", "top",
    "Note 001's concept heat TOP portfolio as heat.concept_portfolios holds it (the 5 concepts with the highest "
    "heat_change_ma2, the 10 highest-heat members of each after the smallest 20% by float cap, equal weight), "
    "decided on each week's last trading day, traded at the next open, held one week; cash in a week without "
    "one.", "概念热度 TOP组合")
concept_heat_bottom = concept_portfolio_strategy(
    "concept_heat_bottom", "bottom",
    "Note 001's concept heat BOTTOM portfolio as heat.concept_portfolios holds it: the 10 lowest-heat members "
    "of each of the same 5 concepts, equal weight, decided weekly as concept_heat_top; the note's best series.",
    "概念热度 BOTTOM组合")


class ConceptHeatBasketsConfig(EngineConfig):
    n: int = 5  # concepts held


class ConceptHeatBasketsBottomConfig(ConceptHeatBasketsConfig):
    pass


def concept_heat_baskets_strategy(name: str, side: str, config_type: type, description: str, title: str):
    @strategy_asset(name, description,
                    ins={"bars": BARS_IN, "securities": SECURITIES_IN,
                         "sector_weeks": dg.AssetIn(asset_key(heat.SectorHeatWeekly)),
                         "industry_history": INDUSTRY_IN, "concept_membership": CONCEPTS_IN})
    def _asset(context: dg.AssetExecutionContext, config: config_type, bars: pl.DataFrame,
               securities: pl.DataFrame, sector_weeks: pl.DataFrame, industry_history: pl.DataFrame,
               concept_membership: pl.DataFrame, duckdb: DuckDBResource, market_source: MarketSource):
        plan = strategies.concept_heat_baskets_plan(sector_weeks, bars, industry_history, concept_membership,
                                                    side=side, n=config.n)
        labels = membership.concept_look_ahead(plan.decision_days, concept_membership)
        yield from _backtest(context, name, description, title, config, plan, bars, securities, duckdb,
                             market_source, labels=labels)

    return _asset


concept_heat_baskets_top = concept_heat_baskets_strategy(
    "concept_heat_baskets_top", "top", ConceptHeatBasketsConfig,
    "A reference for note 001's portfolios: at each week's last trading day, the N concepts (default 5) whose "
    "heat_change_ma2 is highest, equal shares, each as its whole float-cap weighted member basket, held one "
    "week.", "概念热度 MA2最高概念 整体篮子")
concept_heat_baskets_bottom = concept_heat_baskets_strategy(
    "concept_heat_baskets_bottom", "bottom", ConceptHeatBasketsBottomConfig,
    "The N concepts (default 5) whose heat_change_ma2 is lowest, equal shares, each as its whole float-cap "
    "weighted member basket, held one week: the coldest concepts, beside the hottest of concept_heat_baskets_top.",
    "概念热度 MA2最低概念 整体篮子")

assets = [stms_top_sw, stms_top_sw_weekly, stms_risers_sw, stms_three_highs_sw, stms_top_concept, phase_limit_up_follow,
          heat_rotation, concept_heat_top, concept_heat_bottom, concept_heat_baskets_top, concept_heat_baskets_bottom]
# The strategies' names, each that of its op (`backtest__<name>`) and of its row of backtest.runs.
STRATEGIES = [a.node_def.name.removeprefix(f"{GROUP}__") for a in assets]
TABLES = t.TABLES
