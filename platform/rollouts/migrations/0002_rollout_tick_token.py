from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("rollouts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollout",
            name="tick_token",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="rollout",
            name="tick_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
