"""The floors a full `make bench` run is judged against, and the judging (a smoke run's
figures are not judged)."""

from __future__ import annotations

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
