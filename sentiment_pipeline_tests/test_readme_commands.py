"""Every command in the bash blocks of the README and of the documentation (docs/**/*.md) works as pasted: the ones
that need no network run here, in the activated environment, against a temporary instance and database; the others
say why they do not. The samples the documentation shows of the main command (scripts/docs_samples.py writes them)
are compared with this run of it."""

import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from sentiment_pipeline_tests.conftest import REAL_DATA

ROOT = Path(__file__).resolve().parents[1]
FULL_BACKFILL = "python -m sentiment_pipeline.cli 2019-01-02...2025-12-31"
NEXT_DAY = "python -m sentiment_pipeline.cli 2026-01-05 --select 'not group:backtest'"
BACKTESTS = "python -m sentiment_pipeline.cli --select 'group:backtest'"
BACKTEST_RESULTS = "python -m sentiment_pipeline.backtest.results"
CONFIGURED = ("dagster asset materialize -m sentiment_pipeline.definitions --select backtest/stms_top_sw --config-json "
              """'{"ops": {"backtest__stms_top_sw": {"config": {"top_n": 5, "slippage_bps": 10}}}}'""")
SELECTED = "python -m sentiment_pipeline.cli 2019-03-01...2019-03-29 --select 'group:sentiment'"
DAGSTER_CLI = ("dagster asset materialize -m sentiment_pipeline.definitions "
               "--select 'not group:heat and not group:review and not group:backtest' "
               "--partition-range 2019-01-02...2019-06-28")
TDX = ("SENTIMENT_SOURCE=tdx SENTIMENT_TDX_DIR=../shared/data/real/tdx/vipdoc SENTIMENT_THS_DIR=../shared/data/"
       "real/ths SENTIMENT_DUCKDB_PATH=data/tdx.duckdb python -m sentiment_pipeline.cli 2023-01-03...2023-02-24")
TDX_RESEARCH = ("SENTIMENT_SOURCE=tdx SENTIMENT_TDX_DIR=../shared/data/real/tdx/vipdoc SENTIMENT_DUCKDB_PATH=data/tdx.duckdb "
                "python -m sentiment_pipeline.cli 2019-01-02...2023-02-24")
SERVE = ("DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_USER=dagster DAGSTER_PG_PASSWORD=secret DAGSTER_PG_DB=dagster "
         "bash scripts/serve.sh")
CLAIMS = "python -m sentiment_pipeline.research.claims data/tdx.duckdb"
TDX_MEMBERSHIP = ("SENTIMENT_SOURCE=tdx SENTIMENT_TDX_DIR=../shared/data/real/tdx/vipdoc SENTIMENT_MEMBERSHIP_DIR=../shared/"
                  "data/real/membership SENTIMENT_DUCKDB_PATH=data/tdx_membership.duckdb python -m sentiment_pipeline.cli "
                  "2019-01-02...2023-02-24")
STMS_REPORT = "python -m sentiment_pipeline.stms.report data/tdx_membership.duckdb"
BAOSTOCK = ("SENTIMENT_SOURCE=baostock SENTIMENT_BAOSTOCK_DIR=../shared/data/real/baostock "
            "SENTIMENT_DUCKDB_PATH=data/baostock.duckdb python -m sentiment_pipeline.cli 2020-08-03...2020-09-30")
TDX_BAOSTOCK = ("SENTIMENT_SOURCE=tdx SENTIMENT_TDX_DIR=../shared/data/real/tdx/vipdoc SENTIMENT_BAOSTOCK_DIR=../shared/"
                "data/real/baostock SENTIMENT_DUCKDB_PATH=data/tdx_baostock.duckdb python -m sentiment_pipeline.cli "
                "2020-08-03...2020-09-30")
CROSS_SOURCE = "python -m sentiment_pipeline.quality.cross_source ../shared/data/real/tdx/vipdoc ../shared/data/real/baostock"

