"""The retention sweeps' indexes (`challenges.domain.retention`).

- `verification_unmasked` / `verification_masked`: verifications by creation time, split on
  whether `to` is masked yet (a `*` after its last `@`; the predicate is the sweep's
  `MASKED`, character for character, so the planner matches it). The masking sweep reads
  only rows in clear, the deletion only masked ones; a new verification writes one entry.
- `challenge_ended` and `factor_code_ended`: ended challenges and codes by creation time.
  A TOTP approval, inserted approved, writes one entry; a pending challenge or code writes
  none until it ends.

Delivery attempts are swept through the Attempts API's `attempt_created` (0007).

Written as SQL, built concurrently (no write waits for the build on a large table), and
outside the models' state: the sweeps' statements are hand-written and name them by their
predicates, so the ORM has no use for them.
"""

from django.db import migrations

MASKED = r""""to" ~ '\*[^@]*$'"""

INDEXES = {
    "verification_unmasked": f"challenges_verification (date_created) WHERE NOT ({MASKED})",
    "verification_masked": f"challenges_verification (date_created) WHERE {MASKED}",
    "challenge_ended": "challenges_challenge (date_created) WHERE status <> 'pending'",
    "factor_code_ended": "challenges_factorcode (date_created) WHERE status <> 'pending'",
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("challenges", "0007_attempt_created"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, target in INDEXES.items()
    ]
