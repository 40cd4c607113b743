"""The HTTP scenarios: what each request is, for wrk (Lua) and the open-loop client (Python).

Every scenario is measured in three runs (warm-up, saturation, half rate). Scenarios that use
seeded data up (a TOTP step per factor, a pending verification per check) are given, before
each run, a slice of their own (`provision`), so no code or verification is ever used twice.
The harness sizes each slice from the rate it has just seen (the baseline for the warm-up,
the warm-up with headroom for saturation, the exact count for the half-rate run); a run that
outgrows its slice gets refusals, which are reported as errors rather than figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.loadgen import Request
from bench.seed import CHECK_CODE, FIRST_NUMBER, TO_FORMATS
from bench.wrk import THREADS, lua_string

# The runs of a scenario; QUERIES is the single request whose database round trips are counted.
WARM, SATURATION, HALF, QUERIES = 0, 1, 2, 3
# A block of phone numbers per run of verification_create: 7-digit subscriber numbers from
# FIRST_NUMBER (2,000,000) leave room for runs 0-7.
NUMBERS_PER_RUN = 1_000_000
MAX_ROUNDS = 5  # saturation rounds: SATURATION, then runs 4-7


def saturation_run(number: int) -> int:
    """The run of saturation round `number` (0-based): each round uses data of its own."""
    if not 0 <= number < MAX_ROUNDS:
        raise ValueError(f"at most {MAX_ROUNDS} saturation rounds")
    return SATURATION if number == 0 else QUERIES + number


@dataclass
class Load:
    lua: str
    python: Callable[[int], Request]


@dataclass
class Scenario:
    name: str
    describe: str
    expect_status: int = 200
    # A byte string every successful answer carries (e.g. an approved status), checked by
    # both load generators, because a wrong TOTP code is still a 201 (a pending challenge).
    expect_body: str | None = None
    state: dict = field(default_factory=dict)

    def prepare(self, fixtures: dict, seed: Callable[..., dict]) -> None:
        self.state["fixtures"], self.seed = fixtures, seed

    def provision(self, run: int, capacity: int) -> None:
        """Seed what `run` uses, for up to `capacity` requests."""

    def load(self, run: int) -> Load:
        raise NotImplementedError


class Static(Scenario):
    def __init__(self, name: str, describe: str, path: Callable[[dict], str]) -> None:
        super().__init__(name, describe)
        self.path = path

    def load(self, run: int) -> Load:
        path = self.path(self.state["fixtures"])
        lua = f'function make(i) return "GET", {lua_string(path)}, "" end'
        return Load(lua, lambda i: Request("GET", path))


def _phone_body(to_format: str, number: int, rest: str) -> str:
    return "To=" + (to_format % number).replace("+", "%2B") + rest


def _lua_phone(to_format: str) -> tuple[str, str]:
    """The prefix after `+` and the Lua expression of the number for index `i`."""
    prefix = to_format.split("%")[0].lstrip("+")
    return prefix, 'string.format("%07d", base + i)'


class VerificationCreate(Scenario):
    def __init__(self) -> None:
        super().__init__(
            "verification_create",
            "POST Verifications (sms, enqueue only): a new To each time",
            expect_status=201,
        )
        # Whose number range it draws from (seed.TO_FORMATS); a second phase of one run
        # (--history) switches to a range of its own.
        self.to_key = self.name

    def load(self, run: int) -> Load:
        svc = self.state["fixtures"]["service_sid"]
        path = f"/v2/Services/{svc}/Verifications"
        fmt = TO_FORMATS[self.to_key]
        base = FIRST_NUMBER + run * NUMBERS_PER_RUN
        prefix, number = _lua_phone(fmt)
        lua = (
            f"local base = {base}\n"
            f'function make(i) return "POST", {lua_string(path)}, '
            f'"To=%2B{prefix}" .. {number} .. "&Channel=sms" end'
        )
        return Load(
            lua,
            lambda i: Request("POST", path, _phone_body(fmt, base + i, "&Channel=sms").encode()),
        )


class VerificationCheck(Scenario):
    def __init__(self) -> None:
        super().__init__(
            "verification_check",
            "POST VerificationCheck with the right code, each verification once",
            expect_status=201,
            expect_body='"approved"',
        )

    def provision(self, run: int, capacity: int) -> None:
        seeded = self.state.setdefault("seeded", 0)
        self.state.setdefault("starts", {})[run] = seeded
        self.seed(
            "verifications",
            count=capacity,
            start=seeded,
            service=self.state["fixtures"]["service_sid"],
            scenario=self.name,
            code=CHECK_CODE,
        )
        self.state["seeded"] = seeded + capacity

    def load(self, run: int) -> Load:
        svc = self.state["fixtures"]["service_sid"]
        path = f"/v2/Services/{svc}/VerificationCheck"
        fmt = TO_FORMATS[self.name]
        base = FIRST_NUMBER + self.state["starts"][run]
        prefix, number = _lua_phone(fmt)
        rest = f"&Code={CHECK_CODE}"
        lua = (
            f"local base = {base}\n"
            f'function make(i) return "POST", {lua_string(path)}, '
            f'"To=%2B{prefix}" .. {number} .. {lua_string(rest)} end'
        )
        return Load(lua, lambda i: Request("POST", path, _phone_body(fmt, base + i, rest).encode()))


class TotpChallenge(Scenario):
    """Challenge create with a correct code across many verified factors.

    A factor accepts each time step once and never a step at or below one it accepted; with
    skew 1 the server takes steps w-1..w+1 at its current step w. The clients therefore use,
    per factor, step max(w, last + 1) for their own current step w: at most w + 1 while the
    factor is fresh in this step, which the server accepts even if the request crosses a step
    boundary on the way. Factors are used round-robin, so a factor comes back only after a
    full pass; each run has its own bank, sized for two uses per factor. `service` names the
    fixture of the factors' service."""

    def __init__(
        self,
        name: str = "totp_challenge",
        describe: str = "POST Challenges with a correct TOTP code (approved), many factors",
        service: str = "service_sid",
    ) -> None:
        super().__init__(name, describe, expect_status=201, expect_body='"approved"')
        self.service = service

    def provision(self, run: int, capacity: int) -> None:
        size = max(4, math.ceil(capacity / 2 / THREADS)) * THREADS
        seeded = self.state.setdefault("seeded", 0)
        out = self.seed(
            "factors", count=size, start=seeded, service=self.state["fixtures"][self.service]
        )
        self.state.setdefault("banks", {})[run] = out["factors"]
        self.state["time_step"] = out["time_step"]
        self.state["seeded"] = seeded + size

    def code_table(self, bank: list, horizon_s: float) -> tuple[int, list[list[str]]]:
        from factors import totp

        ts = self.state["time_step"]
        first = totp.step_at(datetime.now(UTC), ts)
        steps = range(first, first + math.ceil(horizon_s / ts) + 2)
        return first, [[totp.code_at_step(secret, s) for s in steps] for _, _, secret in bank]

    def load(self, run: int, horizon_s: float = 180.0) -> Load:
        svc = self.state["fixtures"][self.service]
        bank = self.state["banks"][run]
        ts = self.state["time_step"]
        first, codes = self.code_table(bank, horizon_s)
        rows = ",\n".join(
            f"{{{lua_string(ident)}, {lua_string(sid)}, {{{','.join(map(lua_string, cs))}}}}}"
            for (ident, sid, _), cs in zip(bank, codes, strict=True)
        )
        lua = f"""local svc, ts, first = {lua_string(svc)}, {ts}, {first}
local fs = {{
{rows}
}}
local last = {{}}
function make(i)
  local j = (i % #fs) + 1
  local s = math.floor(os.time() / ts)
  if last[j] ~= nil and last[j] >= s then s = last[j] + 1 end
  last[j] = s
  local f = fs[j]
  local code = f[3][s - first + 1] or "000000"
  return "POST", "/v2/Services/" .. svc .. "/Entities/" .. f[1] .. "/Challenges",
    "FactorSid=" .. f[2] .. "&AuthPayload=" .. code
end"""
        last: dict[int, int] = {}

        def make(i: int) -> Request:
            j = i % len(bank)
            s = int(datetime.now(UTC).timestamp()) // ts
            if j in last and last[j] >= s:
                s = last[j] + 1
            last[j] = s
            ident, sid, _ = bank[j]
            idx = s - first
            code = codes[j][idx] if 0 <= idx < len(codes[j]) else "000000"
            return Request(
                "POST",
                f"/v2/Services/{svc}/Entities/{ident}/Challenges",
                f"FactorSid={sid}&AuthPayload={code}".encode(),
            )

        return Load(lua, make)


