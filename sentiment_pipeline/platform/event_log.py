"""The instance's event log: Dagster's SQLite storage (same files, same layout), writing a batch of asset events
in one transaction per database.

Why: a range run records a materialization per asset and day (27,184 for a 2019→2025 backfill). The stock
SQLite storage opens engines and commits twice per event (~10 ms each), which made bookkeeping, not the
transforms, set the backfill time. Measured choices are in the README ("Instance and bookkeeping").

What it changes, nothing else:
- `store_event_batch`: the asset events of one batch (one output's daily materializations, or a run's planned
  events) go into the run's database in one transaction and into the cross-run index in another, with their
  tags; the asset table is updated once per asset key and event type with the batch's last event (the same
  reduction dagster-postgres makes). Every other event takes the normal `store_event` path.
- a planned check evaluation is one row per check and run, not one per day (see
  `_store_asset_check_evaluation_planned`): the project's checks are evaluated once per run.
- one planned event per asset and run carries the run's partition subset (as with
  DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1), instead of one per day. Consequence: the days of a
  failed or unfinished range run show as missing, not failed, in the UI; materialized days are exact.

Tied to dagster 1.13.27 (it overrides private methods); the tests run real materializations through it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._core.storage.sqlalchemy_compat import db_select
from dagster_shared.serdes import serialize_value

# Dagster hands a storage batches only when this is set (read at call time, in every process that stores
# events: the CLI, a run worker, the webserver, the daemon). This storage is what makes batches worth it.
BATCH_SIZE = "1000"

_BATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
}


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", BATCH_SIZE)
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        return True

    # The sharded storage re-reads this from index.db on every query; it only changes on a reindex.
    def has_secondary_index(self, name: str) -> bool:
        cache = self.__dict__.setdefault("_secondary_index_cache", {})
        if name not in cache:
            cache[name] = super().has_secondary_index(name)
        return cache[name]

    def enable_secondary_index(self, name: str) -> None:
        super().enable_secondary_index(name)
        self.__dict__.setdefault("_secondary_index_cache", {}).pop(name, None)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        batched, rest = [], []
        for event in events:
            dagster_event = event.dagster_event
            if (event.is_dagster_event and dagster_event is not None and dagster_event.event_type in _BATCHED
                    and dagster_event.asset_key is not None and event.run_id == events[0].run_id):
                batched.append(event)
            else:
                rest.append(event)
        if batched:
            rows = [self._event_to_row(e) for e in batched]
            # A failure here commits nothing: Dagster then stores the batch event by event.
            with self.run_connection(batched[0].run_id) as conn:
                conn.execute(SqlEventLogStorageTable.insert(), rows)
            # From here the run's database has the events: never hand the batch back to Dagster (it would store
            # them twice); if the one-transaction mirror fails, mirror them one by one as store_event does.
            try:
                self._mirror_in_index(batched, rows)
            except Exception:
                for event, row in zip(batched, rows):
                    self._mirror_in_index([event], [row])
        for event in rest:
            self.store_event(event)

    def _mirror_in_index(self, batched: Sequence[EventLogEntry], rows: list[dict]) -> None:
        """The cross-run index part of store_event for a batch: rows, tags, and the asset table once per asset
        key and event type with the batch's last event."""
        with self.index_transaction() as conn:
            table = SqlEventLogStorageTable
            conn.execute(table.insert(), rows)
            # The open transaction holds SQLite's write lock, so the batch's ids are the newest len(rows) ids
            # (RETURNING gives the same and cost 10-20% of a backfill's time here).
            newest = conn.execute(db_select([table.c.id]).order_by(table.c.id.desc()).limit(len(rows)))
            event_ids = sorted(row[0] for row in newest)
            if len(event_ids) != len(rows):
                raise RuntimeError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, batched, event_ids)
            last = {}
            for event, event_id in zip(batched, event_ids):
                last[(event.dagster_event.asset_key, event.dagster_event.event_type)] = (event, event_id)
            for event, event_id in sorted(last.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)

    def _store_asset_check_evaluation_planned(self, event, event_id):
        """One planned row per check and run. Dagster writes one per day of the run's range, each holding the
        whole serialized event (the range's partition subset: ~15 KB), although this project's checks are
        evaluated once per run without a partition (wiring.validated): the day rows were never resolved (the UI listed them as
        skipped, one per day and run) and made most of the instance's size."""
        planned = event.dagster_event.event_specific_data
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values(
                asset_key=planned.asset_key.to_string(), check_name=planned.check_name, partition=None,
                run_id=event.run_id, execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                evaluation_event=serialize_value(event), evaluation_event_timestamp=self._event_insert_timestamp(event),
                evaluation_event_storage_id=event_id))

class BatchingSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite:` with the batching event log: the same folders under base_dir (history/, schedules/)."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
