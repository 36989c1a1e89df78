"""HR review of headshots: status, note, reviewer; regeneration requests remember what they replace."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_already_approved(apps, schema_editor):
    # Headshots approved before review existed are not put back in the review queue.
    Headshot = apps.get_model("teams", "Headshot")
    Headshot.objects.filter(approved=True).update(review_status="approved", reviewed_at=models.F("approved_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0003_employee_active'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='generationrequest',
            name='regenerated_from',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='regenerations', to='teams.headshot'),
        ),
        migrations.AddField(
            model_name='generationrequest',
            name='review_note',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='headshot',
            name='review_note',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='headshot',
            name='review_status',
            field=models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='pending', max_length=16),
        ),
        migrations.AddField(
            model_name='headshot',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='headshot',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(mark_already_approved, migrations.RunPython.noop),
    ]
