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
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import history  # noqa: E402
from bench import wrk as wrk_tool  # noqa: E402
from bench.loadgen import percentile, run_at_rate  # noqa: E402
from bench.scenarios import (  # noqa: E402
    HALF,
    MAX_ROUNDS,
    QUERIES,
    SATURATION,
    WARM,
    Scenario,
    history_scenarios,
    http_scenarios,
    saturation_run,
)
from scripts.testenv import (  # noqa: E402
    Postgres,
    Redis,
    ensure_installed,
    free_port,
    generated_secrets,
)

RESULTS = ROOT / "bench" / "results"
# The floors no change may fall below, as figures of one run: (figure, comparison, bound).
# Ratios are to the same run's baseline (or no-op task), so a faster or slower machine moves
# both sides; p99 figures are at half of the scenario's saturation rate.
FLOORS: dict[str, list[tuple[str, str, float]]] = {
    "totp_challenge": [("ratio_to_baseline", ">=", 0.5)],
    "verification_create": [("ratio_to_baseline", ">=", 0.4), ("p99_ms", "<", 25.0)],
    "verification_check": [("ratio_to_baseline", ">=", 0.5)],
    "worker_delivery": [("ratio_to_noop", ">=", 0.45)],
    "fallback_lateness": [("p99_ms", "<", 1000.0)],
}
# Scenarios measured around the Celery worker; `--only` with any of them runs the no-op and
# the delivery too (the delivery's reference, and send_latency's rate).
WORKER_SCENARIOS = ("worker_noop", "worker_delivery", "fallback_lateness", "send_latency")
# send_latency in a smoke run: enough starts to exercise the path, too few to be a figure.
SMOKE_SENDS = 20


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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


