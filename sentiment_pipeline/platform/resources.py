"""The resources every run gets, chosen by environment variables: the market source and the database."""

from __future__ import annotations

import os
from pathlib import Path

from sentiment_pipeline.sources.base import MarketSource

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("synthetic", "tdx", "akshare", "baostock")


def database_path() -> str:
    return os.environ.get("SENTIMENT_DUCKDB_PATH", str(PROJECT_ROOT / "data" / "market.duckdb"))


class DatabaseNameClash(ValueError):
    """A database file named after one of the pipeline's schemas."""


def check_database_name(path: str, schemas: set[str], setting: str = "SENTIMENT_DUCKDB_PATH") -> None:
    """DuckDB names a database after its file: `heat.duckdb` holding a schema `heat` makes every `heat.x`
    ambiguous ("Ambiguous reference to catalog or schema"). Refuse such a name before anything opens it."""
    stem = Path(path).stem
    if stem in schemas:
        raise DatabaseNameClash(
            f"{setting}={path}: DuckDB names a database after its file, and {stem!r} is also a schema of this "
            f"pipeline ({stem}.<table> would be ambiguous). Nothing was opened or written. Name the file "
            f"differently, e.g. {Path(path).with_name(f'{stem}_market.duckdb')}. Reserved names: "
            f"{', '.join(sorted(schemas))}.")


def source_name() -> str:
    return os.environ.get("SENTIMENT_SOURCE", "synthetic")


def source_from_env() -> MarketSource:
    name = source_name()
    env = os.environ.get
    # Membership files for the reference datasets a source lacks (TongDaXin has none of its own).
    membership = {"membership_dir": env("SENTIMENT_MEMBERSHIP_DIR") or None}
    if name == "synthetic":
        from sentiment_pipeline.sources.synthetic import SyntheticSource

        return SyntheticSource(seed=int(env("SENTIMENT_SYNTHETIC_SEED", "7")),
                               cache_dir=env("SENTIMENT_CACHE_DIR", str(PROJECT_ROOT / "data" / "cache")), **membership)
    if name == "tdx":
        from sentiment_pipeline.sources.tdx import TdxSource

        vipdoc = env("SENTIMENT_TDX_DIR")
        if not vipdoc:
            raise ValueError("SENTIMENT_SOURCE=tdx needs SENTIMENT_TDX_DIR, the path of a TongDaXin vipdoc folder")
        return TdxSource(vipdoc_dir=vipdoc, ths_dir=env("SENTIMENT_THS_DIR") or None,
                         baostock_dir=env("SENTIMENT_BAOSTOCK_DIR") or None, **membership)
    if name == "baostock":
        from sentiment_pipeline.sources.baostock_source import BaostockSource

        return BaostockSource(data_dir=env("SENTIMENT_BAOSTOCK_DIR") or None,
                              store_dir=str(Path(env("SENTIMENT_RAW_DIR", str(PROJECT_ROOT / "data" / "raw"))) / "baostock"),
                              mode=env("SENTIMENT_BAOSTOCK_MODE", "live"), **membership)
    if name == "akshare":
        from sentiment_pipeline.sources.akshare_source import AkshareSource

        return AkshareSource(
            store_dir=env("SENTIMENT_RAW_DIR", str(PROJECT_ROOT / "data" / "raw")),
            mode=env("SENTIMENT_AKSHARE_MODE", "live"),
            eastmoney_rate=float(env("SENTIMENT_EASTMONEY_RATE", "0.5")),
            other_rate=float(env("SENTIMENT_OTHER_RATE", "1.0")),
            http_timeout=float(env("SENTIMENT_HTTP_TIMEOUT", "30")),
            **membership,
        )
    raise ValueError(f"SENTIMENT_SOURCE={name!r} is not one of {', '.join(SOURCES)}")
