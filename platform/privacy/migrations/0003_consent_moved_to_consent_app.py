# Consent now belongs to the consent app (its 0001 takes it over in Django's state): removed from privacy's state
# only, so the table privacy_consent and its rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0001_initial'),
        ('privacy', '0002_erasure_receipt'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Consent')],
            database_operations=[],
        ),
    ]
