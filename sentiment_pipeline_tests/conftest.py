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


def materialize_jobs(start: str, end: str):
    """The days, then the whole-history job (the backtests), as the main command runs them, each in process on
    an ephemeral instance; returns both results."""
    import dagster as dg

    from sentiment_pipeline.definitions import HISTORY_JOB_NAME, JOB_NAME, build_definitions

    defs = build_definitions()
    results = []
    for job, tags in ((JOB_NAME, {"dagster/asset_partition_range_start": start,
                                  "dagster/asset_partition_range_end": end}), (HISTORY_JOB_NAME, {})):
        result = defs.resolve_job_def(job).execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)
        assert result.success, job
        results.append(result)
    return results
