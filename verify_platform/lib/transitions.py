"""The one way a status changes: along a declared edge, by a compare-and-set.

Each stateful model declares its legal edges next to its `TextChoices` (`Transitions`), and
`move` is the only writer of a status: `UPDATE ... SET status = target WHERE pk = ? AND
status IN (sources)` either moves the row or does nothing, so of any number of concurrent
callers exactly one wins, without a read-then-write window. A row created in a state other
than the initial one is an edge too (`created_as`). The few statements written by hand
(`<app>/sql.py`) take their status values from `edge()`, so they cannot move a row along an
edge the table does not declare either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

# The source of a creation edge: the row did not exist before.
CREATED = None


class IllegalTransition(ValueError):
    """A programming error: the code asked for an edge its model does not declare."""


class Transitions:
    """The legal edges of one model's status field: `{source: targets}`, with `CREATED` as
    the source of the states a row may be inserted in."""

    def __init__(self, edges: Mapping[str | None, Iterable[str]]) -> None:
        self.edges: dict[str | None, frozenset[str]] = {
            source: frozenset(targets) for source, targets in edges.items()
        }

    def allows(self, source: str | None, target: str) -> bool:
        return target in self.edges.get(source, ())

    def sources_of(self, target: str) -> list[str]:
        """Every existing state from which `target` may be reached."""
        return sorted(s for s, targets in self.edges.items() if s is not None and target in targets)

    def edge(self, sources: Iterable[str] | None, target: str) -> tuple[list[str], str]:
        """`(sources, target)` after checking each is a declared edge; `sources=None` means
        every state the table allows to reach `target`."""
        chosen = self.sources_of(target) if sources is None else list(sources)
        if not chosen:
            raise IllegalTransition(f"nothing may move to {target!r}")
        for source in chosen:
            if not self.allows(source, target):
                raise IllegalTransition(f"{source!r} -> {target!r} is not a declared edge")
        return chosen, target

    def created_as(self, status: str) -> str:
        """`status` after checking a row may be inserted in it."""
        if not self.allows(CREATED, status):
            raise IllegalTransition(f"a row cannot be created as {status!r}")
        return status


def move(
    model: type[models.Model],
    *conditions: Any,
    pk: Any,
    target: str,
    sources: Iterable[str] | None = None,
    filters: dict[str, Any] | None = None,
    **updates: Any,
) -> bool:
    """Move row `pk` of `model` to `target` from one of `sources` (default: every source the
    model's table declares for it), also writing `updates`, only while `conditions` (Q
    objects or boolean expressions) and `filters` (lookups) hold. True only for the caller that won."""
    chosen, target = model.transitions.edge(sources, target)
    rows = model._default_manager.filter(*conditions, pk=pk, status__in=chosen, **(filters or {}))
    return rows.update(status=target, **updates) == 1


def move_all(
    rows: models.QuerySet,
    *,
    target: str,
    sources: Iterable[str] | None = None,
    **updates: Any,
) -> int:
    """`move` for every row of `rows` in one of `sources`: how many moved."""
    chosen, target = rows.model.transitions.edge(sources, target)
    return rows.filter(status__in=chosen).update(status=target, **updates)
