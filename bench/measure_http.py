"""The HTTP scenarios' measurement: a warm-up, saturation rounds with wrk between baseline
runs, latency at half that rate with the open-loop client, and the ratios to the baseline.

Call `django.setup()` (bench.settings) before `measure_http_scenarios`: it counts queries in
this process.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Callable
from pathlib import Path

from bench import wrk as wrk_tool
from bench.loadgen import percentile, run_at_rate
from bench.progress import log
from bench.scenarios import HALF, QUERIES, SATURATION, WARM, Scenario, saturation_run
from bench.seeder import Seeder


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
