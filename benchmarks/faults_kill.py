"""Fault trial: SIGKILL the main command at many moments while it writes, and check what it leaves.

    python benchmarks/faults_kill.py                 # every moment (about an hour on 2 cores: 58 min measured)
    python benchmarks/faults_kill.py --every 4       # every 4th moment
    python benchmarks/faults_kill.py --select 'group:raw or group:core or group:sentiment' --old 2019-03-01...2019-03-08 --new 2019-03-01...2019-03-15

Setup (once): a fresh temporary DuckDB file and Dagster instance (the repository's dagster.yaml), the
synthetic source; the main command stores the OLD range; a copy of that database then runs the NEW range
(a superset) to the end: the reference, with every write it makes recorded (write_pause.py).

Each trial starts from the old database and runs `python -m sentiment_pipeline.cli NEW --select …` in its own
process group, then SIGKILLs the group at one moment:
- `line`: right after one line of the command's output (a step's progress line, a run's header, the
  snapshot's line), i.e. while the next step computes, validates or writes;
- `write`: inside one write transaction, after its delete and insert, before its commit (the transaction is
  held open there), numbered in the order of the command's writes.
It then records whether a WAL was left, whether the database opens (read-only, then read-write as the next
run does), each table's state against the old and the reference database (old / new / same / MIXED: see
sentiment_pipeline_tests/kill_harness.py), then runs the same command again and compares every table with
the reference. Prints one row per trial and a summary; exits non-zero if any table was MIXED or a re-run
failed or differs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentiment_pipeline_tests import kill_harness as kh  # noqa: E402

SELECT = "not group:backtest and not group:review or key:backtest/phase_limit_up_follow"
OLD, NEW = "2019-01-02...2019-01-18", "2019-01-02...2019-02-15"
LINE = re.compile(r"^(  ✓ +\d+  |run |published )")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--select", default=SELECT)
    parser.add_argument("--old", default=OLD, help="the stored range before each trial")
    parser.add_argument("--new", default=NEW, help="the range each trial runs (a superset of --old)")
    parser.add_argument("--every", type=int, default=1, help="try every Nth moment")
    parser.add_argument("--cache", default=os.environ.get("SENTIMENT_CACHE_DIR", str(ROOT / "data" / "cache")))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="faults-kill-"))
    home = kh.instance_home(tmp / "dagster_home")
    select = ["--select", args.select]
    started = time.perf_counter()
    try:
        db = tmp / "old.duckdb"
        done = kh.run_cli([args.old, *select], kh.cli_env(db, home, args.cache))
        if done.returncode:
            print(done.output[-3000:])
            return 1
        old = kh.fingerprint(db, read_only=True)
        ref = tmp / "reference.duckdb"
        kh.copy_database(db, ref)
        marker = tmp / "reference-writes.log"
        reference = kh.run_cli([args.new, *select], kh.cli_env(ref, home, args.cache, pause_at="never",
                                                                 marker=marker, hook_dir=tmp / "hook"))
        if reference.returncode:
            print(reference.output[-3000:])
            return 1
        new = kh.fingerprint(ref, read_only=True)
        cli_pid = kh.writes(marker)[0][0]
        # A line as a prefix without its timing ("(0.1 s)"; the snapshot's sizes and time), which vary.
        moments = [("line", re.escape("published " if line.startswith("published ") else
                                      re.sub(r"\s+\(\d+\.\d s\)$", "", line)))
                   for line in reference.lines if LINE.match(line)]
        moments += [("write", str(n)) for pid, n, _ in kh.writes(marker) if pid == cli_pid]
        moments = moments[::args.every]
        print(f"{len(kh.writes(marker))} write transactions and {len(reference.lines)} output lines in a complete run of "
              f"{args.new} (--select {args.select!r}) from {args.old} stored; {len(moments)} kill moments; "
              f"reference run {reference.seconds:.1f} s; {len(new)} tables\n")
        header = f"{'#':>3}  {'killed':<74} {'after':>6}  {'WAL':<3}  {'opens':<5}  {'old':>3} {'new':>3} " \
                 f"{'same':>4} {'MIXED':>5}  {'re-run':<6}  {'= ref':<5}"
        print(header)
        print("-" * len(header))
        failures = 0
        for number, (kind, what) in enumerate(moments, 1):
            trial = tmp / "trial.duckdb"
            for leftover in tmp.glob("trial*"):
                leftover.unlink()
            kh.copy_database(db, trial)
            trial_marker = tmp / "trial-writes.log"
            trial_marker.unlink(missing_ok=True)
            if kind == "line":
                env = kh.cli_env(trial, home, args.cache)
                outcome = kh.run_cli([args.new, *select], env, after_line="^" + what, timeout=600)
                label = "after " + re.sub(r"\\(.)", r"\1", what).strip()
            else:
                env = kh.cli_env(trial, home, args.cache, pause_at=what, marker=trial_marker, hook_dir=tmp / "hook")
                outcome = kh.run_cli([args.new, *select], env, marker=trial_marker, timeout=600)
                label = outcome.moment.replace(" of pid ", " pid ").replace(", before its commit", "")
            wal = Path(f"{trial}.wal").exists()
            try:
                kh.fingerprint(trial, read_only=True)
                opens = "yes"
                states = kh.classify(kh.fingerprint(trial), old, new)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                opens, states = f"NO: {exc}"[:60], {}
            counts = {s: sum(v == s for v in states.values()) for s in ("old", "new", "same", "MIXED")}
            rerun = kh.run_cli([args.new, *select], kh.cli_env(trial, home, args.cache))
            equal = rerun.returncode == 0 and kh.same_prints(kh.fingerprint(trial, read_only=True), new)
            bad = not outcome.killed or opens != "yes" or counts["MIXED"] or not equal
            failures += bool(bad)
            print(f"{number:>3}  {label[:74]:<74} {outcome.seconds:>5.1f}s  {'yes' if wal else 'no':<3}  {opens:<5}  "
                  f"{counts['old']:>3} {counts['new']:>3} {counts['same']:>4} {counts['MIXED']:>5}  "
                  f"{'ok' if rerun.returncode == 0 else 'FAILED':<6}  {'yes' if equal else 'NO':<5}", flush=True)
            if counts["MIXED"]:
                print("       MIXED: " + ", ".join(t for t, s in states.items() if s == "MIXED"))
        print(f"\n{len(moments)} kills, {failures} with a problem (a table half written, a database that does not "
              f"open, a failed or different re-run); {time.perf_counter() - started:.0f} s")
        return 1 if failures else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
