"""The retention sweep's index (`services.retention`): finished webhook deliveries by the
time they finished. Only the worker's last write of a delivery fills it; the request that
queues a delivery writes nothing here. Events are swept through `(service, date_created)`.

Written as SQL, built concurrently (no write waits for the build on a large table), and
outside the models' state: the sweep's statement is hand-written, so the ORM has no use
for it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("services", "0007_account_allowed_special_numbers"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_delivery_finished "
                "ON services_webhookdelivery (date_completed) "
                "WHERE status IN ('succeeded', 'failed', 'canceled')"
            ),
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS webhook_delivery_finished",
        ),
    ]
