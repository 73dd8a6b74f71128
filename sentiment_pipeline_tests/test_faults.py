"""Faults, tried for real: the main command killed while it writes, the network failing in an akshare backfill,
and bad input of every class, each with what the user sees and what is lost (README "Faults, tried")."""

from __future__ import annotations

import datetime as dt
import os
import re

import dagster as dg
import duckdb
import polars as pl
import pytest

from sentiment_pipeline.catalog import ASSETS
from sentiment_pipeline.definitions import JOB_NAME, build_definitions
from sentiment_pipeline.market.tables import RawDailyQuotes
from sentiment_pipeline.platform.snapshot import read_manifest
from sentiment_pipeline.platform.validation import validate
from sentiment_pipeline.sources import akshare_source as ak
from sentiment_pipeline.sources.pools import ThsFileChanged, read_ths_pools
from sentiment_pipeline.sources.synthetic import SyntheticSource
from sentiment_pipeline.sources.tdx import TdxFolderError, TdxSource
from sentiment_pipeline_tests import kill_harness as kh

from .akshare_fakes import FakeAkshare
from .test_akshare_source import FakeClock, comment, responses
from .test_tdx import write_day

# ------------------------------------------------------------------------------- SIGKILL in the middle of a write

# 15 assets, one in-process run; the range alone (no warm-up): what a kill leaves is the question here
KILL_SELECT = ["--select", "group:raw or group:core or group:sentiment", "--no-warm-up"]
OLD_RANGE, NEW_RANGE = "2019-03-01...2019-03-08", "2019-03-01...2019-03-15"
OLD_DAYS = ["2019-03-01", "2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07", "2019-03-08"]
NEW_DAYS = OLD_DAYS + ["2019-03-11", "2019-03-12", "2019-03-13", "2019-03-14", "2019-03-15"]


