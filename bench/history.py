"""`make bench BENCH_ARGS="--history"`: does a request cost more on a database with a year
of history than on an empty one?

In one run: the hot scenarios are measured on the freshly seeded benchmark database, then
millions of old rows are written beside them in plain SQL (`INSERT ... SELECT
generate_series`: challenges with their entities, events, verifications and their delivery
attempts, spread over the past year, in the services the scenarios use), the tables are
vacuumed and analysed as autovacuum would have, and the same scenarios are measured again.
The figure is each scenario's rate with history over its rate without, both taken as
ratios to the baseline measured beside them (bench/run.py's sandwich), so a machine that
slows down between the two phases does not read as growth.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# Rows of each kind written per --history-rows unit; entities are the users of the history's
# challenges, a hundred challenges each.
KINDS = ("challenges", "events", "verifications", "attempts")
DAYS = 365
# The history's destinations: a number range of their own, so no scenario's lookup of a
# destination meets them.
HISTORY_TO = "+1999"

ENTITIES = """
INSERT INTO entities_entity (sid, service_id, identity, date_created, date_updated)
SELECT 'YE' || md5('history-entity-' || i), %(service)s, 'history-user-' || i,
       now() - interval '1 year', now() - interval '1 year'
FROM generate_series(1, %(entities)s) AS i"""

# Approved challenges, one every year/rows apart, the newest a day old.
CHALLENGES = """
INSERT INTO challenges_challenge (sid, service_id, entity_id, factor_id, status,
    responded_reason, expiration_date, date_responded, details_message, details_fields,
    hidden_details, metadata, failed_attempts, recovery_codes_remaining, date_created,
    date_updated)
SELECT 'YC' || md5('history-challenge-' || i), %(service)s,
       'YE' || md5('history-entity-' || (1 + i %% %(entities)s)),
       'YF' || md5('history-factor-' || (1 + i %% %(entities)s)), 'approved', 'none',
       t + interval '5 minutes', t, NULL, '[]', NULL, NULL, 0, NULL, t, t
FROM generate_series(1, %(rows)s) AS i,
     LATERAL (SELECT now() - interval '1 day' - (%(days)s * interval '1 day') * i / %(rows)s AS t) AS at"""

EVENTS = """
INSERT INTO services_event (sid, account_id, service_id, type, resource_sid, payload, date_created)
SELECT 'EV' || md5('history-event-' || i), %(account)s, %(service)s,
       CASE WHEN i %% 2 = 0 THEN 'challenge.approved' ELSE 'verification.approved' END,
       'YC' || md5('history-challenge-' || i), '{}', t
FROM generate_series(1, %(rows)s) AS i,
     LATERAL (SELECT now() - interval '1 day' - (%(days)s * interval '1 day') * i / %(rows)s AS t) AS at"""

VERIFICATIONS = """
INSERT INTO challenges_verification (sid, service_id, "to", channel, status,
    custom_friendly_name, custom_code, amount, payee, code_hash, code_salt, code_sealed,
    code_length, check_attempts, send_count, locale, app_hash, plan, expires_at, date_created,
    date_updated)
SELECT 'VE' || md5('history-verification-' || i), %(service)s,
       %(prefix)s || lpad((i %% 10000000)::text, 7, '0'), 'sms',
       CASE WHEN i %% 10 = 0 THEN 'expired' ELSE 'approved' END,
       NULL, false, NULL, NULL, md5('h' || i) || md5('i' || i), md5('s' || i), '', 6, 1, 1,
       'en', NULL, '[{"channel": "sms"}]', t + interval '10 minutes', t, t
FROM generate_series(1, %(rows)s) AS i,
     LATERAL (SELECT now() - interval '1 day' - (%(days)s * interval '1 day') * i / %(rows)s AS t) AS at"""

ATTEMPTS = """
INSERT INTO challenges_deliveryattempt (sid, verification_id, factor_code_id, send_number,
    step, channel, adapter, status, due_at, deadline, lease_expires_at, tries,
    provider_message_id, error_code, error_message, date_sent, date_created, date_updated)
SELECT 'VL' || md5('history-attempt-' || i), 'VE' || md5('history-verification-' || i), NULL,
       1, 0, 'sms', 'null', 'delivered', v.date_created, v.expires_at, NULL, 1,
       'SM' || md5('history-message-' || i), NULL, NULL, v.date_created, v.date_created,
       v.date_created
