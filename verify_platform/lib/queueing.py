"""What a failed task enqueue means: rows that are their own outbox are left to a sweeper.

Kept apart from the Celery application module so that the apps' `enqueue` modules can use
it without importing the Celery app object (the domain layer must not depend on it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from kombu.exceptions import ChannelError, KombuError
from kombu.exceptions import ConnectionError as BrokerConnectionError
from redis.exceptions import RedisError

# What a publish raises when the broker cannot take the message: kombu's own errors
# (OperationalError, what a lost connection becomes in a publish, LimitExceeded...), the
# connection and channel errors kombu re-exports from py-amqp (a transport's channel errors
# are re-raised as ChannelError), a Redis client error that escapes kombu's wrapping, and
# socket errors.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    KombuError,
    BrokerConnectionError,
    ChannelError,
    RedisError,
    OSError,
)


@contextmanager
def left_to_sweeper(log: logging.Logger, what: str, *args: object) -> Iterator[None]:
    """Around the after-commit enqueue of rows that are their own outbox: a failed publish
    loses nothing (a sweeper queues the rows again), so it never fails the request that
    committed them (a 500 would make the client start over). A broker outage is a warning;
    anything else is a defect, logged as an error with its traceback."""
    try:
        yield
    except BROKER_ERRORS:
        log.warning(f"could not queue {what}; left to the sweeper", *args)
    except Exception:
        log.exception(f"queueing {what} failed; left to the sweeper", *args)