class AttemptsSummary(Static):
    """The Attempts API's summary of the last day, account-wide: on a year of history it must
    read the day's rows, not the year's."""

    def __init__(self) -> None:
        super().__init__(
            "attempts_summary",
            "GET /v2/Attempts/Summary of the last day (the Attempts API)",
            lambda f: (
                "/v2/Attempts/Summary?DateCreatedAfter="
                + (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
        )


def attempts_api_exists() -> bool:
    """The Attempts API is served (call after django.setup())."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/v2/Attempts/Summary")
    except Resolver404:
        return False
    return True


def history_scenarios() -> list[Scenario]:
    """What --history measures with and without a year of old rows."""
    names = {"baseline", "totp_challenge", "verification_create", "verification_check"}
    chosen = [sc for sc in http_scenarios() if sc.name in names]
    if attempts_api_exists():
        chosen.append(AttemptsSummary())
    return chosen


def http_scenarios() -> list[Scenario]:
    return [
        Static(
            "baseline",
            "minimal Django view: one indexed read + one update, no auth",
            lambda f: f"/bench/baseline/{f['service_sid']}",
        ),
        Static(
            "service_fetch",
            "GET /v2/Services/{sid}: authentication + one read + serializer",
            lambda f: f"/v2/Services/{f['service_sid']}",
        ),
        TotpChallenge(),
        TotpChallenge(
            "totp_challenge_webhook",
            "the same on a service with a webhook for every event: its delivery is "
            "scheduled and queued too",
            service="webhook_service_sid",
        ),
        VerificationCreate(),
        VerificationCheck(),
    ]
