"""Webhooks: the tenant's endpoints and the signed, retried delivery of outbox events to them.

Modules: `events` (the event types), `conf` (settings), `signing`, `payload` (what is sent),
`domain` (webhook writes), `queries`, `dispatch` (event -> deliveries, after-commit enqueue),
`delivery` (claim, send, record, sweep, replay), `destinations` (which addresses may be
called), `transport` (the HTTP session that connects only to those), `admin`, `api/`.
"""
