"""Database round trips per request, counted in this process with Django's test client.

On a machine where PostgreSQL and the app share two cores, each round trip costs a context
switch each way, so the count explains most of a scenario's cost relative to the baseline.
Counted with CaptureQueriesContext: statements issued through Django's cursors, including
BEGIN/SAVEPOINT/COMMIT; the connection health check (CONN_HEALTH_CHECKS, one `SELECT 1` per
request on a reused connection) is not among them.
"""

from __future__ import annotations

import warnings

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.loadgen import Request


def http_queries(request: Request, headers: dict[str, str], expect_status: int) -> dict:
    # Static files are gunicorn's business here, not this client's.
    warnings.filterwarnings("ignore", message="No directory at", module="django")
    client = Client(SERVER_NAME="127.0.0.1")
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    with CaptureQueriesContext(connection) as captured:
        response = client.generic(
            request.method,
            request.path,
            data=request.body,
            content_type=request.content_type,
            **meta,
        )
    if response.status_code != expect_status:
        raise RuntimeError(
            f"query count: {request.method} {request.path} answered {response.status_code}"
        )
    return _summary(captured)


def delivery_queries(attempt_sid: str) -> dict:
    from challenges.domain import delivery_attempt_send

    with CaptureQueriesContext(connection) as captured:
        outcome = delivery_attempt_send(attempt_sid=attempt_sid)
    if outcome != "sent":
        raise RuntimeError(f"query count: the delivery attempt was {outcome}")
    return _summary(captured)


def _summary(captured: CaptureQueriesContext) -> dict:
    statements = [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]
    control = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
    return {
        "queries": len(statements),
        "transaction_control": sum(1 for s in statements if s in control),
    }
