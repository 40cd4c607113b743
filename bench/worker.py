"""The worker scenarios: a real Celery worker with the production settings (prefork, one
process per core, acks_late and prefetch 1 from settings) and the null adapter.

- worker_noop: M no-op tasks queued with the worker stopped, then drained;
- worker_delivery: M verifications created with the worker stopped (each queues its send
  task), then sent; messages/s until the queue is drained (polled on the broker, as for the
  no-op), then every attempt checked as sent in the database;
- fallback_lateness: verifications on a service whose plan is whatsapp (timeout 5 s) then
  sms; the whatsapp step is sent and never delivered, so the sms step fires on its timer.
  Lateness = date_sent of the sms attempt - its due_at;
- send_latency (reported): with the worker running, verification starts over HTTP at a fixed
  rate (half of worker_delivery's); per verification, the time from its 201 to the
  adapter's send call, both stamped on the machine's CLOCK_MONOTONIC (the harness when it
  reads the answer, the null adapter in the worker when it is called).

Call `django.setup()` (bench.settings) before using this module. Every wait is a bounded
poll; a worker that exits is an error with its log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from bench.loadgen import Outcome, Request, percentile, run_at_rate
from bench.seed import to_number

POLL_S = 0.02


class WorkerFailed(RuntimeError):
    pass


class Worker:
    def __init__(self, *, root: Path, env: dict[str, str], log_path: Path, concurrency: int):
        self.root, self.env, self.log_path, self.concurrency = root, env, log_path, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "verify_platform",
                    "worker",
                    "-P",
                    "prefork",
                    "-c",
                    str(self.concurrency),
                    "--loglevel=INFO",
                    "-n",
                    f"bench-{os.getpid()}@127.0.0.1",
                ],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def check(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise WorkerFailed(f"the Celery worker exited:\n{tail}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the worker and its pool processes so far (Linux /proc; None
        elsewhere). Per message, the steadiest figure on a shared machine: a wall-clock rate
        moves with whatever else runs."""
        if self.proc is None:
            return None
        try:
            stats = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue  # exited meanwhile
                    stats[int(entry.name)] = fields
        except OSError:
            return None
        pids = {self.proc.pid} | {pid for pid, f in stats.items() if int(f[1]) == self.proc.pid}
        ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in pids if pid in stats)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # warm shutdown: finishes what it runs
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _drain(
    worker: Worker, remaining: Callable[[], int], total: int, deadline_s: float
) -> dict[str, float]:
    """Poll `remaining` until 0; the rate is counted from the first completion seen, so the
    worker's start-up is not charged to it."""
    end = time.monotonic() + deadline_s
    first_t = first_left = first_cpu = None
    while True:
        worker.check()
        left = remaining()
        now = time.monotonic()
        if first_t is None and left < total:
            first_t, first_left, first_cpu = now, left, worker.cpu_seconds()
        if left == 0:
            break
        if now > end:
            raise WorkerFailed(f"{left} of {total} still not done after {deadline_s:.0f}s")
        time.sleep(POLL_S)  # polling a running worker
    elapsed = max(now - first_t, POLL_S)
    result = {"messages": total, "seconds": round(elapsed, 3), "per_s": (first_left or 0) / elapsed}
    last_cpu = worker.cpu_seconds()
    if first_cpu is not None and last_cpu is not None and first_left:
        # The worker's own CPU (parent + pool) per message, over the same span as the rate.
        result["worker_cpu_ms_per_message"] = round(1000 * (last_cpu - first_cpu) / first_left, 3)
    return result


def _queue_length(broker) -> int:
    """Tasks queued plus tasks a worker took and has not acknowledged, read on Redis: kombu's
    Redis transport keeps a queue as a list named after it and the unacknowledged messages
    in a hash (its `unacked_key` option). Asking through kombu (`queue_declare(passive=True)`)
    would count the list only, so the last messages in flight would go uncounted; the names
    come from the Celery configuration rather than being spelled here."""
    from celery import current_app

    conf = current_app.conf
    unacked = (conf.broker_transport_options or {}).get("unacked_key", "unacked")
    return int(broker.llen(conf.task_default_queue)) + int(broker.hlen(unacked))


def purge(broker_url: str):
    import redis

    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()
    return broker


def measure_noop(worker: Worker, broker, count: int, deadline_s: float) -> dict:
    from bench.tasks import noop_task

    for _ in range(count):
        noop_task.delay()
    worker.start()
    try:
        result = _drain(worker, lambda: _queue_length(broker), count, deadline_s)
    finally:
        worker.stop()
    return {"describe": "no-op Celery task, same worker settings", **result}


def _attempts(verification_sids: list[str], step: int):
    from challenges.models import DeliveryAttempt

    return DeliveryAttempt.objects.filter(verification_id__in=verification_sids, step=step)


def measure_delivery(
    worker: Worker,
    broker,
    seed: Callable[..., dict],
    service_sid: str,
    count: int,
    deadline_s: float,
) -> dict:
    """The verifications are created (and their tasks queued) before the worker starts.
    Progress is polled on the broker, as for the no-op task, so both rates are measured the
    same way and the poll costs the machine next to nothing (a database count over the
    attempts every 20 ms took most of a core); the database then confirms every send."""
    from challenges.models import DeliveryAttempt

    sids = seed("verifications", count=count, service=service_sid, scenario="worker_delivery")[
        "verifications"
    ]
    queued = _queue_length(broker)
    if queued != count:
        raise WorkerFailed(f"{queued} tasks queued for {count} verifications")
    worker.start()
    result = _drain(worker, lambda: _queue_length(broker), count, deadline_s)
    unsent = _attempts(sids, 0).exclude(status=DeliveryAttempt.Status.SENT).count()
    if unsent:
        raise WorkerFailed(f"{unsent} of {count} first attempts not sent after the queue drained")
    return {"describe": "send tasks through the null adapter, messages/s", **result}


