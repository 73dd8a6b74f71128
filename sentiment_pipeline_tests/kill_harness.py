"""SIGKILL the main command (`python -m sentiment_pipeline.cli`) while it writes, and judge what it leaves.

Used by test_faults.py and benchmarks/faults_kill.py. The command runs for real in its own process group, on
the synthetic source, against a given DuckDB file and Dagster instance (DAGSTER_HOME with the repository's
dagster.yaml linked in, as scripts/setup.sh does). It is killed

- after a line of its output (`after_line`, a regular expression: a step's progress line, `run weekly …`), or
- inside a write transaction (`pause_at`: the Nth write of a process, or the first write of a table): the
  IO manager's transaction is held open by write_pause.py after its delete and insert, before its commit.

A table's state is its fingerprint: per partition (trade_date, week_start, or the whole table), the row count,
the sum of the hashes of the rows' exact columns and, per floating-point column, the sum and the sum of
magnitudes (compared to 1e-9 of the magnitude: Polars' parallel sums differ in the last bits from run to run,
e.g. in stms.sector_daily). After a kill every table must equal its fingerprint before the run ("old") or after
a complete run ("new"); anything else is "MIXED" (a half-written table).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import math

import duckdb

ROOT = Path(__file__).resolve().parents[1]
PARTITION_COLUMNS = ("trade_date", "week_start")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
FLOAT_TOLERANCE = 1e-9

Fingerprint = dict[str, tuple]  # table → ((partition, rows, hash sum, float sum, magnitude sum, …), …)


def instance_home(path: Path) -> Path:
    """A Dagster instance directory with the project's dagster.yaml, as scripts/setup.sh links it."""
    path.mkdir(parents=True, exist_ok=True)
    link = path / "dagster.yaml"
    if not link.exists():
        link.symlink_to(ROOT / "dagster.yaml")
    return path


def copy_database(source: Path, target: Path) -> None:
    """The database as it stands: its file and its WAL (the runs leave recent commits there: no checkpoint on
    close, platform/io_manager.py)."""
    shutil.copy(source, target)
    wal, target_wal = Path(f"{source}.wal"), Path(f"{target}.wal")
    target_wal.unlink(missing_ok=True)
    if wal.exists():
        shutil.copy(wal, target_wal)


