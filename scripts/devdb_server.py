"""The development PostgreSQL on its data directory, as scripts/devdb.py runs it: one run at a
time per directory (a lock), `initdb` on first use, a leftover server of a killed run stopped,
the server started as a child that listens only on a private Unix socket, the database created,
and a fast shutdown at the end.

No TCP port: the server listens only on a Unix socket in `var/pgsocket`, a directory that only
the server's user (and root) can enter, so trust authentication lets in nobody else and no port
can collide with another PostgreSQL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from scripts.devdb_prerequisites import fail, log, run_as

PORT = 5432  # names the socket file (.s.PGSQL.5432); no TCP port is opened
SUPERUSER, DATABASE = "postgres", "verify"
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0
# Linux's sun_path holds 108 bytes with the terminating NUL.
SOCKET_PATH_MAX = 107


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
        # Who runs the programs: None for ourselves; serve() sets it from choose_user() once
        # it holds the lock.
        self.user: pwd.struct_passwd | None = None
        self.proc: subprocess.Popen | None = None
        socket_file = sockets / f".s.PGSQL.{PORT}"
        if len(os.fsencode(socket_file)) > SOCKET_PATH_MAX:
            fail(
                f"{socket_file} is longer than a Unix socket path may be "
                f"({SOCKET_PATH_MAX} bytes); set VERIFY_VAR_DIR to a shorter directory"
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
                **run_as(self.user),
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
                **run_as(self.user),
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
