"""The rows that authenticate API requests, kept in each web process.

Every /v2 request authenticates, and reading the account or API key row was a quarter of
a TOTP challenge's cost: a round trip that costs our CPU, PostgreSQL's CPU and two context
switches, for rows that change a few times a year. So each process keeps what
authentication needs (the stored digest, and the account's plain fields) by SID, and only
while it can be told when a row changes:

- Every change that can affect authentication (token rotation, account status, API key
  create/revoke/delete, any save or delete of either model) calls `auth_rows_changed`,
  which drops the entry in this process at once and again after commit, and after commit
  publishes the SIDs on a Redis channel (`VERIFY_AUTH_CACHE_CHANNEL`).
- Each process subscribes to that channel (its own connection, opened after the fork) and,
  before it trusts an entry on a request, reads whatever invalidations have arrived without
  waiting: one `poll()` of the socket when nothing has.
- While the subscription is not established, or after it failed, went quiet (an unanswered
  PING) or reconnected on its own, the cache is emptied and not used: every request reads
  the database until a new subscription is confirmed. Reconnection is tried at most once per
  back-off interval (1 s doubling to 30 s), by one thread, never per request.
- Every entry also expires `VERIFY_AUTH_CACHE_SECONDS` after the read that produced it
  (default 60; 0 switches the cache off), which bounds the damage of a lost message, e.g.
  when the process that made a change could not reach Redis after its commit.
- Only rows that can authenticate are kept (an active account; an active key of an active
  account). Unknown SIDs and failures are never remembered, and a presented secret that
  does not match the entry is checked against the database again, so a failure costs what
  it did before (the same read, the same constant-time comparison) and a token rotated a
  moment ago is accepted at once.

A read that started before an invalidation is never stored after it: the cache keeps a
generation number, bumped by every invalidation, that a miss must still see when it stores
what it read.

Without REDIS_URL (`make run`) there is nothing to subscribe to and the cache is off.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from services.models import Account

logger = logging.getLogger("verify_platform.auth")

RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
# A PING goes out on the subscription at most this often (a write, nobody waits for it);
# if its answer has not arrived this long after, the connection is treated as dead: a
# partition that closes no socket is found within about twice this.
PING_SECONDS = 5.0
# Bounds memory. Only authenticating rows are stored, so this is the number of active
# credentials one process serves within a TTL.
MAX_ENTRIES = 10_000
# Messages read per drain; more than that pending empties the cache instead.
DRAIN_LIMIT = 1_000

_PING_PAYLOAD = b"verify-auth-cache"
# The instance a cached request gets has no secret fields: views pass the account to
# queries (its pk) and nothing on the request path reads the digest or the encrypted token;
# reading one anyway costs a query (deferred field), never a stale value.
_SECRET_FIELDS = frozenset({"auth_token_digest", "auth_token_encrypted"})


@functools.cache
def _account_fields() -> tuple[str, ...]:
    return tuple(
        f.attname for f in Account._meta.concrete_fields if f.attname not in _SECRET_FIELDS
    )


@dataclass(frozen=True, slots=True)
class Entry:
    digest: str
    account_sid: str
    account_values: tuple
    expires_at: float

    def account(self) -> Account:
        """A new instance per request: nothing a request does to it reaches another one."""
        return Account.from_db("default", _account_fields(), self.account_values)


@dataclass(frozen=True, slots=True)
class Ticket:
    """What `begin` hands a request: the generation its misses may store under, and when."""

    generation: int
    now: float


class SubscriptionLost(Exception):
    pass


class AuthCache:
    """One process's entries and its subscription. Thread-safe; never shared across a fork
    (`current()` builds a new one in each process)."""

    def __init__(
        self,
        *,
        url: str,
        channel: str,
        ttl: float,
        timeout: float = 1.0,
        ping_seconds: float = PING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.channel, self.ttl, self.timeout = url, channel, ttl, timeout
        self.ping_seconds, self.clock = ping_seconds, clock
        # Shown in CLIENT LIST, so an operator (or a test) can find the subscription.
        self.client_name = f"verify-auth-cache-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.connect_attempts = 0
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._pubsub: redis.client.PubSub | None = None
        self._poller: select.poll | None = None
        self._connecting = False
        self._reconnected = False
        # Set after a read that may have left messages in redis-py's buffer, where a poll()
        # of the socket cannot see them.
        self._maybe_buffered = False
        self._retry_at = float("-inf")
        self._retry_delay = RECONNECT_FIRST_SECONDS
        self._ping_sent_at: float | None = None
        self._pinged_at = float("-inf")

    # --- the request path -------------------------------------------------------------

    def begin(self) -> Ticket | None:
        """Apply the invalidations that have arrived. None when the cache must not be used
        now (no confirmed subscription): the caller reads the database and stores nothing."""
        if self._pubsub is None:
            self._connect_if_due()
        with self._lock:
            if self._pubsub is None:
                return None
            now = self.clock()
            try:
                self._drain(now)
            except (RedisError, OSError, SubscriptionLost) as exc:
                self._lose(exc, now)
                return None
            return Ticket(self._generation, now)

    def get(self, sid: str, ticket: Ticket) -> Entry | None:
        entry = self._entries.get(sid)
        if entry is None or entry.expires_at <= ticket.now:
            return None
        return entry

    def store(self, ticket: Ticket, sid: str, *, digest: str, account: Account) -> None:
        """Remember a row read after `ticket` was issued, unless anything was invalidated
        since (the read may predate that change)."""
        values = tuple(getattr(account, name) for name in _account_fields())
        with self._lock:
            if ticket.generation != self._generation or self._pubsub is None:
                return
            if len(self._entries) >= MAX_ENTRIES and sid not in self._entries:
                now = self.clock()
                for key in [k for k, e in self._entries.items() if e.expires_at <= now]:
                    del self._entries[key]
                if len(self._entries) >= MAX_ENTRIES:
                    return
            self._entries[sid] = Entry(digest, account.pk, values, ticket.now + self.ttl)

    # --- invalidation ------------------------------------------------------------------

    def invalidate(self, sids: Iterable[str]) -> None:
        """Drop these SIDs, and every entry that authenticates as one of them (an account's
        API keys)."""
        with self._lock:
            self._drop(set(sids))

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def close(self) -> None:
        with self._lock:
            self._teardown()

    def _drop(self, sids: set[str]) -> None:
        self._generation += 1
        for sid in sids:
            self._entries.pop(sid, None)
        for key in [k for k, e in self._entries.items() if e.account_sid in sids]:
            del self._entries[key]

    # --- the subscription --------------------------------------------------------------

    def sync(self, timeout: float | None = None) -> bool:
        """Apply every invalidation published before this call, waiting for it: the server
        answers a PING on the subscription only after the messages queued before it. False
        (and the cache off) when the subscription is down or does not answer in time. The
        process's requests wait meanwhile: for tests and tools, never the request path."""
        timeout = self.timeout if timeout is None else timeout
        payload = f"sync-{uuid.uuid4().hex}".encode()
        with self._lock:
            if self._pubsub is None:
                return False
            try:
                self._pubsub.ping(payload)
                deadline = time.monotonic() + timeout
                sids: set[str] = set()
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise SubscriptionLost("no answer to the sync PING")
                    message = self._pubsub.get_message(timeout=left)
                    if message is not None and self._handle(message, sids) == payload:
                        break
                self._maybe_buffered = True
                if sids:
                    self._drop(sids)
            except (RedisError, OSError, SubscriptionLost) as exc:
                self._lose(exc, self.clock())
                return False
        return True

    def _handle(self, message: dict, sids: set[str]) -> bytes | None:
        """Collect the SIDs of an invalidation; the payload of a PING's answer."""
        kind, data = message["type"], message["data"]
        if kind == "message":
            sids.update((data.decode() if isinstance(data, bytes) else data).split())
        elif kind == "pong":
            if data == _PING_PAYLOAD:
                self._ping_sent_at = None
            return data
        elif kind != "subscribe":
            raise SubscriptionLost(f"unexpected {kind} on the subscription")
        return None

    def _drain(self, now: float) -> None:
        if self._reconnected:
            # redis-py reconnected and resubscribed by itself: messages sent in between
            # are lost.
            raise SubscriptionLost("the subscription reconnected")
        # After a full drain redis-py's buffer is empty, so an unreadable socket means no
        # message: a poll() instead of a trip through redis-py's read machinery.
        if self._poller is None or self._maybe_buffered or self._poller.poll(0):
            sids: set[str] = set()
            for _ in range(DRAIN_LIMIT):
                message = self._pubsub.get_message(timeout=0.0)
                if message is None:
                    self._maybe_buffered = False
                    break
                self._handle(message, sids)
            else:
                raise SubscriptionLost("too many invalidations pending")
            if sids:
                self._drop(sids)
        if not self.ping_seconds:
            return
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at > self.ping_seconds:
                raise SubscriptionLost("no answer to PING")
        elif now - self._pinged_at >= self.ping_seconds:
            self._pubsub.ping(_PING_PAYLOAD)
            self._ping_sent_at = self._pinged_at = now

    def _lose(self, exc: BaseException, now: float) -> None:
        logger.warning(
            "auth cache off, reading the database until resubscribed: %s %s",
            type(exc).__name__,
            exc,
        )
        self._teardown()
        self._retry_at = now + self._retry_delay

    def _teardown(self) -> None:
        self._generation += 1
        self._entries.clear()
        pubsub, self._pubsub, self._poller = self._pubsub, None, None
        self._reconnected = False
        self._ping_sent_at = None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                pubsub.close()

    def _connect_if_due(self) -> None:
        with self._lock:
            now = self.clock()
            if self._pubsub is not None or self._connecting or now < self._retry_at:
                return
            self._connecting = True
            self.connect_attempts += 1
        try:
            pubsub, poller = self._subscribe()
        except (RedisError, OSError, SubscriptionLost) as exc:
            with self._lock:
                self._connecting = False
                self._retry_at = self.clock() + self._retry_delay
                self._retry_delay = min(self._retry_delay * 2, RECONNECT_MAX_SECONDS)
            logger.warning("auth cache cannot subscribe: %s %s", type(exc).__name__, exc)
            return
        with self._lock:
            self._connecting = False
            # Whatever was stored before could have missed a message: start empty.
            self._teardown()
            self._pubsub, self._poller = pubsub, poller
            self._maybe_buffered = True
            self._retry_delay = RECONNECT_FIRST_SECONDS
            self._pinged_at = self.clock()
        logger.info("auth cache subscribed to %s", self.channel)

    def _subscribe(self) -> tuple[redis.client.PubSub, select.poll | None]:
        """A confirmed subscription. The PubSub keeps its client (and so its connection
        pool) alive: a collected client disconnects every connection of its pool."""
        # No retries: a failure must reach us (and switch the cache off), not be hidden by
        # a reconnect that lost the messages sent meanwhile.
        client = redis.Redis.from_url(
            self.url,
            socket_connect_timeout=self.timeout,
            socket_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=self.client_name,
        )
        pubsub = client.pubsub()
        pubsub.verify_client = client
        try:
            pubsub.subscribe(self.channel)
            # Confirmed by the server before anything is trusted: from here on every
            # invalidation published reaches this connection.
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                message = pubsub.get_message(timeout=left) if left > 0 else None
                if message is None:
                    raise SubscriptionLost("the subscription was not confirmed in time")
                if message["type"] == "subscribe":
                    break
        except BaseException:
            pubsub.close()
            raise
        connection = pubsub.connection
        connection.register_connect_callback(self._on_reconnect)
        sock = getattr(connection, "_sock", None)
        poller = None
        if sock is not None and hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
        return pubsub, poller

    def _on_reconnect(self, connection) -> None:
        self._reconnected = True


