# Export jobs get a number per organization ("Export #1" is each organization's first), replacing the global id
# in what people see. Existing jobs are numbered in the order they were made.

from django.db import migrations, models


def number_existing_jobs(apps, schema_editor):
    ExportJob = apps.get_model("integrations", "ExportJob")
    counters: dict[int, int] = {}
    for job in ExportJob.objects.order_by("id").only("id", "organization_id"):
        counters[job.organization_id] = counters.get(job.organization_id, 0) + 1
        ExportJob.objects.filter(pk=job.pk).update(number=counters[job.organization_id])


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportjob",
            name="number",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing_jobs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="exportjob",
            name="number",
            field=models.PositiveIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="exportjob",
            constraint=models.UniqueConstraint(fields=("organization", "number"), name="exportjob_number_per_org"),
        ),
    ]
