"""The Attempts API's index: delivery attempts of verifications by (date_created, sid).

Built concurrently: on a database holding a year of attempts a plain CREATE INDEX would
block every send for as long as the build takes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("challenges", "0006_challenges_outlive_factors"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="deliveryattempt",
            index=models.Index(
                condition=models.Q(("verification__isnull", False)),
                fields=["date_created", "sid"],
                name="attempt_created",
            ),
        ),
    ]
