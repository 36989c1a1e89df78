"""Connection credentials and Slack tokens are stored encrypted (config/encryption.py): the column types change,
then every stored value is written again, encrypted."""
from django.db import migrations

import config.encryption


def encrypt_stored(apps, schema_editor):
    config.encryption.reencrypt([
        (apps.get_model("connectors", "Connection"), ["credentials"]),
        (apps.get_model("connectors", "SlackConnection"), ["access_token"]),
        (apps.get_model("connectors", "PhotoDeletion"), ["credential"]),
    ])


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0002_photodeletion_credential"),
    ]

    operations = [
        migrations.AlterField(
            model_name="connection",
            name="credentials",
            field=config.encryption.EncryptedJSONField(default=dict),
        ),
        migrations.AlterField(
            model_name="slackconnection",
            name="access_token",
            field=config.encryption.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="photodeletion",
            name="credential",
            field=config.encryption.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_stored, migrations.RunPython.noop),
    ]
