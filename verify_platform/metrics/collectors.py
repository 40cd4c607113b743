"""Collectors that read shared state when Prometheus scrapes, instead of keeping a value that
every process would have to update: the broker's queue lengths and the webhook backlog.

Both are bounded in time (a short broker timeout, a statement timeout), and a failure is an
`..._up 0` sample rather than a failed scrape: the other metrics of the endpoint still arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import connection, transaction
from kombu import Connection
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.models import WebhookDelivery

logger = logging.getLogger("verify_platform.metrics")

# The webhook backlog is counted up to this many rows, so a huge backlog costs a bounded
# index scan per scrape (the alert fires long before).
BACKLOG_COUNT_CAP = 100_000


def _timeout() -> float:
    return float(settings.VERIFY_METRICS["BROKER_TIMEOUT"])


class QueueDepthCollector(Collector):
    """`verify_celery_queue_length{queue}`: messages waiting in each task queue, read with
    kombu's public API (a passive `queue_declare`, whose message count is the Redis list
    length, or the filesystem transport's file count) on a fresh connection with a short
    timeout. ETA tasks a worker holds are not waiting in the queue and are not counted."""

    def __init__(self, queues: Iterable[str]) -> None:
        self.queues = tuple(queues)

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "verify_celery_queue_length", "Messages waiting in a task queue.", labels=["queue"]
        )
        up = GaugeMetricFamily(
            "verify_celery_broker_up", "1 when the broker answered the last queue-length read."
        )
        try:
            lengths = self.lengths()
        except Exception as exc:  # a scrape never fails on the broker
            logger.warning("queue lengths unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
        else:
            for queue, length in lengths.items():
                depth.add_metric([queue], length)
            up.add_metric([], 1)
            yield depth
        yield up

    def lengths(self) -> dict[str, int]:
        timeout = _timeout()
        options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": timeout}
        options.setdefault("socket_connect_timeout", timeout)
        found: dict[str, int] = {}
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=timeout
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            channel = conn.default_channel
            for queue in self.queues:
                try:
                    _, count, _ = channel.queue_declare(queue=queue, passive=True)
                except conn.channel_errors:
                    count = 0  # Redis deletes an empty list: a queue not found is empty
                found[queue] = int(count)
        return found


class WebhookBacklogCollector(Collector):
    """`verify_webhook_backlog` (due deliveries not yet made) and
    `verify_webhook_backlog_oldest_seconds` (how long the oldest has been due), from the
    `(status, next_attempt_at)` index that the sweeper reads too."""

    def collect(self) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "verify_webhook_backlog",
            f"Webhook deliveries due and not yet made (counted up to {BACKLOG_COUNT_CAP}).",
        )
        oldest = GaugeMetricFamily(
            "verify_webhook_backlog_oldest_seconds",
            "How long the oldest due webhook delivery has been waiting (0 without one).",
        )
        try:
            count, age = self.read()
        except Exception as exc:  # a scrape never fails on the database
            logger.warning("webhook backlog unavailable: %s", type(exc).__name__)
            return
        backlog.add_metric([], count)
        oldest.add_metric([], age)
        yield backlog
        yield oldest

    @staticmethod
    def read() -> tuple[int, float]:
        timeout_ms = max(int(_timeout() * 1000), 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
            cursor.execute(
                f"""
                SELECT count(*),
                       coalesce(extract(epoch FROM statement_timestamp() - min(next_attempt_at)), 0)
                FROM (
                    SELECT next_attempt_at FROM {WebhookDelivery._meta.db_table}
                    WHERE status = %s AND next_attempt_at <= statement_timestamp()
                    ORDER BY next_attempt_at LIMIT %s
                ) due
                """,  # noqa: S608 (the table name is the model's, not input)
                [WebhookDelivery.Status.PENDING, BACKLOG_COUNT_CAP],
            )
            count, age = cursor.fetchone()
        return int(count), max(float(age), 0.0)
