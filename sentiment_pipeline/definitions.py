"""The code location: assembles the domains' assets, the resources, the job and the executor. Environment
variables choose the source and the database (platform/resources.py)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from sentiment_pipeline.catalog import ASSETS
from sentiment_pipeline.platform.io_manager import SentimentDuckDBIOManager
from sentiment_pipeline.platform.resources import database_path, source_from_env
from sentiment_pipeline.sources.base import MarketSource

JOB_NAME = "sentiment_pipeline"
log = logging.getLogger("sentiment_pipeline")


def feedable(assets: list, source: MarketSource) -> tuple[list, dict[str, str]]:
    """The assets the source can feed, and for each left out, why: a raw dataset the source lacks, or an
    input that comes from one."""
    missing = {dg.AssetKey(["raw", d]): d for d in source.missing_datasets()}
    if not missing:
        return list(assets), {}
    graph = dg.Definitions(assets=assets).resolve_asset_graph()
    left_out: dict[str, str] = {}
    for key, dataset in missing.items():
        for down in _downstream(graph, key):
            left_out.setdefault(down.to_user_string(),
                                f"source {source.source_name()!r} does not provide {dataset}")
    kept = [a for a in assets if not {k.to_user_string() for k in a.keys} & left_out.keys()]
    return kept, left_out


def _downstream(graph, key: dg.AssetKey) -> list[dg.AssetKey]:
    seen, todo = {key}, [key]
    while todo:
        for child in graph.get(todo.pop()).child_keys:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return sorted(seen)


def build_definitions(loggers: dict | None = None) -> dg.Definitions:
    db = database_path()
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    source = source_from_env()
    assets, left_out = feedable(ASSETS, source)
    for key, reason in left_out.items():
        log.warning(f"{key} left out: {reason}")
    job = dg.define_asset_job(
        JOB_NAME, selection=dg.AssetSelection.all(),
        description="Every asset the configured source can feed; a partition range runs as one run.")
    with warnings.catch_warnings():  # code references are beta; the UI's link to each asset's source
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(assets)
    defs = dg.Definitions(
        assets=assets,
        jobs=[job],
        resources={
            "market_source": source,
            "io_manager": SentimentDuckDBIOManager(database=db),
            "duckdb": DuckDBResource(database=db),
        },
        # Steps share one DuckDB writer anyway; in-process avoids a process start per step.
        executor=dg.in_process_executor,
        loggers=loggers or {},
        metadata={"left_out": dg.MetadataValue.json(left_out)} if left_out else {},
    )
    # Raw assets also carry the kind of the source that fed them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(
            func=lambda spec: spec.merge_attributes(kinds={source.source_name()}),
            selection=dg.AssetSelection.groups("raw"))


defs = build_definitions()
