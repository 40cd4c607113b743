"""A channel adapter for tests that run a real worker in another process: each message is a
JSON file in the folder named by VERIFY_TEST_OUTBOX, which the test polls.

Scripted behaviour, also through files in that folder (one worker process, one send at a
time): `fail-<channel>-<n>` holding `temporary` or `permanent` makes the next send on that
channel raise; a `block` file makes a send announce itself (`started-<attempt_sid>`) and wait
until the file is removed, so a test can kill the worker in the middle of a send.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from channels.base import (
    BaseChannelAdapter,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)

BLOCK_LIMIT_SECONDS = 60


class FileOutboxAdapter(BaseChannelAdapter):
    name = "test-file"

    def send(self, message: OutboundMessage) -> SendResult:
        root = Path(os.environ["VERIFY_TEST_OUTBOX"])
        for script in sorted(root.glob(f"fail-{message.channel}-*")):
            try:
                kind = script.read_text().strip()
                script.unlink()
            except FileNotFoundError:
                continue
            error = ChannelPermanentError if kind == "permanent" else ChannelTemporaryError
            raise error(f"scripted {kind} failure", code="T-" + kind)
        block = root / "block"
        if block.exists():
            (root / f"started-{message.attempt_sid}").write_text(str(os.getpid()))
            deadline = time.monotonic() + BLOCK_LIMIT_SECONDS
            while block.exists() and time.monotonic() < deadline:
                time.sleep(0.05)  # a provider that hangs until the test lets it go
        body = {
            "channel": message.channel,
            "to": message.to,
            "code": message.code,
            "attempt_sid": message.attempt_sid,
            "locale": message.locale,
            "pid": os.getpid(),
        }
        name = f"msg-{message.attempt_sid}-{uuid.uuid4().hex}.json"
        tmp = root / f".{name}.tmp"
        tmp.write_text(json.dumps(body))
        tmp.rename(root / name)  # appears whole or not at all
        return SendResult(status=DeliveryStatus.SENT, provider_message_id="TM" + uuid.uuid4().hex)
