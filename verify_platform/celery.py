"""The Celery application: configuration from Django settings (`CELERY_*`)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from celery import Celery, Task, signals
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from kombu.exceptions import KombuError, LimitExceeded
from kombu.utils.uuid import uuid
from redis.exceptions import RedisError

from verify_platform.lib import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verify_platform.settings")
broker.install()


class VerifyCelery(Celery):
    """Celery reading the `CELERY_*` Django settings from a plain dict.

    `config_from_object("django.conf:settings")` leaves Celery a live view of Django's
    LazySettings: every `app.conf.x` lookup probes it under up to four spellings of the name
    (`CELERY_X`, `x` and the old-style names), each probe a LazySettings attribute lookup,
    most of them misses. A task publish made seven such lookups, a third of its CPU. Reading
    the settings once, when Celery loads its configuration (the first `app.conf` access, as
    before), into a dict makes each probe a dict lookup; names, precedence and defaults are
    Celery's own, unchanged.

    Changing Celery's configuration at run time: `app.conf.x = ...` / `app.conf.update()`
    (Celery's own API, taking precedence over settings), or in tests Django's
    `override_settings` / pytest-django's `settings` fixture, which `_setting_changed`
    applies to the dict. What Celery builds once per process (the broker pool, the queues,
    the task sender's retry policy) is not rebuilt by either, as it never was."""

    django_settings: dict[str, Any] | None = None

    def prepare_config(self, c: Any) -> dict[str, Any]:
        c = super().prepare_config(c)  # Celery's deprecated-setting warnings
        prefix = f"{self.namespace}_" if self.namespace else ""
        self.django_settings = {key: c[key] for key in c if key.startswith(prefix)}
        return self.django_settings


app = VerifyCelery("verify_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("verify_platform.celery")


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Keep the dict in step with `override_settings` (sent on enter and on exit, after the
    settings are restored): a setting the override added and took away again is dropped,
    so Celery's default applies once more."""
    snapshot = app.django_settings
    if setting.startswith("CELERY_"):
        _envelopes.clear()  # built from the configuration before the change
    if snapshot is None or not app.namespace or not setting.startswith(f"{app.namespace}_"):
        return
    try:
        snapshot[setting] = getattr(settings, setting)
    except AttributeError:
        snapshot.pop(setting, None)


# Transports where a message for a direct queue goes to the list (Redis) or folder
# (filesystem) named after the queue whether or not the queue was ever declared.
_DECLARE_FREE_TRANSPORTS = frozenset({"redis", "filesystem"})
_declare_free: bool | None = None  # known at the first publish


# What `publish` queues: ids, as short strings, or a short list of integer ids.
Ids = str | list[int]


def publish_options(*ids: Ids) -> dict[str, Any]:
    """`apply_async` options for a task whose arguments are ids (`Ids`): they spare each
    publish two pieces of work whose outcome is known, and leave the message Celery's own
    (tests/lib/test_publish.py compares the two field by field).

    - `argsrepr`/`kwargsrepr`: Celery writes `saferepr` of the arguments into the message
      headers (for logs and monitoring); `repr` of short strings, or of a short list of
      integers, is the same text, without saferepr's recursive walk.
    - `declare=[]` where the broker's transport makes a declaration moot (Redis,
      filesystem): Celery declares the destination queue before every publish, and although
      kombu remembers a declaration per connection, it binds a copy of the queue and wraps
      the check in a retry handler each time to find that out. On those transports Celery
      sends a message for a direct queue through the default (nameless) exchange, which puts
      it into the queue's own list or folder by name; what a declaration adds (a binding of
      the queue to its named exchange) is read only by publishes to that exchange. The queues
      are declared anyway by every worker when it starts and by `producer_warm`. On other
      transports (AMQP drops a message for a queue that does not exist) Celery's default
      stays.
    """
    global _declare_free
    if _declare_free is None:
        with app.connection_for_write() as connection:  # builds the transport; no connect
            _declare_free = connection.transport.driver_type in _DECLARE_FREE_TRANSPORTS
    return {
        "argsrepr": repr(list(ids)),
        "kwargsrepr": "{}",
        "declare": [] if _declare_free else None,  # a new list: kombu may append to it
    }


class _KeptProducer:
    """One producer of Celery's pool that the process keeps for `publish`, instead of taking
    one from the pool and giving it back around every publish: kombu's pool revives a
    producer on each acquire (a new channel promise and a bound copy of its exchange) and
    passes through two locked queues, a fifth of a publish's Python work.

    Only one thread publishes through it at a time; another thread meanwhile, or a process
    whose pool is exhausted, publishes through the pool as before (the lock is never waited
    for). A publish that raises gives the producer back to the pool, which revives it on its
    next use exactly as after any failed publish; connection errors within a publish are
    retried by kombu on the producer itself (task_publish_retry), pooled or kept. A forked
    child starts without one: Celery gives a child its own pool."""

    def __init__(self) -> None:
        self._forget()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._producer: Any = None

    @contextmanager
    def __call__(self) -> Iterator[Any]:
        if not self._lock.acquire(blocking=False):
            yield None  # None: Celery acquires from its pool
            return
        try:
            if self._producer is None:
                self._producer = self._acquire()
            producer = self._producer
            try:
                yield producer
            except BaseException:
                if producer is not None:
                    self._producer = None
                    producer.release()
                raise
        finally:
            self._lock.release()

    @staticmethod
    def _acquire() -> Any:
        try:
            return app.producer_pool.acquire(block=False)
        except LimitExceeded:  # every pooled producer is in use: publish through the pool
            return None


_kept_producer = _KeptProducer()

# What a publish raises when the broker cannot take the message: kombu's connection and
# channel errors (OperationalError, ChannelError...), a Redis client error that escapes
# kombu's wrapping, and socket errors.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuError, RedisError, OSError)


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


class _Recorder:
    """A producer for one `apply_async`: passes everything to the real one and keeps what
    Celery handed to `publish` (the body and the publish arguments), for `_Envelope`."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.recorded: tuple[Any, dict[str, Any]] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)

    def publish(self, body: Any, **kwargs: Any) -> Any:
        # Copies of what kombu may change in place (it appends its exchange to `declare` and
        # may add a compression header): the envelope keeps what Celery handed over.
        declare = kwargs.get("declare")
        self.recorded = (
            body,
            {
                **kwargs,
                "headers": dict(kwargs["headers"]),
                "declare": None if declare is None else list(declare),
            },
        )
        return self._producer.publish(body, **kwargs)


class _Envelope:
    """What Celery's `send_task` works out for a task's message (its route, exchange,
    serializer, retry policy, delivery mode and every header but the per-message ones), kept
    from one real `apply_async` so later publishes of the task only fill in the task id and
    the arguments: Celery spends most of a publish's CPU working the same answer out again.

    Only for the messages whose every other field is the same each time: no ETA, no parent
    task (a publish from inside a task carries its ids), no publish signal receivers, no
    sent events, not eager, no task routes (all checked on every publish). `publish` takes
    Celery's own path for anything else; after a change to a CELERY_ setting
    (`override_settings`, the settings fixture) the envelopes are recorded again."""

    def __init__(self, embed: Any, kwargs: dict[str, Any]) -> None:
        self.embed, self.kwargs = embed, kwargs

    @classmethod
    def kept(
        cls, recorded: tuple[Any, dict[str, Any]], task_id: str, argsrepr: str
    ) -> _Envelope | None:
        """The envelope of a recorded publish, or None when the message is not of the shape
        `publish` fills in (then every publish of the task takes Celery's path)."""
        (_args, task_kwargs, embed), kwargs = recorded
        headers = kwargs["headers"]
        ids = (headers.get("id"), headers.get("root_id"), kwargs.get("correlation_id"))
        if ids != (task_id,) * 3 or task_kwargs != {} or headers.get("argsrepr") != argsrepr:
            return None
        return cls(embed, kwargs)

    def publish(self, producer: Any, ids: tuple[Ids, ...]) -> None:
        task_id, argsrepr = uuid(), repr(list(ids))
        kwargs = self.kwargs
        producer.publish(
            (list(ids), {}, self.embed),
            **{
                **kwargs,
                "headers": {
                    **kwargs["headers"],
                    "id": task_id,
                    "root_id": task_id,
                    "argsrepr": argsrepr,
                },
                "correlation_id": task_id,
                "reply_to": app.thread_oid,
                "argsrepr": argsrepr,
                "declare": None if kwargs["declare"] is None else list(kwargs["declare"]),
                "retry_policy": dict(kwargs["retry_policy"]),
            },
        )


# By task name; a forked child records its own (the origin header names the process).
_envelopes: dict[str, _Envelope] = {}
os.register_at_fork(after_in_child=_envelopes.clear)


def _envelope_applies(eta: datetime | None) -> bool:
    return (
        eta is None
        and not app.conf.task_always_eager
        and not app.conf.task_send_sent_event
        and not app.conf.task_routes  # a router may route by the arguments
        and app.current_worker_task is None
        and not signals.before_task_publish.receivers
        and not signals.after_task_publish.receivers
    )


def publish(task: Task, *ids: Ids, eta: datetime | None = None) -> None:
    """Queue `task(*ids)` as `task.apply_async(args=[*ids], eta=eta)` does, for a fraction of
    its CPU (a publish sits on the request path of every verification start): Celery's own
    message (tests/lib/test_publish.py), with the options of `publish_options` and the kept
    producer; after the first, through the task's `_Envelope` where it applies. Raises what
    apply_async raises."""
    applies = _envelope_applies(eta)
    envelope = _envelopes.get(task.name) if applies else None
    with _kept_producer() as kept:
        if envelope is not None:
            with (
                app.producer_or_acquire(kept) as producer,
                producer.connection._reraise_as_library_errors(),  # as send_task does
            ):
                envelope.publish(producer, ids)
            return
        if not applies:
            task.apply_async(args=list(ids), eta=eta, producer=kept, **publish_options(*ids))
            return
        with app.producer_or_acquire(kept) as producer:
            recorder, task_id = _Recorder(producer), uuid()
            options = publish_options(*ids)
            task.apply_async(args=list(ids), task_id=task_id, producer=recorder, **options)
        envelope = recorder.recorded and _Envelope.kept(
            recorder.recorded, task_id, options["argsrepr"]
        )
        if envelope is not None:
            _envelopes[task.name] = envelope


def producer_warm() -> bool:
    """Do, before a web process serves its first request, what its first task publish
    would otherwise do inside that request: load the task modules and the result backend
    (an entry-point scan), build the task sender, open the broker connection and its
    channel (on the producer `publish` keeps), and declare the task queues. Measured at
    0.1-0.25 s on a busy 2-core machine, which otherwise lands on one request per process as
    a latency outlier.

    Publishes nothing. A broker that cannot be reached is only logged: the first request
    then connects as it always did (and a failed publish falls back to the sweeper)."""
    from kombu.common import maybe_declare

    try:
        app.loader.import_default_modules()
        for task in app.tasks.values():
            if not task.name.startswith("celery."):
                task._get_exec_options()
        app.backend  # noqa: B018 (resolved once per process, on first use)
        app.amqp.send_task_message  # noqa: B018 (built once per process, on first use)
        publish_options()
        with _kept_producer() as kept, app.producer_or_acquire(kept) as producer:
            for queue in app.amqp.queues.values():
                maybe_declare(queue, producer.channel, retry=False)
            ensure_client = getattr(producer.channel, "conn_or_acquire", None)
            if ensure_client is not None:  # the Redis transport: open a pooled connection
                with ensure_client() as client:
                    client.ping()
    except Exception as exc:  # a warm-up never stops a process from serving
        logger.warning("could not warm the task producer: %s", type(exc).__name__)
        return False
    return True


@signals.task_postrun.connect
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """What Django does around every request, around every task: drop a connection that
    broke or outlived CONN_MAX_AGE. Celery's own fixup closes every connection around every
    task unless CELERY_DB_REUSE_MAX is set, and then checks nothing until its count runs out;
    with it set, this keeps one connection per worker process (no connect per task) without
    keeping a broken one. Not for a task applied eagerly: it runs inside its caller's
    connection and perhaps its transaction."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@signals.task_prerun.connect
def _before_task(sender: Any = None, **kwargs: Any) -> None:
    """`_close_old_connections` before each task too: a connection that outlived
    CONN_MAX_AGE while the worker waited is dropped before the task uses it. The health
    check of a kept one runs at its first query, without a round trip when its socket shows
    it is fine (the database backend, `verify_platform.lib.db.base`)."""
    _close_old_connections(sender)