class Seeder:
    """Runs bench.seed: small counts in this process (a Django start-up costs seconds on a
    busy machine), larger ones in parallel processes over disjoint ranges, merged."""

    INLINE = 400

    def __init__(self, env: dict[str, str], tmp: Path, processes: int) -> None:
        self.env, self.tmp, self.processes = env, tmp, processes
        self.calls = 0

    def __call__(self, what: str, *, count: int = 0, start: int = 0, **options: str) -> dict:
        started = time.monotonic()
        if count <= self.INLINE:
            from bench.seed import seed

            out = seed(what, count=count, start=start, **options)
            if count:
                _analyze()
                log(f"seeded {count} {what} in {time.monotonic() - started:.1f}s")
            return out
        parts = min(self.processes, max(1, count // 50)) if count else 1
        sizes = [count // parts + (1 if p < count % parts else 0) for p in range(parts)]
        procs, outs = [], []
        for size in sizes:
            self.calls += 1
            out = self.tmp / f"seed-{self.calls}.json"
            cmd = [sys.executable, "-m", "bench.seed", what, str(out)]
            if count:
                cmd += ["--count", str(size), "--start", str(start)]
            for key, value in options.items():
                if value is not None:
                    cmd += [f"--{key.replace('_', '-')}", str(value)]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=self.env))
            outs.append(out)
            start += size
        try:
            failed = [proc.wait(timeout=900) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        if any(failed):
            sys.exit(f"bench: seeding {what} failed")
        merged: dict = {}
        for out in outs:
            for key, value in json.loads(out.read_text()).items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                else:
                    merged[key] = value
        if count:
            _analyze()
            log(f"seeded {count} {what} in {time.monotonic() - started:.1f}s")
        return merged


def _analyze() -> None:
    """Table statistics after seeding, as autovacuum keeps them in production: measured on
    freshly filled tables PostgreSQL plans with no statistics and may scan a whole index."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure_http(
    sc: Scenario,
    *,
    wrk: str,
    tmp: Path,
    port: int,
    headers: dict,
    args,
    warm: int,
    base: float,
    baseline_now: Callable[[], float] | None = None,
) -> dict:
    """Warm-up, saturation (wrk), then latency at half that rate (open loop). The warm-up's
    answers are not judged: it may outrun its slice of seeded data, sized at half the
    baseline rate; its rate sizes the saturation runs' slices. With `baseline_now`, the
    saturation is measured in `args.rounds` rounds that alternate with baseline runs of the
    same length (B S B S B ...), each round's rate taken against the two baseline runs
    around it (see `adjacent_ratio`)."""
    url = f"http://127.0.0.1:{port}"
    adjacent: list[float] = []
    rounds = args.rounds if baseline_now is not None else 1
    seconds = int(args.duration) if rounds == 1 else max(1, round(args.duration / 2))
    capacity = math.ceil(0.5 * base * warm) + 50
    sc.provision(WARM, capacity)
    load = sc.load(WARM)
    script = wrk_tool.script(load.lua, headers, tmp / f"{sc.name}-{WARM}.lua", sc.expect_body)
    warm_run = wrk_tool.run(wrk, script, url, connections=args.connections, seconds=warm)
    per_s = args.headroom * warm_run["requests_per_s"]
    if args.smoke:  # a 1-second warm-up may be all cold start: never judge CI by it
        per_s = max(per_s, 0.5 * base)
    capacity = math.ceil(per_s * seconds) + 100
    sats: list[dict] = []
    if baseline_now is not None:
        adjacent.append(baseline_now(seconds))
    for number in range(rounds):
        run = saturation_run(number)
        sc.provision(run, capacity)
        load = sc.load(run)
        script = wrk_tool.script(load.lua, headers, tmp / f"{sc.name}-{run}.lua", sc.expect_body)
        sats.append(wrk_tool.run(wrk, script, url, connections=args.connections, seconds=seconds))
        if baseline_now is not None:
            adjacent.append(baseline_now(seconds))
    # The round of the median rate stands for the saturation (its latency figures too).
    sat = sorted(sats, key=lambda r: r["requests_per_s"])[len(sats) // 2]
    rate = max(1.0, sat["requests_per_s"] / 2)
    sc.provision(HALF, int(rate * args.duration) + 20)
    half = run_at_rate(
        "127.0.0.1",
        port,
        sc.load(HALF).python,
        headers=headers,
        rate=rate,
        duration_s=args.duration,
        connections=args.connections * 2,
        expect_body=sc.expect_body.encode() if sc.expect_body else None,
    )
    ok = half.statuses.get(sc.expect_status, 0)
    result = {
        "describe": sc.describe,
        **sat,
        "half_rate_per_s": round(rate, 1),
        "p50_ms": percentile(half.latencies_ms, 50),
        "p99_ms": percentile(half.latencies_ms, 99),
        "half_rate_ok": ok,
        "half_rate_sent": half.sent,
        "half_rate_errors": half.errors,
        "half_rate_unexpected_bodies": half.unexpected_bodies,
    }
    if adjacent:
        result["baseline_adjacent_per_s"] = adjacent
        result["rounds"] = [
            {
                "requests_per_s": r["requests_per_s"],
                "baseline_around_per_s": adjacent[i : i + 2],
                "ratio": round(r["requests_per_s"] / (sum(adjacent[i : i + 2]) / 2), 3),
            }
            for i, r in enumerate(sats)
        ]
    problems = []
    non_2xx = sum(r["non_2xx"] for r in sats)
    unexpected = sum(r["unexpected_bodies"] for r in sats)
    if non_2xx or unexpected:
        problems.append(f"saturation: {non_2xx} non-2xx, {unexpected} unexpected bodies")
    if half.errors or ok < half.sent or half.unexpected_bodies:
        problems.append(
            f"half rate: {ok}/{half.sent} ok, {half.errors} errors, "
            f"{half.unexpected_bodies} unexpected bodies, statuses {half.statuses}"
        )
    if problems:
        result["error"] = "; ".join(problems)
    return result


def adjacent_ratio(result: dict, base: float) -> float | None:
    """A scenario's rate over the baseline's in the same minute: the median over its rounds
    of each round's rate over the mean of the baseline runs just before and just after it.
    On a shared 2-core virtual machine the baseline alone moves by up to 40% between minutes
    of one run (steal, frequency, other tenants); a ratio against a baseline measured minutes
    earlier or later measures that drift as much as the scenario. The sandwich cancels a
    drift that is steady over a round, and the median of the rounds ignores one round that a
    burst of noise hit. Without rounds (the baseline itself), the run's own baseline."""
    rounds = result.get("rounds")
    if rounds:
        return round(statistics.median(r["ratio"] for r in rounds), 3)
    return round(result["requests_per_s"] / base, 3) if base else None


def _request_cpu(per_request: dict) -> float | None:
    """CPU ms of one request: the app's plus PostgreSQL's when the server's was measured."""
    cpu = per_request.get("cpu_ms")
    if cpu is None:
        return None
    return cpu + per_request.get("db_cpu_ms", 0.0)


def judge(results: dict[str, dict]) -> list[str]:
    """Mark each judged scenario's floors met or missed (`floors`, `floors_met` in the JSON)
    and return the scenarios that missed one. A scenario that answered errors is not judged
    here: its figures are refused as a whole."""
    missed = []
    for name, checks in FLOORS.items():
        r = results.get(name)
        if r is None or "error" in r:
            continue
        r["floors"] = []
        for figure, op, bound in checks:
            value = r.get(figure)
            met = value is not None and (value >= bound if op == ">=" else value < bound)
            r["floors"].append(
                {"figure": figure, "floor": f"{op} {bound:g}", "value": value, "met": met}
            )
        r["floors_met"] = all(f["met"] for f in r["floors"])
        if name == "fallback_lateness" and r["count"] < 200:
            r["floors_met"] = None  # the floor is over at least 200 fallbacks
            r["note"] = "fewer than 200 fallbacks: not judged"
        if r["floors_met"] is False:
            missed.append(name)
    return missed


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
        results = measure_http_scenarios(
            scenarios,
            fixtures=fixtures,
            seed=seed,
            args=args,
            wrk=wrk,
            tmp=tmp,
            port=port,
            headers=headers,
            warm=warm,
            only=only,
        )
        if args.history:
            return history.run(
                scenarios,
                results,
                measure=lambda again: measure_http_scenarios(
                    again,
                    fixtures=fixtures,
                    seed=seed,
                    args=args,
                    wrk=wrk,
                    tmp=tmp,
                    port=port,
                    headers=headers,
                    warm=warm,
                    only=set(),
                ),
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


def measure_http_scenarios(
    scenarios: list[Scenario],
    *,
    fixtures: dict,
    seed: Seeder,
    args: argparse.Namespace,
    wrk: str,
    tmp: Path,
    port: int,
    headers: dict[str, str],
    warm: int,
    only: set[str],
) -> dict[str, dict]:
    """Every HTTP scenario (the baseline first), each sandwiched between baseline runs, then
    the baseline again; rates and CPU as ratios to the baseline."""
    from bench import querycount

    results: dict[str, dict] = {}
    baseline_script: list[Path] = []

    def baseline_now(seconds: int) -> float:
        """The baseline's saturation rate now, for a scenario's sandwich."""
        run = wrk_tool.run(
            wrk,
            baseline_script[0],
            f"http://127.0.0.1:{port}",
            connections=args.connections,
            seconds=seconds,
        )
        return run["requests_per_s"]

    for sc in scenarios:
        if only and sc.name != "baseline" and sc.name not in only:
            continue
        sc.prepare(fixtures, seed)
        sc.provision(QUERIES, args.in_process + 2)
        per_request = querycount.http_queries(
            sc.load(QUERIES).python, headers, sc.expect_status, count=args.in_process
        )
        log(f"measuring {sc.name}")
        results[sc.name] = measure_http(
            sc,
            wrk=wrk,
            tmp=tmp,
            port=port,
            headers=headers,
            args=args,
            warm=warm,
            base=results.get("baseline", {}).get("requests_per_s", 0.0),
            baseline_now=baseline_now if baseline_script else None,
        )
        results[sc.name]["per_request"] = per_request
        if sc.name == "baseline":
            baseline_script.append(
                wrk_tool.script(
                    sc.load(SATURATION).lua, headers, tmp / "baseline-adjacent.lua", None
                )
            )
    # The baseline again, after the scenarios: a shared machine's noise can hit either
    # run, and ratios are judged against the better of the two (the conservative side).
    log("measuring baseline again")
    again = baseline_now(int(args.duration))
    results["baseline"]["requests_per_s_first"] = results["baseline"]["requests_per_s"]
    results["baseline"]["requests_per_s_again"] = again
    results["baseline"]["requests_per_s"] = max(results["baseline"]["requests_per_s"], again)
    base = results["baseline"]["requests_per_s"]
    best = max([base, *(b for r in results.values() for b in r.get("baseline_adjacent_per_s", ()))])
    results["baseline"]["requests_per_s_best"] = best
    base_cpu = _request_cpu(results["baseline"]["per_request"])
    for r in results.values():
        r["ratio_to_baseline"] = adjacent_ratio(r, base)
        r["ratio_to_best_baseline"] = round(r["requests_per_s"] / best, 3) if best else None
        cpu = _request_cpu(r["per_request"])
        if base_cpu and cpu:
            # Same direction as the rate ratio: baseline CPU / this scenario's CPU, the
            # app's and PostgreSQL's together where both were measured.
            r["per_request"]["cpu_ratio_to_baseline"] = round(base_cpu / cpu, 3)
    return results


def measure_workers(
    args: argparse.Namespace,
    *,
    env: dict[str, str],
    tmp: Path,
    fixtures: dict,
    seed: Seeder,
    cores: int,
    port: int,
    headers: dict[str, str],
    only: set[str],
) -> dict:
    """worker_noop, worker_delivery, worker_noop again, then with the worker running
    fallback_lateness and send_latency (each of the last two unless `--only` leaves it out).
    A failure of the first three ends the worker scenarios (they are each other's reference
    and send_latency's rate); the last two fail on their own, so one lost fallback step does
    not hide the other's figures. send_latency runs last, at half of worker_delivery's rate,
    on a worker with nothing else queued."""
    from bench import querycount
    from bench import worker as w

    results: dict[str, dict] = {}
    from challenges.models import DeliveryAttempt

    one = seed("verifications", count=1, service=fixtures["service_sid"], scenario="worker_noop")
    attempt = DeliveryAttempt.objects.get(verification_id=one["verifications"][0])
    per_task = querycount.delivery_queries(attempt.sid)
    broker = w.purge(env["CELERY_BROKER_URL"])  # the HTTP scenarios' queued sends
    worker = w.Worker(root=ROOT, env=env, log_path=tmp / "worker.log", concurrency=cores)
    deadline = 30 + args.messages / 20
    stage = "worker_noop"  # what a WorkerFailed is reported against
    try:
        log("measuring worker_noop")
        results["worker_noop"] = first = w.measure_noop(worker, broker, args.messages, deadline)
        stage = "worker_delivery"
        log("measuring worker_delivery")
        results["worker_delivery"] = w.measure_delivery(
            worker, broker, seed, fixtures["service_sid"], args.messages, deadline
        )
        results["worker_delivery"]["per_task"] = per_task
        # The no-op again right after, so the delivery is sandwiched like the HTTP scenarios:
        # the no-op's rate alone moved by a factor of two between runs of one day.
        stage = "worker_noop"
        log("measuring worker_noop again")
        worker.stop()
        again = w.measure_noop(worker, broker, args.messages, deadline)
        results["worker_noop"] = noop_reference(first, again)
        noop = results["worker_noop"]["per_s"]
        results["worker_delivery"]["ratio_to_noop"] = (
            round(results["worker_delivery"]["per_s"] / noop, 3) if noop else None
        )
        worker.start()
        if not only or "fallback_lateness" in only:
            log("measuring fallback_lateness")
            try:
                results["fallback_lateness"] = w.measure_fallback(
                    worker,
                    seed,
                    fixtures["fallback_service_sid"],
                    args.fallbacks,
                    35 + args.fallbacks / 10,
                )
            except w.WorkerFailed as exc:
                results["fallback_lateness"] = {"error": str(exc)}
        if not only or "send_latency" in only:
            stage = "send_latency"
            rate = max(1.0, results["worker_delivery"]["per_s"] / 2)
            count = SMOKE_SENDS if args.smoke else min(args.messages, round(rate * args.duration))
            count = max(1, count)
            log(f"measuring send_latency ({count} starts at {rate:.0f}/s)")
            results["send_latency"] = w.measure_send_latency(
                worker,
                port=port,
                headers=headers,
                service_sid=fixtures["service_sid"],
                rate=rate,
                count=count,
                record=Path(env["BENCH_SEND_LOG"]),
                deadline_s=30 + count / rate,
            )
    except w.WorkerFailed as exc:
        results[stage] = {"error": str(exc)}
    finally:
        worker.stop()
    return results


def noop_reference(first: dict, again: dict) -> dict:
    """The no-op's figures as the mean of its runs before and after the delivery."""
    reference = {**first, "per_s": (first["per_s"] + again["per_s"]) / 2}
    reference["per_s_first"], reference["per_s_again"] = first["per_s"], again["per_s"]
    cpu = [r.get("worker_cpu_ms_per_message") for r in (first, again)]
    if None not in cpu:
        reference["worker_cpu_ms_per_message"] = round(sum(cpu) / 2, 3)
    return reference


def print_table(report: dict) -> None:
    def fmt(v, spec=".1f"):
        return "-" if v is None else format(v, spec)

    def verdict(r: dict) -> str:
        if "error" in r:
            return "ERROR"
        if "floors" not in r:
            return ""
        if r["floors_met"] is None:
            return "n/a"
        floors = ", ".join(f["floor"] for f in r["floors"])
        return f"met ({floors})" if r["floors_met"] else f"MISSED ({floors})"

    if report["smoke"]:
        print("\nsmoke run: it keeps the harness working; its figures judge nothing")
    print(
        f"\n{'scenario':<22}{'req/s':>9}{'x base':>8}{'x best':>8}{'@rate':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'ok/sent':>12}{'cpu ms':>8}{'db cpu':>8}{'SQL':>5}  floor"
    )
    for name, r in report["scenarios"].items():
        if name == "send_latency" and "p50_ms" in r:
            print(
                f"{name:<22}201 -> send p50 {fmt(r['p50_ms'], '.1f')} ms, p99 "
                f"{fmt(r['p99_ms'], '.1f')} ms, max {fmt(r['max_ms'], '.1f')} ms over "
                f"{r['count']} starts at {fmt(r['rate_per_s'], '.0f')}/s  "
                f"{'ERROR' if 'error' in r else 'reported'}"
            )
        elif "requests_per_s" in r:
            print(
                f"{name:<22}{fmt(r['requests_per_s']):>9}{fmt(r['ratio_to_baseline'], '.2f'):>8}"
                f"{fmt(r.get('ratio_to_best_baseline'), '.2f'):>8}"
                f"{fmt(r['half_rate_per_s']):>8}{fmt(r['p50_ms'], '.2f'):>9}"
                f"{fmt(r['p99_ms'], '.2f'):>9}{r['half_rate_ok']:>6}/{r['half_rate_sent']:<5}"
                f"{fmt(r['per_request'].get('cpu_ms'), '.2f'):>8}"
                f"{fmt(r['per_request'].get('db_cpu_ms'), '.2f'):>8}"
                f"{r['per_request']['queries']:>5}  {verdict(r)}"
            )
        elif "per_s" in r:
            ratio = r.get("ratio_to_noop")
            extra = f"x noop {ratio:.2f}" if ratio is not None else ""
            if "per_s_again" in r:
                extra = f"{r['per_s_first']:.0f} then {r['per_s_again']:.0f}"
            cpu = r.get("worker_cpu_ms_per_message")
            extra += f", worker cpu {cpu:.2f} ms/msg" if cpu is not None else ""
            print(
                f"{name:<22}{fmt(r['per_s']):>9} msg/s over {r['messages']} {extra:<38}"
                f"  {verdict(r)}"
            )
        elif "p99_ms" in r:
            print(
                f"{name:<22}late p50 {fmt(r['p50_ms'], '.0f')} ms, p99 {fmt(r['p99_ms'], '.0f')}"
                f" ms, max {fmt(r['max_ms'], '.0f')} ms over {r['count']}  {verdict(r)}"
            )
        else:
            print(f"{name:<22}ERROR")
    base = report["scenarios"].get("baseline", {})
    if "requests_per_s_again" in base:
        print(
            f"\nbaseline: {base['requests_per_s_first']:.1f} req/s first, "
            f"{base['requests_per_s_again']:.1f} req/s after the scenarios, "
            f"{base['requests_per_s_best']:.1f} req/s at best."
            "\nx base: the median over the scenario's rounds of its rate over the baseline runs"
            " just before and after the round (judged);\nx best: over the best baseline of the"
            " whole run (shown)."
        )
        for name, r in report["scenarios"].items():
            if "rounds" in r:
                each = "; ".join(
                    f"{x['requests_per_s']:.1f} ({x['ratio']:.2f})" for x in r["rounds"]
                )
                around = ", ".join(f"{b:.1f}" for b in r["baseline_adjacent_per_s"])
                print(f"  {name}: rounds {each}; baselines {around} req/s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
