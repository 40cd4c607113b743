"""The demo login site (examples/demo_site) started beside the platform's live server, as
`make demo` starts it: its own process on 127.0.0.1, its own SQLite users, and an API key and
a Service of a tenant of its own, configured by the same code `make demo` runs
(examples/demo_site/demo_setup.py). The site is browsed at http://localhost:<port>, the
passkeys' relying party."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from examples.demo_site import demo_setup
from tests.conftest import Tenant, make_tenant, sdk_for
from tests.demo.browser import BrowserThread
from tests.worker import module_worker, outbox, worker  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = ROOT / "examples" / "demo_site"
START_SECONDS = 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DemoSite:
    url: str
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class Customer:
    """A tenant as the site sees it: its API key, its Service, and the SDK (as the account)."""

    tenant: Tenant
    key_sid: str
    key_secret: str
    service_sid: str
    origin: str
    port: int
    sdk: object


def customer_for(platform_url: str, name: str) -> Customer:
    """A tenant with an API key for its site and the demo's Service for a site origin."""
    from services import domain

    tenant = make_tenant(name)
    key, secret = domain.api_key_create(account=tenant.account, friendly_name="demo site")
    port = free_port()
    origin = f"http://localhost:{port}"
    sdk = sdk_for(platform_url, tenant.sid, tenant.auth_token)
    service = sdk.services.create(**demo_setup.service_settings(origin))
    return Customer(tenant, key.sid, secret, service.sid, origin, port, sdk)


def start_site(platform_url: str, customer: Customer, folder: Path) -> DemoSite:
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEMO_DATA_DIR": str(folder),
        "DEMO_SECRET_KEY": secrets.token_urlsafe(32),
        "DEMO_VERIFY_BASE_URL": platform_url,
        "DEMO_VERIFY_ACCOUNT_SID": customer.tenant.sid,
        "DEMO_VERIFY_API_KEY_SID": customer.key_sid,
        "DEMO_VERIFY_API_KEY_SECRET": customer.key_secret,
        "DEMO_VERIFY_SERVICE_SID": customer.service_sid,
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, str(SITE / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=60)
    log = folder / "site.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{customer.port}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    site = DemoSite(customer.origin, proc, log)
    deadline = time.monotonic() + START_SECONDS
    while True:
        assert proc.poll() is None, f"the demo site exited:\n{site.output()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{customer.port}/login/", timeout=2):
                return site
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                site.stop()
                raise AssertionError(
                    f"the demo site did not start:\n{site.output()[-3000:]}"
                ) from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserThread]:
    running = BrowserThread()
    yield running
    running.close()


@pytest.fixture
def customer(live_server, transactional_db) -> Customer:
    return customer_for(live_server.url, "Acme")


@pytest.fixture
def site(live_server, customer, tmp_path) -> Iterator[DemoSite]:
    running = start_site(live_server.url, customer, tmp_path / "site")
    yield running
    running.stop()
    print(running.output()[-5000:])  # shown by pytest when the test failed