# How each documented command is covered; a command missing here fails test_every_documented_command_is_covered.
COVERED = {
    "bash scripts/run.sh": "test_main_command_then_a_selected_month",
    SELECTED: "test_main_command_then_a_selected_month",
    DAGSTER_CLI: "test_dagster_cli_materializes_the_graph_in_one_run",
    TDX: "test_tdx_folder_runs_what_it_can_feed",
    "python -m sentiment_pipeline.catalog > sql/tables.sql":
        "test_catalog.test_sql_contract_is_generated_from_the_table_models (the output equals the file)",
    "bash scripts/test.sh": "this suite",
    "source .venv/bin/activate": "every test here runs its command after it",
    FULL_BACKFILL: "benchmarks/backfill.py (minutes); the same command over shorter ranges runs here",
    NEXT_DAY: "needs the backfill before it (STMS windows); test_main_command_then_a_selected_month runs "
              "a day range on top of a stored one",
    "dagster dev": "test_dagster_dev_serves_the_assets",
    "export SENTIMENT_SOURCE=akshare": "network",
    'python -m sentiment_pipeline.cli "$(TZ=Asia/Shanghai date +%F)"': "network (akshare's daily run)",
    "python benchmarks/backfill.py": "a benchmark",
    "python benchmarks/backtest_engine.py": "a benchmark (its engine is tested in test_backtest_engine.py)",
    BACKTESTS: "test_main_command_then_a_selected_month",
    BACKTEST_RESULTS: "test_main_command_then_a_selected_month",
    "python -m sentiment_pipeline.cli 2025-12-22...2025-12-31 --select 'group:heat'":
        "needs the raw attention of those days stored; test_heat_assets.py runs the group's days and weeks "
        "through the same jobs",
    CONFIGURED: "test_main_command_then_a_selected_month",
    TDX_RESEARCH: "minutes on the real folder; test_tdx_folder_runs_what_it_can_feed runs the same over 34 days",
    CLAIMS: "test_tdx_folder_runs_what_it_can_feed (on that database)",
    TDX_MEMBERSHIP: "test_tdx_with_membership_runs_stms_and_the_sector_backtests (over three months)",
    STMS_REPORT: "test_tdx_with_membership_runs_stms_and_the_sector_backtests (on that database)",
    BAOSTOCK: "test_baostock_and_tdx_completed_by_it_store_the_exchange_reference_closes",
    TDX_BAOSTOCK: "test_baostock_and_tdx_completed_by_it_store_the_exchange_reference_closes",
    CROSS_SOURCE: "test_baostock_and_tdx_completed_by_it_store_the_exchange_reference_closes",
    "python benchmarks/baostock_bias.py": "a benchmark (3 minutes on the real data); test_baostock.py tests what it "
                                          "compares",
    "export SENTIMENT_SOURCE=baostock": "network (baostock's server); test_baostock.py runs the live source on "
                                        "recorded answers",
    "bash scripts/postgres_setup.sh": "a server's one-time setup; test_operator_errors.py runs it against its own "
                                      "server as root, via su, as postgres and as nobody",
    SERVE: "test_production.test_the_service_runs_a_daily_partition_through_the_queue (with its own server's "
           "credentials)",
    "python -m pytest sentiment_pipeline_tests/test_faults.py": "this suite runs that file",
    "python benchmarks/faults_kill.py": "a script (about an hour); test_faults.py kills the same command three times",
    "python benchmarks/snapshot_publish.py": "a benchmark (about 10 minutes); test_snapshot.py tests the publish it times",
    "python -m sentiment_pipeline.platform.snapshot": "test_snapshot.py publishes through the same function "
                                                      "(the main command calls it after its last run)",
    "mkdocs build --strict": "test_the_docs_site_builds_strictly (and .ci/run before the tests)",
    "mkdocs serve": "a server (the same build as mkdocs build --strict, which .ci/run runs)",
    "python scripts/docs_samples.py": "regenerates the samples from bash scripts/run.sh (about 30 s); "
                                      "test_main_command_then_a_selected_month compares them with its own run",
    "python scripts/docs_samples.py --screenshots": "the same, then dagster dev and Chromium (a minute more); "
                                                    "test_dagster_dev_serves_the_assets starts the same dagster dev",
    "python scripts/docs_samples.py --history": "seven simulated years (minutes); test_backtest_assets.py compares "
                                                "its tables' columns, claims and strategies with today's commands",
    "python scripts/docs_samples.py --real": "the real folder for minutes; the same comparison",
}


