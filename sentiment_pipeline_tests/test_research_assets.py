"""The research and review assets through the real definitions (the session's chain 2019-01-02 → 2019-02-22)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import polars.testing
import pytest
from scipy import stats

from sentiment_pipeline.definitions import HISTORY_JOB_NAME, JOB_NAME, build_definitions


def read(db, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


def materialization(result, key: list[str], partition: str | None = None):
    return next(e.event_specific_data.materialization for e in result.all_events
                if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == dg.AssetKey(key)
                and e.partition == partition)


def test_market_series_matches_the_official_index_and_leaves_the_last_horizons_null(chain_db):
    db = chain_db[0]
    market = read(db, "select * from research.market_daily order by trade_date")
    index = read(db, "select trade_date, close from raw.index_daily where index_code = 'all_a' order by 1")
    assert market.height == 33 and set(market["regime"]) == {"bull"} and set(market["all_a_source"]) == {"simulated"}
    assert set(market["source"]) == {"synthetic"}
    close = index["close"].to_list()
    assert market["all_a_return"][5] == pytest.approx(close[5] / close[4] - 1)
    assert market["all_a_fwd_5"][3] == pytest.approx(close[8] / close[3] - 1)
    # 2019-02-22 is the last stored day: each horizon is null on exactly its last h days.
    for h in (1, 5, 10, 20):
        assert market[f"all_a_fwd_{h}"].is_null().to_list() == [False] * (33 - h) + [True] * h
    assert market["csi2000_fwd_20"][0] is not None  # synthetic stores CSI 2000
    assert market["limit_up_next_day_count"][-1] == 0 and market["limit_up_next_day_return"][-1] is None
    assert market["limit_up_next_day_count"][0] > 0


def test_research_tables_over_the_stored_days(chain_db):
    db = chain_db[0]
    summary = read(db, "select * from research.regime_summary order by regime")
    assert summary["regime"].to_list() == ["all", "bull"] and summary["days"].to_list() == [33, 33]
    days = read(db, "select m.limit_up_next_day_return y, p.promotion_rate x from research.market_daily m "
                    "join sentiment.phase_daily p using (trade_date) where y is not null and x is not null")
    corr = read(db, "select * from research.rate_correlation where regime = 'bull' and target = 'limit_up_next_day' "
                    "and method = 'spearman'").row(0, named=True)
    assert corr["n"] == days.height and corr["coefficient"] == pytest.approx(
        stats.spearmanr(days["x"], days["y"]).statistic)
    forward = read(db, "select * from research.phase_forward")
    assert set(forward["target"]) == {"limit_ups", "all_a", "csi2000"}
    assert set(forward.filter(pl.col("target") == "limit_ups")["horizon"]) == {1}
    per_phase = read(db, "select phase_code, count(*) n from sentiment.phase_daily where phase_code is not null "
                         "group by 1")
    limit_ups = forward.filter(pl.col("target") == "limit_ups").join(per_phase, on="phase_code")
    assert (limit_ups["days"] <= limit_ups["n"]).all()
    path = read(db, "select * from research.phase_path")
    assert set(path["day"]) == set(range(1, 21)) and (path["days"] > 0).all()


def test_weekly_review_across_the_spring_festival_with_its_reports(chain_db):
    db, _, weeks, _ = chain_db
    review = read(db, "select * from review.weekly order by week_start")
    assert review["week_start"].to_list()[-3:] == [dt.date(2019, 1, 28), dt.date(2019, 2, 11), dt.date(2019, 2, 18)]
    assert review["trading_days"].to_list() == [3, 5, 5, 5, 5, 5, 5]
    ladder = read(db, "select avg(limit_up_count) a from sentiment.ladder_daily "
                      "where trade_date between '2019-02-11' and '2019-02-15'")
    week = review.filter(pl.col("week_start") == dt.date(2019, 2, 11)).row(0, named=True)
    assert week["avg_limit_up_count"] == pytest.approx(ladder["a"][0])
    before = review.filter(pl.col("week_start") == dt.date(2019, 1, 28)).row(0, named=True)
    assert week["avg_limit_up_count_change"] == pytest.approx(week["avg_limit_up_count"] - before["avg_limit_up_count"])
    assert week["margin_balance"] is not None and week["main_net_flow"] is not None and week["phases"]
    # Seven weeks are too few for a year's percentile: crowding rows, no ranks yet.
    crowding = read(db, "select * from review.crowding")
    assert crowding.height > 0 and crowding["crowding"].null_count() == crowding.height
    meta = materialization(weeks, ["review", "weekly"], "2019-02-11").metadata
    assert "日均涨停家数" in meta["review"].value
    page = Path(meta["report"].value).read_text(encoding="utf-8")
    assert "A股市场周报 · 2019-02-11 周" in page and page.count("data:image/png;base64,") == 3
    # The concepts are there, their history is not: the report says so (not "no concept data"), in the UI too.
    assert "历史仅 6 周" in page and "还差 20 周" in page and "无概念成交数据" not in page
    assert "拥挤度:有 " in meta["review"].value and "历史仅 6 周" in meta["review"].value
    assert materialization(weeks, ["review", "crowding"], "2019-02-11").metadata["why_no_ranking"].value.count(
        "历史仅 6 周") == 1
    # The page from the UI: its address, and its charts as Markdown images (the UI renders data URIs).
    assert meta["report_url"].value == Path(meta["report"].value).resolve().as_uri()
    assert meta["charts"].value.count("](data:image/png;base64,") == 3


def test_each_research_table_carries_its_own_summary(chain_db):
    """Each output of the multi-asset: its own table's summary in its materialization, rates as percentages,
    dates as days, and no raw 0.8482 fractions."""
    history = chain_db[3]
    summaries = {}
    for name in ("regime_summary", "regime_distribution", "rate_correlation", "phase_forward", "phase_path"):
        meta = materialization(history, ["research", name]).metadata
        summaries[name] = meta["summary"].value
        assert meta["period"].value == "2019-01-02 → 2019-02-22 (33 days)"
        assert re.search(r"\b0\.\d{4}", summaries[name]) is None and "00:00:00" not in summaries[name]
    assert re.search(r"\| all \| 2019-01-02 \| 2019-02-22 \| 33 \| .*%", summaries["regime_summary"])
    assert summaries["regime_distribution"].count("\n") > 3 and "%" in summaries["regime_distribution"]
    assert "spearman" in summaries["rate_correlation"] and "pearson" in summaries["rate_correlation"]
    assert re.search(r"\| 主线\w+期 \| .*% \|", summaries["phase_forward"])
    assert "all_a_20d" in summaries["phase_forward"] and "day_20" in summaries["phase_path"]


def test_research_tables_run_after_the_days_in_one_process(pipeline_env):
    defs = build_definitions()
    job = defs.resolve_job_def(HISTORY_JOB_NAME)
    history = {k.to_user_string() for k in job.asset_layer.asset_graph.get_all_asset_keys()}
    assert {"research/regime_summary", "research/phase_path", "backtest/stms_top_sw"} <= history
    assert job.executor_def.name == "in_process"


def test_a_range_split_into_runs_completes_the_forward_windows_of_the_days_before_each(chain_db, tmp_path,
                                                                                     synthetic_cache, monkeypatch):
    """Two runs, 2019-01-02 → 2019-01-25 then 2019-01-28 → 2019-02-22, give the same research.market_daily as the
    session's single run: the second run's step rewrites the forward returns of the 20 days before it."""
    db = tmp_path / "market.duckdb"
    monkeypatch.setenv("SENTIMENT_SOURCE", "synthetic")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
    defs = build_definitions()
    job = defs.resolve_job_def(JOB_NAME)
    keys = [k for k in job.asset_layer.asset_graph.get_all_asset_keys()
            if k.path[0] in ("raw", "core", "sentiment") or k == dg.AssetKey(["research", "market_daily"])]
    results = []
    for start, end in (("2019-01-02", "2019-01-25"), ("2019-01-28", "2019-02-22")):
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), asset_selection=keys, tags={
            "dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end})
        assert result.success
        results.append(result)
    split = read(db, "select * from research.market_daily order by trade_date")
    whole = read(chain_db[0], "select * from research.market_daily order by trade_date")
    assert split.height == whole.height == 33
    assert split.filter(pl.col("trade_date") <= dt.date(2019, 1, 25))["all_a_fwd_5"].null_count() == 0
    # Equal to the last bits (a forward return compounds from a different first loaded day).
    pl.testing.assert_frame_equal(split, whole, check_exact=False, rel_tol=1e-12, abs_tol=1e-15)
    check = next(e.event_specific_data for e in results[1].all_events
                 if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.asset_key == dg.AssetKey(["research", "market_daily"]))
    assert check.metadata["earlier_days_recomputed"].value == 18  # every stored day of January: 20-day windows


def test_note_claims_are_measured_from_the_research_tables(chain_db):
    from sentiment_pipeline.research import claims

    db = chain_db[0]
    with duckdb.connect(str(db), read_only=True) as conn:
        table = claims.measure(conn)
    bull = read(db, "select * from research.regime_summary where regime = 'bull'").row(0, named=True)
    first = table.row(0, named=True)
    assert first["claim"] == "牛市最高连板普遍维持在 6 板左右"
    assert first["measured"].startswith(f"bull: mode {bull['height_mode']}, median {bull['height_median']:g}")
    # 33 days: a verdict by its test (a median of 5–7 on so few days is seldom distinguishable)
    assert first["verdict"].split(" (")[0] in ("holds", "does not hold", "not shown")
    # Only bull days are stored: the regime comparisons cannot be made, and say why.
    verdicts = dict(zip(table["claim"], table["verdict"]))
    assert verdicts["该相关性在震荡市减弱,熊市基本消失"].startswith("n/a (")
    assert verdicts["震荡市和熊市最高连板多为 5 板,晋级率与高度整体低于牛市"] == "n/a (no range days; no bear days)"
    assert table.height == 11 and claims.markdown(table).count("\n") == 12
    # Every phase a claim names is one of the twelve.
    from sentiment_pipeline.ladder.phases import PHASE_NAMES

    named = {n for claim in table["claim"] for n in PHASE_NAMES.values() if n in claim}
    assert len(named) == 10  # a misspelt name would drop out


def test_an_invalid_research_table_writes_none_of_the_five(chain_db, synthetic_cache, monkeypatch):
    from sentiment_pipeline.research import assets as research
    from sentiment_pipeline.research import tables as t

    db = chain_db[0]
    before = read(db, "select * from research.regime_summary")
    monkeypatch.setenv("SENTIMENT_SOURCE", "synthetic")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
    build, metadata = research.RESEARCH_TABLES[t.PhasePath]
    monkeypatch.setitem(research.RESEARCH_TABLES, t.PhasePath,
                        (lambda days: build(days).with_columns(day=pl.lit(0, pl.Int32)), metadata))
    monkeypatch.setitem(research.RESEARCH_TABLES, t.RegimeSummary,
                        (lambda days: research.rules.regime_summary(days).with_columns(days=pl.lit(99, pl.Int32)),
                         lambda df: {}))
    defs = build_definitions()
    keys = [dg.AssetKey(["research", n]) for n in ("regime_summary", "regime_distribution", "rate_correlation",
                                                    "phase_forward", "phase_path")]
    result = defs.resolve_job_def(HISTORY_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys, raise_on_error=False)
    assert not result.success
    failed = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and not e.event_specific_data.passed]
    assert [c.asset_key for c in failed] == [dg.AssetKey(["research", "phase_path"])]
    # regime_summary came out (wrongly) different and valid, yet was not written: the step wrote nothing.
    assert read(db, "select * from research.regime_summary").equals(before)
