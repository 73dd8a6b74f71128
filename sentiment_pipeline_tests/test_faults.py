"""Faults, tried for real: the main command killed while it writes, the network failing in an akshare backfill,
and bad input of every class, each with what the user sees and what is lost (README "Faults, tried")."""

from __future__ import annotations


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
    assert after_first["core.daily_bars"] == old["core.daily_bars"]

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
            assert state[:len(OLD_DAYS)] == old[table][:len(OLD_DAYS)], table

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
