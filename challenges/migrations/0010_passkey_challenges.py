# Passkeys challenges: the WebAuthn side table (challenges.passkey_models).

import django.db.models.deletion
import verify_platform.lib.sids
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('challenges', '0009_verification_options'),
        ('entities', '0001_initial'),
        ('services', '0010_account_risk_check_disable_allowed'),
    ]

    operations = [
        migrations.CreateModel(
            name='PasskeyChallenge',
            fields=[
                ('sid', models.CharField(default=verify_platform.lib.sids.challenge_sid, max_length=34, primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved')], default='pending', max_length=16)),
                ('webauthn_challenge', models.BinaryField()),
                ('allowed_credentials', models.JSONField(blank=True, default=list)),
                ('rp_id', models.CharField(max_length=255)),
                ('origins', models.JSONField(default=list)),
                ('user_verification', models.CharField(max_length=16)),
                ('expires_at', models.DateTimeField()),
                ('date_created', models.DateTimeField(auto_now_add=True)),
                ('entity', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='entities.entity')),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='services.service')),
            ],
            options={
                'indexes': [models.Index(fields=['expires_at'], name='passkey_challenge_age')],
                'constraints': [models.UniqueConstraint(fields=('service', 'webauthn_challenge'), name='passkey_challenge_bytes')],
            },
        ),
    ]
