"""A web process connects to the task broker (and subscribes its authentication cache) at
boot, not in its first request."""

from __future__ import annotations

import runpy
from pathlib import Path

import redis
from django.conf import settings

from services import auth_cache
from verify_platform import celery

ROOT = Path(__file__).resolve().parent.parent.parent


def _queued() -> int:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return sum(client.llen(name) for name in celery.app.amqp.queues)
    finally:
        client.close()


def test_warm_up_connects_and_publishes_nothing():
    before = _queued()
    assert celery.producer_warm() is True
    assert _queued() == before
    # The pool hands out the producer it got back last: the first publish finds it connected.
    with celery.app.producer_or_acquire() as producer:
        assert producer.connection.connected


def test_warm_up_survives_an_unreachable_broker(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr(type(celery.app), "producer_or_acquire", refuse)
    assert celery.producer_warm() is False


def test_gunicorn_workers_warm_the_producer_after_loading_the_app(monkeypatch):
    calls = []
    monkeypatch.setattr(celery, "producer_warm", lambda: calls.append(True) or True)
    subscribed = []
    monkeypatch.setattr(auth_cache, "warm", lambda: subscribed.append(True) or True)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config["post_worker_init"](worker=None)
    assert calls == [True]
    assert subscribed == [True]
