"""Database round trips and CPU per request, measured in this process with Django's test
client.

On a machine where PostgreSQL and the app share two cores, each round trip costs a context
switch each way, so the count explains much of a scenario's cost relative to the baseline.
Counted from `connection.queries` with DEBUG on for the one counted request and
`reset_queries()` before it, the way Django's documentation shows the SQL a request runs:
statements issued through Django's cursors, and since Django 4.2 its BEGIN, COMMIT and
ROLLBACK too (each a round trip with psycopg). `connection.execute_wrapper` would see the
statements but not those three. The connection health check (CONN_HEALTH_CHECKS, one
`SELECT 1` per request on a reused connection) is not among them.

The CPU time of the app per request (this process's CPU over `count` requests, no HTTP
server, no load generator) is the steadiest figure on a shared machine: wall-clock rates move
with whatever else runs, CPU seconds of the request's own Python much less. It is what the
speed work changes; the HTTP figures say what a client sees. PostgreSQL's share is measured
beside it (`db_cpu_ms`: the CPU of this connection's server process, read from /proc, since
the throwaway cluster runs on this machine): on two shared cores both halves count.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

from django.db import connection, reset_queries
from django.test import Client, override_settings

from bench.loadgen import Request


def http_queries(
    make: Callable[[int], Request], headers: dict[str, str], expect_status: int, *, count: int
) -> dict:
    """Statements of request 1, then CPU and wall time per request over requests 2..count+1
    (the scenario has provisioned count + 2 requests' worth of data). Request 0 only warms
    the process: its statements would count the authentication cache's first fill, which
    a serving process does once, so a scenario measured first showed one statement more
    than the same scenario measured after another."""
    # Static files are gunicorn's business here, not this client's.
    warnings.filterwarnings("ignore", message="No directory at", module="django")
    client = Client(SERVER_NAME="127.0.0.1")
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}

    def send(i: int) -> None:
        request = make(i)
        response = client.generic(
            request.method,
            request.path,
            data=request.body,
            content_type=request.content_type,
            **meta,
        )
        if response.status_code != expect_status:
            raise RuntimeError(
                f"in process: {request.method} {request.path} answered {response.status_code}"
            )

    send(0)
    _clock_measured()
    summary = _counted(lambda: send(1))
    if count:
        server = _server_cpu_reader()
        wall, cpu, db_cpu = time.perf_counter(), time.process_time(), server()
        for i in range(2, count + 2):
            send(i)
        summary["cpu_ms"] = round((time.process_time() - cpu) * 1000 / count, 2)
        if db_cpu is not None:
            summary["db_cpu_ms"] = round((server() - db_cpu) * 1000 / count, 2)
        summary["wall_ms"] = round((time.perf_counter() - wall) * 1000 / count, 2)
        summary["requests"] = count
    return summary


def delivery_queries(attempt_sid: str) -> dict:
    from challenges.domain import delivery_attempt_send

    _clock_measured()
    outcomes: list[str] = []
    summary = _counted(lambda: outcomes.append(delivery_attempt_send(attempt_sid=attempt_sid)))
    if outcomes != ["sent"]:
        raise RuntimeError(f"query count: the delivery attempt was {outcomes}")
    return summary


def _server_cpu_reader() -> Callable[[], float | None]:
    """CPU seconds so far of the PostgreSQL process serving this connection, or None when its
    /proc entry cannot be read (a server on another host)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    path = f"/proc/{pid}/stat"
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            with open(path) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return read


def _clock_measured() -> None:
    """The clock measures its offset to the database once a minute; do it now rather than
    inside the request being counted."""
    from verify_platform.lib import clock

    clock.forget_offset()
    clock.current_time()


def _counted(run: Callable[[], None]) -> dict:
    """The statements `run` issues on the default connection. DEBUG is on only around it:
    the requests whose CPU is timed run without the query log."""
    with override_settings(DEBUG=True):
        reset_queries()
        run()
        queries = list(connection.queries)
    statements = [q["sql"].split(None, 1)[0].upper() for q in queries]
    control = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    return {
        "queries": len(statements),
        "transaction_control": sum(1 for s in statements if s in control),
    }
