"""A task that does nothing: the reference for the worker's delivery throughput. Registered
only under bench.settings (CELERY_IMPORTS), never in production."""

from celery import shared_task


@shared_task(name="bench.noop")
def noop_task() -> None:
    return None
