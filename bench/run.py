#!/usr/bin/env python3
"""`make bench`: the production shape on loopback, measured.

Starts a throwaway PostgreSQL and Redis, gunicorn serving the app (bench.settings: production
settings plus a baseline view and a channel adapter that drops messages), loads data, then for
each scenario measures requests/s at saturation with wrk and p50/p99 latency at about half of
that rate with an open-loop client (bench/loadgen.py). Prints a table with every scenario as a
ratio to the baseline measured in the same run, and writes JSON to bench/results/. Every run
is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import Request, percentile, run_at_rate  # noqa: E402
from scripts.testenv import Postgres, Redis, ensure_installed, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"


@dataclass
class Scenario:
    name: str
    describe: str
    requests: Callable[[dict], list[Request]]
    expect_status: int = 200


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "baseline",
            "minimal Django view: one indexed read + one update, no auth",
            lambda f: [Request("GET", f"/bench/baseline/{f['service_sid']}")],
        ),
        Scenario(
            "service_fetch",
            "GET /v2/Services/{sid}: authentication + one read + serializer",
            lambda f: [Request("GET", f"/v2/Services/{f['service_sid']}")],
        ),
    ]


NOT_YET_MEASURED = {
    "totp_challenge": "needs TOTP factors seeded with per-step codes",
    "verification_create": "needs the Verifications API",
    "verification_check": "needs the Verifications API",
    "worker_delivery": "needs the delivery task",
    "worker_noop": "measured together with worker_delivery",
    "fallback_lateness": "needs the fallback timer",
}


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed: sudo apt-get install wrk")
    return wrk


def lua_script(requests: list[Request], headers: dict[str, str], path: Path) -> Path:
    """A wrk script cycling through the requests; each wrk thread starts at its own offset."""

    def q(s: str) -> str:
        return json.dumps(s)  # a JSON string literal is a valid Lua string literal here

    items = ",\n".join(f"{{{q(r.method)}, {q(r.path)}, {q(r.body.decode())}}}" for r in requests)
    header_lines = "\n".join(f"wrk.headers[{q(k)}] = {q(v)}" for k, v in headers.items())
    path.write_text(
        f"""
