"""The code location: assets, resources and the executor. Environment variables choose source and database."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.assets import assets
from sentiment_pipeline.io_manager import SentimentDuckDBIOManager
from sentiment_pipeline.stms_assets import stms_assets
from sentiment_pipeline.sources.akshare_source import AkshareSource
from sentiment_pipeline.sources.base import MarketSource
from sentiment_pipeline.sources.synthetic import SyntheticSource
from sentiment_pipeline.sources.tdx import TdxSource

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("synthetic", "tdx", "akshare")


def database_path() -> str:
    # Never name the file after a schema (sentiment.duckdb would make `sentiment.x` ambiguous).
    return os.environ.get("SENTIMENT_DUCKDB_PATH", str(PROJECT_ROOT / "data" / "market.duckdb"))


def source_from_env() -> MarketSource:
    name = os.environ.get("SENTIMENT_SOURCE", "synthetic")
    if name == "synthetic":
        return SyntheticSource(
            seed=int(os.environ.get("SENTIMENT_SYNTHETIC_SEED", "7")),
            cache_dir=os.environ.get("SENTIMENT_CACHE_DIR", str(PROJECT_ROOT / "data" / "cache")),
        )
    if name == "tdx":
        vipdoc = os.environ.get("SENTIMENT_TDX_DIR")
        if not vipdoc:
            raise ValueError("SENTIMENT_SOURCE=tdx needs SENTIMENT_TDX_DIR, the path of a TongDaXin vipdoc folder")
        return TdxSource(vipdoc_dir=vipdoc, ths_dir=os.environ.get("SENTIMENT_THS_DIR") or None)
    if name == "akshare":
        env = os.environ.get
        return AkshareSource(
            store_dir=env("SENTIMENT_RAW_DIR", str(PROJECT_ROOT / "data" / "raw")),
            mode=env("SENTIMENT_AKSHARE_MODE", "live"),
            eastmoney_rate=float(env("SENTIMENT_EASTMONEY_RATE", "0.5")),
            other_rate=float(env("SENTIMENT_OTHER_RATE", "1.0")),
        )
    raise ValueError(f"SENTIMENT_SOURCE={name!r} is not one of {', '.join(SOURCES)}")


def build_definitions() -> dg.Definitions:
    db = database_path()
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    return dg.Definitions(
        assets=[*assets, *stms_assets],
        resources={
            "market_source": source_from_env(),
            "io_manager": SentimentDuckDBIOManager(database=db),
            "duckdb": DuckDBResource(database=db),
        },
        # Steps share one DuckDB writer anyway; in-process avoids a process start per step.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
