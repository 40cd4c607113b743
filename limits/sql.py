"""The limits app's hand-written SQL: the destination gate, as fragments that a start's or a
check's one statement embeds (`challenges/sql.py`) and as the gate's own read.

The rule exists only here: a destination is closed while its streak row is blocked or is
waiting out its delay. Parameters: `service`, `to` (the destination) and `now`.
"""

from __future__ import annotations

# Row `t` of limits_destinationthrottle closes its destination at `now`.
DESTINATION_CLOSED = "(t.status = 'blocked' OR t.next_attempt_at > %(now)s)"

_THIS_DESTINATION = """t.service_id = %(service)s AND t."to" = %(to)s"""

# True when the gate lets a start or a check through.
DESTINATION_OPEN = f"""NOT EXISTS (
    SELECT 1 FROM limits_destinationthrottle t
    WHERE {_THIS_DESTINATION} AND {DESTINATION_CLOSED}
)"""  # noqa: S608 (names of ours; every value is a parameter)

# The gate's read: the destination's streak row, if any, and whether it closes it now.
DESTINATION_STATE = f"""
SELECT t.status, t.next_attempt_at, {DESTINATION_CLOSED}
FROM limits_destinationthrottle t
WHERE {_THIS_DESTINATION}
"""  # noqa: S608


def destination_streak_end(source: str) -> str:
    """A CTE body that ends the destination's streak of failures (a correct code, NIST SP
    800-63B 5.2.2) once `source` yields a row. A blocked destination is never checked, so only
    an active streak is deleted."""
    return f"""DELETE FROM limits_destinationthrottle t
    WHERE {_THIS_DESTINATION} AND t.status = 'active' AND EXISTS (SELECT 1 FROM {source})
    RETURNING 1"""  # noqa: S608
