"""Readers never block the writer: the snapshot (Parquet per table and month, a catalog of views) published after
runs at the cost of what they wrote, `connect()`, the publish job, retention of replaced files, and a second run
that waits for the writer lock instead of failing."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from sentiment_pipeline import cli, connect
from sentiment_pipeline.automation import PUBLISH_JOB_NAME
from sentiment_pipeline.definitions import build_definitions
from sentiment_pipeline.platform import changes, snapshot, storage, writer_lock
from sentiment_pipeline.platform.io_manager import _replace, _transaction
from sentiment_pipeline.platform.partitions import trading_day_partitions

SELECT = ["--select", "key:raw/daily_quotes"]


def manifest(catalog) -> dict:
    return snapshot.read_manifest(Path(catalog))


def write_days(db, table: str, days: list[dt.date], value: float = 1.0) -> None:
    """Rows for `days` written as the IO manager writes a partition range: delete, insert, journal, one commit."""
    frame = pl.DataFrame({"trade_date": days, "code": ["000001"] * len(days), "value": [value] * len(days)})
    data = frame.to_arrow()
    with duckdb.connect(str(db)) as conn, _transaction(conn):
        _replace(conn, table, data, None, f"delete from {table} where trade_date between ? and ?",
                 [min(days), max(days)])
        changes.record(conn, table, first_day=min(days), last_day=max(days))


def test_a_reader_keeps_its_view_during_a_run_and_a_new_connection_sees_the_new_day(instance_home, pipeline_env):
    assert cli.main(["2019-03-01", *SELECT]) == 0
    path = snapshot.snapshot_path(str(pipeline_env))
    assert path == pipeline_env.parent / "market_snapshot.duckdb" and path.exists()
    reader = connect()  # beside the configured database; read-only
    days = "select count(distinct trade_date), count(*) from raw.daily_quotes"
    before = reader.execute(days).fetchone()
    assert before[0] == 1 and before[1] > 3000
    # The run writes the live file and publishes a new version while the reader holds the old one.
    assert cli.main(["2019-03-04", *SELECT]) == 0
    assert reader.execute(days).fetchone() == before
    with pytest.raises(duckdb.Error):  # read-only: consumers cannot write into it
        reader.execute("create table x (a int)")
    reader.close()
    with connect() as fresh:
        assert fresh.execute(days).fetchone()[0] == 2
        # The column descriptions travel with the views (sql/tables.sql is the contract of both files).
        comment = fresh.execute("select comment from duckdb_columns() where schema_name = 'raw' and "
                                "table_name = 'daily_quotes' and column_name = 'close'").fetchone()[0]
        assert comment and comment.startswith("closing price")
    assert manifest(path)["version"] == 2


def test_a_publish_exports_only_the_months_the_runs_wrote(tmp_path):
    db = tmp_path / "market.duckdb"
    january = [dt.date(2019, 1, d) for d in (2, 3, 4)]
    write_days(db, "raw.t", january)
    write_days(db, "raw.t", [dt.date(2019, 2, 1)])
    write_days(db, "raw.u", january)
    first = snapshot.publish(str(db))
    assert first.published and first.version == 1 and sorted(first.tables_exported) == ["raw.t", "raw.u"]
    files_before = manifest(first.snapshot)["tables"]
    assert sorted(files_before["raw.t"]["parts"]) == ["2019-01", "2019-02"]

    write_days(db, "raw.t", [dt.date(2019, 2, 1)], value=2.0)  # one stored day again, in February
    second = snapshot.publish(str(db))
    assert second.tables_exported == ["raw.t"] and second.files_written == 1 and second.rows_written == 1
    after = manifest(second.snapshot)["tables"]
    assert after["raw.t"]["parts"]["2019-01"] == files_before["raw.t"]["parts"]["2019-01"]  # untouched
    assert after["raw.t"]["parts"]["2019-02"] != files_before["raw.t"]["parts"]["2019-02"]
    assert after["raw.u"] == files_before["raw.u"]
    with snapshot.connect(second.snapshot) as reader:
        assert reader.execute("select trade_date, value from raw.t order by 1").fetchall() == [
            *((d, 1.0) for d in january), (dt.date(2019, 2, 1), 2.0)]

    nothing = snapshot.publish(str(db))
    assert not nothing.published and nothing.version == 2
    # A change outside the journal (a hand-made insert) shows in the row count: that table is exported whole.
    with duckdb.connect(str(db)) as conn:
        conn.execute("insert into raw.u values ('2019-03-01', '000002', 5.0)")
    third = snapshot.publish(str(db))
    assert third.tables_exported == ["raw.u"]
    assert third.notes == ["raw.u: 4 rows live, 3 in the snapshot; exported whole"]
    with snapshot.connect(third.snapshot) as reader:
        assert reader.execute("select count(*) from raw.u").fetchone()[0] == 4


def test_a_snapshot_published_from_a_relative_path_reads_from_any_directory(tmp_path, monkeypatch):
    """`SENTIMENT_DUCKDB_PATH=data/tdx.duckdb` is relative; the views must not be, or a reader elsewhere fails."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    write_days(Path("data/tdx.duckdb"), "raw.t", [dt.date(2019, 1, 2)])
    published = snapshot.publish("data/tdx.duckdb")
    assert Path(published.snapshot) == tmp_path / "data" / "tdx_snapshot.duckdb"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with snapshot.connect(published.snapshot) as reader:
        assert reader.execute("select count(*) from raw.t").fetchone()[0] == 1


