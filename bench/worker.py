"""The worker scenarios: a real Celery worker with the production settings (prefork, one
process per core, acks_late and prefetch 1 from settings) and the null adapter.

- worker_noop: M no-op tasks queued with the worker stopped, then drained;
- worker_delivery: M verifications created with the worker stopped (each queues its send
  task), then sent; messages/s until the queue is drained (polled on the broker, as for the
  no-op), then every attempt checked as sent in the database;
- fallback_lateness: verifications on a service whose plan is whatsapp (timeout 5 s) then
  sms; the whatsapp step is sent and never delivered, so the sms step fires on its timer.
  Lateness = date_sent of the sms attempt - its due_at.

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

from bench.loadgen import percentile

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
    # kombu's Redis transport: the queue list plus what a worker took but has not acked.
    return int(broker.llen("celery")) + int(broker.hlen("unacked"))


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