def test_a_run_killed_mid_write_leaves_each_table_old_or_new_and_a_rerun_completes_it(tmp_path, synthetic_cache,
                                                                                      monkeypatch):
    """The main command over six stored days and five more, SIGKILLed three times: inside the transaction that
    writes core.daily_bars (after its delete and insert, before its commit), then on top of that right after a
    later step's progress line, then while it exports the snapshot's new version. Each time the database opens,
    and every table is either as before the run or as a complete run leaves it; the snapshot is the old one until
    a run publishes; each command marks the killed runs before it failed; the re-run completes the range."""
    db, home = tmp_path / "market.duckdb", kh.instance_home(tmp_path / "dagster_home")
    done = kh.run_cli([OLD_RANGE, *KILL_SELECT], kh.cli_env(db, home, synthetic_cache))
    assert done.returncode == 0, done.output[-3000:]
    old = kh.fingerprint(db, read_only=True)
    assert kh.partitions_of(old, "core.daily_bars") == OLD_DAYS

    marker = tmp_path / "writes.log"
    paused_env = kh.cli_env(db, home, synthetic_cache, pause_at="core.daily_bars", marker=marker,
                            hook_dir=tmp_path / "hook")
    killed = kh.run_cli([NEW_RANGE, *KILL_SELECT], paused_env, marker=marker, timeout=120)
    assert killed.killed and killed.returncode == -9 and "(core.daily_bars), before its commit" in killed.moment
    assert (tmp_path / "market.duckdb.wal").exists()  # committed writes of the run not yet checkpointed
    after_first = kh.fingerprint(db, read_only=True)  # opens, replaying the WAL
    # The killed transaction left no trace: every core.daily_bars partition is the old one.
    assert kh.same(after_first["core.daily_bars"], old["core.daily_bars"])

    second = kh.run_cli([NEW_RANGE, *KILL_SELECT], kh.cli_env(db, home, synthetic_cache),
                        after_line=r"✓ +\d+  sentiment\.limit_ladder: ", timeout=120)
    assert second.killed and second.returncode == -9, second.output[-3000:]
    after_second = kh.fingerprint(db)

    # Third, while the finished run exports its new snapshot version: consumers keep the old one.
    snapshot = tmp_path / "market_snapshot.duckdb"
    published = kh.fingerprint(snapshot, read_only=True)
    third = kh.run_cli([NEW_RANGE, *KILL_SELECT], kh.cli_env(db, home, synthetic_cache),
                       after_file=tmp_path / "market_snapshot_files" / "v000002", timeout=120)
    assert third.killed and third.returncode == -9, third.output[-3000:]
    assert kh.same_prints(kh.fingerprint(snapshot, read_only=True), published)
    after_third = kh.fingerprint(db)
    # Before it started, each command marked the run killed before it failed: its process was gone.
    for outcome in (second, third):
        assert len(re.findall(r"^marked run \w{8} \(backfill, started .+\) failed: its process \d+ is gone$",
                              outcome.output, re.M)) == 1, outcome.output[:2000]

    rerun = kh.run_cli([NEW_RANGE, *KILL_SELECT], kh.cli_env(db, home, synthetic_cache))
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert "marked run" not in rerun.output  # the third run had ended (successfully) before its publish
    new = kh.fingerprint(db, read_only=True)
    for table, state in new.items():  # complete: every day of the range, the old days' rows unchanged
        if kh.partitions_of(new, table):
            assert kh.partitions_of(new, table) == NEW_DAYS, table
            assert kh.same(state[:len(OLD_DAYS)], old[table][:len(OLD_DAYS)]), table

    first_states = kh.classify(after_first, old, new)
    second_states = kh.classify(after_second, old, new)
    assert "MIXED" not in first_states.values(), first_states
    assert "MIXED" not in second_states.values(), second_states
    assert set(kh.classify(after_third, old, new).values()) <= {"new", "same"}  # every write was done
    assert kh.same_prints(kh.fingerprint(snapshot, read_only=True), new)  # the re-run published
    # The killed export's files went with the re-run's publish: every file on disk is the manifest's.
    manifest = read_manifest(snapshot)
    listed = {f for t in manifest["tables"].values() for files in t["parts"].values() for f in files}
    assert {str(p) for p in (tmp_path / "market_snapshot_files").rglob("*.parquet")} == \
        listed | {f for f, _ in manifest["retired"]}
    assert first_states["core.daily_bars"] == "old" and first_states["raw.daily_quotes"] == "new"
    assert second_states["sentiment.limit_ladder"] == "new" and second_states["sentiment.phase_daily"] == "old"

    # The killed runs are failed with the reason, so the queued coordinator's pool counter (the daemon's own
    # decision, pools at run granularity) no longer counts them as holding pool "duckdb".
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        runs = list(reversed(instance.get_runs()))
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS, *[dg.DagsterRunStatus.FAILURE] * 2,
                                            dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.SUCCESS]
        failure = instance.get_records_for_run(runs[1].run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
        assert "is gone: killed or crashed before the run ended" in failure.event_log_entry.dagster_event.message
        assert not _queue_blocks(instance, runs[-1])


def _queue_blocks(instance, candidate) -> bool:
    """Would the daemon (dagster 1.13.27's QueuedRunCoordinatorDaemon, pools at run granularity as dagster.yaml and
    deploy/production/dagster.yaml set them) keep a run with `candidate`'s pools queued now?"""
    from dagster._core.instance.config import PoolGranularity
    from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter
    from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES

    assert candidate.run_op_concurrency and candidate.run_op_concurrency.all_pools == {"duckdb"}
    in_progress = instance.get_run_records(filters=dg.RunsFilter(statuses=list(ACTIVE_RUN_STATUSES)))

    def counter():
        return GlobalOpConcurrencyLimitsCounter(
            instance, [candidate], in_progress, concurrency_keys=instance.event_log_storage.get_concurrency_keys(),
            pool_limits=instance.event_log_storage.get_pool_limits(), pool_granularity=PoolGranularity.RUN)

    counter()  # the daemon's first pass sets the pool's limit to the default (1); the next ones enforce it
    return counter().is_blocked(candidate)


# ------------------------------------------------------------------ the network failing in an akshare backfill



class Outage:
    """The network goes down after `after` answered calls (every call then fails as requests reports a dropped
    connection) until `restore()`. Records each call and whether it was answered."""

    def __init__(self, fake: FakeAkshare, after: int):
        self.fake, self.after, self.down = fake, after, False
        self.log: list[tuple[str, tuple, bool]] = []
        dispatch = fake._dispatch

        def guarded(function, kwargs):
            key = (function, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
            if self.down or sum(ok for *_, ok in self.log) >= self.after:
                self.down = True
                self.log.append((*key, False))
                raise ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection "
                                      "without response'))")
            self.log.append((*key, True))  # answered, if only with akshare's own error
            return dispatch(function, kwargs)

        fake._dispatch = guarded

    def restore(self) -> None:
        self.down, self.after = False, float("inf")

    def answered(self) -> set:
        return {(f, k) for f, k, ok in self.log if ok}

    def failed(self) -> set:
        return {(f, k) for f, k, ok in self.log if not ok}


def _raw_and_downstream(defs):
    return [k for k in defs.resolve_asset_graph().get_all_asset_keys()
            if k.path[0] in ("raw", "core", "sentiment", "quality")]


def _run_range(start: str, end: str, defs: dg.Definitions | None = None):
    """The range job (or, for definitions without jobs, the asset job) over the raw assets and what they feed
    (no STMS or heat: a few days have no windows); the result and its instance."""
    defs = defs or build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(JOB_NAME) if defs.jobs else defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=_raw_and_downstream(defs), raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end})
    return result, instance


