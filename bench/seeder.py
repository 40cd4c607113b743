"""Loading a run's data through bench.seed (the domain functions), in this process or in
parallel processes, with table statistics refreshed after each load."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.progress import log

ROOT = Path(__file__).resolve().parent.parent


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
