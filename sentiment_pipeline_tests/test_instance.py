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