def test_replaced_files_stay_for_the_retention_so_open_readers_keep_their_version(tmp_path, monkeypatch):
    db = tmp_path / "market.duckdb"
    write_days(db, "raw.t", [dt.date(2019, 1, 2)])
    first = snapshot.publish(str(db))
    old_reader = snapshot.connect(first.snapshot)
    [old_file] = manifest(first.snapshot)["tables"]["raw.t"]["parts"]["2019-01"]
    write_days(db, "raw.t", [dt.date(2019, 1, 2)], value=3.0)
    second = snapshot.publish(str(db))
    assert second.files_deleted == 0 and Path(old_file).exists()  # retired, kept for 24 h by default
    assert old_reader.execute("select value from raw.t").fetchone()[0] == 1.0  # its version, still readable
    assert manifest(second.snapshot)["retired"][0][0] == old_file
    monkeypatch.setenv("SENTIMENT_SNAPSHOT_RETAIN_HOURS", "0")
    write_days(db, "raw.t", [dt.date(2019, 1, 3)])
    third = snapshot.publish(str(db))
    assert third.files_deleted == 2 and not Path(old_file).exists()  # both earlier January files
    with pytest.raises(duckdb.Error):  # a reader older than the retention loses its files
        old_reader.execute("select value from raw.t").fetchall()
    old_reader.close()
    with snapshot.connect(third.snapshot) as reader:
        assert reader.execute("select count(*), sum(value) from raw.t").fetchone() == (2, 4.0)


def test_the_publish_job_skips_an_unchanged_database_and_reports_what_it_did(pipeline_env):
    defs = build_definitions()
    write_days(pipeline_env, "raw.t", [dt.date(2019, 1, 2)])
    job = defs.resolve_job_def(PUBLISH_JOB_NAME)
    first = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    [out] = [e for e in first.all_events if e.event_type_value == "STEP_OUTPUT"]
    values = {k: v.value for k, v in out.event_specific_data.metadata.items()}
    assert values["published"] is True and values["tables"] == 1 and values["files_written"] == 1
    assert values["rows_written"] == 1 and values["version"] == 1
    second = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    [out] = [e for e in second.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert out.event_specific_data.metadata["published"].value is False


def test_an_empty_table_and_a_new_column_publish_with_their_types(tmp_path):
    db = tmp_path / "market.duckdb"
    with duckdb.connect(str(db)) as conn, _transaction(conn):
        conn.execute("create schema raw; create table raw.e (trade_date date, code varchar, n integer)")
        changes.record(conn, "raw.e")
    write_days(db, "raw.t", [dt.date(2019, 1, 2)])
    snapshot.publish(str(db))
    with duckdb.connect(str(db)) as conn:  # the model gained a column (io_manager._add_new_columns)
        conn.execute("alter table raw.t add column extra double")
    write_days(db, "raw.t", [dt.date(2019, 2, 1)])
    result = snapshot.publish(str(db))
    assert "raw.t: its columns changed; exported whole" in result.notes
    with snapshot.connect(result.snapshot) as reader:
        assert reader.execute("describe raw.e").fetchall()[2][:2] == ("n", "INTEGER")
        assert reader.execute("select count(*) from raw.e").fetchone()[0] == 0
        assert reader.execute("select count(*), count(extra) from raw.t").fetchone() == (2, 0)


def test_connect_without_a_snapshot_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m sentiment_pipeline.platform.snapshot"):
        connect(tmp_path / "none.duckdb")


def test_a_database_named_after_a_schema_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    db = tmp_path / "heat.duckdb"
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    assert cli.main(["2019-03-01", *SELECT]) == 2
    out = capsys.readouterr().out
    assert f"SENTIMENT_DUCKDB_PATH={db}: DuckDB names a database after its file, and 'heat' is also a schema" in out
    assert "heat_market.duckdb" in out and not db.exists()


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