FROM generate_series(1, %(rows)s) AS i
JOIN challenges_verification v ON v.sid = 'VE' || md5('history-verification-' || i)"""

TABLES = (
    "entities_entity",
    "challenges_challenge",
    "services_event",
    "challenges_verification",
    "challenges_deliveryattempt",
)


def seed(
    *, rows: int, account_sid: str, service_sid: str, log: Callable[[str], None]
) -> dict[str, float]:
    """Write `rows` old rows of each kind into `service_sid` (the scenarios' service); the
    seconds each kind took."""
    from django.db import connection

    params = {
        "rows": rows,
        "days": DAYS,
        "entities": max(1, rows // 100),
        "account": account_sid,
        "service": service_sid,
        "prefix": HISTORY_TO,
    }
    took: dict[str, float] = {}
    with connection.cursor() as cursor:
        for name, statement in (
            ("entities", ENTITIES),
            ("challenges", CHALLENGES),
            ("events", EVENTS),
            ("verifications", VERIFICATIONS),
            ("attempts", ATTEMPTS),
        ):
            started = time.monotonic()
            cursor.execute(statement, params)
            took[name] = round(time.monotonic() - started, 1)
            log(f"history: {cursor.rowcount} {name} in {took[name]:.1f}s")
        # What autovacuum keeps true in production: statistics, and a visibility map that
        # lets index-only scans skip the heap.
        started = time.monotonic()
        for table in TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        took["vacuum_analyze"] = round(time.monotonic() - started, 1)
        log(f"history: vacuum and analyze in {took['vacuum_analyze']:.1f}s")
    return took


def compare(empty: dict[str, dict], history: dict[str, dict]) -> dict[str, dict]:
    """Per scenario: rate, baseline ratio and p99 in both phases, and the growth figure
    `ratio_with_history` (baseline ratio with history over without; 1.0 means no growth)."""
    out: dict[str, dict] = {}
    for name, before in empty.items():
        after = history.get(name)
        if name == "baseline" or after is None or "error" in before or "error" in after:
            continue
        ratio = None
        if before.get("ratio_to_baseline") and after.get("ratio_to_baseline") is not None:
            ratio = round(after["ratio_to_baseline"] / before["ratio_to_baseline"], 3)
        out[name] = {
            "empty_per_s": before["requests_per_s"],
            "history_per_s": after["requests_per_s"],
            "empty_ratio_to_baseline": before["ratio_to_baseline"],
            "history_ratio_to_baseline": after["ratio_to_baseline"],
            "ratio_with_history": ratio,
            "raw_rate_ratio": round(after["requests_per_s"] / before["requests_per_s"], 3)
            if before["requests_per_s"]
            else None,
            "empty_p99_ms": before["p99_ms"],
            "history_p99_ms": after["p99_ms"],
            "empty_queries": before["per_request"]["queries"],
            "history_queries": after["per_request"]["queries"],
            # CPU per request (the app's and PostgreSQL's, timed in process over a few hundred
            # requests): steadier than rates on a shared machine.
            "empty_cpu_ms": _cpu(before),
            "history_cpu_ms": _cpu(after),
        }
    return out


def _cpu(result: dict) -> float | None:
    per_request = result.get("per_request", {})
    if per_request.get("cpu_ms") is None:
        return None
    return round(per_request["cpu_ms"] + per_request.get("db_cpu_ms", 0.0), 2)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_comparison(rows: int, seeded: dict[str, float], table: dict[str, dict]) -> None:
    total = rows * len(KINDS) + max(1, rows // 100)
    print(
        f"\nhistory: {total:,} old rows ({rows:,} each of {', '.join(KINDS)}) seeded in "
        f"{sum(seeded.values()):.0f}s"
    )
    print(
        f"{'scenario':<22}{'empty/s':>9}{'hist/s':>9}{'x base':>8}{'x base':>8}"
        f"{'ratio':>7}{'p99 ms':>9}{'p99 ms':>9}{'cpu ms':>8}{'cpu ms':>8}{'SQL':>5}"
    )
    print(
        f"{'':<22}{'':>9}{'':>9}{'empty':>8}{'hist':>8}{'':>7}{'empty':>9}{'hist':>9}"
        f"{'empty':>8}{'hist':>8}"
    )
    for name, r in table.items():
        ratio = r["ratio_with_history"]
        print(
            f"{name:<22}{r['empty_per_s']:>9.1f}{r['history_per_s']:>9.1f}"
            f"{r['empty_ratio_to_baseline']:>8.2f}{r['history_ratio_to_baseline']:>8.2f}"
            f"{'-' if ratio is None else format(ratio, '.2f'):>7}"
            f"{r['empty_p99_ms']:>9.2f}{r['history_p99_ms']:>9.2f}"
            f"{_fmt(r['empty_cpu_ms']):>8}{_fmt(r['history_cpu_ms']):>8}"
            f"{r['history_queries']:>5}"
        )
    print(
        "ratio: the scenario's rate over the baseline's with history, over the same without "
        "(1.00: no growth)."
    )


def run(
    scenarios: list,
    empty: dict[str, dict],
    *,
    measure: Callable[[list], dict[str, dict]],
    fixtures: dict,
    args: argparse.Namespace,
    results_dir: Path,
    log: Callable[[str], None],
) -> int:
    """`empty` was measured on the fresh database: seed the history, `measure` the same
    scenario objects again (their data slices carry on), print and write the comparison;
    the exit status (1 when a phase answered errors)."""
    if "attempts_summary" not in {sc.name for sc in scenarios}:
        log("the Attempts API is not served: attempts_summary is not measured")
    seeded = seed(
        rows=args.history_rows,
        account_sid=fixtures["account_sid"],
        service_sid=fixtures["service_sid"],
        log=log,
    )
    for sc in scenarios:
        if sc.name == "verification_create":
            sc.to_key = "history_create"  # the first phase used its numbers
    with_history = measure(scenarios)
    table = compare(empty, with_history)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "server": {
            "gunicorn_workers": args.workers,
            "duration_s": args.duration,
            "rounds": args.rounds,
        },
        "history_rows_per_kind": args.history_rows,
        "history_seed_seconds": seeded,
        "comparison": table,
        "empty": empty,
        "history": with_history,
    }
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_file = results_dir / f"bench-{stamp}-history.json"
    out_file.write_text(json.dumps(report, indent=2))
    print_comparison(args.history_rows, seeded, table)
    print(f"\nwritten: {out_file}")
    broken = {
        f"{phase} {name}": r["error"]
        for phase, results in (("empty", empty), ("history", with_history))
        for name, r in results.items()
        if "error" in r
    }
    for name, why in broken.items():
        print(f"bench: {name}: figures invalid: {why}")
    return 1 if broken else 0
