#!/usr/bin/env python3
"""Run a command against a throwaway PostgreSQL and Redis on loopback.

    python scripts/testenv.py -- pytest -q

Starts both servers from the machine's own binaries on free 127.0.0.1 ports, in a temporary
directory, exports DATABASE_URL, REDIS_URL and CELERY_BROKER_URL, runs the command, then stops
the servers and removes the directory, whatever the command's outcome. As root on Debian or
Ubuntu it installs `postgresql` and `redis-server` with apt when they are missing; otherwise
it says what to install. Standard library only, so it runs before any virtualenv exists.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP_TIMEOUT = 60.0
PG_PACKAGE, REDIS_PACKAGE = "postgresql", "redis-server"


def log(message: str) -> None:
    print(f"[testenv] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(candidates[-1]).parent if candidates else None


def apt_install(packages: list[str]) -> bool:
    """Install Debian packages when we are root on a machine with apt; False when we cannot
    (the caller then says what to install)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    log(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )
    return True


def ensure_installed() -> tuple[Path, str]:
    pg_bindir, redis = find_pg_bindir(), shutil.which("redis-server")
    missing = [pkg for pkg, ok in ((PG_PACKAGE, pg_bindir), (REDIS_PACKAGE, redis)) if not ok]
    if missing:
        if apt_install(missing):
            pg_bindir, redis = find_pg_bindir(), shutil.which("redis-server")
        if not (pg_bindir and redis):
            sys.exit(
                "[testenv] PostgreSQL server and Redis server binaries are needed. Install them, "
                f"for example: sudo apt-get install {' '.join(missing)}"
            )
    return pg_bindir, redis


def ensure_browser() -> None:
    """The browser tests (tests/test_console_browser.py) drive Debian's `chromium` through
    Playwright; no browser is ever downloaded. Installed here as PostgreSQL is, when we can;
    otherwise those tests fail and say what is missing."""
    if not shutil.which("chromium") and not apt_install(["chromium"]):
        log("chromium is missing: the browser tests will fail (sudo apt-get install chromium)")


def wait_for(check, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"[testenv] {what} exited during start-up (code {proc.returncode})")
        if check():
            return
        time.sleep(0.1)  # polling a server that is starting, not synchronising a test
    sys.exit(f"[testenv] {what} did not start within {STARTUP_TIMEOUT:.0f}s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Postgres:
    def __init__(self, bindir: Path, root: Path, *, synchronous_commit: bool = False) -> None:
        """`synchronous_commit` for a cluster that will be crashed: without it a commit can be
        acknowledged before its WAL is written, and the crash loses it."""
        self.bindir, self.root = bindir, root
        self.synchronous_commit = synchronous_commit
        self.data, self.sock = root / "pg-data", root / "pg-sock"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        # PostgreSQL refuses to run as root; run it as the `postgres` system user then.
        self.user = "postgres" if os.geteuid() == 0 else None

    def start(self) -> str:
        self.sock.mkdir()
        if self.user:
            shutil.chown(self.root, self.user)
            shutil.chown(self.sock, self.user)
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            user=self.user,
            stdout=subprocess.DEVNULL,
            cwd=self.root,
        )
        self._launch()
        subprocess.run(
            [
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "verify",
            ],
            check=True,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/verify"

    def _launch(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.sock),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
                # A throwaway cluster: durability buys nothing and costs test time.
                "-c",
                "fsync=off",
                "-c",
                f"synchronous_commit={'on' if self.synchronous_commit else 'off'}",
                "-c",
                "full_page_writes=off",
            ],
            user=self.user,
            stdout=open(self.root / "postgres.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        isready = str(self.bindir / "pg_isready")
        wait_for(
            lambda: (
                subprocess.run(
                    [isready, "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
                ).returncode
                == 0
            ),
            "PostgreSQL",
            self.proc,
        )

    def crash(self) -> None:
        """Immediate shutdown (`pg_ctl stop -m immediate`): connections cut, no checkpoint; the
        next start runs crash recovery."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGQUIT)
        self.proc.wait(timeout=30)

    def restart(self) -> None:
        """Start again after `crash()`, on the same port and data."""
        self._launch()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Redis:
    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=open(self.root / "redis.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: port_open(self.port), "Redis", self.proc)
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def generated_secrets() -> dict[str, str]:
    """Fresh secrets for the processes a run starts. They run as production does (DEBUG
    off), where gunicorn, the Celery worker and beat refuse the public development values
    (verify_platform/startup.py). Secrets already in the environment are kept."""
    import base64
    import secrets

    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VERIFY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "VERIFY_CODE_PEPPER": secrets.token_urlsafe(32),
    }


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.exit("usage: testenv.py -- COMMAND [ARGS...]")
    pg_bindir, redis_bin = ensure_installed()
    ensure_browser()
    root = Path(tempfile.mkdtemp(prefix="verify-testenv-"))
    os.chmod(root, 0o755)
    postgres, redis = Postgres(pg_bindir, root), Redis(redis_bin, root)
    try:
        database_url = postgres.start()
        redis_url = redis.start()
        log(f"PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port}")
        env = {
            **generated_secrets(),
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": f"{redis_url}/0",
            "CELERY_BROKER_URL": f"{redis_url}/1",
            "VERIFY_TESTENV_DIR": str(root),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        return subprocess.run(argv, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
