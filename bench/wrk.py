"""wrk: installing it, its Lua script, running it and reading its report.

A scenario's load is Lua source defining `make(i)` -> method, path, body, where `i` is unique
within one wrk run (thread `t` of `T` sends i = t, t + T, t + 2T, ...); scenarios that
consume seeded data (codes, verifications) map `i` into a range of their own per run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.testenv import apt_install

THREADS = 2


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None and apt_install(["wrk"]):
        wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed: sudo apt-get install wrk")
    return wrk


def lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal of ASCII text is a valid Lua string literal


def script(
    make_source: str, headers: dict[str, str], path: Path, expect_body: str | None = None
) -> Path:
    """`expect_body`: count answers without this text (printed as `BENCH-BAD n`)."""
    check = ""
    if expect_body is not None:
        check = f"""
function response(status, headers, body)
  if not string.find(body, {lua_string(expect_body)}, 1, true) then bad = bad + 1 end
end"""
    header_lines = "\n".join(
        f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()
    )
    path.write_text(
        f"""{header_lines}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local nthreads = {THREADS}
local started = {{}}
function setup(thread)
  thread:set("offset", #started)
  table.insert(started, thread)
end
bad = 0
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(started) do total = total + (t:get("bad") or 0) end
  io.write(string.format("BENCH-BAD %d\\n", total))
end
local k = 0
{make_source}
function request()
  local i = k * nthreads + offset
  k = k + 1
  local method, path, body = make(i)
  if body == "" then body = nil end
  return wrk.format(method, path, nil, body)
end
{check}
"""
    )
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse(output: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    pct = {}
    for label, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        pct[label] = float(value) * _UNITS[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    bad = re.search(r"BENCH-BAD (\d+)", output)
    return {
        "requests_per_s": rps,
        "requests": total,
        "saturation_p50_ms": pct.get("50"),
        "saturation_p99_ms": pct.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
        "unexpected_bodies": int(bad.group(1)) if bad else 0,
    }


def run(wrk: str, script_path: Path, url: str, *, connections: int, seconds: int) -> dict:
    out = subprocess.run(
        [
            wrk,
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script_path),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    return parse(out)
