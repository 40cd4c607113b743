"""The one way a status changes: a compare-and-set decided by the database.

`UPDATE ... WHERE pk = ? AND status IN (sources)` either moves the row or does nothing, so
of any number of concurrent callers exactly one wins, without a read-then-write window.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models


def compare_and_set(
    model: type[models.Model],
    *,
    pk: Any,
    sources: Iterable[str],
    target: str,
    field: str = "status",
    extra_filter: dict[str, Any] | None = None,
    **updates: Any,
) -> bool:
    """Move row `pk` from one of `sources` to `target`; True only for the caller that won."""
    filters = {"pk": pk, f"{field}__in": list(sources), **(extra_filter or {})}
    return model._default_manager.filter(**filters).update(**{field: target}, **updates) == 1
