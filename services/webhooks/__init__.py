"""Webhooks: the tenant's endpoints and the signed, retried delivery of outbox events to them.

Modules: `events` (the event types), `conf` (settings), `signing`, `payload` (what is sent),
`domain` (webhook writes), `queries`, `dispatch` (event -> deliveries, after-commit enqueue),
`delivery` (claim, send, record, sweep, replay), `admin`, `api/`.
"""
