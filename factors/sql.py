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
