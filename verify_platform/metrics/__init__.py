"""Prometheus exposition: the API's `/metrics` view and its access rule (`views`), the
collectors that read shared state at scrape time (`collectors`), and the Celery worker's own
endpoint with its task metrics (`worker`). The metrics themselves, and the helpers the domain
records through, are `verify_platform.lib.metrics`."""
