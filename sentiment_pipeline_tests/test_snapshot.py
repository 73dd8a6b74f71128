"""Readers never block the writer: the snapshot published after runs, `connect()`, the publish job, and a
second run that waits for the writer lock instead of failing."""

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import duckdb
import pytest

from sentiment_pipeline import cli, connect
from sentiment_pipeline.automation import PUBLISH_JOB_NAME
from sentiment_pipeline.definitions import build_definitions
from sentiment_pipeline.platform import snapshot, writer_lock
from sentiment_pipeline.platform.partitions import trading_day_partitions

SELECT = ["--select", "key:raw/daily_quotes"]


def test_a_reader_keeps_its_view_during_a_run_and_a_new_connection_sees_the_new_day(instance_home, pipeline_env):
    assert cli.main(["2019-03-01", *SELECT]) == 0
    path = snapshot.snapshot_path(str(pipeline_env))
    assert path == pipeline_env.parent / "market_snapshot.duckdb" and path.exists()
    reader = connect()  # beside the configured database; read-only
    days = "select count(distinct trade_date), count(*) from raw.daily_quotes"
    before = reader.execute(days).fetchone()
    assert before[0] == 1 and before[1] > 3000
    # The run writes the live file and publishes a new snapshot while the reader holds the old one.
    assert cli.main(["2019-03-04", *SELECT]) == 0
    assert reader.execute(days).fetchone() == before
    with pytest.raises(duckdb.Error):  # read-only: consumers cannot write into it
        reader.execute("create table x (a int)")
    reader.close()
    with connect() as fresh:
        assert fresh.execute(days).fetchone()[0] == 2
        # The column descriptions travel with the copy (sql/tables.sql is the contract of both files).
        comment = fresh.execute("select comment from duckdb_columns() where schema_name = 'raw' and "
                                "table_name = 'daily_quotes' and column_name = 'close'").fetchone()[0]
        assert comment


@pytest.mark.parametrize("method", ["copy_database", "file"])
def test_the_publish_job_skips_an_unchanged_database_and_reports_what_it_did(pipeline_env, monkeypatch, method):
    monkeypatch.setenv("SENTIMENT_SNAPSHOT_METHOD", method)
    defs = build_definitions()
    with duckdb.connect(str(pipeline_env)) as conn:
        conn.execute("create schema s; create table s.t as select 1 as a")
    job = defs.resolve_job_def(PUBLISH_JOB_NAME)
    first = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    [out] = [e for e in first.all_events if e.event_type_value == "STEP_OUTPUT"]
    values = {k: v.value for k, v in out.event_specific_data.metadata.items()}
    assert values["published"] is True and values["tables"] == 1 and values["snapshot_mb"] > 0
    second = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    [out] = [e for e in second.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert out.event_specific_data.metadata["published"].value is False
    with duckdb.connect(str(pipeline_env)) as conn:
        conn.execute("insert into s.t values (2)")
    assert snapshot.publish(str(pipeline_env)).published
    with connect(snapshot.snapshot_path(str(pipeline_env))) as reader:
        assert reader.execute("select count(*) from s.t").fetchone()[0] == 2


def test_connect_without_a_snapshot_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m sentiment_pipeline.platform.snapshot"):
        connect(tmp_path / "none.duckdb")


def _cli(env, *args):
    return subprocess.Popen([sys.executable, "-m", "sentiment_pipeline.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_second_run_waits_for_the_writer_and_both_complete(instance_home, pipeline_env):
    env = {**os.environ}
    first = _cli(env, "2019-01-02...2019-04-30", "--select", "group:raw or group:core")
    deadline = time.time() + 120
    while writer_lock.holder(str(pipeline_env)).get("pid") != first.pid:  # the first run is writing
        assert first.poll() is None and time.time() < deadline, first.stdout.read() if first.poll() else "timeout"
        time.sleep(0.2)
    # Frozen mid-write, so the second run surely starts while the first holds the file.
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = _cli(env, "2019-05-06...2019-05-10", *SELECT)
        lines = []
        while not any("waiting for the writer lock on" in line for line in lines):
            line = second.stdout.readline()
            assert line, "".join(lines)  # the second run ended without waiting
            lines.append(line)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out_second = "".join(lines) + second.communicate(timeout=600)[0]
    out_first, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert f"held by pid {first.pid}" in out_second and "got the writer lock" not in out_first
    with duckdb.connect(str(pipeline_env), read_only=True) as conn:
        days = conn.execute("select min(trade_date)::varchar, max(trade_date)::varchar, count(distinct trade_date) "
                            "from raw.daily_quotes").fetchone()
    keys = trading_day_partitions.get_partition_keys()
    expected = len(keys[keys.index("2019-01-02"): keys.index("2019-04-30") + 1]) + 5
    assert days == ("2019-01-02", "2019-05-10", expected)
    with dg.DagsterInstance.get() as instance:
        assert [r.status.value for r in instance.get_runs()] == ["SUCCESS", "SUCCESS"]
