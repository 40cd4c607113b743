"""The retention sweep's index (`services.retention`): finished webhook deliveries by the
time they finished. Only the worker's last write of a delivery fills it; the request that
queues a delivery writes nothing here. Events are swept through `(service, date_created)`.

Built concurrently (no write waits for the build on a large table) from the sweep's own
predicate as SQL; the model declares the same index (`Meta.indexes`), which the state
operation records, so a later `makemigrations` sees no change.
"""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("services", "0007_account_allowed_special_numbers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=(
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_delivery_finished "
                        "ON services_webhookdelivery (date_completed) "
                        "WHERE status IN ('succeeded', 'failed', 'canceled')"
                    ),
                    reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS webhook_delivery_finished",
                ),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="webhookdelivery",
                    index=models.Index(
                        fields=["date_completed"],
                        condition=Q(status__in=["succeeded", "failed", "canceled"]),
                        name="webhook_delivery_finished",
                    ),
                ),
            ],
        ),
    ]
