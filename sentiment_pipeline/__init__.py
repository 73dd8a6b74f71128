"""A-share short-term sentiment indicators as Dagster assets in DuckDB. Consumers read the published snapshot:
`from sentiment_pipeline import connect`."""


def connect(path=None):
    """A read-only connection to the published snapshot (sentiment_pipeline/platform/snapshot.py)."""
    from sentiment_pipeline.platform.snapshot import connect as connect_snapshot

    return connect_snapshot(path)


__all__ = ["connect"]
