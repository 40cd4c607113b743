#!/usr/bin/env python3
"""`make demo`: the platform as `make run` starts it, plus the demo login site beside it.

    .venv/bin/python examples/demo_site/run_demo.py

It reuses `make run`'s supervisor (scripts/devrun.py): the embedded PostgreSQL, `migrate`,
`bootstrap_demo`, then web, worker and beat, all on 127.0.0.1. Once the platform answers,
demo_setup.py gives the site an API key and a Service; then the site's own SQLite database
is migrated and the site runs on 127.0.0.1:8100 (DEMO_PORT), browsed at http://localhost:8100
(passkeys need a host name, and `localhost` is the relying party). Ctrl-C stops everything,
as with `make run`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from scripts import devdb, devrun  # noqa: E402


def demo_stack(supervisor: devrun.Supervisor, port: int, demo_port: int) -> int:
    python = sys.executable
    platform_url = f"http://{devrun.HOST}:{port}"
    origin = f"http://localhost:{demo_port}"
    var = Path(os.environ.get("VERIFY_VAR_DIR") or ROOT / "var")
    config = var / "demo-site" / "config.json"
    steps = [
        ("migrate", [python, "manage.py", "migrate", "--noinput", "-v", "0"]),
        ("bootstrap_demo", [python, "manage.py", "bootstrap_demo", f"--base-url={platform_url}"]),
    ]
    platform = [
        ("web", [python, "manage.py", "runserver", "--noreload", f"{devrun.HOST}:{port}"]),
        ("worker", [python, "-m", "celery", "-A", "verify_platform", "worker", "--loglevel=INFO", "--concurrency=2"]),
        ("beat", [python, "-m", "celery", "-A", "verify_platform", "beat", "--loglevel=INFO"]),
    ]  # fmt: skip
    site_steps = [
        ("demo-setup", [python, str(SITE / "demo_setup.py"), f"--platform-url={platform_url}",
                        f"--origin={origin}", f"--config={config}",
                        f"--credentials={var / 'demo-credentials.json'}"]),
        ("demo-migrate", [python, str(SITE / "manage.py"), "migrate", "--noinput", "-v", "0"]),
    ]  # fmt: skip
    site = ("demo", [python, str(SITE / "manage.py"), "runserver", "--noreload", f"{devrun.HOST}:{demo_port}"])  # fmt: skip
    try:
        for name, argv in steps:
            code = supervisor.run_step(name, argv)
            if code:
                devrun.log(f"{name} failed (exit code {code})")
            if code is None or code:
                return code or 0
        for name, argv in platform:
            supervisor.start(name, argv, relay=True)
        supervisor.env = {**supervisor.env, "DEMO_CONFIG": str(config),
                          "DEMO_DATA_DIR": str(var / "demo-site")}  # fmt: skip
        for name, argv in site_steps:
            code = supervisor.run_step(name, argv)
            if code:
                devrun.log(f"{name} failed (exit code {code})")
            if code is None or code:
                return code or 0
        supervisor.start(*site, relay=True)
        devrun.log(f"Demo site: {origin}/   (platform {platform_url}; Ctrl-C stops both)")
        supervisor.loop(lambda: any(not c.running for c in supervisor.children))
        return 0
    finally:
        try:
            supervisor.stop("stopping")
            supervisor.loop(lambda: False)
        finally:
            supervisor.finish()


def main() -> int:
    port = devrun.setting("VERIFY_DEV_PORT", 8000, 1, 65535)
    demo_port = devrun.setting("DEMO_PORT", 8100, 1, 65535)
    grace = devrun.setting("VERIFY_DEV_STOP_SECONDS", 10, 0, 3600)
    for busy in (port, demo_port):
        if not devrun.port_free(busy):
            devrun.fail(f"{devrun.HOST}:{busy} is already in use: stop that first "
                        "(VERIFY_DEV_PORT and DEMO_PORT choose other ports)")  # fmt: skip
    os.environ.setdefault("VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    os.environ.setdefault("DEBUG", "true")
    with devrun.terminal_foreground() as tty:
        supervisor = devrun.Supervisor({**os.environ, "PYTHONUNBUFFERED": "1"}, float(grace))
        if tty is not None:
            supervisor.watch_hangup(tty)
        if os.environ.get("DATABASE_URL"):
            return demo_stack(supervisor, port, demo_port)
        settings = devdb.load_settings()

        def with_database(env: dict[str, str]) -> int:
            supervisor.env = {**env, "PYTHONUNBUFFERED": "1"}
            return demo_stack(supervisor, port, demo_port)

        return devdb.serve(settings, with_database)


if __name__ == "__main__":
    sys.exit(main())
