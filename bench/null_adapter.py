"""A channel adapter that accepts and drops every message (benchmarks only).

It can also note when it was called for some destinations, for `send_latency`: with the
`record_path` option set, a send to a number starting with `record_prefix` appends one line,
`<to> <CLOCK_MONOTONIC seconds>`, to that file. The harness stamps each verification start's
201 on the same machine-wide clock (`bench.loadgen.machine_clock`) and subtracts. Only that
scenario's numbers are noted, so the other worker scenarios measure the plain drop.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from channels.base import BaseChannelAdapter, DeliveryStatus, OutboundMessage, SendResult


class NullAdapter(BaseChannelAdapter):
    name = "null"
    option_names: ClassVar[frozenset[str]] = frozenset({"record_path", "record_prefix"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.record_path: str = options.get("record_path") or ""
        # An empty prefix would note every send and slow down worker_delivery: none then.
        self.record_prefix: str = options.get("record_prefix") or ""

    def send(self, message: OutboundMessage) -> SendResult:
        if self.record_path and self.record_prefix and message.to.startswith(self.record_prefix):
            self._record(message.to)
        return SendResult(status=DeliveryStatus.SENT, provider_message_id=message.attempt_sid)

    def _record(self, to: str) -> None:
        """One short line per call, written by one `write` on a file opened for appending:
        the worker's pool processes append to the same file and their lines do not mix."""
        line = f"{to} {time.clock_gettime(time.CLOCK_MONOTONIC):.6f}\n"
        with open(self.record_path, "a", encoding="ascii") as fh:
            fh.write(line)
