"""The production profile (deploy/production/dagster.yaml started by scripts/serve.sh) against a real PostgreSQL
server: the instance it loads, and the team service itself (webserver + daemon on loopback) running daily
partitions through the run queue, with the "duckdb" pool holding a second writing run Queued.

PostgreSQL: SENTIMENT_TEST_PG_URL (postgresql://user:password@host:port/db, a role that may CREATE DATABASE;
.ci/run starts the system's server and exports it) gets a fresh database for this module, dropped at the end.
Without it, the module starts a throwaway server of its own (initdb + pg_ctl into a temporary folder, as the
`postgres` user when run as root, since PostgreSQL refuses root). Without either, or when .ci/run said why in
SENTIMENT_TEST_PG_UNAVAILABLE, every test here skips with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg
import duckdb
import pytest
import requests

from sentiment_pipeline.definitions import DAILY_JOB_NAME
from sentiment_pipeline_tests.test_readme_commands import ROOT

PRODUCTION_YAML = ROOT / "deploy" / "production" / "dagster.yaml"
LOCATION, REPOSITORY = "sentiment_pipeline", "__repository__"
ACTIVE = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING}


# --- PostgreSQL ------------------------------------------------------------------------------------------------

def _pg_bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-c", " ".join(cmd)]


class ThrowawayServer:
    """initdb + pg_ctl under a temporary folder: trust authentication, loopback TCP only, fsync off."""

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin_dir, self.folder = bin_dir, folder
        self.data, self.port = folder / "data", _free_port()

    def start(self) -> str:
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no `postgres` user to run the server") from None
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        steps = [
            [str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--no-sync"],
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
             "-t", "30", "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
             "start"],
        ]
        for cmd in steps:
            done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                log = (self.folder / "server.log")
                tail = log.read_text()[-600:] if log.exists() else ""
                raise RuntimeError(f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout)[-600:]} {tail}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(_as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                            "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _connect(url: str, dbname: str | None = None):
    import psycopg2

    u = urlparse(url)
    conn = psycopg2.connect(host=u.hostname, port=u.port or 5432, user=unquote(u.username or ""),
                            password=unquote(u.password or ""), dbname=dbname or u.path.lstrip("/") or "postgres",
                            connect_timeout=5)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def pg_database(tmp_path_factory):
    """(DAGSTER_PG_* variables for a fresh database, how the server was found)."""
    unavailable = os.environ.get("SENTIMENT_TEST_PG_UNAVAILABLE")
    url = os.environ.get("SENTIMENT_TEST_PG_URL")
    server = None
    if url:
        origin = "SENTIMENT_TEST_PG_URL"
    elif unavailable:
        pytest.skip(f".ci/run found no PostgreSQL: {unavailable}")
    else:
        bin_dir = _pg_bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL not installed: no SENTIMENT_TEST_PG_URL and no pg_ctl on PATH or under "
                        "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)")
        # Not under pytest's temporary root: it is private to the user running the tests (0700), and the
        # server runs as `postgres`.
        server = ThrowawayServer(bin_dir, Path(tempfile.mkdtemp(prefix="sentiment-pg-")))
        try:
            url = server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            server.stop()
            pytest.skip(f"PostgreSQL could not start a throwaway server from {bin_dir}: {e}")
        origin = f"throwaway server from {bin_dir}"
    name = f"sentiment_test_{secrets.token_hex(4)}"
    try:
        admin = _connect(url)  # not `with`: psycopg2's block is a transaction, and CREATE DATABASE refuses one
        admin.cursor().execute(f"CREATE DATABASE {name}")
        admin.close()
    except Exception as e:
        if server:
            server.stop()
        pytest.skip(f"PostgreSQL at {urlparse(url).hostname}:{urlparse(url).port} ({origin}) refused: {e}")
    u = urlparse(url)
    env = {"DAGSTER_PG_HOST": u.hostname, "DAGSTER_PG_PORT": str(u.port or 5432),
           "DAGSTER_PG_USER": unquote(u.username or ""), "DAGSTER_PG_PASSWORD": unquote(u.password or ""),
           "DAGSTER_PG_DB": name}
    yield env, origin
    try:
        admin = _connect(url)
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    finally:
        if server:
            server.stop()


@pytest.fixture(scope="module")
def production_env(pg_database, tmp_path_factory, synthetic_cache):
    """Everything the production profile reads, in this process too (the instance loads its yaml from it)."""
    pg_env, _ = pg_database
    folder = tmp_path_factory.mktemp("production")
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(PRODUCTION_YAML)
    env = {**pg_env, "DAGSTER_HOME": str(home), "SENTIMENT_SERVE_HOME": str(home),
           "SENTIMENT_SOURCE": "synthetic", "SENTIMENT_DUCKDB_PATH": str(folder / "market.duckdb"),
           "SENTIMENT_CACHE_DIR": synthetic_cache,
           "DAGSTER_EVENT_BATCH_SIZE": "1000", "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("DAGSTER_MODULE_NAME", raising=False)
        yield env


@pytest.fixture(scope="module")
def instance(production_env):
    with dg.DagsterInstance.from_config(production_env["DAGSTER_HOME"]) as inst:
        yield inst


# --- The service -------------------------------------------------------------------------------------------------

class Service:
    def __init__(self, url: str, log: Path, process: subprocess.Popen):
        self.url, self.log, self.process = url, log, process

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                 timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def submit(self, job: str, partition: str) -> str:
        data = self.graphql("""
            mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
              __typename ... on LaunchRunSuccess { run { runId status } } ... on PythonError { message } } }""",
            {"params": {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                                     "jobName": job},
                        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}})
        launched = data["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def stop_automation(self) -> list[str]:
        """Stop every schedule and sensor: the tests submit their own runs, and a sensor's runs (snapshot
        publishing after each run, the weekly chain) would join the queue between them."""
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
        data = self.graphql("""query($s: RepositorySelector!) {
              sensorsOrError(repositorySelector: $s) { ... on Sensors { results { id name } } }
              schedulesOrError(repositorySelector: $s) { ... on Schedules { results { id name } } } }""",
                            {"s": selector})
        stopped = []
        for sensor in data["sensorsOrError"].get("results", []):
            out = self.graphql("mutation($id: String) { stopSensor(id: $id) { __typename } }", {"id": sensor["id"]})
            assert out["stopSensor"]["__typename"] == "StopSensorMutationResult", out
            stopped.append(sensor["name"])
        for schedule in data["schedulesOrError"].get("results", []):
            out = self.graphql("mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
                               {"id": schedule["id"]})
            assert out["stopRunningSchedule"]["__typename"] == "ScheduleStateResult", out
            stopped.append(schedule["name"])
        return stopped


@pytest.fixture(scope="module")
def service(production_env, tmp_path_factory):
    """scripts/serve.sh on a free loopback port: the webserver answers, schedules and sensors are stopped."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME",)}
    env.update(production_env, HOST="127.0.0.1", PORT=str(port))
    with open(log, "w") as out:
        process = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    svc = Service(f"http://127.0.0.1:{port}", log, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve.sh exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if svc.graphql("{ version }")["version"] == dg.__version__:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"webserver not up after 120 s:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        svc.stopped = svc.stop_automation()
        yield svc
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        # What serve.sh started (the daemon's code server outlives it while a run is in flight): its group.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(instance, run_ids: list[str], timeout: float = 120) -> list[dict]:
    """Poll until every run has finished; returns the statuses seen at each poll."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        runs = {rid: instance.get_run_by_id(rid) for rid in run_ids}
        seen.append({rid: run.status for rid, run in runs.items()})
        if all(run.is_finished for run in runs.values()):
            return seen
        assert time.monotonic() < deadline, f"runs not finished after {timeout} s: {seen[-1]}"
        time.sleep(0.3)


def event_types(instance, run_id: str) -> list[str]:
    return [e.dagster_event.event_type_value for e in instance.all_logs(run_id) if e.is_dagster_event]


def rows_for(database: str, table: str, day: str) -> int:
    with duckdb.connect(database, read_only=True) as conn:
        return conn.execute(f"select count(*) from {table} where trade_date = ?", [day]).fetchone()[0]


# --- Tests ---------------------------------------------------------------------------------------------------------

def test_production_yaml_loads_postgres_storages_and_the_queue(instance, production_env, pg_database):
    from dagster._core.instance.config import PoolGranularity
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    pools = instance.get_concurrency_config().pool_config
    assert pools.pool_granularity == PoolGranularity.RUN and pools.default_pool_limit == 1
    assert instance.event_log_storage.supports_global_concurrency_limits
    assert not instance.telemetry_enabled
    home = Path(production_env["DAGSTER_HOME"])
    assert Path(instance.root_directory) == home
    assert Path(instance.compute_log_manager._base_dir) == home  # noqa: SLF001 (no public accessor)
    # The storage answers (tables created by the first connection) and is empty.
    assert instance.get_runs() == []


def test_the_service_runs_a_daily_partition_through_the_queue(service, instance, production_env):
    assert service.stopped, "the definitions' schedules and sensors were found and stopped"
    # The webserver listens on loopback only (serve.sh's default HOST).
    assert f"Serving dagster-webserver on {service.url}" in service.log.read_text()
    # serve.sh created the pool's limit before the daemon's first pass (else that pass ignores it).
    assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 1
    day = "2019-01-02"
    started = time.monotonic()
    run_id = service.submit(DAILY_JOB_NAME, day)
    seen = wait_for(instance, [run_id])
    elapsed = time.monotonic() - started
    run = instance.get_run_by_id(run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS, service.log.read_text()[-3000:]
    assert run.job_name == DAILY_JOB_NAME and run.tags["dagster/partition"] == day
    events = event_types(instance, run_id)
    # Queued by the coordinator, launched by the daemon: the run's events say so.
    assert events.index("PIPELINE_ENQUEUED") < events.index("PIPELINE_STARTING") < events.index("PIPELINE_START"), events[:6]
    assert seen[-1][run_id] == dg.DagsterRunStatus.SUCCESS
    database = production_env["SENTIMENT_DUCKDB_PATH"]
    assert rows_for(database, "core.daily_bars", day) > 3000
    assert rows_for(database, "sentiment.phase_daily", day) == 1
    assert instance.get_materialized_partitions(dg.AssetKey(["core", "daily_bars"])) == {day}
    print(f"daily partition {day}: submit → SUCCESS in {elapsed:.1f} s")


def test_a_second_writing_run_stays_queued_until_the_first_ends(service, instance, production_env):
    days = ["2019-01-03", "2019-01-04"]
    run_ids = [service.submit(DAILY_JOB_NAME, day) for day in days]
    seen = wait_for(instance, run_ids, timeout=150)
    runs = [instance.get_run_by_id(rid) for rid in run_ids]
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2, service.log.read_text()[-3000:]
    # Never both active; at some poll one was running while the other waited in the queue.
    assert not any(all(s[rid] in ACTIVE for rid in run_ids) for s in seen)
    assert any({s[run_ids[0]], s[run_ids[1]]} & ACTIVE and dg.DagsterRunStatus.QUEUED in s.values() for s in seen)
    records = sorted(instance.get_run_records(dg.RunsFilter(run_ids=run_ids)), key=lambda r: r.start_time)
    assert records[1].start_time >= records[0].end_time, "the second run started before the first ended"
    for day in days:
        assert rows_for(production_env["SENTIMENT_DUCKDB_PATH"], "core.daily_bars", day) > 3000
    # Both asked for the pool; neither holds a slot now.
    info = instance.event_log_storage.get_concurrency_info("duckdb")
    assert info.slot_count == 1 and not info.claimed_slots and not info.pending_steps


def test_the_service_shows_a_run_of_the_main_command_under_its_job(service, instance, production_env, capsys):
    """A run the main command executes in its own process on the team instance is a run of the code location's
    job: the webserver's job page (the same query as the UI's Runs tab) lists it, with its origin and its range."""
    from sentiment_pipeline import cli

    assert cli.main(["2019-01-07", "--select", "key:raw/daily_quotes"]) == 0, capsys.readouterr().out
    (run,) = instance.get_runs(dg.RunsFilter(tags={"sentiment/launched_by": "cli"}))
    data = service.graphql("""query($s: PipelineSelector!) { pipelineOrError(params: $s) { __typename
          ... on Pipeline { runs(limit: 50) { runId status tags { key value }
                                             repositoryOrigin { repositoryLocationName repositoryName } } } } }""",
                           {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                                  "pipelineName": "backfill"}})
    shown = {r["runId"]: r for r in data["pipelineOrError"]["runs"]}
    assert run.run_id in shown, list(shown)
    assert shown[run.run_id]["status"] == "SUCCESS"
    assert shown[run.run_id]["repositoryOrigin"] == {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
    assert {"key": cli.RANGE_TAG, "value": "2019-01-07"} in shown[run.run_id]["tags"]