def measure_fallback(
    worker: Worker, seed: Callable[..., dict], service_sid: str, count: int, deadline_s: float
) -> dict:
    """With the worker running: step 0 (whatsapp) is sent, step 1 (sms) fires on its timer."""
    from challenges.models import DeliveryAttempt

    sids = seed(
        "verifications",
        count=count,
        service=service_sid,
        scenario="fallback_lateness",
        channel="auto",
    )["verifications"]
    sent = DeliveryAttempt.Status.SENT
    end = time.monotonic() + deadline_s
    while _attempts(sids, 1).filter(status=sent).count() < count:
        worker.check()
        if time.monotonic() > end:
            done = _attempts(sids, 1).filter(status=sent).count()
            raise WorkerFailed(f"{done} of {count} fallback steps sent after {deadline_s:.0f}s")
        time.sleep(0.1)  # polling a running worker
    late = [
        (date_sent - due_at).total_seconds() * 1000
        for date_sent, due_at in _attempts(sids, 1).values_list("date_sent", "due_at")
    ]
    return {
        "describe": "fallback step (whatsapp 5 s -> sms) sent after its due time, ms",
        "count": len(late),
        "p50_ms": percentile(late, 50),
        "p99_ms": percentile(late, 99),
        "max_ms": max(late),
    }


def send_latency_load(service_sid: str, first: int = 0) -> Callable[[int], Request]:
    """Request i starts a verification by sms to number `first + i` of send_latency's
    range."""
    path = f"/v2/Services/{service_sid}/Verifications"

    def make(i: int) -> Request:
        to = quote(to_number("send_latency", first + i))
        return Request("POST", path, f"To={to}&Channel=sms".encode())

    return make


def _read_sends(record: Path) -> dict[str, float]:
    """The null adapter's notes: destination -> CLOCK_MONOTONIC seconds of its first send
    call (a redelivered task would note a second one; the user waited for the first)."""
    sends: dict[str, float] = {}
    try:
        text = record.read_text(encoding="ascii")
    except FileNotFoundError:
        return sends
    for line in text.splitlines():
        to, _, stamp = line.partition(" ")
        if stamp:
            sends.setdefault(to, float(stamp))
    return sends


def _starts_sent(
    worker: Worker,
    *,
    port: int,
    headers: dict[str, str],
    service_sid: str,
    rate: float,
    count: int,
    first: int,
    record: Path,
    deadline_s: float,
) -> tuple[dict[str, float], dict[str, float], Outcome]:
    """`count` starts at `rate` (numbers from `first`), then a bounded wait until the adapter
    has been called for each that answered 201. Returns {to: 201 time}, {to: send time}
    and the load generator's outcome."""
    record.write_text("", encoding="ascii")  # this run's notes only
    worker.check()
    outcome = run_at_rate(
        "127.0.0.1",
        port,
        send_latency_load(service_sid, first),
        headers=headers,
        rate=rate,
        duration_s=count / rate,
        connections=16,
        count=count,
        record_answers=True,
    )
    created = {
        to_number("send_latency", first + i): answered_at
        for i, (status, answered_at) in outcome.answers.items()
        if status == 201
    }
    end = time.monotonic() + deadline_s
    while True:
        worker.check()
        sends = _read_sends(record)
        if all(to in sends for to in created):
            return created, sends, outcome
        if time.monotonic() > end:
            missing = sum(1 for to in created if to not in sends)
            raise WorkerFailed(f"{missing} of {len(created)} started verifications never sent")
        time.sleep(0.05)  # polling a running worker


def measure_send_latency(
    worker: Worker,
    *,
    port: int,
    headers: dict[str, str],
    service_sid: str,
    rate: float,
    count: int,
    record: Path,
    deadline_s: float,
) -> dict:
    """With the worker running and nothing else queued: `count` verification starts at
    `rate` per second (open loop, loopback), then a bounded wait until the adapter has been
    called for every one that answered 201. Latency per verification = adapter call - 201
    read by the client. It covers what happens after the answer: the broker, the worker
    taking the task (prefetch, ETA handling), the send's claim and reads, and the adapter
    call; not the provider (the adapter drops the message).

    A few starts go first, unmeasured (numbers after the measured ones): a worker started
    just before would otherwise charge its start-up (seconds) to the first sends, and each
    pool process its first database connection."""
    warm = 2 * worker.concurrency + 2
    _starts_sent(
        worker,
        port=port,
        headers=headers,
        service_sid=service_sid,
        rate=min(rate, 20.0),
        count=warm,
        first=count,
        record=record,
        deadline_s=deadline_s,
    )
    created, sends, outcome = _starts_sent(
        worker,
        port=port,
        headers=headers,
        service_sid=service_sid,
        rate=rate,
        count=count,
        first=0,
        record=record,
        deadline_s=deadline_s,
    )
    waits = [(sends[to] - answered_at) * 1000 for to, answered_at in created.items()]
    result = {
        "describe": "from a verification start's 201 to the adapter's send call, ms",
        "count": len(waits),
        "rate_per_s": round(rate, 1),
        "p50_ms": percentile(waits, 50),
        "p99_ms": percentile(waits, 99),
        "max_ms": max(waits, default=None),
        "min_ms": min(waits, default=None),
        "start_p50_ms": percentile(outcome.latencies_ms, 50),
        "start_p99_ms": percentile(outcome.latencies_ms, 99),
    }
    if len(created) < count or outcome.errors:
        result["error"] = (
            f"{len(created)}/{count} starts answered 201, {outcome.errors} errors, "
            f"statuses {outcome.statuses}"
        )
    return result