# --- the process's cache ------------------------------------------------------------------

_UNRESOLVED = object()
_current: AuthCache | object | None = _UNRESOLVED
_current_lock = threading.Lock()
_publisher: redis.Redis | None = None


def current() -> AuthCache | None:
    """This process's cache, or None when it is switched off (no REDIS_URL, or
    VERIFY_AUTH_CACHE_SECONDS is 0)."""
    global _current
    cache = _current
    if cache is not _UNRESOLVED:
        return cache
    with _current_lock:
        if _current is _UNRESOLVED:
            ttl = settings.VERIFY_AUTH_CACHE_SECONDS
            url = settings.REDIS_URL
            _current = (
                AuthCache(
                    url=url,
                    channel=settings.VERIFY_AUTH_CACHE_CHANNEL,
                    ttl=ttl,
                    timeout=settings.VERIFY_AUTH_CACHE_REDIS_TIMEOUT,
                )
                if url and ttl > 0
                else None
            )
        return _current


def warm() -> bool:
    """Subscribe now, before this process serves a request (gunicorn's `post_worker_init`),
    so its first requests need not wait for the subscription to be confirmed. True when the
    cache is on and subscribed; a Redis that cannot be reached is only logged, and the
    first requests then try again at the usual back-off."""
    cache = current()
    return cache is not None and cache.begin() is not None


