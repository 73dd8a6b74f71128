"""The strategy assets through the real definitions into a temporary DuckDB: tables, pictures, metadata, a
re-run that replaces its rows, and no look-ahead: days added after t change nothing up to t+1."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

import shutil

from sentiment_pipeline.backtest import charts, engine
from sentiment_pipeline.backtest import tables as t
from sentiment_pipeline.backtest.assets import PANEL_COLUMNS, STRATEGIES as STRATEGY_NAMES, table_keys
from sentiment_pipeline_tests.conftest import materialize_jobs
from sentiment_pipeline.platform.wiring import SCHEMA_CHECK

STRATEGIES = sorted(STRATEGY_NAMES)
# Each strategy's assets: its row of backtest.runs (the strategy's own key) and its rows of the other tables.
ASSETS = {"runs": "", "nav": "_nav", "trades": "_trades", "blocked_orders": "_blocked_orders"}
# heat_rotation also writes buy-and-hold of each index beside it.
HOLDS = [f"heat_rotation_hold_{g}" for g in ("csi300", "csi500", "csi1000", "csi2000")]
RUN_NAMES = sorted([*STRATEGIES, *HOLDS])
FIRST_END, SECOND = dt.date(2019, 2, 22), ("2019-02-25", "2019-03-29")
# The heat weeks' last trading days in run 1 (the Spring Festival week of 2019-02-04 has none): note 001's
# concept portfolios decide on each, with rows from the third week on (the first MA2).
HEAT_WEEK_ENDS = [dt.date(2019, 1, 4), dt.date(2019, 1, 11), dt.date(2019, 1, 18), dt.date(2019, 1, 25),
                  dt.date(2019, 2, 1), dt.date(2019, 2, 15), dt.date(2019, 2, 22)]


def read(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return pl.from_arrow(conn.execute(sql).to_arrow_table())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, synthetic_cache, chain_db):
    """Run 1 is the session's chain (2019-01-02 → 2019-02-22 with the backtests); run 2, on a copy of its
    database, adds 2019-02-25 → 2019-03-29 and runs them again."""
    chain, _, _, first = chain_db
    before = {t: read(chain, f"select * from backtest.{t} order by all") for t in ("runs", "nav", "trades",
                                                                                 "blocked_orders")}
    db = tmp_path_factory.mktemp("backtest") / "market.duckdb"
    with duckdb.connect(str(chain)) as conn:  # the file alone is the database once its WAL is checkpointed
        conn.execute("checkpoint")
    shutil.copyfile(chain, db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SENTIMENT_SOURCE", "synthetic")
        mp.setenv("SENTIMENT_DUCKDB_PATH", str(db))
        mp.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
        second = materialize_jobs(*SECOND)[-1]
    return chain, first, before, second, db


def test_every_strategy_writes_its_rows_and_a_picture(two_runs):
    db, first, before, *_ = two_runs
    runs = before["runs"]
    assert sorted(runs["strategy"]) == RUN_NAMES
    assert (runs["start_date"] == dt.date(2019, 1, 2)).all() and (runs["end_date"] == FIRST_END).all()
    assert before["nav"].group_by("strategy").len()["len"].to_list() == [runs["days"][0]] * len(RUN_NAMES)
    assert (runs["trades"] > 0).all() and (runs["signal_days"] > 0).all()
    assert (runs["benchmark"] == "all_a simulated").all()  # the synthetic source stores its own all-A index
    counts = before["trades"].group_by("strategy").len()
    assert dict(counts.iter_rows()) == dict(runs.select("strategy", "trades").iter_rows())
    for strategy in STRATEGIES:
        png = db.parent / "reports" / "backtest" / f"{strategy}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert runs.filter(pl.col("strategy") == strategy)["chart_path"].item() == str(png)
    phase = runs.filter(pl.col("strategy") == "phase_limit_up_follow").row(0, named=True)
    assert phase["signal_next_day_return"] is not None
    assert json.loads(phase["params"])["phases"] == ["冰点低迷期", "混沌活跃期", "高潮分化期"]
    assert json.loads(phase["params"])["engine"]["commission_rate"] == 0.00025

    materializations = {e.asset_key.path[1]: e.event_specific_data.materialization
                        for e in first.all_events if e.event_type_value == "ASSET_MATERIALIZATION"
                        and e.asset_key.path[0] == "backtest"}
    assert sorted(materializations) == sorted(f"{s}{suffix}" for s in STRATEGIES for suffix in ASSETS.values())
    # Each asset's row count is its strategy's rows of its table (heat_rotation's with its buy-and-hold series).
    for strategy in STRATEGIES:
        names = [strategy, *(HOLDS if strategy == "heat_rotation" else [])]
        for table, suffix in ASSETS.items():
            rows = before[table].filter(pl.col("strategy").is_in(names)).height
            meta = materializations[f"{strategy}{suffix}"].metadata
            assert meta["dagster/row_count"].value == rows, (strategy, table)
    assert materializations["heat_rotation_nav"].metadata["strategies"].value == ", ".join(["heat_rotation", *HOLDS])
    cash = before["nav"].filter((pl.col("strategy") == "concept_heat_top") & (pl.col("positions_value") == 0))
    assert materializations["concept_heat_top_nav"].metadata["cash_days"].value == cash.height > 0
    meta = materializations["stms_top_sw"].metadata
    assert (meta["source"].value, meta["period"].value) == ("synthetic", f"2019-01-02 → {FIRST_END}")
    # The picture's words: the strategy's title and key, and its figures as backtest.runs holds them.
    row = runs.filter(pl.col("strategy") == "stms_top_sw").row(0, named=True)
    assert meta["chart_title"].value == "STMS 申万一级前3 行业篮子    backtest/stms_top_sw"
    assert meta["chart_figures"].value == charts.equity_texts(row, "backtest/stms_top_sw", "").figures
    assert f"区间 2019-01-02 → {FIRST_END} ({row['days']} 个交易日)   来源 synthetic (模拟市场)" in meta["chart_figures"].value
    chart = meta["chart"].value
    assert chart.startswith("![equity curve](data:image/png;base64,")
    assert base64.b64decode(chart.split(",", 1)[1].rstrip(")"))[:4] == b"\x89PNG"
    assert meta["trades"].value == runs.filter(pl.col("strategy") == "stms_top_sw")["trades"].item()
    checks = [e.event_specific_data for e in first.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.event_specific_data.asset_key.path[0] == "backtest"]
    assert len(checks) == 4 * len(STRATEGIES) and all(c.passed and c.check_name == SCHEMA_CHECK for c in checks)
    assert {c.asset_key.path[1]: c.metadata["rows"].value for c in checks} == {
        k: m.metadata["dagster/row_count"].value for k, m in materializations.items()}


def test_a_rerun_replaces_the_strategys_rows(two_runs):
    *_, db = two_runs
    runs = read(db, "select strategy, end_date, days from backtest.runs")
    assert runs.height == len(RUN_NAMES) and (runs["end_date"] == dt.date(2019, 3, 29)).all()
    nav = read(db, "select strategy, count(*) n, count(distinct trade_date) d from backtest.nav group by 1")
    assert (nav["n"] == nav["d"]).all() and (nav["n"] == runs["days"][0]).all()
    comments = read(db, "select count(*) n from duckdb_columns() where schema_name = 'backtest' "
                        "and comment is not null")
    assert comments["n"].item() == read(db, "select count(*) n from duckdb_columns() where "
                                            "schema_name = 'backtest'")["n"].item()


def test_no_look_ahead_days_after_t_change_nothing_up_to_t_plus_one(two_runs):
    """Run 2 stored five more weeks of bars, scores and phases, and recomputed every strategy. Each trade,
    blocked order and NAV up to 2019-02-22 (the last of them: decisions of 02-21 executed at the open of 02-22)
    is what run 1 computed when nothing after 02-22 existed."""
    _, _, before, _, db = two_runs
    cut = FIRST_END
    for table in ("trades", "blocked_orders", "nav"):
        after = read(db, f"select * from backtest.{table} where trade_date <= '{cut}' order by all")
        old = before[table]
        if table == "nav":  # benchmark_nav too; the frames match column for column
            old = old.filter(pl.col("trade_date") <= cut)
        assert after.equals(old), f"backtest.{table} up to {cut} changed when later days were added"


def test_cjk_font_is_found_for_the_pictures():
    from matplotlib import font_manager

    if not any("CJK" in f for f in font_manager.findSystemFonts()):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert charts.cjk_font() is not None


def test_a_model_that_gained_a_column_adds_it_to_the_stored_table(tmp_path):
    """The slice write adds a new model column to an existing table (older rows read null) and replaces only
    its own slice."""
    import pandera.polars as pa

    from sentiment_pipeline.platform.io_manager import TableSlices, TableSlicesTypeHandler

    class Old(pa.DataFrameModel):
        strategy: str = pa.Field(description="name")
        value: float = pa.Field(description="a figure")

        class Config:
            name = "backtest.example"

    class New(Old):
        added: float = pa.Field(nullable=True, description="a figure added later")

        class Config:
            name = "backtest.example"

    handler = TableSlicesTypeHandler()
    with duckdb.connect(str(tmp_path / "x.duckdb")) as conn:
        handler.handle_output(None, None, TableSlices({Old: pl.DataFrame({"strategy": ["a", "b"],
                                                                          "value": [1.0, 2.0]})}, "strategy", ("a",)),
                              conn)
        handler.handle_output(None, None, TableSlices({New: pl.DataFrame({"strategy": ["a"], "value": [3.0],
                                                                          "added": [4.0]})}, "strategy", ("a",)),
                              conn)
        assert conn.execute("select * from backtest.example order by all").fetchall() == [
            ("a", 3.0, 4.0), ("b", 2.0, None)]
        assert conn.execute("select comment from duckdb_columns() where column_name = 'added'").fetchone() == (
            "a figure added later",)


def test_every_row_names_its_source_and_each_run_its_period_and_membership(two_runs):
    db, _, before, *_ = two_runs
    for table, frame in before.items():
        assert frame.height and frame["source"].to_list() == ["synthetic"] * frame.height, table
    runs = before["runs"]
    assert (runs["start_date"] == dt.date(2019, 1, 2)).all() and (runs["end_date"] == FIRST_END).all()
    # The latest SW classification start on or before the last decision day (2019-02-22) ...
    sw = read(db, f"select max(start_date) d from raw.industry_history where start_date <= '{FIRST_END}'")["d"].item()
    assert sw == dt.date(2019, 2, 18)
    # ... the synthetic source's one concept snapshot, and the CSI lists the heat rotation's groups came from.
    snapshots = read(db, "select distinct snapshot_date d from raw.concept_membership")["d"].to_list()
    assert snapshots == [dt.date(2019, 1, 2)]
    lists = read(db, f"select max(effective_date) d from raw.index_membership where effective_date <= '{FIRST_END}'")
    assert lists["d"].item() == dt.date(2019, 1, 2)
    concept = dt.date(2019, 1, 2)
    assert dict(runs.select("strategy", "membership_date").iter_rows()) == {
        "stms_top_sw": sw, "stms_top_sw_weekly": sw, "stms_risers_sw": sw, "stms_three_highs_sw": sw,
        "stms_top_concept": concept, "concept_heat_top": concept, "concept_heat_bottom": concept,
        "concept_heat_baskets_top": concept, "concept_heat_baskets_bottom": concept,
        "heat_rotation": dt.date(2019, 1, 2), "phase_limit_up_follow": None,
        **{f"heat_rotation_hold_{g}": None for g in ("csi300", "csi500", "csi1000", "csi2000")}}


def test_concept_heat_top_and_bottom_trade_the_stored_portfolios_weekly(two_runs):
    """Note 001's portfolios as heat.concept_portfolios holds them: decided on every heat week's last trading day
    (weeks without rows in cash), executed at the next open. The stored run is the engine on those targets."""
    db, _, before, *_ = two_runs
    bars = read(db, f"select {', '.join(PANEL_COLUMNS)} from core.daily_bars")
    securities = read(db, "select code, delist_date from raw.securities")
    portfolios = read(db, "select week_end, side, code, weight from heat.concept_portfolios")
    weeks = read(db, "select distinct week_end from heat.sector_weekly order by 1")["week_end"].to_list()
    assert weeks == HEAT_WEEK_ENDS
    days = sorted(bars["trade_date"].unique().to_list())
    runs = before["runs"]
    for side in ("top", "bottom"):
        name = f"concept_heat_{side}"
        held = portfolios.filter(pl.col("side") == side)
        targets = held.select(trade_date="week_end", code="code", weight="weight")
        result = engine.run(bars, targets, engine.Rules(), decision_days=HEAT_WEEK_ENDS, days=days,
                            delistings=securities)
        mine = lambda table: before[table].filter(pl.col("strategy") == name).drop("strategy", "source")  # noqa: E731
        columns = list(result.trades.columns)
        assert mine("trades").select(columns).sort(columns).equals(result.trades.sort(columns)), name
        assert mine("nav").select("trade_date", "nav", "cash").equals(result.nav.select("trade_date", "nav", "cash"))
        assert mine("blocked_orders").height == result.blocked.height == 0
        # Cash until the first portfolio (decided 2019-01-18) is bought at the open of 01-21; then each week's
        # decision trades at the next week's first open (02-01's after the Spring Festival, on 02-11).
        nav = mine("nav")
        cash_days = nav.filter(pl.col("trade_date") <= dt.date(2019, 1, 18))
        assert cash_days.select("nav", "positions_value").rows() == [(10_000_000.0, 0.0)] * 13
        trades = mine("trades")
        assert sorted(trades["trade_date"].unique().to_list()) == [
            dt.date(2019, 1, 21), dt.date(2019, 1, 28), dt.date(2019, 2, 11), dt.date(2019, 2, 18)]
        assert set(trades.filter(pl.col("trade_date") == dt.date(2019, 1, 21))["code"]) == set(
            held.filter(pl.col("week_end") == dt.date(2019, 1, 18))["code"])
        run = runs.filter(pl.col("strategy") == name).row(0, named=True)
        assert (run["signal_days"], run["trades"]) == (5, result.trades.height)
        assert {k: v for k, v in json.loads(run["params"]).items() if k not in ("engine", "risk_free")} == {
            "portfolios": "heat.concept_portfolios", "side": side, "concepts": 5, "small_cap_cut_percent": 20,
            "per_concept": 10}
    # The old construction, whole concepts as baskets, stays as a reference under its own names.
    for name in ("concept_heat_baskets_top", "concept_heat_baskets_bottom"):
        run = runs.filter(pl.col("strategy") == name).row(0, named=True)
        assert run["signal_days"] == 5 and json.loads(run["params"])["n"] == 5


def test_one_strategy_asset_selected_alone_still_replaces_its_rows_of_the_four_tables(two_runs, tmp_path,
                                                                                        monkeypatch):
    """`--select backtest/stms_top_sw` (with run config, as the README shows) runs the strategy's step:
    its rows of all four tables are replaced together, and only the selected asset is recorded. Rows that fail
    validation write nothing in any of the four, and the failing table's check says which."""
    from sentiment_pipeline.backtest import report
    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, build_definitions

    *_, source_db = two_runs
    db = tmp_path / "market.duckdb"
    with duckdb.connect(str(source_db)) as conn:
        conn.execute("checkpoint")
    shutil.copyfile(source_db, db)
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    name = "stms_top_sw"
    key = table_keys(name)[t.BacktestRuns]
    tables = ("runs", "nav", "trades", "blocked_orders")

    def rows(where: str) -> dict[str, pl.DataFrame]:
        return {table: read(db, f"select * from backtest.{table} where {where} order by all") for table in tables}

    mine, others = (lambda: rows(f"strategy = '{name}'")), (lambda: rows(f"strategy <> '{name}'"))
    before, rest = mine(), others()
    job = build_definitions().resolve_job_def(HISTORY_JOB_NAME)
    config = {"ops": {f"backtest__{name}": {"config": {"top_n": 5, "slippage_bps": 40.0}}}}
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), asset_selection=[key],
                                    run_config=config)
    assert result.success
    materialized = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert [e.asset_key for e in materialized] == [key]
    # The picture's title says the configured N.
    assert materialized[0].event_specific_data.materialization.metadata["chart_title"].value.startswith(
        "STMS 申万一级前5 行业篮子")
    after = mine()
    run = after["runs"].row(0, named=True)
    assert json.loads(run["params"])["top_n"] == 5 and json.loads(run["params"])["engine"]["slippage_bps"] == 40.0
    assert run["final_nav"] == after["nav"].sort("trade_date")["nav"][-1] != before["runs"]["final_nav"].item()
    assert run["trades"] == after["trades"].height and run["blocked_orders"] == after["blocked_orders"].height
    assert not after["trades"].equals(before["trades"])  # the costs changed in the ledger too
    assert all(others()[table].equals(rest[table]) for table in tables)

    written = mine()
    tables_of = report.tables

    def negative_cash(*args, **kwargs):
        frames = tables_of(*args, **kwargs)
        frames[t.BacktestNav] = frames[t.BacktestNav].with_columns(cash=pl.lit(-1.0))
        return frames

    monkeypatch.setattr(report, "tables", negative_cash)
    job = build_definitions().resolve_job_def(HISTORY_JOB_NAME)
    failed = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                                    asset_selection=list(table_keys(name).values()))
    assert not failed.success
    checks = {e.event_specific_data.asset_key.path[1]: e.event_specific_data for e in failed.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert {k: c.passed for k, c in checks.items()} == {name: True, f"{name}_nav": False, f"{name}_trades": True,
                                                         f"{name}_blocked_orders": True}
    assert "cash" in checks[f"{name}_nav"].metadata["failure_cases"].value
    assert not [e for e in failed.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert all(mine()[table].equals(written[table]) for table in tables)  # nothing written in any of the four


RUN = {"strategy": "heat_rotation", "source": "synthetic", "benchmark": "all_a official", "annual_return": 0.12345,
       "max_drawdown": -0.2512, "sharpe": 0.8567, "benchmark_annual_return": 0.051, "benchmark_max_drawdown": -0.18,
       "start_date": dt.date(2019, 1, 2), "end_date": dt.date(2019, 2, 22), "days": 35}


def test_the_pictures_words_name_the_strategy_its_figures_period_and_source():
    texts = charts.equity_texts(RUN, "backtest/heat_rotation", "热度轮动 宽基指数")
    assert texts.title == "热度轮动 宽基指数    backtest/heat_rotation"
    assert texts.figures == ("年化 +12.3%   最大回撤 -25.1%   夏普 0.86   区间 2019-01-02 → 2019-02-22 (35 个交易日)   "
                             "来源 synthetic (模拟市场)")
    assert texts.strategy_label == "策略 (年化 +12.3%)"
    assert texts.benchmark_label == "全A基准 official (年化 +5.1%)"
    assert texts.strategy_drawdown_label == "策略回撤 (最大 -25.1%)"
    assert texts.benchmark_drawdown_label == "基准回撤 (最大 -18.0%)"
    flat = charts.equity_texts({**RUN, "sharpe": None, "source": "tdx", "benchmark": "all_a computed"}, "backtest/x",
                               "X")
    assert "夏普 —" in flat.figures and flat.figures.endswith("来源 tdx")
    assert flat.benchmark_label.startswith("全A基准 computed")
    hold = {**RUN, "strategy": "heat_rotation_hold_csi300", "annual_return": -0.034}
    assert charts.reference_label(hold, "heat_rotation") == "持有 csi300 (年化 -3.4%)"


def test_the_picture_shades_cash_days_and_draws_both_drawdowns_and_the_reference_lines():
    from matplotlib.dates import date2num

    days = [dt.date(2019, 1, d) for d in (2, 3, 4, 7, 8, 9)]
    nav = pl.DataFrame({"trade_date": days, "nav": [100.0, 100.0, 104.0, 98.0, 98.0, 101.0],
                        "positions_value": [0.0, 0.0, 90.0, 85.0, 0.0, 95.0],
                        "drawdown": [0.0, 0.0, 0.0, -0.0577, -0.0577, -0.0288],
                        "benchmark_nav": [100.0, 102.0, None, 99.0, 97.0, 103.0]})
    # Cash at the closes of 01-02, 01-03 and 01-08.
    assert charts.cash_spans(nav) == [(days[0], days[1]), (days[4], days[4])]
    assert charts.drawdown(nav["benchmark_nav"]).round(4).to_list() == [0.0, 0.0, 0.0, -0.0294, -0.049, 0.0]
    hold = nav.select("trade_date", nav=pl.Series([100.0, 101.0, 102.0, 103.0, 104.0, 105.0]))
    texts = charts.equity_texts(RUN, "backtest/heat_rotation", "热度轮动 宽基指数")
    fig = charts.equity_figure(nav, texts, [("持有 csi300 (年化 +1.0%)", hold)])
    top, bottom = fig.axes
    assert fig.get_suptitle() == texts.title and top.get_title() == texts.figures
    assert [x.get_text() for x in top.get_legend().get_texts()] == [
        texts.strategy_label, texts.benchmark_label, "持有 csi300 (年化 +1.0%)", "空仓 (无持仓)"]
    assert [x.get_text() for x in bottom.get_legend().get_texts()] == [
        texts.strategy_drawdown_label, texts.benchmark_drawdown_label]
    spans = top.collections[0].get_paths()
    assert len(spans) == 2 and len(bottom.collections[0].get_paths()) == 2
    # Shaded from the first day (or halfway from the day before) to halfway to the next trading day: 01-02 to
    # 01-03 12:00, and 01-07 12:00 to 01-08 12:00.
    assert [(p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in spans] == [
        (date2num(days[0]), date2num(days[1]) + 0.5), (date2num(days[3]) + 0.5, date2num(days[4]) + 0.5)]


def test_heat_rotations_picture_is_drawn_with_its_buy_and_hold_lines(two_runs):
    db, _, before, *_ = two_runs
    png = db.parent / "reports" / "backtest" / "heat_rotation.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    runs = before["runs"].filter(pl.col("strategy").is_in(HOLDS)).sort("strategy")
    labels = [charts.reference_label(r, "heat_rotation") for r in runs.iter_rows(named=True)]
    assert [x.split(" (")[0] for x in labels] == ["持有 csi1000", "持有 csi2000", "持有 csi300", "持有 csi500"]


def _tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of a text, each as its rows of cells (header first, separator left out)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if current is None:
                current = []
                tables.append(current)
            if not set(line.strip()) <= set("|:- "):  # not the separator line
                current.append(cells)
        else:
            current = None
    return tables


def test_the_docs_result_tables_show_what_the_commands_print_now(chain_db, capsys):
    """docs/samples/{backtests,claims}_{simulated,tdx}.md come from whole-history runs (scripts/docs_samples.py
    --history / --real, minutes each): the tables the commands print today on the session's chain must have the
    same columns, the same claims and (simulated) the same strategies, or the samples are stale."""
    from sentiment_pipeline.backtest import results
    from sentiment_pipeline.research import claims

    samples = Path(__file__).resolve().parents[1] / "docs" / "samples"
    stale = "; run `python scripts/docs_samples.py --history` (and --real) and commit what it writes"
    with duckdb.connect(str(chain_db[0]), read_only=True) as conn:
        now = _tables(results.markdown(conn))
    assert claims.main([str(chain_db[0])]) == 0
    claims_now = _tables(capsys.readouterr().out)
    strategies = {row[0] for row in now[0][1:] if row[0].startswith("`")}
    assert strategies == {f"`{s}`" for s in RUN_NAMES}
    for name in ("simulated", "tdx"):
        shown = _tables((samples / f"backtests_{name}.md").read_text())
        # the by-year table (the second) has a column per stored year: its first column is what the code fixes
        heads = lambda tables: [t[0][:1] if i == 1 else t[0] for i, t in enumerate(tables)]  # noqa: E731
        assert heads(shown) == heads(now), f"backtests_{name}.md: columns{stale}"
        assert shown[1][0][1:] == [str(y) for y in range(2019, 2026 if name == "simulated" else 2024)], stale
        shown_strategies = {row[0] for row in shown[0][1:] if row[0].startswith("`")}
        # the TongDaXin folder has no attention: the heat strategies are left out there
        assert shown_strategies == strategies if name == "simulated" else shown_strategies < strategies, \
            f"backtests_{name}.md: strategies {sorted(shown_strategies ^ strategies)}{stale}"
        shown = _tables((samples / f"claims_{name}.md").read_text())
        assert shown[0][0] == claims_now[0][0], f"claims_{name}.md: columns{stale}"
        assert [r[0] for r in shown[0]] == [r[0] for r in claims_now[0]], f"claims_{name}.md: claims{stale}"
        assert [r[0] for r in shown[1]] == [r[0] for r in claims_now[1]], f"claims_{name}.md: robustness{stale}"
        assert [t[0] for t in shown[2:]] == [t[0] for t in claims_now[2:]], f"claims_{name}.md: phases{stale}"