def documents() -> list[Path]:
    """The README and every page of the documentation site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def documented_commands() -> list[tuple[str, str]]:
    """(file, command) for every line of every bash block of the README and the documentation."""
    commands = []
    for path in documents():
        for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line.strip())
                if command:
                    commands.append((str(path.relative_to(ROOT)), command))
    return commands


def test_every_documented_command_is_covered():
    commands = documented_commands()
    readme = [c for f, c in commands if f == "README.md"]
    assert "bash scripts/run.sh" in readme and "bash scripts/test.sh" in readme
    assert DAGSTER_CLI in [c for _, c in commands]
    missing = [f"{f}: {c}" for f, c in commands if c not in COVERED]
    assert not missing, f"documented commands without a test or a reason here: {missing}"


def test_the_docs_site_builds_strictly(tmp_path):
    """`mkdocs build --strict` (not --quiet: it hides the warnings --strict counts) on the committed pages."""
    mkdocs = ROOT / ".venv" / "bin" / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("no mkdocs in .venv (scripts/setup.sh installs the docs extra)")
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_readme_links_resolve():
    """GitHub shows the README; its relative links (to the documentation's pages and pictures) must exist."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) + re.findall(r'<img src="([^"]+)"', text)
    local = [t for t in targets if not re.match(r"^[a-z]+:", t)]
    assert local and not [t for t in local if not (ROOT / t).exists()], [t for t in local if not (ROOT / t).exists()]


def docs_samples():
    """scripts/docs_samples.py as a module: how a sample is compared with a run."""
    spec = importlib.util.spec_from_file_location("docs_samples", ROOT / "scripts" / "docs_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_the_samples_show(out: str, db: Path) -> None:
    """The documentation's samples of `bash scripts/run.sh` are this run's output, numbers, timings and paths
    aside: the same assets, steps, tables, strategies and summary lines (scripts/docs_samples.py rewrites them)."""
    samples = docs_samples()
    stale = "; run `python scripts/docs_samples.py` and commit what it writes"
    ran = samples.output_lines(out)
    shown = (ROOT / "docs" / "samples" / "run_sh.txt").read_text().splitlines()
    assert shown[0] == "$ bash scripts/run.sh", shown[0]
    got = [samples.normalise(x) for x in ran]
    expected = [samples.normalise(x) for x in samples.output_lines("\n".join(shown[1:]))]
    diff = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    assert len(expected) == len(got) and not diff, \
        f"docs/samples/run_sh.txt differs from the run ({len(expected)} vs {len(got)} lines; {diff[:3]}){stale}"
    rest = iter(ran)  # every line the README shows, in the run's order
    for line in samples.readme_block((ROOT / "README.md").read_text()):
        if line.strip() != "…" and not line.startswith(samples.MACHINE_LINES):
            assert any(samples.matches(line, r) for r in rest), f"README sample line not in the run: {line!r}{stale}"
    top_list = (ROOT / "docs" / "samples" / "stms_top_list.txt").read_text()
    assert [samples.normalise(x) for x in samples.stms_top_list(db).splitlines()] == \
        [samples.normalise(x) for x in top_list.splitlines()], f"docs/samples/stms_top_list.txt is stale{stale}"


@pytest.fixture
def shell(tmp_path, synthetic_cache):
    """Run a README command as pasted, in the activated environment, with a temporary instance and database."""
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        pytest.skip("no .venv (scripts/setup.sh creates it)")
    env_lines = [
        f"export SENTIMENT_DAGSTER_HOME={tmp_path / 'dagster_home'}",
        f"export SENTIMENT_DUCKDB_PATH={tmp_path / 'market.duckdb'}",
        f"export SENTIMENT_CACHE_DIR={synthetic_cache}",
        "export SENTIMENT_SOURCE=synthetic",
    ]

    def run(command: str, extra_env: str = "") -> subprocess.CompletedProcess:
        script = "\n".join([*env_lines, "source .venv/bin/activate", extra_env, command])
        return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)

    run.env_lines = env_lines
    run.db = tmp_path / "market.duckdb"
    run.home = tmp_path / "dagster_home"
    return run