def user_message(event) -> str:
    """What the main command prints for a failed step: its innermost cause (cli.py)."""
    error = event.event_specific_data.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _tables(db) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as conn:
        names = [r[0] for r in conn.execute("select table_schema || '.' || table_name from information_schema.tables "
                                            "where table_schema not like '\\_%' escape '\\' order by 1").fetchall()]
        return {n: pl.from_arrow(conn.execute(f"select * from {n} order by all").to_arrow_table()) for n in names}


HIST_CALL = "stock_zh_a_hist"


def test_the_network_failing_in_an_akshare_backfill_fails_the_run_keeps_what_arrived_and_resumes(monkeypatch, tmp_path):
    """A backfill of three history days through the range job; the network drops after 15 answered calls, in the
    middle of the per-stock history of raw.daily_quotes (after 000002's two series, before 300003), and stays
    down."""
    fake = FakeAkshare(responses())
    monkeypatch.setattr(ak, "akshare_api", lambda: fake)
    monkeypatch.setattr(ak, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 17, 0, tzinfo=ak.SHANGHAI))
    monkeypatch.setattr(ak, "make_clock", FakeClock)  # request retries and backoff without sleeping
    raw, db = tmp_path / "raw", tmp_path / "market.duckdb"
    for name, value in {"SENTIMENT_SOURCE": "akshare", "SENTIMENT_RAW_DIR": str(raw), "SENTIMENT_DUCKDB_PATH": str(db),
                        "SENTIMENT_STEP_RETRIES": "1", "SENTIMENT_STEP_RETRY_DELAY": "0"}.items():
        monkeypatch.setenv(name, value)
    outage = Outage(fake, after=15)
    result, instance = _run_range("2024-06-03", "2024-06-05")

    assert not result.success
    failures = {e.step_key: user_message(e) for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    # The step's line names the function, the stock and its range, the attempts and the network error.
    assert failures["raw__daily_quotes"].startswith(
        "sentiment_pipeline.sources.fetch.FetchFailed: akshare.stock_zh_a_hist for stock_zh_a_hist/"
        "range=2024-06-03_2024-06-05/300003.parquet failed after 6 attempt(s): ConnectionError: ('Connection "
        "aborted.'"), failures["raw__daily_quotes"]
    assert all("failed after 6 attempt(s): ConnectionError" in m for m in failures.values()), failures
    errors = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= 40 and not e.is_dagster_event]
    assert any(m.startswith("raw.daily_quotes: the fetch failed after 1 step retries: akshare.stock_zh_a_hist")
               for m in errors), errors
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert not started & {"core__daily_bars", "sentiment__limit_ladder", "limit_up_reconciliation"}, started
    # What arrived is kept, and the step's own retry read it from the store instead of asking again.
    assert (raw / HIST_CALL / "range=2024-06-03_2024-06-05" / "000002.parquet").exists()
    assert not (raw / HIST_CALL / "range=2024-06-03_2024-06-05" / "300003.parquet").exists()
    assert [c["symbol"] for c in fake.calls_to(HIST_CALL)].count("000002") == 2  # unadjusted and back-adjusted
    # No table half written: an asset that failed wrote nothing, one that succeeded wrote all three days.
    after_failure = _tables(db)
    assert "raw.daily_quotes" not in after_failure and "core.daily_bars" not in after_failure
    assert {"raw.attention", "raw.securities", "raw.concept_membership"} <= after_failure.keys()
    assert after_failure["raw.attention"]["trade_date"].n_unique() == 3

    answered, first_calls = outage.answered(), len(fake.calls)
    outage.restore()
    rerun, _ = _run_range("2024-06-03", "2024-06-05")
    assert rerun.success
    again = fake.calls[first_calls:]
    # Only what never arrived is asked for: nothing answered before the outage is fetched twice.
    assert [c["symbol"] for name, c in again if name == HIST_CALL] == [
        code for code in ("300003", "600001", "688981", "830799") for _ in range(2)]
    assert not {(f, tuple(sorted((k, str(v)) for k, v in c.items()))) for f, c in again} & answered
    resumed = _tables(db)
    for table, frame in after_failure.items():  # what the failed run wrote is what the complete run wrote
        assert resumed[table].equals(frame), table

    # The resumed database equals a run that never saw the outage (replayed from the store, no network).
    monkeypatch.setattr(ak, "akshare_api", lambda: FakeAkshare({}))
    monkeypatch.setenv("SENTIMENT_AKSHARE_MODE", "replay")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path / "clean.duckdb"))
    assert _run_range("2024-06-03", "2024-06-05")[0].success
    clean = _tables(tmp_path / "clean.duckdb")
    assert clean.keys() == resumed.keys()
    for table in clean:
        assert clean[table].equals(resumed[table]), table


