"""The project's instance (dagster.yaml, platform/event_log.py) under real runs of the main command: every day's
status and metadata as the UI reads them, one check execution per run, and the batching storage in use."""

import dagster as dg

from sentiment_pipeline import cli
from sentiment_pipeline.platform.event_log import BatchingSqliteEventLogStorage


def test_range_runs_record_every_day_and_one_check_execution_per_run(instance_home, capsys):
    # Two runs of the main command (a range split by --days-per-run), then a rerun of one day.
    assert cli.main(["2019-03-01...2019-03-14", "--days-per-run", "5", "--select", "key:raw/daily_quotes"]) == 0
    assert cli.main(["2019-03-07", "--select", "key:raw/daily_quotes"]) == 0
    out = capsys.readouterr().out
    assert out.count("run 2019-03-") == 2 + 1 and "✓  1  raw.daily_quotes" in out
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
        key = dg.AssetKey(["raw", "daily_quotes"])
        days = ["2019-03-01", "2019-03-04", "2019-03-05", "2019-03-06", "2019-03-07", "2019-03-08",
                "2019-03-11", "2019-03-12", "2019-03-13", "2019-03-14"]
        assert instance.get_materialized_partitions(key) == set(days)
        records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=100).records
        assert sorted(r.asset_materialization.partition for r in records) == sorted(days + ["2019-03-07"])
        for record in records:
            meta = record.asset_materialization.metadata
            assert set(meta) == {"dagster/row_count"} and meta["dagster/row_count"].value > 3000
        latest = instance.get_latest_materialization_event(key)
        assert latest.dagster_event.partition == "2019-03-07"  # the asset table follows the newest event
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, "schema_valid"), limit=100)
        assert len(history) == 3  # one per run, none left planned per day
        assert {h.status.value for h in history} == {"SUCCEEDED"} and {h.partition for h in history} == {None}
        runs = instance.get_runs()
        assert len(runs) == 3 and {r.job_name for r in runs} == {"backfill"}
        assert_runs_belong_to_the_code_location(instance, runs, "backfill")
        # The range of each run in a tag the UI's run list shows (it hides dagster/asset_partition_range_*).
        assert sorted(r.tags[cli.RANGE_TAG] for r in runs) == [
            "2019-03-01...2019-03-07", "2019-03-07", "2019-03-08...2019-03-14"]


def assert_runs_belong_to_the_code_location(instance, runs, job_name: str) -> None:
    """What the UI keys on (dagster-webserver 1.13): a job's page and the jobs list ask for
    RunsFilter(job_name, tags={".dagster/repository": "repository@location"}) (dagster_graphql
    schema/pipelines/pipeline.py `resolve_runs`), a tag the run storage writes from the run's remote job origin
    (DagsterRun.tags_for_storage); the Overview timeline drops a run without `repositoryOrigin` and groups the
    others by its location and repository names plus the job name (ui-core runs/useRunsForTimeline.tsx)."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    from sentiment_pipeline.definitions import defs as code_location

    (location,) = location_origins_from_yaml_paths([str(cli.WORKSPACE_YAML)])  # what the webserver loads
    assert location.location_name == "sentiment_pipeline"
    label = f"__repository__@{location.location_name}"
    on_job_page = instance.get_runs(dg.RunsFilter(job_name=job_name, tags={REPOSITORY_LABEL_TAG: label}))
    assert {r.run_id for r in on_job_page} == {r.run_id for r in runs}
    job = code_location().resolve_job_def(job_name)
    for run in runs:
        origin = run.remote_job_origin
        assert origin is not None and origin.job_name == job_name == run.job_name
        assert origin.repository_origin.repository_name == "__repository__"
        assert origin.repository_origin.code_location_origin == location
        assert origin.repository_origin.get_label() == label
        # The code location's job takes the run's config (the progress logger): the UI can re-execute it.
        assert dg.validate_run_config(job, run.run_config)["loggers"].keys() == {"progress"}


def test_the_command_runs_each_job_of_the_code_location_under_its_origin(monkeypatch):
    """The origin cli.job_origin gives each job the command runs is the workspace's code location's."""
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, JOB_NAME, WEEKLY_JOB_NAME

    monkeypatch.setitem(cli._BUILT, "defs", dg.Definitions())  # the repository's name, without building it all
    (location,) = location_origins_from_yaml_paths([str(cli.WORKSPACE_YAML)])
    for name in (JOB_NAME, WEEKLY_JOB_NAME, HISTORY_JOB_NAME):
        origin = cli.job_origin(name)
        assert origin.job_name == name and origin.repository_origin.code_location_origin == location
        assert origin.repository_origin.get_label() == "__repository__@sentiment_pipeline"


# The storage keeps one open connection per database and process (platform/event_log.py `_SqliteEngines`).
# A tiny job, so that these tests measure the instance and not the pipeline.

@dg.asset
def tiny_a():
    return 1


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="tiny_b")])
def tiny_b(tiny_a):
    yield dg.Output(tiny_a + 1)
    yield dg.AssetCheckResult(passed=True)


def _tiny_job():
    defs = dg.Definitions(assets=[tiny_a, tiny_b], jobs=[dg.define_asset_job("tiny")],
                          resources={"io_manager": dg.mem_io_manager}, executor=dg.in_process_executor)
    return defs.resolve_job_def("tiny")


def _tiny_run(instance) -> str:
    with dg.execute_job(dg.reconstructable(_tiny_job), instance=instance) as result:
        assert result.success
        return result.run_id


def _records(instance, run_id) -> list[list]:
    return [[r.storage_id, r.event_log_entry.dagster_event_type and r.event_log_entry.dagster_event_type.value,
             r.event_log_entry.message]
            for r in instance.get_records_for_run(run_id).records]


# Another process on the same instance: prints what it reads, writes an event to the first run and says so,
# then waits for "wipe" to wipe the instance, then for its stdin to close.
_OTHER_PROCESS = """
import json, sys
import dagster as dg
from sentiment_pipeline_tests.test_instance import _records
run_ids = sys.argv[1:]
with dg.DagsterInstance.get() as instance:
    print(json.dumps({r: _records(instance, r) for r in run_ids}), flush=True)
    instance.report_engine_event("written by another process", instance.get_run_by_id(run_ids[0]))
    print("written", flush=True)
    assert sys.stdin.readline() == "wipe\\n"
    instance.wipe()
    print("wiped", flush=True)
    sys.stdin.read()
