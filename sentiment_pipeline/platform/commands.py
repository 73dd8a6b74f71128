"""The entry of the report commands (`python -m sentiment_pipeline.research.claims DB`, …): a wrong path or a
database without the tables they read is answered in a line or two, the traceback only with --verbose."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run_main(main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args
    try:
        return main([a for a in args if a != "--verbose"])
    except Exception as error:  # noqa: BLE001 (the command's last word: one line, not a traceback)
        if verbose:
            raise
        print(explain(error), file=sys.stderr)
        return 1


def explain(error: BaseException) -> str:
    import duckdb

    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, duckdb.IOException):
        return (f"error: cannot open the database: {text}\n"
                "       give the path of a DuckDB file the main command wrote (default $SENTIMENT_DUCKDB_PATH)")
    if isinstance(error, duckdb.CatalogException):
        return (f"error: the database lacks a table this command reads: {text}\n"
                "       run the main command (python -m sentiment_pipeline.cli) over the days first")
    from sentiment_pipeline.cli import describe_error

    return describe_error(error)
