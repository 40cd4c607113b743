"""Create the data the scenarios load, through the domain functions, and write what the load
generators need as JSON.

    python -m bench.seed base OUT.json
    python -m bench.seed factors OUT.json --service SID --count N [--start I]
    python -m bench.seed verifications OUT.json --service SID --count N --scenario NAME
        [--start I] [--code C] [--channel auto]

Run with DJANGO_SETTINGS_MODULE=bench.settings against the benchmark database; the harness
runs one process per core over disjoint ranges (--start). Phone numbers are
`TO_FORMATS[scenario] % (FIRST_NUMBER + i)`: valid, distinct, never landlines.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

import django

FIRST_NUMBER = 2_000_000
# Sends per destination are capped (5): every scenario that creates verifications draws its
# numbers from its own range.
TO_FORMATS = {
    "verification_create": "+1415%07d",
    "verification_check": "+1650%07d",
    "worker_delivery": "+1628%07d",
    "fallback_lateness": "+1510%07d",
    "worker_noop": "+1925%07d",  # the one send whose database round trips are counted
    # Started over HTTP; the null adapter notes when it is called for these numbers.
    "send_latency": "+1347%07d",
    # verification_create's numbers in the second phase of a --history run.
    "history_create": "+1212%07d",
}
CHECK_CODE = "424242"
FALLBACK_PLAN = [{"channel": "whatsapp", "timeout": 5}, {"channel": "sms"}]


def to_number(scenario: str, i: int) -> str:
    return TO_FORMATS[scenario] % (FIRST_NUMBER + i)


def seed_base() -> dict:
    from services import domain
    from services.webhooks import events
    from services.webhooks.domain import webhook_create

    account, token = domain.account_create(friendly_name="Bench")
    service = domain.service_create(
        account=account, friendly_name="Bench Service", custom_code_enabled=True
    )
    fallback = domain.service_create(
        account=account, friendly_name="Bench Fallback", fallback=FALLBACK_PLAN
    )
    # Every event of this service is delivered to one webhook (nothing consumes the queued
    # deliveries during the HTTP scenarios; the worker scenarios start from an empty broker).
    hooked = domain.service_create(account=account, friendly_name="Bench Webhooks")
    webhook_create(
        service=hooked,
        friendly_name="Bench receiver",
        event_types=[events.ALL],
        webhook_url="https://hooks.example.com/verify",
    )
    return {
        "account_sid": account.sid,
        "auth_token": token,
        "service_sid": service.sid,
        "fallback_service_sid": fallback.sid,
        "webhook_service_sid": hooked.sid,
    }


def seed_factors(*, service_sid: str, count: int, time_step: int = 30, start: int = 0) -> dict:
    """Verified TOTP factors, one entity each. They are verified with the code of a step an
    hour ago, so every current step is still unused when the benchmark starts."""
    from django.utils import timezone

    from factors import domain, totp
    from factors.models import Factor
    from services.models import Service

    service = Service.objects.get(pk=service_sid)
    past = timezone.now() - timedelta(hours=1)
    rows = []
    for i in range(start, start + count):
        factor, binding = domain.factor_create(
            service=service,
            identity=f"bench-user-{i}",
            factor_type="totp",
            friendly_name=f"Bench {i}",
            time_step=time_step,
        )
        code = totp.code_at_step(binding["secret"], totp.step_at(past, time_step))
        factor = domain.factor_update(factor=factor, auth_payload=code, now=past)
        if factor.status != Factor.Status.VERIFIED:
            raise SystemExit(f"bench.seed: factor {factor.sid} was not verified")
        rows.append([factor.entity.identity, factor.sid, binding["secret"]])
    return {"time_step": time_step, "factors": rows}


def seed_verifications(
    *, service_sid: str, count: int, scenario: str, channel: str, code: str | None, start: int = 0
) -> dict:
    """Pending verifications, one per destination; with `code`, a custom code the check
    scenario knows. Each start enqueues its delivery task (the worker may be stopped)."""
    from challenges import domain
    from services.models import Service

    service = Service.objects.get(pk=service_sid)
    sids = []
    for i in range(start, start + count):
        verification = domain.verification_start(
            service=service, to=to_number(scenario, i), channel=channel, custom_code=code
        )
        sids.append(verification.sid)
    return {"verifications": sids}


def seed(what: str, **options) -> dict:
    """The harness calls this in its own process for small counts (no start-up cost)."""
    if what == "base":
        return seed_base()
    if what == "factors":
        return seed_factors(
            service_sid=options["service"],
            count=options.get("count", 0),
            time_step=options.get("time_step") or 30,
            start=options.get("start", 0),
        )
    return seed_verifications(
        service_sid=options["service"],
        count=options.get("count", 0),
        scenario=options["scenario"],
        channel=options.get("channel") or "sms",
        code=options.get("code"),
        start=options.get("start", 0),
    )


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["base", "factors", "verifications"])
    ap.add_argument("out")
    ap.add_argument("--service")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--time-step", type=int, default=30)
    ap.add_argument("--scenario", choices=sorted(TO_FORMATS))
    ap.add_argument("--channel", default="sms")
    ap.add_argument("--code")
    args = vars(ap.parse_args(argv))
    django.setup()
    data = seed(args.pop("what"), **args)
    with open(args["out"], "w") as fh:
        json.dump(data, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