# ----------------------------------------------------------------------------------------- bad input, by class


BAD_DAY = dt.date(2019, 3, 5)


def _with_source(source_class):
    defs = build_definitions()
    source = source_class(seed=7, cache_dir=defs.resources["market_source"].cache_dir)
    return dg.Definitions(assets=ASSETS, resources={**defs.resources, "market_source": source},
                          executor=dg.in_process_executor)


def _failure(result, step: str) -> str:
    """The step's failure as the main command prints it (the innermost cause), with Dagster's description."""
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key == step)
    data = event.event_specific_data
    return user_message(event) + "\n" + str(data.user_failure_data.description if data.user_failure_data else "")


def _stored_tables(db) -> set[str]:
    if not db.exists():
        return set()
    with duckdb.connect(str(db), read_only=True) as conn:
        return {r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema not like '\\_%' escape '\\'").fetchall()}


class _BadQuotesSource(SyntheticSource):
    """The synthetic market with broken bars (`broken`); its published pools stay those of the clean bars."""

    def broken(self, df: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def daily_quotes(self, start, end):
        return self.broken(super().daily_quotes(start, end))

    def limit_up_pools(self, start, end):
        return SyntheticSource(seed=self.seed, cache_dir=self.cache_dir).limit_up_pools(start, end)


class BadBarsSource(_BadQuotesSource):
    """On 2019-03-05 the first four stocks' bars are broken four ways: close NaN, close negative, reference close
    NaN (a nullable column, where NaN passed `gt=0` before the model's not_nan check), the fourth stock twice."""

    def broken(self, df):
        day = pl.col("trade_date") == BAD_DAY
        codes = df.filter(day)["code"].sort().head(4).to_list()
        df = df.with_columns(
            close=pl.when(day & (pl.col("code") == codes[0])).then(float("nan"))
            .when(day & (pl.col("code") == codes[1])).then(-pl.col("close")).otherwise(pl.col("close")),
            pre_close=pl.when(day & (pl.col("code") == codes[2])).then(float("nan")).otherwise(pl.col("pre_close")))
        return pl.concat([df, df.filter(day & (pl.col("code") == codes[3]))])


def _not_started(result, steps=("core__daily_bars", "sentiment__limit_ladder", "limit_up_reconciliation")) -> bool:
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    return not started & set(steps)


def test_nan_and_negative_prices_and_duplicate_rows_fail_the_run_naming_each_row(pipeline_env):
    codes = SyntheticSource(seed=7, cache_dir=os.environ["SENTIMENT_CACHE_DIR"]).daily_quotes(
        BAD_DAY, BAD_DAY)["code"].sort().head(4).to_list()
    result, _ = _run_range("2019-03-04", "2019-03-06", _with_source(BadBarsSource))
    assert not result.success
    message = _failure(result, "raw__daily_quotes")
    row = "row: trade_date=2019-03-05 code="
    for needle in ("raw.daily_quotes failed validation for partition(s) 2019-03-04...2019-03-06: 7 failure(s)",
                   f"column=close check=not_nullable value=NaN {row}{codes[0]}",
                   f"column=pre_close check=NaN (a missing value must be null) value=NaN {row}{codes[2]}",
                   "column=raw.daily_quotes check=multiple_fields_uniqueness value="):
        assert needle in message, (needle, message)
    assert re.search(rf"column=close check=greater_than\(0\) value=-\d+\.\d+ {row}{codes[1]}", message), message
    assert message.count(f"{row}{codes[3]}") >= 2  # both copies of the duplicate
    assert {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"} == {"raw__daily_quotes"}
    assert _not_started(result)
    assert not _stored_tables(pipeline_env) & {"raw.daily_quotes", "core.daily_bars", "sentiment.limit_ladder"}


class EmptyDaySource(_BadQuotesSource):
    """No bar at all on 2019-03-05 (an upstream gap), and bars dated Saturday 2019-03-09 (a day the calendar
    does not list)."""

    def broken(self, df):
        saturday = df.filter(pl.col("trade_date") == dt.date(2019, 3, 8)).with_columns(
            trade_date=pl.lit(dt.date(2019, 3, 9)))
        return pl.concat([df.filter(pl.col("trade_date") != BAD_DAY), saturday])


def test_an_empty_trading_day_fails_the_run_and_off_calendar_rows_are_reported(pipeline_env):
    result, instance = _run_range("2019-03-04", "2019-03-11", _with_source(EmptyDaySource))
    assert not result.success
    message = _failure(result, "raw__daily_quotes")
    assert ("raw.daily_quotes: source synthetic has no bars for 1 trading day(s) of partition(s) "
            "2019-03-04...2019-03-11: 2019-03-05. A trading day without bars is a gap in the source; nothing was "
            "written.") in message, message
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == 30 and not e.is_dagster_event]
    assert any(w.startswith("raw.daily_quotes: source synthetic has 3,") and "row(s) on 1 day(s) the trading calendar "
               "does not list: 2019-03-09; they are not stored" in w for w in warnings), warnings
    assert _not_started(result)
    assert not _stored_tables(pipeline_env) & {"raw.daily_quotes", "core.daily_bars", "sentiment.limit_ladder"}


def test_schema_drift_and_a_snapshot_of_the_wrong_day_fail_their_assets_with_the_reason(monkeypatch, tmp_path):
    """Through the range job on the akshare fakes (2024-06-03 … 06-05 from history, 06-06 from the evening's
    snapshots): the history renames 收盘 to 收盘价, the 06-04 limit-up pool breaks akshare's own renaming (its
    `Length mismatch`), and 千股千评 serves the previous day. Each asset fails at once (no step retry) naming
    the function and the columns, or the day; the rejected answers are not stored."""
    r = responses()
    renamed = lambda **kwargs: r["stock_zh_a_hist"](**kwargs).rename(columns={"收盘": "收盘价"})  # noqa: E731
    fake = FakeAkshare({**r, "stock_zh_a_hist": renamed,
                        FakeAkshare.key("stock_zt_pool_em", date="20240604"): ValueError(
                            "Length mismatch: Expected axis has 18 elements, new values have 17 elements"),
                        "stock_comment_em": comment(day=dt.date(2024, 6, 5))})
    monkeypatch.setattr(ak, "akshare_api", lambda: fake)
    monkeypatch.setattr(ak, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 17, 0, tzinfo=ak.SHANGHAI))
    monkeypatch.setattr(ak, "make_clock", FakeClock)
    raw, db = tmp_path / "raw", tmp_path / "market.duckdb"
    for name, value in {"SENTIMENT_SOURCE": "akshare", "SENTIMENT_RAW_DIR": str(raw), "SENTIMENT_DUCKDB_PATH": str(db),
                        "SENTIMENT_STEP_RETRY_DELAY": "0"}.items():
        monkeypatch.setenv(name, value)
    result, _ = _run_range("2024-06-03", "2024-06-06")
    assert not result.success
    failures = {e.step_key: user_message(e) for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failures.keys() == {"raw__daily_quotes", "raw__limit_up_pools", "raw__attention"}, failures
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert failures["raw__daily_quotes"].startswith(
        "sentiment_pipeline.sources.fetch.UpstreamSchemaChanged: upstream schema changed in akshare.stock_zh_a_hist: "
        "expected columns ['日期', '股票代码', '开盘', '收盘', "), failures["raw__daily_quotes"]
    assert "missing ['收盘'], unexpected ['收盘价']. Pin or upgrade akshare" in failures["raw__daily_quotes"]
    assert failures["raw__limit_up_pools"].startswith(
        "sentiment_pipeline.sources.fetch.UpstreamSchemaChanged: upstream schema changed in akshare.stock_zt_pool_em: "
        "expected columns ['序号', '代码', "), failures["raw__limit_up_pools"]
    assert ("received none: akshare failed while renaming columns (Length mismatch: Expected axis has 18 elements, "
            "new values have 17 elements)") in failures["raw__limit_up_pools"]
    assert failures["raw__attention"] == (
        "sentiment_pipeline.sources.fetch.StaleSnapshot: raw.attention partition 2024-06-06: stock_comment_em is "
        "stamped 交易日 2024-06-05, not 2024-06-06; it was not stored")
    assert not (raw / "stock_zh_a_hist").exists() and not (raw / "stock_comment_em").exists()
    assert not (raw / "stock_zt_pool_em" / "date=2024-06-04").exists()
    # the days before it are kept (06-03's limit-up pool is empty in this market: an empty limit-up pool is never
    # kept, as a trading day always has limit-ups; its empty broken pool is)
    assert (raw / "stock_zt_pool_zbgc_em" / "date=2024-06-03" / "_all.parquet").exists()
    assert not (raw / "stock_zt_pool_em" / "date=2024-06-03").exists()
    assert not _stored_tables(db) & {"raw.daily_quotes", "raw.limit_up_pools", "raw.attention", "core.daily_bars"}


def test_a_ths_pool_file_with_a_renamed_column_names_the_file_and_the_column(tmp_path):
    ths = tmp_path / "ths"
    ths.mkdir()
    (ths / "2023-limit_up.csv").write_text(
        "涨停日期,股票代码,股票名称,收盘价,首次涨停时间,最后涨停时间,连板数,成交金额,换手率,封单额,涨幅,流通市值,是否新股,开板次数\n"
        "2023-01-03,000045.SZ,深纺织A,12.2,09:01:00,09:01:00,首板,1785万,0.32,1.119亿,10.01,55亿,0,\n")
    with pytest.raises(ThsFileChanged) as raised:
        read_ths_pools(ths, dt.date(2023, 1, 3), dt.date(2023, 1, 3))
    assert str(raised.value).startswith(f"THS pool file {ths / '2023-limit_up.csv'}: missing column(s) ['连板情况'] "
                                        "(columns found: ['涨停日期', '股票代码', ")


# ------------------------------------------------------------------------------------------ TongDaXin folders

TDX_DAYS = [20190102, 20190103, 20190104, 20190107, 20190108]


def _folder(root, days=TDX_DAYS, stocks=("sh/lday/sh600000.day", "sz/lday/sz000001.day")):
    for i, name in enumerate(stocks):
        write_day(root / name, [(d, 10 + i, 10.5 + i, 9.9 + i, 10.2 + i, 1e8, 1e7) for d in days])
    return root


def test_a_truncated_tdx_file_fails_the_run_naming_the_file_and_its_size(monkeypatch, tmp_path):
    root = _folder(tmp_path / "vipdoc")
    path = root / "sz" / "lday" / "sz000001.day"
    path.write_bytes(path.read_bytes()[:-20])  # the last record cut short: 4 records and 12 bytes
    monkeypatch.setenv("SENTIMENT_SOURCE", "tdx")
    monkeypatch.setenv("SENTIMENT_TDX_DIR", str(root))
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path / "market.duckdb"))
    result, _ = _run_range("2019-01-02", "2019-01-08")
    assert not result.success
    failures = {e.step_key: user_message(e) for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    expected = (f"sentiment_pipeline.sources.tdx.TdxFolderError: 1 TongDaXin file(s) under {root} are not a whole "
                "number of 32-byte day records (cut short while copied or downloaded): sz/lday/sz000001.day (140 "
                "bytes = 4 records + 12 bytes). Download them again (TongDaXin: 盘后数据下载); nothing was read.")
    assert failures == {"raw__securities": expected, "raw__daily_quotes": expected}, failures
    assert _not_started(result)


def test_a_day_missing_from_every_tdx_file_is_a_gap_in_the_folder(tmp_path):
    root = _folder(tmp_path / "gap", days=[d for d in TDX_DAYS if d != 20190104])
    write_day(root / "sh" / "lday" / "sh600001.day", [(20190102, 10, 11, 9, 10, 1e8, 1e7)])  # then suspended
    source = TdxSource(vipdoc_dir=str(root))
    message = (f"TongDaXin folder {root} has no bar on 1 trading day(s) inside its span 2019-01-02 → 2019-01-08: "
               "2019-01-04 (no stock file has a record for them, though the trading calendar lists them). Their bars "
               "are missing and the next day's reference close would come from the day before;")
    with pytest.raises(TdxFolderError) as raised:
        source.daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 8))
    assert str(raised.value).startswith(message)
    # A range after the gap still needs the day before it: 01-07's reference close is 01-04's close.
    with pytest.raises(TdxFolderError, match="2019-01-04"):
        source.daily_quotes(dt.date(2019, 1, 7), dt.date(2019, 1, 8))
    # One stock without records (a suspension) is not a gap; days before the gap, or after the day after it, read.
    assert source.daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 3)).height == 5
    assert source.daily_quotes(dt.date(2019, 1, 8), dt.date(2019, 1, 8)).height == 2
    # Days after the folder's last one are not its gap: the run's empty-day rule names them (next test).
    assert source.daily_quotes(dt.date(2019, 1, 8), dt.date(2019, 1, 10)).height == 2


