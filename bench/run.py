"""`make bench`: the production shape on loopback, measured.

Starts a throwaway PostgreSQL and Redis, gunicorn serving the app (bench.settings: production
settings plus a baseline view, a no-op task and a channel adapter that drops messages), loads
data through the domain functions, then measures:

- HTTP scenarios (bench/scenarios.py): requests/s at saturation with wrk and p50/p99 latency
  at about half of that rate with an open-loop client (bench/loadgen.py), each as a ratio to
  the baseline measured in the same run;
- worker scenarios (bench/worker.py): a real Celery worker's messages/s for deliveries and
  for a no-op task, how late fallback steps fire, and how long a user waits from a
  verification start's 201 to the adapter's send call (send_latency, reported).

Prints a table with every floor marked met or missed, and writes JSON to bench/results/ (a
full run also to bench/results/latest.json). A full run whose figures miss a floor exits
non-zero; the smoke run judges nothing. Every run is bounded in time and stops by itself.

This module starts the servers and runs the parts in order: bench/seeder.py loads data,
bench/measure_http.py and bench/measure_workers.py measure, bench/history.py runs
`--history`, bench/floors.py judges and bench/report.py prints the table.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import history  # noqa: E402
from bench import wrk as wrk_tool  # noqa: E402
from bench.floors import judge  # noqa: E402
from bench.measure_http import measure_http_scenarios  # noqa: E402
from bench.measure_workers import WORKER_SCENARIOS, measure_workers  # noqa: E402
from bench.progress import log  # noqa: E402
from bench.report import print_table  # noqa: E402
from bench.scenarios import MAX_ROUNDS, history_scenarios, http_scenarios  # noqa: E402
from bench.seeder import Seeder  # noqa: E402
from scripts.testenv import (  # noqa: E402
    Postgres,
    Redis,
    ensure_installed,
    free_port,
    generated_secrets,
)

RESULTS = ROOT / "bench" / "results"


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
        "--rounds",
        type=int,
        default=3,
        choices=range(1, MAX_ROUNDS + 1),
        help="saturation rounds per scenario, each between two baseline runs of half --duration",
    )
    ap.add_argument("--messages", type=int, default=2000, help="tasks per worker scenario")
    ap.add_argument("--fallbacks", type=int, default=200, help="verifications with fallback")
    ap.add_argument(
        "--headroom",
        type=float,
        default=2.0,
        help="seeded data for the saturation run, as a multiple of what the warm-up rate uses",
    )
    ap.add_argument(
        "--in-process",
        type=int,
        default=300,
        help="requests per scenario timed in process (CPU ms per request, no HTTP)",
    )
    ap.add_argument(
        "--only", default="", help="comma-separated scenarios to run (the baseline always runs)"
    )
    ap.add_argument(
        "--smoke", action="store_true", help="a few seconds each, to keep the harness working"
    )
    ap.add_argument(
        "--history",
        action="store_true",
        help="the hot scenarios on the empty database, then again beside a year of old rows "
        "(bench/history.py); prints the ratio",
    )
    ap.add_argument(
        "--history-rows",
        type=int,
        default=1_000_000,
        help="old rows of each kind (challenges, events, verifications, attempts) for --history",
    )
    args = ap.parse_args(argv)
    if args.smoke:
        args.duration, args.messages, args.fallbacks, args.in_process = 1.0, 100, 50, 10
        args.rounds = 1
    only = {name for name in args.only.split(",") if name}
    known = {sc.name for sc in http_scenarios()} | set(WORKER_SCENARIOS)
    if only - known:
        ap.error(f"unknown scenarios: {', '.join(sorted(only - known))}")
    warm = max(1, min(3, int(args.duration / 3)))
    cores = os.cpu_count() or 2

    wrk = wrk_tool.ensure_wrk()
    pg_bindir, redis_bin = ensure_installed()
    tmp = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    os.chmod(tmp, 0o755)  # noqa: S103 (the postgres user must enter it)
    postgres, redis = Postgres(pg_bindir, tmp), Redis(redis_bin, tmp)
    procs: list[subprocess.Popen] = []
    try:
        database_url, redis_url = postgres.start(), redis.start()
        port = free_port()
        env = {
            **generated_secrets(),
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
            "PYTHONPATH": str(ROOT),
            # Where the null adapter notes its calls for send_latency (bench.settings).
            "BENCH_SEND_LOG": str(tmp / "sends.log"),
        }
        os.environ.update(env)  # this process seeds, polls the database, queues no-op tasks
        py = sys.executable
        subprocess.run(
            [py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        # Seeding waits on database round trips more than it computes: two processes per core.
        seed = Seeder(env, tmp, processes=2 * cores)
        import django

        django.setup()
        import verify_platform.celery  # noqa: F401 (the app seeded sends are queued through)

        fixtures = seed("base")
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

        scenarios = history_scenarios() if args.history else http_scenarios()
        # One measurement of a list of scenarios, against this run's servers and data.
        measure = functools.partial(
            measure_http_scenarios,
            fixtures=fixtures,
            seed=seed,
            args=args,
            wrk=wrk,
            tmp=tmp,
            port=port,
            headers=headers,
            warm=warm,
        )
        results = measure(scenarios, only=only)
        if args.history:
            return history.run(
                scenarios,
                results,
                measure=lambda again: measure(again, only=set()),
                fixtures=fixtures,
                args=args,
                results_dir=RESULTS,
                log=log,
            )

        if not only or only & set(WORKER_SCENARIOS):
            results.update(
                measure_workers(
                    args,
                    env=env,
                    tmp=tmp,
                    fixtures=fixtures,
                    seed=seed,
                    cores=cores,
                    port=port,
                    headers=headers,
                    only=only,
                )
            )
        # A smoke run's figures are not figures: it judges nothing.
        missed = [] if args.smoke else judge(results)

        report = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": {
                "cores": cores,
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average_at_end": os.getloadavg(),
            },
            "server": {
                "gunicorn_workers": args.workers,
                "gunicorn_threads": args.threads,
                "wrk_threads": wrk_tool.THREADS,
                "wrk_connections": args.connections,
                "duration_s": args.duration,
                "warm_up_s": warm,
                "celery_worker": f"prefork, concurrency {cores}, acks_late, prefetch 1",
                "worker_messages": args.messages,
            },
            "smoke": args.smoke,
            "scenarios": results,
        }
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_file = RESULTS / f"bench-{stamp}{'-smoke' if args.smoke else ''}.json"
        out_file.write_text(json.dumps(report, indent=2))
        if not args.smoke and not only:
            # The run a change reports is committed as latest.json (the others stay ignored).
            shutil.copy(out_file, RESULTS / "latest.json")
        print_table(report)
        print(f"\nwritten: {out_file.relative_to(ROOT)}")
        # Figures of a scenario that answered errors measure the error path: refuse them.
        broken = {name: r["error"] for name, r in results.items() if "error" in r}
        for name, why in broken.items():
            print(f"bench: {name}: figures invalid: {why}")
        if broken:
            keep = ROOT / "bench" / "results" / f"logs-{stamp}"
            for log_file in tmp.glob("*.log"):
                keep.mkdir(exist_ok=True)
                shutil.copy(log_file, keep / log_file.name)
            print(f"bench: the servers' logs of this run are in {keep.relative_to(ROOT)}")
        for name in missed:
            floors = ", ".join(
                f"{f['figure']} {f['value']} (floor {f['floor']})"
                for f in results[name]["floors"]
                if not f["met"]
            )
            print(f"bench: {name}: below its floor: {floors}")
        return 1 if broken or missed else 0
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