"""

TINY_RUN_EVENTS = 26


def test_open_connections_serve_runs_other_processes_the_live_log_and_a_wipe(instance_home):
    import json
    import os
    import queue
    import subprocess
    import sys
    from collections import Counter
    from pathlib import Path

    with dg.DagsterInstance.get() as instance:
        first, second = _tiny_run(instance), _tiny_run(instance)  # the second run reuses the open index.db
        mine = {r: _records(instance, r) for r in (first, second)}
        assert [len(mine[first]), len(mine[second])] == [TINY_RUN_EVENTS, TINY_RUN_EVENTS]
        assert Counter(t for _, t, _ in mine[first]) == Counter(t for _, t, _ in mine[second]) == {
            "PIPELINE_START": 1, "PIPELINE_SUCCESS": 1, "ENGINE_EVENT": 2, "RESOURCE_INIT_STARTED": 2,
            "RESOURCE_INIT_SUCCESS": 2, "LOGS_CAPTURED": 1, "ASSET_MATERIALIZATION_PLANNED": 2,
            "ASSET_CHECK_EVALUATION_PLANNED": 1, "STEP_START": 2, "STEP_INPUT": 1, "LOADED_INPUT": 1,
            "STEP_OUTPUT": 3, "HANDLED_OUTPUT": 2, "ASSET_MATERIALIZATION": 2, "ASSET_CHECK_EVALUATION": 1,
            "STEP_SUCCESS": 2}
        shards = Path(os.environ["DAGSTER_HOME"]) / "history" / "runs"
        assert (shards / f"{first}.db-wal").exists()  # still open here: its commits sit in the WAL

        # The UI's live log: a watch on the first run, woken by the other process's commit into the WAL.
        seen: queue.Queue = queue.Queue()
        cursor = instance.get_records_for_run(first).cursor
        instance.watch_event_logs(first, cursor, lambda event, _: seen.put(event.message))
        other = subprocess.Popen([sys.executable, "-c", _OTHER_PROCESS, first, second], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        try:
            assert json.loads(other.stdout.readline()) == mine  # it reads what this process wrote
            assert other.stdout.readline() == "written\n"
            assert seen.get(timeout=20) == "written by another process"  # while the writer is still open
            assert _records(instance, first)[:-1] == mine[first]
            assert _records(instance, first)[-1][1:] == ["ENGINE_EVENT", "written by another process"]

            # A wipe in the other process: this one's open connections must not read the deleted files.
            other.stdin.write("wipe\n")
            other.stdin.flush()
            assert other.stdout.readline() == "wiped\n"
            assert instance.get_runs() == []
            assert instance.get_records_for_run(first).records == []
            third = _tiny_run(instance)
            assert [r.run_id for r in instance.get_runs()] == [third]
            assert len(_records(instance, third)) == TINY_RUN_EVENTS
            assert instance.get_latest_materialization_event(dg.AssetKey("tiny_b")).run_id == third
        finally:
            other.stdin.close()
            assert other.wait(timeout=60) == 0


def test_a_forked_child_opens_its_own_connections(instance_home):
    import os
    import time

    from sentiment_pipeline.platform import event_log

    with dg.DagsterInstance.get() as instance:
        run_id = _tiny_run(instance)
        engines = instance.event_log_storage._engines
        mine = {key: entry[0] for key, entry in engines._engines.items()}
        assert set(mine) == {"index", run_id}
        pid = os.fork()
        if pid == 0:  # the child: store an event, with engines of its own; the parent's are never closed here
            ok = False
            try:
                instance.report_engine_event("from the child", instance.get_run_by_id(run_id))
                ok = (list(engines._engines) == [run_id] and engines._engines[run_id][0] is not mine[run_id]
                      and any(list(e) == list(mine) for e in event_log._NEVER_CLOSE if isinstance(e, dict)))
            finally:
                os._exit(0 if ok else 1)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
        assert {key: entry[0] for key, entry in engines._engines.items()} == mine  # still the parent's
        assert _records(instance, run_id)[-1][1:] == ["ENGINE_EVENT", "from the child"]
        assert len(_records(instance, run_id)) == TINY_RUN_EVENTS + 1