def test_a_range_past_the_end_of_a_tdx_folder_fails_naming_the_days_without_bars(monkeypatch, tmp_path):
    root = _folder(tmp_path / "vipdoc")
    monkeypatch.setenv("SENTIMENT_SOURCE", "tdx")
    monkeypatch.setenv("SENTIMENT_TDX_DIR", str(root))
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(tmp_path / "market.duckdb"))
    result, _ = _run_range("2019-01-07", "2019-01-10")
    assert not result.success
    assert _failure(result, "raw__daily_quotes").startswith(
        "dagster._core.definitions.events.Failure: raw.daily_quotes: source tdx has no bars for 2 trading day(s) of "
        "partition(s) 2019-01-07...2019-01-10: 2019-01-09, 2019-01-10. A trading day without bars is a gap in the "
        "source; nothing was written.")
    assert "raw.daily_quotes" not in _stored_tables(tmp_path / "market.duckdb")


def test_a_duplicated_tdx_record_is_a_duplicate_row_named_by_the_validation(tmp_path):
    root = _folder(tmp_path / "dup")
    write_day(root / "sz" / "lday" / "sz000002.day", [(20190102, 5, 5.5, 4.9, 5.2, 1e7, 1e6)] * 2)
    bars = TdxSource(vipdoc_dir=str(root)).daily_quotes(dt.date(2019, 1, 2), dt.date(2019, 1, 8))
    message = validate(bars, RawDailyQuotes, "raw.daily_quotes", "2019-01-02...2019-01-08").message()
    assert message.startswith("raw.daily_quotes failed validation for partition(s) 2019-01-02...2019-01-08: 2 failure(s)")
    assert message.count("check=multiple_fields_uniqueness") == 2
    assert message.count("row: trade_date=2019-01-02 code=000002") == 2