def test_main_command_then_a_selected_month(shell):
    done = shell("bash scripts/run.sh")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    # 82 assets: each backtest strategy is one step and four assets (its rows of runs, nav, trades, blocked_orders)
    assert "82 assets over 118 trading day(s) 2019-01-02 → 2019-06-28" in out
    # 25 daily steps (the reconciliation writes two tables), 7 weekly, the research tables (one step), 11 backtests
    assert len(re.findall(r"^  ✓ ", out, re.M)) == 44
    assert re.search(r"^source: synthetic \(a simulated market: never evidence about the real one\) · period: "
                     r"2019-01-02 → 2019-06-28 · membership: ", out, re.M)
    assert re.search(r"^core\.daily_bars\s+[\d,]+\s+118$", out, re.M)
    assert re.search(r"^2019-06-28: phase \S+ \(\w+\), height \d+, promotion rate [\d.]+%$", out, re.M)
    assert re.search(r"^2019-06-28: STMS top 3 sw_l1: .+ · .+ · .+$", out, re.M)
    for strategy in ("phase_limit_up_follow", "stms_risers_sw", "stms_three_highs_sw", "stms_top_concept",
                     "stms_top_sw", "stms_top_sw_weekly"):
        assert re.search(rf"^{strategy}\s+2019-01-02 → 2019-06-28\s+-?[\d.]+%\s+-[\d.]+%", out, re.M), strategy
    assert f"database: {shell.db}" in out and "dagster dev" in out
    assert_the_samples_show(out, shell.db)
    # The query the summary offers works as printed.
    query = re.search(r"^try:\s+(python -c .*)$", out, re.M).group(1)
    tried = shell(query)
    assert tried.returncode == 0 and "2019-06-28" in tried.stdout, tried.stderr
    # The run is in the project's instance under the named job.
    assert (shell.home / "dagster.yaml").is_symlink()
    assert any(shell.home.joinpath("history", "runs").glob("*.db"))

    def sentiment_tables():
        with duckdb.connect(str(shell.db), read_only=True) as conn:
            return [conn.execute(f"select * from sentiment.{t} order by all").fetchall()
                    for t in ("limit_ladder", "ladder_daily", "phase_daily")]

    before = sentiment_tables()
    month = shell(SELECTED)
    assert month.returncode == 0, month.stdout[-3000:] + month.stderr[-3000:]
    assert "3 assets over 21 trading day(s) 2019-03-01 → 2019-03-29" in month.stdout
    assert before == sentiment_tables()  # recomputing a stored month from its stored inputs changes nothing

    backtests = shell(BACKTESTS)
    assert backtests.returncode == 0, backtests.stdout[-3000:] + backtests.stderr[-3000:]
    assert "run whole_history: backtest/concept_heat_baskets_bottom, " in backtests.stdout
    # the backtests read every stored day: the header and the summary say so, not the default range
    assert "44 whole-history assets over every stored day" in backtests.stdout
    assert "period: 2019-01-02 → 2019-06-28 · membership" in backtests.stdout
    assert len(re.findall(r"^  ✓ ", backtests.stdout, re.M)) == 11
    results = shell(BACKTEST_RESULTS)
    assert results.returncode == 0, results.stderr[-3000:]
    assert results.stdout.startswith("source: synthetic · period: 2019-01-02 → 2019-06-28 · membership as of ")
    assert re.search(r"^\| `phase_limit_up_follow` \| 2019-01-02 → 2019-06-28 \| -?[\d.]+% \|", results.stdout, re.M)
    assert re.search(r"^\| benchmark: all_a simulated \| 2019-01-02 → 2019-06-28 \|", results.stdout, re.M)
    configured = shell(CONFIGURED)
    assert configured.returncode == 0, configured.stderr[-3000:]
    with duckdb.connect(str(shell.db), read_only=True) as conn:
        params = json.loads(conn.execute("select params from backtest.runs where strategy = 'stms_top_sw'").fetchone()[0])
    assert params["top_n"] == 5 and params["engine"]["slippage_bps"] == 10


def test_dagster_cli_materializes_the_graph_in_one_run(shell):
    done = shell(DAGSTER_CLI)
    assert done.returncode == 0, done.stderr[-3000:]
    with duckdb.connect(str(shell.db), read_only=True) as conn:
        assert conn.execute("select count(distinct trade_date) from stms.scores").fetchone()[0] == 98
        assert conn.execute("select count(*) from sentiment.phase_daily").fetchone()[0] == 118


def test_bad_ranges_and_empty_selections_are_refused_with_the_reason(shell):
    for command, reason in [
        ("2019-01-05...2019-01-10", "'2019-01-05' is not a trading-day partition"),
        ("2019-06-28...2019-01-02", "the range 2019-06-28...2019-01-02 ends before it starts"),
        ("...2019-01-10", "'' is not a trading-day partition"),
        ("2019-01-02 --select group:nothing", "--select 'group:nothing' matches no asset"),
    ]:
        done = shell(f"python -m sentiment_pipeline.cli {command}")
        assert done.returncode == 2 and reason in done.stdout, (command, done.stdout, done.stderr[-2000:])
    assert not shell.db.exists()  # nothing ran


