# The Consent model moves here from the privacy app in Django's state only: its table (privacy_consent) and index
# stay as they are, no row is touched (privacy's 0003 removes it from privacy's state).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('privacy', '0002_erasure_receipt'),
        ('teams', '0003_employee_active'),
        ('tenancy', '0002_organization_selfie_bounds'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Consent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name='ID')),
                        ('text_version', models.CharField(max_length=32)),
                        ('text_sha256', models.CharField(max_length=64)),
                        ('granted_at', models.DateTimeField(auto_now_add=True)),
                        ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=500)),
                        ('channel', models.CharField(choices=[('portal', 'Portal'), ('api', 'API')], max_length=16)),
                        ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                        ('employee', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                       related_name='consents', to='teams.employee')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                           related_name='+', to='tenancy.organization')),
                        ('user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                   related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'privacy_consent',
                        'ordering': ['-granted_at', '-id'],
                        'indexes': [models.Index(fields=['employee', 'withdrawn_at'],
                                                 name='privacy_con_employe_8dd093_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
