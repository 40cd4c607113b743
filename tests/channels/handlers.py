"""Delivery status handlers for the callback tests (named by dotted path in settings)."""

from __future__ import annotations

calls: list[dict] = []


def record(**kwargs) -> None:
    calls.append(kwargs)


def explode(**kwargs) -> None:
    raise RuntimeError("handler bug")
