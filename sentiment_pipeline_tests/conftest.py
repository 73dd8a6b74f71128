import os
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def synthetic_cache(tmp_path_factory):
    """One simulated market for the whole session (simulating takes ~15 s)."""
    cache = os.environ.get("SENTIMENT_TEST_CACHE_DIR") or str(tmp_path_factory.mktemp("synthetic-cache"))
    from sentiment_pipeline.sources.synthetic_market import ensure_cached

    ensure_cached(Path(cache), 7)
    return cache


@pytest.fixture
def pipeline_env(tmp_path, synthetic_cache, monkeypatch):
    """Environment for the real definitions: a temporary DuckDB file and the session's synthetic cache."""
    db = tmp_path / "market.duckdb"
    monkeypatch.setenv("SENTIMENT_SOURCE", "synthetic")
    monkeypatch.setenv("SENTIMENT_DUCKDB_PATH", str(db))
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
    return db


@pytest.fixture
def instance_home(tmp_path, pipeline_env, monkeypatch):
    """A Dagster instance with the project's dagster.yaml in a temporary DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(Path(__file__).resolve().parents[1] / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def materialize_jobs(start: str, end: str):
    """The days, the weeks they touch, then the whole-history job (the backtests), as the main command runs
    them, each in process on an ephemeral instance; returns the three results."""
    import dagster as dg

    from sentiment_pipeline.cli import weeks_of
    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, JOB_NAME, WEEKLY_JOB_NAME, build_definitions
    from sentiment_pipeline.platform.partitions import trading_day_partitions

    defs = build_definitions()
    days = trading_day_partitions.get_partition_keys()
    weeks = weeks_of(days[days.index(start): days.index(end) + 1])
    results = []
    for job, first, last in ((JOB_NAME, start, end), (WEEKLY_JOB_NAME, weeks[0], weeks[-1]),
                             (HISTORY_JOB_NAME, None, None)):
        tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last} if first else {}
        result = defs.resolve_job_def(job).execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)
        assert result.success, job
        results.append(result)
    return results


@pytest.fixture(scope="session")
def chain_db(tmp_path_factory, synthetic_cache):
    """The whole chain through the real definitions, once per session: days from the first partition (STMS
    needs it) to 2019-02-22, across the Spring Festival week (2019-02-04: no trading day, no partition), the
    weeks they touch, then the whole-history assets. Returns the database and the three run results."""
    db = tmp_path_factory.mktemp("chain") / "market.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SENTIMENT_SOURCE", "synthetic")
        mp.setenv("SENTIMENT_DUCKDB_PATH", str(db))
        mp.setenv("SENTIMENT_CACHE_DIR", synthetic_cache)
        days, weeks, history = materialize_jobs("2019-01-02", "2019-02-22")
    return db, days, weeks, history
