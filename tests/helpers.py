"""Assertions and request helpers shared by the API tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"


def assert_twilio_error(response, status: int, code: int) -> dict:
    """The response is Twilio's error shape with this HTTP status and error code."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}, body
    assert body["code"] == code and body["status"] == status, body
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


def form(client, path: str, data: dict | list | None = None, **extra):
    """POST form-encoded, as the SDK does (list values become repeated keys)."""
    return client.post(path, urlencode(data or {}, doseq=True), content_type=FORM, **extra)


def run_flow(module: str, env: dict[str, str], *, timeout: float) -> dict:
    """Run `python -m <module>` (a scenario that needs a process of its own: its own database
    or settings) from the checkout's root, and return the JSON object it printed last."""
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-m", module],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def routed_patterns(patterns=None):
    """Every URL pattern the URLconf routes to, includes flattened: tests that must cover every
    view (its serializers, its forms) find them here, so a new view is covered or fails."""
    if patterns is None:
        from django.urls import get_resolver

        patterns = get_resolver().url_patterns
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from routed_patterns(pattern.url_patterns)
        else:
            yield pattern


def tenant_resources(
    service,
    *,
    identity: str,
    phone_number: str | None = None,
    country: str | None = None,
    messaging_service_sid: str = "MG" + "ab" * 16,
) -> dict[str, str]:
    """A verified factor of `identity` with a pending challenge, a webhook, a rate limit with
    a bucket and, when asked, a Safe List number and a Messaging Configuration, all of
    `service`'s tenant: identifiers keyed by the collection before a path parameter (what the
    path-walking tests point their routes at)."""
    from challenges.domain import challenge_create
    from factors.domain.push import access_token_create
    from limits.domain import bucket_create, rate_limit_create, safe_list_number_create
    from services.messaging_domain import messaging_configuration_create
    from services.webhooks.domain import webhook_create
    from tests.factors.conftest import make_verified_factor

    factor, _ = make_verified_factor(service, identity=identity)
    challenge = challenge_create(factor=factor, details_message="Login from Paris")
    webhook, _ = webhook_create(
        service=service,
        friendly_name="Backend",
        event_types=["*"],
        webhook_url=f"https://{identity}.example/hook",
    )
    rate_limit = rate_limit_create(service=service, unique_name="phone_number")
    bucket = bucket_create(rate_limit=rate_limit, max=10, interval=3600)
    found = {
        "Services": service.sid,
        "Entities": identity,
        "Factors": factor.sid,
        "Challenges": challenge.sid,
        "Webhooks": webhook.sid,
        "RateLimits": rate_limit.sid,
        "Buckets": bucket.sid,
        "AccessTokens": access_token_create(service=service, identity=identity).sid,
        "Forms": "form-push",  # global, the same for every account
    }
    if phone_number is not None:
        number = safe_list_number_create(account=service.account, phone_number=phone_number)
        found["Numbers"] = number.phone_number
    if country is not None:
        configuration = messaging_configuration_create(
            service=service, country=country, messaging_service_sid=messaging_service_sid
        )
        found["MessagingConfigurations"] = configuration.country
    return found


def run_node_sdk(script: Path, *, node_path: Path, base_url: str, tenant, **extra: str) -> dict:
    """Run a script of the official `twilio` Node SDK (`node_path`: where it is installed)
    against `base_url` as `tenant`, with `extra` environment variables, and return the one
    JSON object it prints last."""
    import os
    import shutil

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "NO_PROXY": "127.0.0.1,localhost",
        "NODE_PATH": str(node_path),
        "BASE_URL": base_url,
        "ACCOUNT_SID": tenant.sid,
        "AUTH_TOKEN": tenant.auth_token,
        **extra,
    }
    run = subprocess.run(
        [shutil.which("node"), str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