# ------------------------------------------------------------- a source without a dataset never empties it


class NoPoolsSource(SyntheticSource):
    """The synthetic market run without its published pools and concept boards, as a TongDaXin folder without
    SENTIMENT_THS_DIR answers after a run that had them."""

    def limit_up_pools(self, start, end):
        from sentiment_pipeline.sources.pools import empty_pools

        return empty_pools()

    def concept_membership(self):
        return super().concept_membership().head(0)


def _raw_pools_and_concepts(defs: dg.Definitions, run_config: dict | None = None):
    keys = [dg.AssetKey(["raw", "limit_up_pools"]), dg.AssetKey(["raw", "concept_membership"])]
    job = dg.define_asset_job("pools", selection=keys).resolve(asset_graph=defs.resolve_asset_graph())
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=run_config or {},
                                  raise_on_error=False, tags={"dagster/asset_partition_range_start": "2019-03-04",
                                                              "dagster/asset_partition_range_end": "2019-03-06"})


def test_a_source_without_pools_keeps_the_stored_pools_unless_the_run_asks_to_replace_them(pipeline_env):
    count = "select count(*), count(distinct trade_date) from raw.limit_up_pools"
    assert _raw_pools_and_concepts(build_definitions()).success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        stored = conn.execute(count).fetchone()
        concepts = conn.execute("select count(*) from raw.concept_membership").fetchone()[0]
    assert stored[0] > 100 and stored[1] == 3 and concepts > 10_000

    result = _raw_pools_and_concepts(_with_source(NoPoolsSource))
    assert result.success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        assert conn.execute(count).fetchone() == stored  # kept
        assert conn.execute("select count(*) from raw.concept_membership").fetchone()[0] == concepts
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.asset_key == dg.AssetKey(["raw", "limit_up_pools"]))
    assert check.metadata["stored_days_kept"].value == 3 and check.metadata["days_without_rows"].value == 3

    ops = {"raw__limit_up_pools": {"config": {"replace_with_empty": True}},
           "raw__concept_membership": {"config": {"replace_with_empty": True}}}
    assert _raw_pools_and_concepts(_with_source(NoPoolsSource), {"ops": ops}).success
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        assert conn.execute(count).fetchone() == (0, 0)
        assert conn.execute("select count(*) from raw.concept_membership").fetchone()[0] == 0


