"""One writer of the DuckDB file at a time, whoever starts the run (the CLI, the UI, the daemon).

DuckDB itself lets one process open the file for writing and fails any other at once ("Could not set lock on
file"); Dagster's pool only serialises runs that the queued coordinator launches. An exclusive `flock` on
`<database>.writer.lock`, taken for the whole run before the first connection, makes every other writer wait
instead of failing. The kernel drops it when the holder dies, so a killed run never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(database: str) -> Path:
    return Path(f"{database}.writer.lock")


def holder(database: str) -> dict:
    """Who holds (or last held) the lock: pid, what, since."""
    try:
        return json.loads(lock_path(database).read_text() or "{}")
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


# Locks this process holds (path → holders): a second taker in the same process (the snapshot publish while
# the run's IO manager holds the lock) shares it instead of waiting for itself.
_held: dict[str, int] = {}


class WriterLock:
    def __init__(self, database: str, what: str) -> None:
        self.database, self.what = database, what
        self._file = None
        self._shared = False
        self.waited = 0.0

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> None:
        path = lock_path(self.database)
        if _held.get(str(path)):
            _held[str(path)] += 1
            self._shared = True
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = holder(self.database)
            if on_wait:
                on_wait(f"waiting for the writer lock on {self.database}: held by pid {other.get('pid')} "
                        f"({other.get('what', '?')}) since {other.get('since', '?')}")
            started = time.perf_counter()
            fcntl.flock(self._file, fcntl.LOCK_EX)
            self.waited = time.perf_counter() - started
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid(), "what": self.what,
                                     "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        self._file.flush()
        _held[str(path)] = 1

    def release(self) -> None:
        path = str(lock_path(self.database))
        if self._shared:
            _held[path] -= 1
            self._shared = False
            return
        if self._file is not None:
            _held.pop(path, None)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


@contextmanager
def writer_lock(database: str, what: str, on_wait: Callable[[str], None] | None = None) -> Iterator[WriterLock]:
    lock = WriterLock(database, what)
    lock.acquire(on_wait)
    try:
        yield lock
    finally:
        lock.release()
