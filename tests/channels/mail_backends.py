"""An email backend that fails on demand, for the email adapter's error mapping."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

failure: BaseException | None = None
sent_count: int | None = None  # what send_messages answers when it does not fail
connections: list[dict] = []


class ScriptedBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(fail_silently=fail_silently)
        connections.append(kwargs)

    def send_messages(self, email_messages) -> int:
        if failure is not None:
            raise failure
        return len(email_messages) if sent_count is None else sent_count
