"""Django's PostgreSQL backend, with a health check that asks the socket before the server.

With `CONN_HEALTH_CHECKS`, Django runs `SELECT 1` on a kept connection before the first
query of every request (and of every task: `verify_platform.celery`). On two cores shared
with PostgreSQL that round trip cost about a sixth of the web workers' samples under load,
and the database a statement's worth of CPU per request.

A connection the server closed (a restart, a crash, `pg_terminate_backend`,
`idle_session_timeout`, a pooler or proxy hanging up) always leaves something to read on
its socket: the server's FATAL message, or the end of the stream, which stays readable until
libpq reads it, and once libpq has read it the connection reports itself closed. So a
connection whose socket has nothing to read, polled without waiting, has not been closed by
the other end and passes without the round trip. Anything else (something to read, a
transaction status other than idle or in a transaction, an error while asking) is left to
Django's check, which reads it and replaces the connection if it fails, exactly as before;
inside an atomic block a failed check closes the connection and the transaction fails, it
never goes on over a new connection.

What this cannot see, Django's `SELECT 1` could not fix either: a peer that vanished without
a word (the host gone, no FIN or RST) makes `SELECT 1` wait on TCP just as the request's first
statement now does; if the host came back and answers with a reset, that first statement
fails instead of the check, the request ends as a 503 (`verify_platform.lib.api.exceptions`),
and the connection, marked by the error, is checked with a round trip and dropped when the
request ends (`close_if_unusable_or_obsolete`).
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg.pq import ConnStatus, TransactionStatus

# Idle, or inside a transaction waiting for its next statement: nothing is owed to either side,
# so anything readable came from the server on its own. Other states (a result not yet read,
# an aborted transaction, unknown) go to Django's check.
_SETTLED = frozenset({TransactionStatus.IDLE, TransactionStatus.INTRANS})
_READABLE = select.POLLIN | select.POLLPRI


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and socket_quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def socket_quiet(raw: Any) -> bool:
    """True when the psycopg connection `raw` is open, settled, and its socket has nothing to
    read right now (a poll that does not wait). False means "ask the server"."""
    try:
        pgconn = raw.pgconn  # libpq's state directly: `raw.info` builds an object per call
        if raw.broken or pgconn.status != ConnStatus.OK:
            return False
        if pgconn.transaction_status not in _SETTLED:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, _READABLE)
        return not poller.poll(0)
    except Exception:  # anything unexpected: Django's own check decides
        return False