@pytest.mark.skipif(not (REAL_DATA / "tdx").is_dir(), reason="../shared/data/real is absent")
def test_tdx_folder_runs_what_it_can_feed(shell, tmp_path):
    # As pasted, but the database goes to the test's folder instead of data/tdx.duckdb.
    command = TDX.replace("SENTIMENT_DUCKDB_PATH=data/tdx.duckdb", f"SENTIMENT_DUCKDB_PATH={tmp_path / 'tdx.duckdb'}")
    done = shell(command)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "skipped core/index_groups: source 'tdx' does not provide index_membership" in out
    assert "raw.main_fund_flows: source tdx does not provide main_fund_flows; the table gets no rows" in out
    assert "skipped stms/scores: source 'tdx' does not provide" in out
    assert "skipped backtest/stms_top_sw: source 'tdx' does not provide" in out
    assert "25 assets over 34 trading day(s) 2023-01-03 → 2023-02-24" in out  # with phase_limit_up_follow's four
    # the backtest reads every stored day: the range and the 69 days of its warm-up (from 2022-09-20)
    assert "warm-up 2022-09-20 → 2022-12-30: 69 earlier trading day(s)" in out
    assert re.search(r"^phase_limit_up_follow\s+2022-09-20 → 2023-02-24", out, re.M)
    with duckdb.connect(str(tmp_path / "tdx.duckdb"), read_only=True) as conn:
        found = conn.execute("select sum(both_count), sum(pool_count) from quality.limit_up_reconciliation").fetchone()
    assert found == (1225, 1225)  # the README's reconciliation figures
    claims = shell(CLAIMS.replace("data/tdx.duckdb", str(tmp_path / "tdx.duckdb")))
    assert claims.returncode == 0, claims.stderr[-3000:]
    assert "| 中证2000:主线加速期与冰点蓄势期短期胜率较高 | no CSI 2000 series stored |" in claims.stdout


@pytest.mark.skipif(not (REAL_DATA / "membership").is_dir(), reason="../shared/data/real is absent")
def test_tdx_with_membership_runs_stms_and_the_sector_backtests(shell, tmp_path):
    # As pasted, over 2019-01-02 → 2019-03-29 (the whole folder takes 90 s) and into the test's folder.
    db = tmp_path / "tdx_membership.duckdb"
    command = TDX_MEMBERSHIP.replace("data/tdx_membership.duckdb", str(db)).replace("2023-02-24", "2019-03-29")
    done = shell(command)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "skipped heat/stock_daily: source 'tdx' does not provide attention" in out
    assert "skipped stms" not in out and "skipped backtest/stms_top_sw" not in out
    assert re.search(r"^stms_top_sw_weekly\s+2019-01-02 → 2019-03-29", out, re.M)
    with duckdb.connect(str(db), read_only=True) as conn:
        sectors = conn.execute("select count(distinct sector) from stms.scores where sector_kind = 'sw_l1'").fetchone()
        first = conn.execute("select min(trade_date) from stms.scores").fetchone()[0]
        weighting = conn.execute("select distinct return_weighting, b_components, a2_basis from stms.sector_daily "
                                 "join stms.scores using (trade_date, sector_kind, sector)").fetchall()
        groups = conn.execute("select index_code, list_size from core.index_groups where trade_date = '2019-03-29' "
                              "order by 1").fetchall()
    assert sectors == (28,) and str(first) == "2019-01-30"  # the 21st trading day: the first complete window
    assert weighting == [("equal", "none", "amount")]
    assert groups == [("000300", 300), ("000852", 1000), ("000905", 500)]
    report = shell(STMS_REPORT.replace("data/tdx_membership.duckdb", str(db)))
    assert report.returncode == 0, report.stderr[-3000:]
    assert "look-ahead and survivorship" in report.stdout and "| CSI 300 index file" in report.stdout


