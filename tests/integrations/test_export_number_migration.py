"""The migration that numbers export jobs per organization numbers the existing ones by age, each organization
from 1."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations.models import ExportJob

BEFORE = [("integrations", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_existing_export_jobs_are_numbered_per_organization_in_the_order_they_were_made(org_a, org_b):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldJob = executor.loader.project_state(BEFORE).apps.get_model("integrations", "ExportJob")
    made = [OldJob.objects.create(organization_id=org.pk, preset="slack", status="done")
            for org in (org_a, org_b, org_a, org_b, org_a)]

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    numbers = [(job.organization_id, ExportJob.objects.get(pk=job.pk).number) for job in made]
    assert numbers == [(org_a.pk, 1), (org_b.pk, 1), (org_a.pk, 2), (org_b.pk, 2), (org_a.pk, 3)]
    assert ExportJob.objects.create(organization=org_b, preset="slack").number == 3
