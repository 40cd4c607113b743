from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("services", "0009_templates_messaging_configurations")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="risk_check_disable_allowed",
            field=models.BooleanField(
                default=False,
                help_text="Starts may send RiskCheck=disable to skip the special-number and "
                "country rules (Twilio's Fraud Guard and Geo Permissions override).",
            ),
        ),
    ]