@pytest.mark.skipif(not (REAL_DATA / "baostock").is_dir(), reason="../shared/data/real is absent")
def test_baostock_and_tdx_completed_by_it_store_the_exchange_reference_closes(shell, tmp_path):
    import polars as pl

    raw = pl.read_parquet(REAL_DATA / "baostock" / "sz_daily_2020_2022.parquet").filter(
        pl.col("date").is_between(pl.date(2020, 8, 3), pl.date(2020, 9, 30))).select(
        trade_date="date", code=pl.col("code").str.slice(3), bs_pre_close="preclose", bs_st=pl.col("isST") == 1,
        traded=pl.col("tradestatus") == 1)
    for command, name in ((BAOSTOCK, "baostock"), (TDX_BAOSTOCK, "tdx_baostock")):
        db = tmp_path / f"{name}.duckdb"
        done = shell(command.replace(f"data/{name}.duckdb", str(db)))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with duckdb.connect(str(db), read_only=True) as conn:
            bars = pl.from_arrow(conn.sql("select trade_date, code, pre_close, is_st, board, is_limit_up, "
                                          "limit_up_price from core.daily_bars").arrow())
            suspended = pl.from_arrow(conn.sql("select trade_date, code from raw.suspensions").arrow())
        shenzhen = bars.join(raw, on=["trade_date", "code"])
        # every Shenzhen stock-day baostock has: its reference close and ST flag; no bar on a suspended day (the
        # folder lacks 23 of these stocks, 979 stock-days: it holds the stocks listed when it was downloaded)
        assert shenzhen.height == raw.filter("traded").height - (979 if name == "tdx_baostock" else 0)
        assert (shenzhen["pre_close"] == shenzhen["bs_pre_close"]).all()
        assert (shenzhen["is_st"] == shenzhen["bs_st"]).all()
        # (the range's days: the warm-up also stores the suspensions of the days before it)
        in_range = suspended.filter(pl.col("trade_date").is_between(pl.date(2020, 8, 3), pl.date(2020, 9, 30)))
        assert in_range.sort(pl.all()).equals(raw.filter(~pl.col("traded")).select("trade_date", "code").sort(pl.all()))
        # the dated rules: ChiNext at ±20% from 2020-08-24 (ST too), ±10% before; main-board ST ±5%
        chinext = shenzhen.filter((pl.col("board") == "chinext") & pl.col("limit_up_price").is_not_null())
        ratio = (chinext["limit_up_price"] / chinext["pre_close"]).round(2)
        after = chinext["trade_date"] >= dt.date(2020, 8, 24)
        # before: ±10% (ST ±5%), and +44% on the listing day of a listing before the registration rules
        assert set(ratio.filter(after).unique()) == {1.2} and set(ratio.filter(~after).unique()) <= {1.1, 1.05, 1.44}
        main_st = shenzhen.filter((pl.col("board") == "main") & pl.col("is_st") & pl.col("limit_up_price").is_not_null())
        assert set((main_st["limit_up_price"] / main_st["pre_close"]).round(2).unique()) == {1.05}
    report = shell(CROSS_SOURCE)
    assert report.returncode == 0, report.stderr[-3000:]
    assert "open 0, high 0, low 0, close 0, volume 0," in report.stdout and "unexplained 0" in report.stdout


def test_dagster_dev_serves_the_assets(shell, tmp_path):
    """`dagster dev` as pasted (after activation) starts, loads the code location and lists every asset."""
    import os
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = "\n".join([*shell.env_lines, "source .venv/bin/activate",
                        f"exec dagster dev -h 127.0.0.1 -p {port}"])
    before = {p.name for p in ROOT.iterdir()}
    log = open(tmp_path / "dev.log", "w")
    server = subprocess.Popen(["bash", "-c", script], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    query = json.dumps({"query": "{ assetNodes { assetKey { path } kinds } }"}).encode()
    try:
        deadline = time.monotonic() + 180
        nodes = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    nodes = json.load(response)["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(1)
        assert nodes, (tmp_path / "dev.log").read_text()[-3000:]
        assert len(nodes) == 82
        assert all({"duckdb", "polars"} <= set(n["kinds"]) for n in nodes)
    finally:
        docs_samples().stop_group(server)
        log.close()
    # Nothing dagster dev writes lands in the repository: it all goes under DAGSTER_HOME.
    created = [p.name for p in ROOT.iterdir() if p.name not in before]
    assert not created, created
    assert any((shell.home / name).exists() for name in ("history", "storage", ".nux", "logs")), list(shell.home.iterdir())
