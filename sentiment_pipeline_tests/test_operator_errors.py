"""Errors a person can act on: every command the README gives answers a wrong input or a missing service in a
line or two that say what was tried and what to do, without a traceback (`--verbose` adds it): the main
command's inputs and settings, scripts/serve.sh without a reachable PostgreSQL, scripts/postgres_setup.sh as
root or a user, scripts/run.sh and scripts/setup.sh."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sentiment_pipeline import cli

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_YAML = ROOT / "deploy" / "production" / "dagster.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _short(text: str, lines: int = 2) -> None:
    assert "Traceback" not in text, text
    assert 0 < len(text.strip().splitlines()) <= lines, text


# --- The main command ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--select", "group:(sentiment"],
     "--select 'group:(sentiment' is not a valid asset selection: Syntax error at line 1, column 6"),
    (["2019-01-02", "--select", "key:nothing/here"], "--select 'key:nothing/here' matches no asset"),
    (["2019-01-02", "--select", "nothing/here"], "--select 'nothing/here' names an asset this source's graph "
                                                 "does not have"),
    (["2019-13-01"], "'2019-13-01' is not a trading-day partition: not a date; write days as YYYY-MM-DD"),
    (["2019-01-05...2019-01-10"], "'2019-01-05' is not a trading-day partition: Saturday, a weekend; the trading "
                                  "days around it are 2019-01-04 and 2019-01-07"),
    (["2019-02-05"], "Tuesday, an exchange holiday; the trading days around it are 2019-02-01 and 2019-02-11"),
    (["1990-01-02"], "'1990-01-02' is not a trading-day partition: outside the calendar (partitions are the "
                     "trading days 2019-01-02"),
    (["2019-01-02..2019-01-10"], "a range is START...END, with three dots"),
    (["2019-06-28...2019-01-02"], "the range 2019-06-28...2019-01-02 ends before it starts"),
    (["...2019-01-10"], "'' is not a trading-day partition"),
    (["--days-per-run", "-5"], "--days-per-run -5: give a number of trading days per run, or 0 for one run"),
    (["--days-per-run", "two"], "argument --days-per-run: invalid int value: 'two' (--help lists the options)"),
    (["--history", "--bogus"], "unrecognized arguments: --bogus (--help lists the options)"),
])
def test_wrong_inputs_are_answered_in_a_line_or_two(instance_home, capsys, argv, message):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert message in out, out
    _short(out)
    assert "Traceback" not in err
    assert not Path(os.environ["SENTIMENT_DUCKDB_PATH"]).exists()  # nothing ran


@pytest.mark.parametrize("env, message", [
    ({"SENTIMENT_SOURCE": "tushare"}, "SENTIMENT_SOURCE='tushare' is not a source: use one of synthetic, tdx, "
                                      "akshare, baostock"),
    ({"SENTIMENT_SOURCE": "tdx", "SENTIMENT_TDX_DIR": ""}, "SENTIMENT_SOURCE=tdx needs SENTIMENT_TDX_DIR: set it "
                                                          "to the vipdoc folder of a TongDaXin install"),
    ({"SENTIMENT_SOURCE": "tdx", "SENTIMENT_TDX_DIR": "{tmp}/absent"}, "SENTIMENT_TDX_DIR={tmp}/absent does not "
                                                                       "exist"),
    ({"SENTIMENT_SOURCE": "tdx", "SENTIMENT_TDX_DIR": "{tmp}/install"},
     "SENTIMENT_TDX_DIR={tmp}/install has no sh/lday, sz/lday or bj/lday folder: set it to the vipdoc folder of "
     "a TongDaXin install (it holds sh/lday, sz/lday); did you mean {tmp}/install/vipdoc?"),
    ({"SENTIMENT_MEMBERSHIP_DIR": "{tmp}/file.txt"}, "SENTIMENT_MEMBERSHIP_DIR={tmp}/file.txt is a file, not a "
                                                     "folder"),
    ({"SENTIMENT_SYNTHETIC_SEED": "seven"}, "SENTIMENT_SYNTHETIC_SEED='seven' is not a whole number"),
    ({"SENTIMENT_AKSHARE_MODE": "offline"}, "SENTIMENT_AKSHARE_MODE='offline' is not one of live, replay"),
    ({"SENTIMENT_HTTP_TIMEOUT": "0"}, "SENTIMENT_HTTP_TIMEOUT='0' is not a positive number"),
    ({"SENTIMENT_DUCKDB_PATH": "/proc/no-such-folder/market.duckdb"},
     "SENTIMENT_DUCKDB_PATH=/proc/no-such-folder/market.duckdb: No such file or directory"),
    ({"DAGSTER_HOME": None}, "DAGSTER_HOME is not set: the command records its runs in a Dagster instance. "
                             "`source .venv/bin/activate` sets it"),
    ({"DAGSTER_HOME": "{tmp}/absent"}, "DAGSTER_HOME={tmp}/absent is not a folder"),
])
def test_wrong_settings_are_answered_in_a_line_or_two(instance_home, tmp_path, monkeypatch, capsys, env, message):
    (tmp_path / "install" / "vipdoc" / "sh" / "lday").mkdir(parents=True)
    (tmp_path / "file.txt").write_text("")
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value.format(tmp=tmp_path))
    assert cli.main(["2019-01-02", "--select", "key:raw/daily_quotes"]) == 2
    out, err = capsys.readouterr()
    assert message.format(tmp=tmp_path) in out, out
    _short(out)
    assert "Traceback" not in err


def test_an_instance_on_a_stopped_postgresql_is_answered_before_anything_runs(pipeline_env, tmp_path, monkeypatch,
                                                                               capsys):
    home = tmp_path / "production_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(PRODUCTION_YAML)
    closed = _free_port()
    for key, value in {"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(closed),
                       "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": "dagster"}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["2019-01-02", "--select", "key:raw/daily_quotes"]) == 2
    out, err = capsys.readouterr()
    _short(out)
    assert out.startswith("PostgreSQL refused the instance's connection: nothing listens there (connection refused); "
                          f"tried dagster@127.0.0.1:{closed}/dagster")
    assert "Traceback" not in err and "Retrying" not in err  # answered before Dagster's own retries
    assert not pipeline_env.exists()


def test_a_database_held_by_another_process_is_named_with_its_holder(instance_home, capsys):
    import duckdb

    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", os.environ["SENTIMENT_DUCKDB_PATH"]],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        assert cli.main(["2019-01-02", "--select", "key:raw/daily_quotes"]) == 2
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    out, err = capsys.readouterr()
    db = os.environ["SENTIMENT_DUCKDB_PATH"]
    assert f"the database {db} is open for writing in another process (" in out and f"(PID {holder.pid})" in out
    assert "Traceback" not in out + err
    assert len(out.strip().splitlines()) == 1 + 2  # the plan line, then the answer
    duckdb.connect(db).close()  # the holder let go; the file is whole


def test_an_unexpected_error_is_one_line_and_the_traceback_is_behind_verbose(instance_home, monkeypatch, capsys):
    def broken(rebuild=True):
        raise RuntimeError("the code location could not be built\nsecond line\nthird line")

    original = cli._build
    monkeypatch.setattr(cli, "_build", broken)
    assert cli.main(["2019-01-02"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "error: the code location could not be built second line (RuntimeError)",
        "       run the command again with --verbose for the traceback"]
    assert "Traceback" not in err
    assert cli.main(["2019-01-02", "--verbose"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback (most recent call last)" in err and "RuntimeError: the code location" in err
    # A wrong input with --verbose: the same answer, after the traceback of what refused it.
    monkeypatch.setattr(cli, "_build", original)
    assert cli.main(["--select", "group:(sentiment", "--verbose"]) == 2
    out, err = capsys.readouterr()
    assert "is not a valid asset selection" in out and "DagsterInvalidAssetSelectionError" in err


def test_the_command_as_a_process_prints_no_traceback(instance_home):
    done = subprocess.run([sys.executable, "-m", "sentiment_pipeline.cli", "--select", "group:(sentiment"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert "is not a valid asset selection" in done.stdout and "examples:" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and not done.stderr.strip()


def test_run_sh_passes_the_answer_through(instance_home):
    done = subprocess.run(["bash", "scripts/run.sh", "2019-01-05"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    answer = [line for line in (done.stdout + done.stderr).splitlines() if line not in _setup_lines()]
    assert len(answer) == 1 and answer[0].startswith("'2019-01-05' is not a trading-day partition: Saturday")


def test_setup_sh_without_python_says_what_to_install(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    done = subprocess.run(["bash", "scripts/setup.sh"], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHON": str(tmp_path / "no-python3.11")})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"setup.sh: no {tmp_path / 'no-python3.11'} to create .venv with: install "
                                   "Python 3.11, or set PYTHON=/path/to/python3.11")


# --- The team service: serve.sh and its PostgreSQL -------------------------------------------------------------

_SETUP_LINES: list[set[str]] = []


def _setup_lines() -> set[str]:
    """What scripts/setup.sh (which serve.sh and run.sh run first) prints here on its own: notes such as the
    charts' font, not an answer of the command under test."""
    if not _SETUP_LINES:
        done = subprocess.run(["bash", "scripts/setup.sh"], capture_output=True, text=True, cwd=ROOT, timeout=600)
        _SETUP_LINES.append(set((done.stdout + done.stderr).splitlines()))
    return _SETUP_LINES[0]


