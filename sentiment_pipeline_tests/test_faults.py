"""Faults, tried for real: the main command killed while it writes, the network failing in an akshare backfill,
and bad input of every class, each with what the user sees and what is lost (README "Faults, tried")."""

from __future__ import annotations

import datetime as dt


import dagster as dg
import pytest

from sentiment_pipeline_tests import kill_harness as kh

# ------------------------------------------------------------------------------- SIGKILL in the middle of a write

KILL_SELECT = ["--select", "group:raw or group:core or group:sentiment"]  # 15 assets, one in-process run
OLD_RANGE, NEW_RANGE = "2019-03-01...2019-03-08", "2019-03-01...2019-03-15"
OLD_DAYS = ["2019-03-01", "2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07", "2019-03-08"]
NEW_DAYS = OLD_DAYS + ["2019-03-11", "2019-03-12", "2019-03-13", "2019-03-14", "2019-03-15"]


def test_a_run_killed_mid_write_leaves_each_table_old_or_new_and_a_rerun_completes_it(tmp_path, synthetic_cache,
                                                                                      monkeypatch):
    """The main command over six stored days and five more, SIGKILLed twice: inside the transaction that writes
    core.daily_bars (after its delete and insert, before its commit), then on top of that right after a later
    step's progress line. Each time the database opens, and every table is either as before the run or as a
    complete run leaves it; the re-run completes the range."""
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
                        after_line=r"✓ 13  sentiment\.limit_ladder", timeout=120)
    assert second.killed and second.returncode == -9, second.output[-3000:]
    after_second = kh.fingerprint(db)

    rerun = kh.run_cli([NEW_RANGE, *KILL_SELECT], kh.cli_env(db, home, synthetic_cache))
    assert rerun.returncode == 0, rerun.output[-3000:]
    new = kh.fingerprint(db, read_only=True)
    for table, state in new.items():  # complete: every day of the range, the old days' rows unchanged
        if kh.partitions_of(new, table):
            assert kh.partitions_of(new, table) == NEW_DAYS, table
            assert kh.same(state[:len(OLD_DAYS)], old[table][:len(OLD_DAYS)]), table

    first_states = kh.classify(after_first, old, new)
    second_states = kh.classify(after_second, old, new)
    assert "MIXED" not in first_states.values(), first_states
    assert "MIXED" not in second_states.values(), second_states
    assert first_states["core.daily_bars"] == "old" and first_states["raw.daily_quotes"] == "new"
    assert second_states["sentiment.limit_ladder"] == "new" and second_states["sentiment.phase_daily"] == "old"

    # The killed runs stay "started" in the instance (nothing is left to mark them failed); the re-run succeeded.
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        statuses = [r.status for r in reversed(instance.get_runs())]
    assert statuses == [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTED,
                        dg.DagsterRunStatus.SUCCESS]


# ------------------------------------------------------------------ the network failing in an akshare backfill

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from sentiment_pipeline.definitions import JOB_NAME, build_definitions  # noqa: E402
from sentiment_pipeline.sources import akshare_source as ak  # noqa: E402

from .test_akshare_source import HISTORY_DAYS, FakeClock, responses  # noqa: E402
from .akshare_fakes import FakeAkshare  # noqa: E402


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


def _run_range(start: str, end: str):
    """The range job over the raw assets and what they feed (no STMS or heat: four days have no windows)."""
    defs = build_definitions()
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
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
                                            "order by 1").fetchall()]
        return {n: pl.from_arrow(conn.execute(f"select * from {n} order by all").to_arrow_table()) for n in names}


HIST_CALL = "stock_zh_a_hist"


def test_the_network_failing_in_an_akshare_backfill_fails_the_run_keeps_what_arrived_and_resumes(monkeypatch, tmp_path):
    """A backfill of three history days through the range job; the network drops after 12 answered calls, in the
    middle of the per-stock history of raw.daily_quotes (after 000002, before 300003), and stays down."""
    fake = FakeAkshare(responses())
    monkeypatch.setattr(ak, "akshare_api", lambda: fake)
    monkeypatch.setattr(ak, "now_shanghai", lambda: dt.datetime(2024, 6, 6, 17, 0, tzinfo=ak.SHANGHAI))
    monkeypatch.setattr(ak, "make_clock", FakeClock)  # request retries and backoff without sleeping
    raw, db = tmp_path / "raw", tmp_path / "market.duckdb"
    for name, value in {"SENTIMENT_SOURCE": "akshare", "SENTIMENT_RAW_DIR": str(raw), "SENTIMENT_DUCKDB_PATH": str(db),
                        "SENTIMENT_STEP_RETRIES": "1", "SENTIMENT_STEP_RETRY_DELAY": "0"}.items():
        monkeypatch.setenv(name, value)
    outage = Outage(fake, after=12)
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
    assert [c["symbol"] for c in fake.calls_to(HIST_CALL)].count("000002") == 1
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
    assert [c["symbol"] for name, c in again if name == HIST_CALL] == ["300003", "600001"]
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
