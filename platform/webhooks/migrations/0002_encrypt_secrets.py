"""Webhook signing secrets are stored encrypted (config/encryption.py)."""
from django.db import migrations

import config.encryption


def encrypt_stored(apps, schema_editor):
    config.encryption.reencrypt([(apps.get_model("webhooks", "WebhookEndpoint"), ["secret", "previous_secret"])])


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret",
            field=config.encryption.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="previous_secret",
            field=config.encryption.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_stored, migrations.RunPython.noop),
    ]