def _serve(tmp_path, **env) -> subprocess.CompletedProcess:
    """serve.sh with the given settings; stdout and stderr without setup.sh's own lines."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PG_") and k != "DAGSTER_HOME"}
    base.update(SENTIMENT_SERVE_HOME=str(tmp_path / "serve_home"), SENTIMENT_DUCKDB_PATH=str(tmp_path / "m.duckdb"))
    base.update({k: v for k, v in env.items() if v is not None})
    args = base.pop("ARGS", "").split()
    done = subprocess.run(["bash", "scripts/serve.sh", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=base)
    setup = _setup_lines()
    done.stdout, done.stderr = ("".join(f"{line}\n" for line in text.splitlines() if line not in setup)
                                for text in (done.stdout, done.stderr))
    return done


PG = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_DB": "dagster"}


def test_serve_without_postgresql_names_the_server_it_tried_and_what_to_do(tmp_path):
    closed = _free_port()  # nothing listens there
    done = _serve(tmp_path, **PG, DAGSTER_PG_PORT=str(closed), PORT=str(_free_port()))
    assert done.returncode == 2
    out = done.stdout + done.stderr
    _short(out)
    first, second = out.strip().splitlines()
    assert first.startswith("PostgreSQL refused the instance's connection: nothing listens there (connection "
                            f"refused); tried dagster@127.0.0.1:{closed}/dagster (DAGSTER_PG_HOST, DAGSTER_PG_PORT,")
    assert str(PRODUCTION_YAML) in first  # the file the settings were read through
    assert "start the server (" in second and "bash scripts/postgres_setup.sh" in second
    # --verbose: still the answer (there is no traceback to add: the check itself connected).
    verbose = _serve(tmp_path, **PG, DAGSTER_PG_PORT=str(closed), PORT=str(_free_port()), ARGS="--verbose")
    assert verbose.returncode == 2 and first in verbose.stdout


@pytest.mark.parametrize("env, message", [
    ({"DAGSTER_PG_DB": None}, "serve.sh: DAGSTER_PG_DB not set: the instance keeps its runs in PostgreSQL"),
    ({"DAGSTER_PG_HOST": "no-such-host.invalid"}, "PostgreSQL refused the instance's connection: no such host "
                                                  "name; tried dagster@no-such-host.invalid:5432/dagster"),
    ({"DAGSTER_PG_PORT": "five"}, "PostgreSQL port 'five' is not a number; tried dagster@127.0.0.1:five/dagster"),
    ({"PORT": "web"}, "PORT='web' is not a port number"),
    ({"ARGS": "--daemon-only"}, "serve.sh: unknown argument --daemon-only"),
])
def test_serve_answers_wrong_settings_in_two_lines(tmp_path, env, message):
    done = _serve(tmp_path, **{**PG, **env})
    assert done.returncode == 2
    out = done.stdout + done.stderr
    assert message in out, out
    _short(out)


def test_serve_on_a_port_in_use_says_so(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _serve(tmp_path, **PG, PORT=str(port))
    assert done.returncode == 2
    assert done.stdout.strip() == (f"127.0.0.1:{port} is already in use (another dagster dev or serve.sh?): stop "
                                   "it, or set PORT to a free port")


def test_postgres_problem_reads_the_instance_yaml(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: postgresql://u:p@127.0.0.1:"
                                       f"{_free_port()}/books\n")
    problem = cli.postgres_problem(str(home))
    assert problem.startswith("PostgreSQL refused the instance's connection: nothing listens there")
    assert f"(written in {home / 'dagster.yaml'})" in problem and "/books" in problem
    (home / "dagster.yaml").write_text("storage:\n  sqlite:\n    base_dir: x\n")
    assert cli.postgres_problem(str(home)) is None  # not a PostgreSQL instance: nothing to say


# --- postgres_setup.sh against a throwaway server ----------------------------------------------------------------

def _pg_bin() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture
def local_server():
    """A throwaway cluster as a Debian install has it: peer authentication on its socket for `postgres`,
    passwords over TCP. Yields (socket folder, port)."""
    import pwd

    if os.geteuid() != 0 or _pg_bin() is None:
        pytest.skip("needs root (to become `postgres`) and PostgreSQL's server binaries")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no `postgres` user")
    folder = Path(tempfile.mkdtemp(prefix="sentiment-pgsetup-"))
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    try:
        subprocess.run([*as_postgres, str(_pg_bin() / "initdb"), "-D", str(data), "--auth-local=peer",
                        "--auth-host=scram-sha-256", "-U", "postgres", "--no-sync"], check=True,
                       capture_output=True, timeout=120, cwd="/")
        subprocess.run([*as_postgres, str(_pg_bin() / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=120, cwd="/")
        yield folder, port
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_postgres, str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60, cwd="/")
        shutil.rmtree(folder, ignore_errors=True)


def _setup(folder, port, user: str | None = None, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "PGHOST": str(folder), "DAGSTER_PG_PORT": str(port), **env}
    command = ["bash", str(ROOT / "scripts" / "postgres_setup.sh")]
    if user:
        command = ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in full.items()
                                                         if k.startswith(("DAGSTER_PG_", "PG"))), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=full, cwd="/")


def test_postgres_setup_as_root_creates_the_role_and_database_once(local_server, tmp_path, monkeypatch):
    folder, port = local_server
    env = {"DAGSTER_PG_USER": "team", "DAGSTER_PG_DB": "books", "DAGSTER_PG_PASSWORD": "it's secret"}
    first = _setup(folder, port, **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[:2] == ["role team created (password from DAGSTER_PG_PASSWORD)",
                                             "database books created, owned by team"]
    again = _setup(folder, port, **env)
    assert again.returncode == 0 and again.stdout.splitlines()[:2] == ["role team exists",
                                                                      "role team: password set from DAGSTER_PG_PASSWORD"]
    # The instance's settings now connect: nothing to report.
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(PRODUCTION_YAML)
    for key, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), **env}.items():
        monkeypatch.setenv(key, value)
    assert cli.postgres_problem(str(home)) is None
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "wrong")
    assert "the server refused the password of role 'team'" in cli.postgres_problem(str(home))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", env["DAGSTER_PG_PASSWORD"])
    monkeypatch.setenv("DAGSTER_PG_DB", "ledger")
    problem = cli.postgres_problem(str(home))
    assert "database 'ledger' does not exist" in problem and "createdb --owner team ledger" in problem


def test_postgres_setup_as_a_user_without_sudo_or_with_a_stopped_server_says_what_to_do(local_server):
    folder, port = local_server
    if shutil.which("sudo"):
        pytest.skip("sudo is installed: a user would use it")
    done = _setup(folder, port, user="nobody")
    assert done.returncode == 2
    _short(done.stderr)
    assert "needs to run psql as the postgres user, and nobody has no sudo here" in done.stderr
    assert "run it as root (it uses runuser, or su), or as the postgres user, or install sudo" in done.stderr
    stopped = _setup(folder, _free_port())
    assert stopped.returncode == 2
    _short(stopped.stderr)
    assert "does not answer" in stopped.stderr and "start it (as root: " in stopped.stderr


@pytest.mark.parametrize("module", ["sentiment_pipeline.research.claims", "sentiment_pipeline.stms.report"])
def test_the_report_commands_answer_a_wrong_database_in_two_lines(tmp_path, module):
    import duckdb

    missing = subprocess.run([sys.executable, "-m", module, str(tmp_path / "nope.duckdb")], capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    _short(missing.stderr)
    assert "cannot open the database" in missing.stderr and "nope.duckdb" in missing.stderr
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    bare = subprocess.run([sys.executable, "-m", module, str(empty)], capture_output=True, text=True, timeout=120)
    assert bare.returncode == 1 and "Traceback" not in bare.stderr
    _short(bare.stderr)
    assert "the database lacks a table this command reads" in bare.stderr and "python -m sentiment_pipeline.cli" in bare.stderr
    verbose = subprocess.run([sys.executable, "-m", module, str(empty), "--verbose"], capture_output=True, text=True,
                             timeout=120)
    assert "Traceback" in verbose.stderr
