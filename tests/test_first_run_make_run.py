"""`make run` as a user meets it, in a real terminal (a pseudo-terminal here): it comes up,
a second `make run` is refused with one line before it starts anything and leaves the first
one running, and Ctrl-C stops every process it started (no traceback, none left behind) and
make exits 0. The terminal matters: Ctrl-C is the terminal's SIGINT to the foreground process
group, which make is in too."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_development_database import dev_env, postmaster_pid, running

ROOT = Path(__file__).resolve().parent.parent
# The installed virtualenv as it is: never an install from inside a test.
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/.run-installed", "run"]

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or not (ROOT / ".venv" / ".run-installed").exists(),
    reason="needs make and the virtualenv that `make run` installs",
)


@pytest.fixture
def var_base() -> Iterator[Path]:
    """A directory others can search (the PostgreSQL user reaches var/ through it)."""
    base = Path(tempfile.mkdtemp(prefix="verify-devrun-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Terminal:
    """`make run` with a pseudo-terminal as its controlling terminal, as in a shell."""

    def __init__(self, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes make at once
            try:
                os.chdir(ROOT)
                os.execvpe(MAKE_RUN[0], MAKE_RUN, env)
            finally:
                os._exit(127)
        self.output = ""
        self.exit_code: int | None = None

    def read(self, timeout: float) -> bool:
        """Append what arrives within `timeout` seconds; False at the end of the output."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every process holding the terminal is gone
            return False
        self.output += data.decode(errors="replace")
        return bool(data)

    def wait_for(self, *texts: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(t in self.output for t in texts):
            assert time.monotonic() < deadline, (
                f"not seen within {timeout}s:\n{self.output[-3000:]}"
            )
            assert self.read(1.0), f"make run ended:\n{self.output[-3000:]}"

    def wait_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.read(1.0):
            assert time.monotonic() < deadline, f"still running:\n{self.output[-3000:]}"
        _, status = os.waitpid(self.pid, 0)
        self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code

    def close(self) -> None:
        if self.fd < 0:
            return
        if self.exit_code is None:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.fd = -1


def descendants(root: int) -> set[int]:
    """Every process below `root`, whatever its process group or session."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.mark.timeout(400)
def test_make_run_refuses_a_second_run_and_ctrl_c_stops_everything(var_base):
    var_dir = var_base / "var"
    port = free_port()
    env = {**dev_env(var_dir), "VERIFY_DEV_PORT": str(port), "TERM": "dumb"}
    env.pop("PYTHONPATH")
    term = Terminal(env)
    processes: set[int] = set()
    try:
        term.wait_for("celery@", "beat: Starting", "Quit the server with", timeout=240)
        assert listening(port)
        processes = descendants(term.pid)
        server = postmaster_pid(var_dir)
        assert server in processes and len(processes) >= 6, term.output[-3000:]

        # A second `make run`: one line from it (and make's own), nothing started.
        second = subprocess.run(
            MAKE_RUN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode != 0
        assert second.stdout == ""
        ours = [line for line in second.stderr.splitlines() if not line.startswith("make")]
        assert ours == [
            f"[devrun] 127.0.0.1:{port} is already in use (another `make run`?): stop that "
            "first, or choose another port with VERIFY_DEV_PORT"
        ]
        # ... and on another port the same data: refused at the database lock.
        other = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "scripts/devrun.py"],
            cwd=ROOT,
            env={**env, "VERIFY_DEV_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert other.returncode != 0 and other.stdout == ""
        [line] = other.stderr.splitlines()
        assert "already serves the database" in line
        assert all(running(pid) for pid in processes), "the first run lost a process"
        assert listening(port) and postmaster_pid(var_dir) == server

        term.output = ""
        os.write(term.fd, b"\x03")  # Ctrl-C
        assert term.wait_exit(timeout=90) == 0, term.output[-3000:]
    finally:
        term.close()
        for pid in processes:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    assert "Traceback" not in term.output, term.output[-3000:]
    assert "make: ***" not in term.output, term.output[-3000:]
    assert "Warm shutdown" in term.output
    assert [pid for pid in processes if running(pid)] == []
    assert postmaster_pid(var_dir) is None
    assert not listening(port)


@pytest.mark.timeout(300)
def test_closing_the_terminal_stops_everything(var_base):
    """A closed terminal window hangs the terminal up: SIGHUP, and no reader for the output
    any more. Nothing may be left running, the database included."""
    var_dir = var_base / "var"
    port = free_port()
    env = {**dev_env(var_dir), "VERIFY_DEV_PORT": str(port), "TERM": "dumb"}
    env.pop("PYTHONPATH")
    term = Terminal(env)
    processes: set[int] = set()
    try:
        term.wait_for("celery@", "beat: Starting", "Quit the server with", timeout=240)
        processes = descendants(term.pid)
        assert postmaster_pid(var_dir) in processes
        os.close(term.fd)  # the window is closed
        term.fd = -1
        deadline = time.monotonic() + 60
        while any(running(pid) for pid in processes) and time.monotonic() < deadline:
            time.sleep(0.2)  # polling other processes' exit: they give no event to wait on
        os.waitpid(term.pid, 0)
        term.exit_code = -1
    finally:
        term.close()
        left = [pid for pid in processes if running(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left == []
    assert postmaster_pid(var_dir) is None
    assert not listening(port)
