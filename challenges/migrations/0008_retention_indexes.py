"""The retention sweeps' indexes (`challenges.domain.retention`).

- `verification_unmasked` / `verification_masked`: verifications by creation time, split on
  whether `to` is masked yet (a `*` after its last `@`; the predicate is the sweep's
  `MASKED`, character for character, so the planner matches it). The masking sweep reads
  only rows in clear, the deletion only masked ones; a new verification writes one entry.
- `challenge_ended` and `factor_code_ended`: ended challenges and codes by creation time.
  A TOTP approval, inserted approved, writes one entry; a pending challenge or code writes
  none until it ends.

Delivery attempts are swept through the Attempts API's `attempt_created` (0007).

Built concurrently (no write waits for the build on a large table) from the sweeps' own
predicates as SQL; the models declare the same indexes (`Meta.indexes`), which the state
operations record, so a later `makemigrations` sees no change.
"""

from django.db import migrations, models
from django.db.models import Q

MASKED = r""""to" ~ '\*[^@]*$'"""
MASKED_TO = r"\*[^@]*$"

INDEXES = {
    "verification_unmasked": f"challenges_verification (date_created) WHERE NOT ({MASKED})",
    "verification_masked": f"challenges_verification (date_created) WHERE {MASKED}",
    "challenge_ended": "challenges_challenge (date_created) WHERE status <> 'pending'",
    "factor_code_ended": "challenges_factorcode (date_created) WHERE status <> 'pending'",
}

STATE = {
    "verification_unmasked": ("verification", ~Q(to__regex=MASKED_TO)),
    "verification_masked": ("verification", Q(to__regex=MASKED_TO)),
    "challenge_ended": ("challenge", ~Q(status="pending")),
    "factor_code_ended": ("factorcode", ~Q(status="pending")),
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("challenges", "0007_attempt_created"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {target}",
                    reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
                )
                for name, target in INDEXES.items()
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name=model,
                    index=models.Index(fields=["date_created"], condition=condition, name=name),
                )
                for name, (model, condition) in STATE.items()
            ],
        ),
    ]
