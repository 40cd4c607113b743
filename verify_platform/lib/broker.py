"""One Redis client per kombu channel, instead of one per broker command.

kombu's Redis transport builds a new `redis.Redis` object for every command it sends outside
the worker's event loop (`Channel.conn_or_acquire`): a task publish builds two (the binding
lookup and the LPUSH). redis-py fills a table of about 170 response callbacks in each
constructor, so building clients was a third of the CPU of a publish (1,741 -> 1,194 Python
calls per publish with one client per channel), on the request path of every verification
start. The client is only a front for the channel's connection pool, which is unchanged, and
redis-py clients are safe to share between threads; the asynchronous client of the worker's
event loop is left alone.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis

_build_client = kombu_redis.Channel._create_client


def _create_client(self: kombu_redis.Channel, asynchronous: bool = False) -> Any:
    if asynchronous:
        return _build_client(self, asynchronous)
    # kombu replaces the pool after a fork or a failed connection check: a client of the old
    # pool must not outlive it.
    pool = self.pool
    cached = self.__dict__.get("_verify_client")
    if cached is None or cached[0] is not pool:
        cached = self.__dict__["_verify_client"] = (pool, _build_client(self, False))
    return cached[1]


def install() -> None:
    """Idempotent; called when the Celery app is created."""
    kombu_redis.Channel._create_client = _create_client
