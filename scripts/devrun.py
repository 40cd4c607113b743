#!/usr/bin/env python3
"""`make run`: the development stack in the foreground of one terminal.

    .venv/bin/python scripts/devrun.py

In order: it checks that the web address (127.0.0.1:8000, the port from VERIFY_DEV_PORT) is
free, so that a second `make run` stops at once with one line instead of starting a second
worker and beat on the same broker; starts the development PostgreSQL (scripts/devdb.py; not
when DATABASE_URL is set); runs `migrate` and `bootstrap_demo` (which prints the
credentials); then runs the web server, a Celery worker and Celery beat, each line of their
output prefixed with their name, until Ctrl-C or until one of them exits. Webhooks may call
loopback and private addresses (VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true unless set
otherwise), so that a receiver on this machine works.

Why not a Procfile runner: Ctrl-C in a terminal sends SIGINT to every process of the
foreground job. Each one then stops on its own while the runner also signals it (a second
signal turns Celery's warm shutdown into a cold one, with a traceback), and make, which got
the SIGINT too, reports "Error 130" whatever its command does. So this script takes the
terminal's foreground for a process group of its own, as a shell does for a job, and starts
every process in a group of its own: Ctrl-C reaches this script alone. It asks each process
once to stop (the web server's group gets SIGINT, the worker and beat SIGTERM: Celery's warm
shutdown, tasks in flight finish), waits up to VERIFY_DEV_STOP_SECONDS (10) for them, kills
what is left, stops PostgreSQL, gives the terminal back and exits 0; make never saw a signal
and exits 0 too. A second Ctrl-C kills what is left at once. SIGTERM and SIGHUP stop it the
same way. Without a terminal (a script, CI) nothing is taken and a signal sent to the job's
group reaches this script, which stops the same way (make, in that group, still dies of it).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What each long-running process is asked to stop with, and whether its whole process group
# gets it: runserver's autoreloader parent and its serving child both end cleanly on SIGINT;
# Celery's main process ends its own pool (a signal to the pool too would cut tasks short).
STOP_SIGNAL = {"web": (signal.SIGINT, True), "worker": (signal.SIGTERM, False)}
DEFAULT_STOP = (signal.SIGTERM, False)


def log(message: str) -> None:
    # The terminal may be gone (closed window: SIGHUP); the processes must still be stopped.
    with contextlib.suppress(OSError):
        print(f"[devrun] {message}", file=sys.stderr, flush=True)


def fail(message: str) -> NoReturn:
    raise SystemExit(f"[devrun] {message}")


def setting(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        fail(f"{name}={raw!r} must be a whole number from {low} to {high}")
    return int(raw)


def port_free(port: int) -> bool:
    """Whether the web server could listen on HOST:port: bound here the way runserver binds
    (SO_REUSEADDR, so a recently closed connection does not count, a listener does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def terminal_foreground() -> Iterator[int | None]:
    """Make this process the leader of the terminal's foreground process group while the
    stack runs, and give the foreground back to the group it was taken from afterwards.
    Nothing happens without a controlling terminal or when started in the background.
    Yields the terminal's descriptor (None without one)."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield None
        return
    try:
        previous = os.tcgetpgrp(tty)
        if previous != os.getpgrp() or os.getpgrp() == os.getpid():
            yield tty  # a background job, or the group's leader already
            return
        os.setpgid(0, 0)
        # A background group changing the foreground gets SIGTTOU unless it ignores it.
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(tty, os.getpgrp())
            yield tty
        finally:
            with contextlib.suppress(OSError):
                if os.tcgetpgrp(tty) == os.getpgrp():
                    os.tcsetpgrp(tty, previous)
            signal.signal(signal.SIGTTOU, old)
    finally:
        os.close(tty)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    prefix: bytes | None  # None: the output goes straight to the terminal
    pending: bytes = b""

    @property
    def running(self) -> bool:
        return self.proc.poll() is None


class Supervisor:
    """Runs the steps and the processes, relays their output, and stops them once."""

    def __init__(self, env: dict[str, str], grace: float) -> None:
        self.env, self.grace = env, grace
        self.children: list[Child] = []
        self.poller = select.poll()
        self.watched: dict[int, Child | None] = {}  # fd -> the child whose output it is
        self.tty: int | None = None
        self.stopping = False
        self.interrupted = False  # the stop came from a signal, not from a process's exit
        self.kill_at: float | None = None
        self.wakeup_r, wakeup_w = os.pipe()
        for fd in (self.wakeup_r, wakeup_w):
            os.set_blocking(fd, False)
        # Signals only write their number to the pipe: the loop below acts on them, so no
        # handler runs inside a half-done step. Installed before PostgreSQL starts, so a
        # Ctrl-C during its start is acted on once it is up.
        signal.set_wakeup_fd(wakeup_w, warn_on_full_buffer=False)
        for signum in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(signum, lambda _s, _f: None)
        self.watch(self.wakeup_r, None)

    def watch(self, fd: int, child: Child | None) -> None:
        self.poller.register(fd, select.POLLIN)
        self.watched[fd] = child

    def watch_hangup(self, tty: int) -> None:
        """Stop when the terminal hangs up (its window closed). The session leader gets the
        SIGHUP, and it may be make, which then waits for this script; a hung-up terminal
        reports POLLHUP, which is watched without reading (what the user types stays in
        the terminal)."""
        self.tty = tty
        self.poller.register(tty, 0)

    # --- starting ------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], *, relay: bool) -> Child:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if relay else None,
            stderr=subprocess.STDOUT if relay else None,
            process_group=0,  # out of the terminal's reach: only this script signals it
        )
        child = Child(name, proc, f"{name:<6} | ".encode() if relay else None)
        if proc.stdout is not None:
            os.set_blocking(proc.stdout.fileno(), False)
            self.watch(proc.stdout.fileno(), child)
        self.children.append(child)
        return child

    def run_step(self, name: str, argv: list[str]) -> int | None:
        """A one-off command to its end: its exit code, or None if a stop came first."""
        self.poll_signals()
        if self.stopping:
            return None
        child = self.start(name, argv, relay=False)
        self.loop(lambda: not child.running)
        if self.stopping:
            return None
        self.children.remove(child)  # done: what follows watches the processes only
        return child.proc.returncode

    # --- the loop ------------------------------------------------------------------------------
    def loop(self, finished: Callable[[], bool]) -> None:
        """Relay output and act on signals until `finished()` holds or, once stopping, until
        every process is gone (killed when the grace period runs out)."""
        while True:
            if self.stopping and not any(c.running for c in self.children):
                self.drain()
                return
            if not self.stopping and finished():
                return
            timeout = None
            if self.kill_at is not None:
                timeout = max(0, int((self.kill_at - time.monotonic()) * 1000) + 1)
            for fd, _ in self.poller.poll(timeout):
                if fd == self.tty:
                    self.poller.unregister(fd)
                    self.tty = None
                    self.interrupted = True
                    self.stop("the terminal hung up: stopping")
                elif (child := self.watched.get(fd)) is None:
                    self.poll_signals()
                else:
                    self.relay(child)
            if self.kill_at is not None and time.monotonic() >= self.kill_at:
                self.kill_all()

    def poll_signals(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for signum in os.read(self.wakeup_r, 512):
                if signum not in STOP_SIGNALS:
                    continue  # SIGCHLD: only wakes the loop up
                if self.stopping and self.interrupted:
                    log("stopping now")
                    self.kill_all()
                else:
                    self.interrupted = True
                    self.stop(f"{signal.Signals(signum).name}: stopping")

    def relay(self, child: Child) -> bool:
        """Print what the child wrote, line by line with its prefix; False once nothing more
        can be read now (its pipe is empty, or closed and unregistered)."""
        assert child.proc.stdout is not None and child.prefix is not None
        try:
            data = os.read(child.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return False
        lines = (child.pending + data).split(b"\n")
        child.pending = lines.pop()
        if not data:  # end of output
            self.poller.unregister(child.proc.stdout.fileno())
            del self.watched[child.proc.stdout.fileno()]
            child.proc.stdout.close()
            if child.pending:
                lines.append(child.pending)
            child.pending = b""
        if lines:
            with contextlib.suppress(OSError):  # a terminal that hung up reads nothing
                sys.stdout.buffer.write(b"".join(child.prefix + line + b"\n" for line in lines))
                sys.stdout.buffer.flush()
        return bool(data)

    def drain(self) -> None:
        """What the processes printed before they ended, before this script reports on."""
        for child in self.children:
            if child.prefix is not None and not child.proc.stdout.closed:
                while self.relay(child):
                    pass

    # --- stopping ------------------------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """Ask every running process once to stop; kill_all() follows after the grace."""
        if self.stopping:
            return
        self.stopping = True
        running = [c for c in self.children if c.running]
        if running:
            log(f"{reason} {', '.join(c.name for c in running)} (up to {self.grace:g}s)")
        for child in running:
            signum, whole_group = STOP_SIGNAL.get(child.name, DEFAULT_STOP)
            with contextlib.suppress(ProcessLookupError):
                if whole_group:
                    os.killpg(child.proc.pid, signum)
                else:
                    child.proc.send_signal(signum)
        self.kill_at = time.monotonic() + self.grace

    def kill_all(self) -> None:
        self.kill_at = None
        for child in self.children:
            if child.running:
                log(f"{child.name} did not stop: killed")
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.proc.pid, signal.SIGKILL)

    def finish(self) -> None:
        """Leave nothing behind, whatever happened before: a process still running is killed,
        and so is what is left in the group of one that exited (its own children)."""
        for child in self.children:
            if child.running:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)


def development_stack(supervisor: Supervisor, port: int) -> int:
    python = sys.executable
    steps = [
        ("migrate", [python, "manage.py", "migrate", "--noinput", "-v", "0"]),
        (
            "bootstrap_demo",
            [python, "manage.py", "bootstrap_demo", f"--base-url=http://{HOST}:{port}"],
        ),
    ]
    processes = [
        ("web", [python, "manage.py", "runserver", f"{HOST}:{port}"]),
        ("worker", [python, "-m", "celery", "-A", "verify_platform", "worker", "--loglevel=INFO", "--concurrency=2"]),
        ("beat", [python, "-m", "celery", "-A", "verify_platform", "beat", "--loglevel=INFO"]),
    ]  # fmt: skip
    try:
        for name, argv in steps:
            code = supervisor.run_step(name, argv)
            if code is None:
                return 0
            if code != 0:
                log(f"{name} failed (exit code {code})")
                return code
        supervisor.poll_signals()
        if supervisor.stopping:
            return 0
        for name, argv in processes:
            supervisor.start(name, argv, relay=True)
        supervisor.loop(lambda: any(not c.running for c in supervisor.children))
        if supervisor.interrupted:
            return 0
        [ended, *_] = [c for c in supervisor.children if not c.running]
        supervisor.stop(f"{ended.name} exited (code {ended.proc.returncode}): stopping")
        supervisor.loop(lambda: False)
        return 0 if supervisor.interrupted else 1
    finally:
        try:
            supervisor.stop("stopping")
            supervisor.loop(lambda: False)
        finally:
            supervisor.finish()


def main() -> int:
    port = setting("VERIFY_DEV_PORT", 8000, 1, 65535)
    grace = setting("VERIFY_DEV_STOP_SECONDS", 10, 0, 3600)
    if not port_free(port):
        fail(
            f"{HOST}:{port} is already in use (another `make run`?): stop that first, "
            f"or choose another port with VERIFY_DEV_PORT"
        )
    # Webhook receivers of a development setup listen on this machine, an address the
    # platform refuses unless the operator allows it (bootstrap_demo's banner says so).
    os.environ.setdefault("VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    sys.path.insert(0, str(ROOT))
    from scripts import devdb

    with terminal_foreground() as tty:
        supervisor = Supervisor({**os.environ, "PYTHONUNBUFFERED": "1"}, float(grace))
        if tty is not None:
            supervisor.watch_hangup(tty)
        if os.environ.get("DATABASE_URL"):
            return development_stack(supervisor, port)
        settings = devdb.load_settings()

        def with_database(env: dict[str, str]) -> int:
            supervisor.env = {**env, "PYTHONUNBUFFERED": "1"}
            return development_stack(supervisor, port)

        return devdb.serve(settings, with_database)


if __name__ == "__main__":
    sys.exit(main())
