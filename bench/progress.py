"""The harness's progress lines, on stderr: the results (table, verdicts) go to stdout."""

from __future__ import annotations

import sys


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
