"""The worker scenarios' sequence around one real Celery worker (bench/worker.py measures
each): the no-op before and after the delivery as its reference, then fallback lateness and
send latency."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.progress import log
from bench.seeder import Seeder

ROOT = Path(__file__).resolve().parent.parent
# Scenarios measured around the Celery worker; `--only` with any of them runs the no-op and
# the delivery too (the delivery's reference, and send_latency's rate).
WORKER_SCENARIOS = ("worker_noop", "worker_delivery", "fallback_lateness", "send_latency")
# send_latency in a smoke run: enough starts to exercise the path, too few to be a figure.
SMOKE_SENDS = 20


def measure_workers(
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    tmp: Path,
    fixtures: dict,
    seed: Seeder,
    cores: int,
    port: int,
    headers: dict[str, str],
    only: set[str],
) -> dict:
    """worker_noop, worker_delivery, worker_noop again, then with the worker running
    fallback_lateness and send_latency (each of the last two unless `--only` leaves it out).
    A failure of the first three ends the worker scenarios (they are each other's reference
    and send_latency's rate); the last two fail on their own, so one lost fallback step does
    not hide the other's figures. send_latency runs last, at half of worker_delivery's rate,
    on a worker with nothing else queued."""
    from bench import querycount
    from bench import worker as w

    results: dict[str, dict] = {}
    from challenges.models import DeliveryAttempt

    one = seed("verifications", count=1, service=fixtures["service_sid"], scenario="worker_noop")
    attempt = DeliveryAttempt.objects.get(verification_id=one["verifications"][0])
    per_task = querycount.delivery_queries(attempt.sid)
    broker = w.purge(env["CELERY_BROKER_URL"])  # the HTTP scenarios' queued sends
    worker = w.Worker(root=ROOT, env=env, log_path=tmp / "worker.log", concurrency=cores)
    deadline = 30 + args.messages / 20
    stage = "worker_noop"  # what a WorkerFailed is reported against
    try:
        log("measuring worker_noop")
        results["worker_noop"] = first = w.measure_noop(worker, broker, args.messages, deadline)
        stage = "worker_delivery"
        log("measuring worker_delivery")
        results["worker_delivery"] = w.measure_delivery(
            worker, broker, seed, fixtures["service_sid"], args.messages, deadline
        )
        results["worker_delivery"]["per_task"] = per_task
        # The no-op again right after, so the delivery is sandwiched like the HTTP scenarios:
        # the no-op's rate alone moved by a factor of two between runs of one day.
        stage = "worker_noop"
        log("measuring worker_noop again")
        worker.stop()
        again = w.measure_noop(worker, broker, args.messages, deadline)
        results["worker_noop"] = noop_reference(first, again)
        noop = results["worker_noop"]["per_s"]
        results["worker_delivery"]["ratio_to_noop"] = (
            round(results["worker_delivery"]["per_s"] / noop, 3) if noop else None
        )
        worker.start()
        if not only or "fallback_lateness" in only:
            log("measuring fallback_lateness")
            try:
                results["fallback_lateness"] = w.measure_fallback(
                    worker,
                    seed,
                    fixtures["fallback_service_sid"],
                    args.fallbacks,
                    35 + args.fallbacks / 10,
                )
            except w.WorkerFailed as exc:
                results["fallback_lateness"] = {"error": str(exc)}
        if not only or "send_latency" in only:
            stage = "send_latency"
            rate = max(1.0, results["worker_delivery"]["per_s"] / 2)
            count = SMOKE_SENDS if args.smoke else min(args.messages, round(rate * args.duration))
            count = max(1, count)
            log(f"measuring send_latency ({count} starts at {rate:.0f}/s)")
            results["send_latency"] = w.measure_send_latency(
                worker,
                port=port,
                headers=headers,
                service_sid=fixtures["service_sid"],
                rate=rate,
                count=count,
                record=Path(env["BENCH_SEND_LOG"]),
                deadline_s=30 + count / rate,
            )
    except w.WorkerFailed as exc:
        results[stage] = {"error": str(exc)}
    finally:
        worker.stop()
    return results


def noop_reference(first: dict, again: dict) -> dict:
    """The no-op's figures as the mean of its runs before and after the delivery."""
    reference = {**first, "per_s": (first["per_s"] + again["per_s"]) / 2}
    reference["per_s_first"], reference["per_s_again"] = first["per_s"], again["per_s"]
    cpu = [r.get("worker_cpu_ms_per_message") for r in (first, again)]
    if None not in cpu:
        reference["worker_cpu_ms_per_message"] = round(sum(cpu) / 2, 3)
    return reference
