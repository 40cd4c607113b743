"""The factors app's hand-written SQL: booking a TOTP time step.

The one implementation of TOTP replay protection: a step is accepted once, and never a step
at or below one already accepted, decided by this compare-and-set on the factor row. The
locked check (`factors.domain.factor_check_code`) runs it as it is; a TOTP challenge created
with a correct code embeds it as the first step of its one statement
(`challenges.sql.TOTP_CHALLENGE_APPROVE`), where it also demands the factor be open (neither
locked nor throttled) and its code parameters unchanged since the caller read them, which
the locked check has already established under its row lock.

Parameters: `factor`, `step`, `now`, and the parameters the step was computed with: `alg`,
`code_length`, `time_step`.
"""

from __future__ import annotations

TOTP_STEP_BOOK = """
UPDATE factors_factor
SET last_accepted_step = %(step)s, consecutive_failures = 0, next_check_at = NULL,
    date_last_used = %(now)s
WHERE sid = %(factor)s
  AND (last_accepted_step IS NULL OR last_accepted_step < %(step)s)
  AND (next_check_at IS NULL OR next_check_at <= %(now)s)
  AND NOT locked
  AND alg = %(alg)s AND code_length = %(code_length)s AND time_step = %(time_step)s
RETURNING sid
"""

# The factor a new challenge is for, with what the answer and its event read of its service
# and entity: by the primary key alone (the tenant is checked on the row read), a plan with
# nothing to choose. The ORM's join, compiled on every request, cost as much CPU as the rest
# of a TOTP approval. Columns are listed (`FACTOR_READ`, in the order selected); any other
# field of the three loads on access.
FACTOR_READ = (
    ("factor", "sid"),
    ("factor", "service_id"),
    ("factor", "entity_id"),
    ("factor", "factor_type"),
    ("factor", "status"),
    ("factor", "friendly_name"),
    ("factor", "metadata"),
    ("factor", "secret_encrypted"),
    ("factor", "alg"),
    ("factor", "code_length"),
    ("factor", "time_step"),
    ("factor", "skew"),
    ("service", "sid"),
    ("service", "account_id"),
    ("service", "push_include_date"),
    ("entity", "sid"),
    ("entity", "identity"),
    ("entity", "service_id"),
)
_ALIASES = {"factor": "f", "service": "s", "entity": "e"}
FACTOR_FOR_CHALLENGE = f"""
SELECT {", ".join(f'{_ALIASES[table]}."{column}"' for table, column in FACTOR_READ)}
FROM factors_factor f
JOIN services_service s ON s.sid = f.service_id
JOIN entities_entity e ON e.sid = f.entity_id
WHERE f.sid = %(sid)s
"""  # noqa: S608 (names of ours; the value is a parameter)
