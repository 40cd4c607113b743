"""An open-loop HTTP/1.1 load generator for latency at a fixed request rate.

wrk measures saturation; this measures latency at a chosen rate without coordinated omission:
request i is due at start + i/rate and its latency is counted from that moment, so a slow
server that delays later requests is charged for the wait. Keep-alive connections from a
fixed pool; bounded by both a request count and a deadline. Request i is `make(i)`, built
when it is due (scenarios whose requests depend on the time, such as TOTP codes).

With `record_answers`, the status and the moment each answer was read are kept per request
index, on CLOCK_MONOTONIC: on Linux that clock is one for the whole machine, so another
process (the Celery worker's channel adapter) can stamp a later event on the same scale.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/x-www-form-urlencoded"


@dataclass
class Outcome:
    latencies_ms: list[float]
    statuses: dict[int, int]
    errors: int
    sent: int
    unexpected_bodies: int
    elapsed_s: float
    # Request index -> (status, CLOCK_MONOTONIC seconds when its answer was read); filled
    # only with `record_answers`.
    answers: dict[int, tuple[int, float]] = field(default_factory=dict)


def machine_clock() -> float:
    """CLOCK_MONOTONIC in seconds: unlike `time.monotonic()`, whose reference point Python
    leaves undefined, this clock is shared by every process of the machine, so times taken
    in the harness and in a worker can be subtracted."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, req: Request, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if req.body or req.method == "POST":
            lines += [f"Content-Type: {req.content_type}", f"Content-Length: {len(req.body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + req.body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.writer.close()
            self.writer = None
        return status, body


async def _run(
    host: str,
    port: int,
    make: Callable[[int], Request],
    headers: dict[str, str],
    rate: float,
    duration_s: float,
    connections: int,
    expect_body: bytes | None,
    count: int | None,
    record_answers: bool,
) -> Outcome:
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(host, port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    answers: dict[int, tuple[int, float]] = {}
    errors = unexpected = 0
    total = count if count is not None else max(1, int(rate * duration_s))

    async def one(i: int, req: Request, due: float) -> None:
        nonlocal errors, unexpected
        conn = await pool.get()
        try:
            status, body = await asyncio.wait_for(conn.request(req, headers), timeout=10)
            if record_answers:
                answers[i] = (status, machine_clock())
            statuses[status] = statuses.get(status, 0) + 1
            if expect_body is not None and expect_body not in body:
                unexpected += 1
            latencies.append((time.perf_counter() - due) * 1000)
        except (TimeoutError, OSError, ConnectionError, ValueError, IndexError):
            errors += 1
            conn.writer = None
        finally:
            pool.put_nowait(conn)

    start = time.perf_counter()
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the open loop, not synchronising a test
        tasks.append(asyncio.create_task(one(i, make(i), due)))
    await asyncio.wait(tasks, timeout=duration_s + 15)
    elapsed = time.perf_counter() - start
    return Outcome(latencies, statuses, errors, total, unexpected, elapsed, answers)


def run_at_rate(
    host: str,
    port: int,
    make: Callable[[int], Request],
    *,
    headers: dict[str, str],
    rate: float,
    duration_s: float,
    connections: int = 32,
    expect_body: bytes | None = None,
    count: int | None = None,
    record_answers: bool = False,
) -> Outcome:
    """Requests at `rate` per second for `duration_s`, or exactly `count` of them at that
    rate when given (a float product would sometimes leave one out)."""
    # The client's own pauses must not be charged to the server: a full collection of this
    # process's heap (Django, seeded fixtures, code tables) stops the event loop for
    # milliseconds, and in an open loop every request due meanwhile counts the stall as
    # latency. The run is bounded in time, so what it allocates is collected afterwards.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return asyncio.run(
            _run(
                host,
                port,
                make,
                headers,
                rate,
                duration_s,
                connections,
                expect_body,
                count,
                record_answers,
            )
        )
    finally:
        gc.enable()
        gc.unfreeze()


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]
