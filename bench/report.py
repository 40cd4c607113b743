"""The table a run prints: every scenario's figures, its floors met or missed, and how the
baseline moved during the run."""

from __future__ import annotations


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
