"""The Attempts API through the official `twilio` Node SDK, unchanged, against the live
server: list (filters, paging), fetch, summary, and a Twilio-shaped 404.

The SDK is installed with npm once, at a pinned version, into var/node-sdk/ (kept between
runs, so a later run needs no network); the test is skipped only where npm itself is
missing."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.challenges.conftest import (  # noqa: F401 (the autouse fixture: locmem channels)
    MOBILE,
    OTHER_MOBILE,
    locmem_channels,
    outbox_codes,
    run_due,
)
from tests.helpers import run_node_sdk

TWILIO_NODE_VERSION = "6.3.1"
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "node" / "attempts.js"


@pytest.fixture(scope="session")
def node_twilio() -> Path:
    """The `node_modules` folder holding the pinned SDK, installed on first use. A lock
    file keeps parallel sessions from installing into the same folder at once."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip("npm is not installed")
    home = ROOT / "var" / "node-sdk" / f"twilio-{TWILIO_NODE_VERSION}"
    home.mkdir(parents=True, exist_ok=True)
    marker = home / "installed"
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            manifest = {"private": True, "dependencies": {"twilio": TWILIO_NODE_VERSION}}
            (home / "package.json").write_text(json.dumps(manifest))
            run = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                cwd=home,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert run.returncode == 0, run.stderr[-3000:]
            marker.write_text(TWILIO_NODE_VERSION)
    installed = json.loads((home / "node_modules" / "twilio" / "package.json").read_text())
    assert installed["version"] == TWILIO_NODE_VERSION
    return home / "node_modules"


def test_list_fetch_and_summary(node_twilio, live_server, sdk, tenant, service):
    services = sdk.services(service.sid)
    approved = services.verifications.create(to=MOBILE, channel="sms")
    pending = services.verifications.create(to=OTHER_MOBILE, channel="sms")
    run_due()
    [code] = {c for _, to, c in outbox_codes() if to == MOBILE}
    assert services.verification_checks.create(to=MOBILE, code=code).status == "approved"

    out = run_node_sdk(
        SCRIPT,
        node_path=node_twilio,
        base_url=live_server.url,
        tenant=tenant,
        SERVICE_SID=service.sid,
        PENDING_TO=OTHER_MOBILE,
    )

    first, second = out["all"]
    assert [first["verificationSid"], second["verificationSid"]] == [approved.sid, pending.sid]
    assert first["sid"] == approved.send_code_attempts[0]["attempt_sid"]
    assert first["serviceSid"] == service.sid and first["accountSid"] == tenant.sid
    assert first["conversionStatus"] == "converted" and second["conversionStatus"] == "unconverted"
    assert first["channel"] == "sms" and first["price"] is None
    assert first["channelData"]["to"] == "+4*******3456"
    assert first["dateCreated"].endswith("Z")
    assert first["url"] == f"{live_server.url}/v2/Attempts/{first['sid']}"
    assert out["converted"] == [first["sid"]]
    assert out["byTo"] == [pending.sid]
    assert out["fetched"] == first
    assert out["summary"] == {
        "totalAttempts": 2,
        "totalConverted": 1,
        "totalUnconverted": 1,
        "conversionRatePercentage": "50",
    }
    assert out["missing"] == {"status": 404, "code": 20404}