local reqs = {{
{items}
}}
{header_lines}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local counter = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local r = reqs[((counter + offset * 7919) % #reqs) + 1]
  local body = r[3]
  if body == "" then body = nil end
  return wrk.format(r[1], r[2], nil, body)
end
"""
    )
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    pct = {}
    for label, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        pct[label] = float(value) * _UNITS[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rps,
        "saturation_p50_ms": pct.get("50"),
        "saturation_p99_ms": pct.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def wait_http(url: str, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback only)
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a server that is starting
    sys.exit(f"bench: {url} did not come up within {deadline_s:.0f}s")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections")
    ap.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--smoke", action="store_true", help="a few seconds, to keep the harness working"
    )
    args = ap.parse_args(argv)
    if args.smoke:
        args.duration = 1.0

    wrk = ensure_wrk()
    pg_bindir, redis_bin = ensure_installed()
    tmp = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    os.chmod(tmp, 0o755)  # noqa: S103 (the postgres user must enter it)
    postgres, redis = Postgres(pg_bindir, tmp), Redis(redis_bin, tmp)
    procs: list[subprocess.Popen] = []
    try:
        database_url, redis_url = postgres.start(), redis.start()
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": f"{redis_url}/0",
            "CELERY_BROKER_URL": f"{redis_url}/1",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
        }
        py = sys.executable
        subprocess.run(
            [py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        fixtures_path = tmp / "fixtures.json"
        subprocess.run([py, "-m", "bench.seed", str(fixtures_path)], cwd=ROOT, env=env, check=True)
        fixtures = json.loads(fixtures_path.read_text())
        procs.append(
            subprocess.Popen(
                [
                    py,
                    "-m",
                    "gunicorn",
                    "verify_platform.wsgi:application",
                    "--config",
                    "gunicorn.conf.py",
                ],
                cwd=ROOT,
                env=env,
                stdout=open(tmp / "gunicorn.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
        wait_http(f"http://127.0.0.1:{port}/healthz")
        auth = base64.b64encode(
            f"{fixtures['account_sid']}:{fixtures['auth_token']}".encode()
        ).decode()
        headers = {"Authorization": f"Basic {auth}"}

        results: dict[str, dict] = {}
        for sc in scenarios():
            reqs = sc.requests(fixtures)
            script = lua_script(reqs, headers, tmp / f"{sc.name}.lua")
            url = f"http://127.0.0.1:{port}"
            warm = max(1, int(args.duration / 3))
            subprocess.run(
                [wrk, "-t2", f"-c{args.connections}", f"-d{warm}s", "-s", str(script), url],
                check=True,
                capture_output=True,
                timeout=warm + 30,
            )
            out = subprocess.run(
                [
                    wrk,
                    "-t2",
                    f"-c{args.connections}",
                    f"-d{args.duration:.0f}s",
                    "--latency",
                    "-s",
                    str(script),
                    url,
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=args.duration + 60,
            ).stdout
            sat = parse_wrk(out)
            rate = max(1.0, sat["requests_per_s"] / 2)
            half = run_at_rate(
                "127.0.0.1",
                port,
                reqs,
                headers=headers,
                rate=rate,
                duration_s=args.duration,
                connections=args.connections * 2,
            )
            ok = half.statuses.get(sc.expect_status, 0)
            results[sc.name] = {
                "describe": sc.describe,
                **sat,
                "half_rate_per_s": round(rate, 1),
                "p50_ms": percentile(half.latencies_ms, 50),
                "p99_ms": percentile(half.latencies_ms, 99),
                "half_rate_ok": ok,
                "half_rate_sent": half.sent,
                "half_rate_errors": half.errors,
            }
        base = results["baseline"]["requests_per_s"]
        for r in results.values():
            r["ratio_to_baseline"] = round(r["requests_per_s"] / base, 3) if base else None

        report = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "server": {
                "gunicorn_workers": args.workers,
                "gunicorn_threads": args.threads,
                "wrk_connections": args.connections,
                "duration_s": args.duration,
            },
            "smoke": args.smoke,
            "scenarios": results,
            "not_yet_measured": NOT_YET_MEASURED,
        }
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_file = RESULTS / f"bench-{stamp}{'-smoke' if args.smoke else ''}.json"
        out_file.write_text(json.dumps(report, indent=2))
        print_table(report)
        print(f"\nwritten: {out_file.relative_to(ROOT)}")
        # Figures of a scenario that answered errors measure the error path: refuse them.
        broken = [
            name
            for name, r in results.items()
            if r["non_2xx"] or r["half_rate_errors"] or r["half_rate_ok"] < r["half_rate_sent"]
        ]
        if broken:
            print(f"bench: scenarios answered errors, figures invalid: {', '.join(broken)}")
            return 1
        return 0
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(report: dict) -> None:
    def fmt(v, spec=".1f"):
        return "-" if v is None else format(v, spec)

    print(
        f"\n{'scenario':<22}{'req/s':>10}{'x base':>8}{'@rate':>9}{'p50 ms':>9}{'p99 ms':>9}{'ok/sent':>12}"
    )
    for name, r in report["scenarios"].items():
        print(
            f"{name:<22}{fmt(r['requests_per_s']):>10}{fmt(r['ratio_to_baseline'], '.2f'):>8}"
            f"{fmt(r['half_rate_per_s']):>9}{fmt(r['p50_ms'], '.2f'):>9}{fmt(r['p99_ms'], '.2f'):>9}"
            f"{r['half_rate_ok']:>6}/{r['half_rate_sent']:<5}"
        )
    for name, why in report["not_yet_measured"].items():
        print(f"{name:<22}not measured yet: {why}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
