"""A-share short-term sentiment indicators as Dagster assets in DuckDB. Consumers read the published snapshot:
`from sentiment_pipeline import connect`."""

import importlib.abc
import sys


class _PanderaWithoutPandas(importlib.abc.MetaPathFinder):
    """pandera imports pandas whenever it is installed (akshare needs it), ~0.5 s of every command, for its pandas
    API, at import and again at the first validation (to route checks of pandas frames); the polars API the table
    models use needs neither (pandera's polars-only mode, the one it runs in without pandas). While pandera loads
    and settles that routing, pandas reads as absent; it imports normally afterwards."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
        return None


if "pandera" not in sys.modules and "pandas" not in sys.modules:
    _finder = _PanderaWithoutPandas()
    sys.meta_path.insert(0, _finder)
    try:
        import pandera.polars  # noqa: F401
        from pandera.backends import register_checks

        register_checks._load_get_backend_types_from_mro()  # cached: no pandas routing for checks
    except (ImportError, AttributeError):
        pass
    finally:
        sys.meta_path.remove(_finder)


def connect(path=None):
    """A read-only connection to the published snapshot (sentiment_pipeline/platform/snapshot.py)."""
    from sentiment_pipeline.platform.snapshot import connect as connect_snapshot

    return connect_snapshot(path)


__all__ = ["connect"]
