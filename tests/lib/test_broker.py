"""One Redis client per kombu channel (verify_platform/lib/broker.py): publishes still reach
the queue, a channel builds its client once, and a new pool gets a new client."""

from __future__ import annotations

import redis
from kombu import Connection

from verify_platform.celery import app


def test_a_channel_builds_one_client_for_many_publishes(monkeypatch):
    built = []
    real = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        real(self, *args, **kwargs)

    with Connection(app.conf.broker_url) as connection:
        channel = connection.default_channel
        queue = "verify-test-broker-client"
        channel.queue_declare(queue=queue, auto_delete=True)
        channel.queue_purge(queue)
        monkeypatch.setattr(redis.Redis, "__init__", counting)
        for i in range(5):
            channel.basic_publish(channel.prepare_message(f"m{i}"), exchange="", routing_key=queue)
        assert channel._size(queue) == 5  # every publish arrived
        assert len(built) <= 1

        client = channel._create_client()
        channel._disconnect_pools()  # as after a fork or a failed connection check
        assert channel._create_client() is not client
        channel.queue_purge(queue)