def cli_env(db: Path, home: Path, cache: str, *, pause_at: str | None = None, marker: Path | None = None,
            hook_dir: Path | None = None) -> dict[str, str]:
    """The environment of the main command: synthetic source, the database, the instance, the market cache;
    with `pause_at`, the write pause of write_pause.py loaded into every process of the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTIMENT_", "DAGSTER_"))}
    env.update({"SENTIMENT_SOURCE": "synthetic", "SENTIMENT_DUCKDB_PATH": str(db), "SENTIMENT_CACHE_DIR": cache,
                "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    if pause_at is not None:
        assert marker is not None and hook_dir is not None
        hook_dir.mkdir(parents=True, exist_ok=True)
        (hook_dir / "sitecustomize.py").write_text(
            "from sentiment_pipeline_tests import write_pause\nwrite_pause.install()\n")
        env["PYTHONPATH"] = os.pathsep.join([str(hook_dir), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env.update({"SENTIMENT_FAULT_PAUSE_AT": pause_at, "SENTIMENT_FAULT_MARKER": str(marker)})
    return env


@dataclass
class Outcome:
    returncode: int
    killed: bool
    seconds: float
    lines: list[str] = field(default_factory=list)
    moment: str = ""  # what was happening when it was killed

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def writes(marker: Path) -> list[tuple[int, int, str]]:
    """The writes write_pause.py recorded: (pid, the process's write number, tables)."""
    if not marker.exists():
        return []
    rows = [line.split(" ", 2) for line in marker.read_text().splitlines(keepends=True) if line.endswith("\n")]
    return [(int(pid), int(n), tables.strip()) for pid, n, tables in rows]


def run_cli(args: list[str], env: dict[str, str], *, after_line: str | None = None,
            marker: Path | None = None, after_file: Path | None = None, timeout: float = 600) -> Outcome:
    """Run the main command; kill its process group with SIGKILL after the first output line matching
    `after_line`, or once the write that the environment's pause_at names is paused (`marker`), or once a path
    matching the glob `after_file` exists with bytes (a file) or at all (a folder: the snapshot's new version),
    or at `timeout`."""
    pause_at = env.get("SENTIMENT_FAULT_PAUSE_AT")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_pipeline.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    pattern = re.compile(after_line) if after_line else None
    moment, seen = "", 0
    while proc.poll() is None:
        if pattern:
            for line in lines[seen:]:
                if pattern.search(line):
                    moment = f"after line {line.strip()!r}"
                    break
            seen = len(lines)
        if pause_at and marker is not None:
            paused = [w for w in writes(marker) if pause_at == str(w[1]) or pause_at in w[2].split(",")]
            if paused:
                pid, n, tables = paused[0]
                moment = f"inside write {n} of pid {pid} ({tables}), before its commit"
        if after_file is not None:
            found = [f for f in after_file.parent.glob(after_file.name) if f.is_dir() or f.stat().st_size]
            if found:
                moment = f"while {found[0].name} is written"
        if not moment and time.monotonic() - started > timeout:
            moment = f"timeout after {timeout:.0f} s"
        if moment:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    reader.join(timeout=10)
    return Outcome(proc.returncode, bool(moment), time.monotonic() - started, lines, moment)


def fingerprint(db: Path, *, read_only: bool = False) -> Fingerprint:
    """Every table's fingerprint. Opening read-write replays a WAL left behind, as the next run's connection
    does."""
    with duckdb.connect(str(db), read_only=read_only) as conn:
        # Not the bookkeeping schemas (_pipeline: the change journal; _snapshot: the manifest): they follow every
        # write and publish.
        tables = conn.execute("select table_schema, table_name from information_schema.tables where table_schema "
                              "not like '\\_%' escape '\\' order by 1, 2").fetchall()
        out = {}
        for schema, name in tables:
            columns = conn.execute("select column_name, data_type from information_schema.columns where "
                                   "table_schema = ? and table_name = ? order by ordinal_position",
                                   [schema, name]).fetchall()
            part = next((c for c in PARTITION_COLUMNS if c in {c for c, _ in columns}), None)
            exact = ", ".join(f'"{c}"' for c, t in columns if t not in FLOAT_TYPES)
            floats = [f'sum("{c}"), sum(abs("{c}"))' for c, t in columns if t in FLOAT_TYPES]
            out[f"{schema}.{name}"] = tuple(conn.execute(
                f"select {f'{part}::varchar' if part else 'null'} as p, count(*), sum(hash(row({exact}))) "
                f"{''.join(', ' + f for f in floats)} from {schema}.{name} group by p order by p").fetchall())
        return out


def same(a: tuple | None, b: tuple | None) -> bool:
    """Two fingerprints of a table are the same: partitions, counts and hashes equal, float sums within
    FLOAT_TOLERANCE of their magnitude."""
    if a is None or b is None:
        return a is b
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x[:3] != y[:3]:
            return False
        for (sx, mx), (sy, my) in zip(zip(x[3::2], x[4::2]), zip(y[3::2], y[4::2])):
            if (sx is None) != (sy is None) or (mx is None) != (my is None):
                return False
            if sx is not None and not math.isclose(sx, sy, rel_tol=0, abs_tol=FLOAT_TOLERANCE * max(mx, my, 1e-300)):
                return False
    return True


def same_prints(a: Fingerprint, b: Fingerprint) -> bool:
    return a.keys() == b.keys() and all(same(a[t], b[t]) for t in a)


def classify(now: Fingerprint, old: Fingerprint, new: Fingerprint) -> dict[str, str]:
    """Each table as 'old' (as before the run), 'new' (as after a complete run), 'same' (both: a rewrite of
    identical rows) or 'MIXED' (neither: half written)."""
    out = {}
    for table in sorted(set(now) | set(old) | set(new)):
        state = now.get(table)
        is_old, is_new = same(state, old.get(table)), same(state, new.get(table))
        out[table] = "same" if is_old and is_new else "old" if is_old else "new" if is_new else "MIXED"
    return out


def partitions_of(print_: Fingerprint, table: str) -> list[str]:
    return [p for p, *_ in print_.get(table, ()) if p is not None]