def _forget() -> None:
    """Drop the cache and the publisher without closing what they hold: after a fork the
    sockets belong to the parent too (redis-py only closes, never shuts down, another
    process's connection)."""
    global _current, _publisher, _current_lock
    _current, _publisher, _current_lock = _UNRESOLVED, None, threading.Lock()


def _reset() -> None:
    global _current
    with _current_lock:
        cache, _current = _current, _UNRESOLVED
    if isinstance(cache, AuthCache):
        cache.close()
    _forget()


os.register_at_fork(after_in_child=_forget)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting == "REDIS_URL" or setting.startswith("VERIFY_AUTH_CACHE_"):
        _reset()


# --- invalidation -------------------------------------------------------------------------


def auth_rows_changed(*sids: str, using: str = "default") -> None:
    """Call where an account or API key is written. This process forgets the SIDs now and
    again after commit (another thread may have read the old row meanwhile); every process
    is told after commit, when the new row is what a read returns."""
    if not sids:
        return
    cache = current()
    if cache is not None:
        cache.invalidate(sids)
    transaction.on_commit(functools.partial(_committed, sids), using=using, robust=True)


def _committed(sids: tuple[str, ...]) -> None:
    cache = current()
    if cache is not None:
        cache.invalidate(sids)
    publish(sids)


def publish(sids: Iterable[str]) -> int | None:
    """Tell every subscribed process; the number of subscriptions reached, None on failure
    (each entry then lives out its VERIFY_AUTH_CACHE_SECONDS)."""
    global _publisher
    url = settings.REDIS_URL
    if not url:
        return None
    sids = list(sids)
    if _publisher is None:
        _publisher = redis.Redis.from_url(
            url,
            socket_connect_timeout=settings.VERIFY_AUTH_CACHE_REDIS_TIMEOUT,
            socket_timeout=settings.VERIFY_AUTH_CACHE_REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
    try:
        return _publisher.publish(settings.VERIFY_AUTH_CACHE_CHANNEL, " ".join(sids))
    except (RedisError, OSError) as exc:
        logger.warning(
            "auth cache invalidation not published (entries expire within %ss) sids=%s: %s",
            settings.VERIFY_AUTH_CACHE_SECONDS,
            ",".join(sids),
            type(exc).__name__,
        )
        return None