def test_the_main_command_says_which_stored_days_it_kept(instance_home, pipeline_env, monkeypatch, capsys):
    from sentiment_pipeline import cli

    assert cli.main(["2019-03-04...2019-03-05", "--select", "key:raw/limit_up_pools"]) == 0
    monkeypatch.setattr(SyntheticSource, "limit_up_pools", NoPoolsSource.limit_up_pools)
    capsys.readouterr()
    assert cli.main(["2019-03-04...2019-03-05", "--select", "key:raw/limit_up_pools"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^    ! raw\.limit_up_pools: source synthetic has no rows for 2 stored day\(s\) "
                     r"\(2019-03-04, 2019-03-05\): kept the [\d,]+ stored rows\. To replace them with nothing: "
                     r"--replace-with-empty", out, re.M), out
    assert cli.main(["2019-03-04...2019-03-05", "--select", "key:raw/limit_up_pools", "--replace-with-empty"]) == 0
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.limit_up_pools").fetchone()[0] == 0


def test_the_research_tables_are_replaced_in_one_transaction(chain_db, synthetic_cache, monkeypatch):
    """A write that fails at the third of the five research tables leaves all five as they were."""
    from sentiment_pipeline.definitions import HISTORY_JOB_NAME
    from sentiment_pipeline.platform import io_manager

    db = chain_db[0]
    research = [f"research.{n}" for n in ("regime_summary", "regime_distribution", "rate_correlation",
                                          "phase_forward", "phase_path")]
    before = {t: v for t, v in _tables(db).items() if t in research}
    monkeypatch.setenv("SENTIMENT_SOURCE", "synthetic")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
    replace, written = io_manager._replace, []

    def failing_third(connection, table, *args):
        written.append(table)
        replace(connection, table, *args)
        if len(written) == 3:
            raise OSError("disk full (simulated) after the third table's insert")

    monkeypatch.setattr(io_manager, "_replace", failing_third)
    defs = build_definitions()
    keys = [dg.AssetKey(t.split(".")) for t in research]
    result = defs.resolve_job_def(HISTORY_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys, raise_on_error=False)
    assert not result.success and len(written) == 3
    assert "disk full (simulated)" in _failure(result, "research_tables")
    after = {t: v for t, v in _tables(db).items() if t in research}
    assert after.keys() == before.keys() and all(after[t].equals(before[t]) for t in research)


def test_a_run_whose_process_is_gone_is_marked_failed_and_others_are_left_alone():
    """clear_dead_runs: a STARTED run of the main command on this machine whose pid is gone, or belongs to a newer
    process (same pid, another start time), is marked failed with the reason; a live one, one from another
    machine and one not started by the command are left alone."""
    import socket
    import subprocess
    import sys

    from sentiment_pipeline import cli

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here, me = socket.gethostname(), str(os.getpid())
    cases = {
        "gone": {cli.PID_TAG: str(gone.pid), cli.HOST_TAG: here},
        "reused": {cli.PID_TAG: me, cli.HOST_TAG: here, cli.PROCESS_START_TAG: "1"},
        "alive": {cli.PID_TAG: me, cli.HOST_TAG: here, cli.PROCESS_START_TAG: cli._process_start(os.getpid())},
        "elsewhere": {cli.PID_TAG: str(gone.pid), cli.HOST_TAG: "another-host"},
        "ui": {cli.PID_TAG: str(gone.pid), cli.HOST_TAG: here, "sentiment/launched_by": "schedule"},
    }
    with dg.DagsterInstance.ephemeral() as instance:
        runs = {}
        for name, tags in cases.items():
            run = instance.create_run_for_job(dg.GraphDefinition(name=f"job_{name}").to_job(),
                                              tags={"sentiment/launched_by": "cli", **tags})
            instance.handle_run_event(run.run_id, dg.DagsterEvent(
                event_type_value="PIPELINE_START", job_name=run.job_name, message="started"))
            runs[name] = run.run_id
        lines = cli.clear_dead_runs(instance)
        status = {name: instance.get_run_by_id(run_id).status for name, run_id in runs.items()}
    assert status == {"gone": dg.DagsterRunStatus.FAILURE, "reused": dg.DagsterRunStatus.FAILURE,
                      "alive": dg.DagsterRunStatus.STARTED, "elsewhere": dg.DagsterRunStatus.STARTED,
                      "ui": dg.DagsterRunStatus.STARTED}
    assert len(lines) == 2 and all(line.endswith("is gone") for line in lines)


def test_the_first_simulation_of_the_synthetic_market_says_how_far_it_is(instance_home, tmp_path, monkeypatch,
                                                                          capsys):
    """The first run on a new cache builds the simulated market (~20 s for seven years, a minute on a loaded
    machine): the main command prints where it goes and each year done, then nothing once it is cached."""
    from sentiment_pipeline import cli
    from sentiment_pipeline.sources import synthetic_market

    autumn = [d for d in synthetic_market._trading_days() if dt.date(2019, 9, 2) <= d <= dt.date(2020, 1, 10)]
    monkeypatch.setattr(synthetic_market, "_trading_days", lambda: autumn)  # 88 days, across a year's end
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "new-cache"))
    assert cli.main(["2019-12-30", "--select", "key:raw/securities", "--no-history"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^simulating the synthetic market \(seed 7\) into .*new-cache/synthetic-v\S+: one time, "
                     r"about 20 s, then cached$", out, re.M), out
    assert re.search(r"^simulating the synthetic market \(seed 7, one time, then cached\): 2019 done, 81 of 88 "
                     r"trading days in \d+ s$", out, re.M), out
    assert cli.main(["2019-12-30", "--select", "key:raw/securities", "--no-history"]) == 0
    assert "simulating" not in capsys.readouterr().out
