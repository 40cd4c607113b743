"""In production (DEBUG off) gunicorn, the Celery worker and beat refuse to start on a
missing, public or malformed secret: exit status non-zero, one line naming the setting and
how to generate a value, no traceback. With good secrets each of them starts, and answers
the health check docker-compose.yml gives it.

The processes are real (`gunicorn`, `celery worker`, `celery beat`), on the PostgreSQL and
Redis of `make test`; the Celery ones on a Redis database of their own, so nothing they
publish reaches the other tests' workers. Every wait is bounded."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from cryptography.fernet import Fernet

from verify_platform import settings as defaults

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRETS = ("SECRET_KEY", "VERIFY_ENCRYPTION_KEYS", "VERIFY_CODE_PEPPER")
START_TIMEOUT = 60.0
# A refusal takes a few seconds; a process that starts instead runs until this.
REFUSAL_TIMEOUT = 30.0

# (setting, value; None: unset) of each refused configuration.
BAD = [
    pytest.param("SECRET_KEY", None, id="secret-key-missing"),
    pytest.param("SECRET_KEY", defaults.DEV_SECRET_KEY, id="secret-key-public"),
    pytest.param("VERIFY_ENCRYPTION_KEYS", "abc", id="encryption-keys-malformed"),
    pytest.param("VERIFY_CODE_PEPPER", "short-pepper", id="pepper-short"),
]


def good_secrets() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VERIFY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "VERIFY_CODE_PEPPER": secrets.token_urlsafe(32),
    }


def broker_of_our_own() -> str:
    """The test Redis, on a database no other test's worker listens to."""
    parts = urlsplit(os.environ["CELERY_BROKER_URL"])
    return urlunsplit(parts._replace(path="/14"))


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*SECRETS, "DEBUG")}
    env.update(good_secrets())
    env.update(
        DEBUG="false",
        PYTHONPATH=str(ROOT),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        CELERY_BROKER_URL=broker_of_our_own(),
        VERIFY_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="verify.example.com",
        GUNICORN_WORKERS="1",
        LOG_LEVEL="WARNING",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "verify_platform.wsgi:application",
            "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]  # fmt: skip


def worker_argv(node: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "verify_platform", "worker", "-P", "solo",
            "-n", node, "-Q", f"startup-{uuid.uuid4().hex[:8]}", "--without-gossip",
            "--without-mingle", "-l", "INFO"]  # fmt: skip


def beat_argv(node: str, tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "verify_platform", "beat", "-l", "INFO",
            "--schedule", str(tmp_path / "beat-schedule"), "--enable-remote-control",
            "-n", node]  # fmt: skip


def argv_for(process: str, tmp_path: Path) -> list[str]:
    host = f"startup-{uuid.uuid4().hex[:8]}"
    if process == "gunicorn":
        return gunicorn_argv(free_port())
    if process == "worker":
        return worker_argv(f"celery@{host}")
    return beat_argv(f"celerybeat@{host}", tmp_path)


@pytest.mark.parametrize("process", ["gunicorn", "worker", "beat"])
@pytest.mark.parametrize(("setting", "value"), BAD)
def test_refuses_to_start_on_a_bad_secret(process, setting, value, tmp_path):
    env = production_env(tmp_path, **{setting: value})
    done = subprocess.run(
        argv_for(process, tmp_path),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=REFUSAL_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output
    naming = [line for line in done.stderr.splitlines() if setting in line]
    assert len(naming) == 1, done.stderr
    assert naming[0].startswith("Refusing to start with DEBUG off: " + setting)
    assert "generate one with: python -c" in naming[0]


# --- with good secrets: the process starts and answers its compose health check --------------


def compose_probe(service: str) -> list[str]:
    """The health check docker-compose.yml gives `service`, as a command to run here: a
    CMD-SHELL string goes to sh (compose's `$$` is a literal `$`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    test = compose["services"][service]["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", test[1].replace("$$", "$")]
    assert test[0] == "CMD"
    return list(test[1:])


def probe_until_healthy(argv: list[str], env: dict[str, str], server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert server.poll() is None, "the process ended instead of starting"
        probe = subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return
        assert time.monotonic() < deadline, probe.stderr.decode(errors="replace")
        time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture
def started(tmp_path):
    servers: list[subprocess.Popen] = []

    def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(tmp_path / f"{len(servers)}.log", "wb")  # noqa: SIM115 (the child's)
        server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop(server)


def test_gunicorn_starts_and_answers_the_compose_probe_whatever_allowed_hosts(tmp_path, started):
    port = free_port()
    env = production_env(tmp_path)
    assert "127.0.0.1" not in env["ALLOWED_HOSTS"]
    server = started(gunicorn_argv(port), env)
    probe = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in compose_probe("web")]
    assert probe != compose_probe("web"), "the web probe no longer calls 127.0.0.1:8000"
    probe_until_healthy(probe, env, server)


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_starts_and_answers_the_compose_probe(process, tmp_path, started):
    host = f"startup-{uuid.uuid4().hex[:8]}"
    env = production_env(tmp_path)
    if process == "worker":
        server = started(worker_argv(f"celery@{host}"), env)
    else:
        server = started(beat_argv(f"celerybeat@{host}", tmp_path), env)
    probe_until_healthy(compose_probe(process), {**env, "HOSTNAME": host}, server)


def test_the_probe_of_a_process_that_is_not_running_fails(tmp_path):
    """The probes are real: nobody answers for a node that was never started."""
    env = {**production_env(tmp_path), "HOSTNAME": f"absent-{uuid.uuid4().hex[:8]}"}
    for service in ("worker", "beat"):
        probe = subprocess.run(
            compose_probe(service), env=env, capture_output=True, timeout=30, check=False
        )
        assert probe.returncode != 0, service
