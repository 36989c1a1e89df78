"""Directory fields on the employee: title, department, employee number, manager (SCIM and the employees API).

The SCIM enterprise employeeNumber used to live in external_ids["employee_number"]; it moves to its own column
(a value too long for the column stays where it was rather than being cut).
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_KEY = "employee_number"
MAX_LENGTH = 64


def employee_number_to_column(apps, schema_editor):
    Employee = apps.get_model("teams", "Employee")
    for employee in Employee.objects.filter(external_ids__has_key=OLD_KEY).iterator():
        number = str(employee.external_ids.get(OLD_KEY) or "")
        if len(number) <= MAX_LENGTH:
            employee.employee_number = number
            employee.external_ids = {k: v for k, v in employee.external_ids.items() if k != OLD_KEY}
            employee.save(update_fields=["employee_number", "external_ids"])


def employee_number_back(apps, schema_editor):
    Employee = apps.get_model("teams", "Employee")
    for employee in Employee.objects.exclude(employee_number="").iterator():
        employee.external_ids = {**(employee.external_ids or {}), OLD_KEY: employee.employee_number}
        employee.save(update_fields=["external_ids"])


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0004_headshot_review'),
    ]

    operations = [
        migrations.AddField(
            model_name='employee',
            name='department',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='employee',
            name='employee_number',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='employee',
            name='manager',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports', to='teams.employee'),
        ),
        migrations.AddField(
            model_name='employee',
            name='manager_name',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='employee',
            name='title',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(employee_number_to_column, employee_number_back),
    ]
