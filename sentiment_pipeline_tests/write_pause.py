"""A pause inside one DuckDB write transaction of the IO manager, so that a test can SIGKILL the main command at
exactly that moment: after the write's delete and insert, before its commit.

Loaded into every Python process of a `python -m sentiment_pipeline.cli` that the kill harness starts (through
a `sitecustomize` it puts on PYTHONPATH; kill_harness.py), and only there. Off unless SENTIMENT_FAULT_PAUSE_AT is
set: a number N pauses in the process's Nth write transaction, a table name (`core.daily_bars`) in the first one
that writes that table, `never` only records. Every write appends `<pid> <n> <tables>` to the file
SENTIMENT_FAULT_MARKER before its commit; the paused one then sleeps until it is killed. Nothing else changes:
the write itself is the IO manager's own (platform/io_manager.py).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

PAUSE_AT = "SENTIMENT_FAULT_PAUSE_AT"
MARKER = "SENTIMENT_FAULT_MARKER"


def install() -> None:
    at = os.environ.get(PAUSE_AT)
    if not at:
        return
    from sentiment_pipeline.platform import io_manager

    # The IO manager's handlers look both names up at call time: replacing them here wraps every write.
    original_transaction, original_replace = io_manager._transaction, io_manager._replace  # noqa: SLF001
    state = {"n": 0, "tables": []}

    def replace(connection, table, *args, **kwargs):
        state["tables"].append(table)
        return original_replace(connection, table, *args, **kwargs)

    @contextmanager
    def transaction(connection):
        with original_transaction(connection):
            state["n"] += 1
            state["tables"] = []
            yield
            with open(os.environ[MARKER], "a") as marker:
                marker.write(f"{os.getpid()} {state['n']} {','.join(state['tables'])}\n")
            if at == str(state["n"]) or at in state["tables"]:
                time.sleep(3600)  # the harness kills the process here, inside the open transaction

    io_manager._transaction = transaction  # noqa: SLF001
    io_manager._replace = replace  # noqa: SLF001
