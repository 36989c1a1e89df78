"""The migration that gives employees their directory fields moves SCIM's employee number out of external_ids."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from teams.models import Employee

BEFORE = [("teams", "0004_headshot_review")]


@pytest.mark.django_db(transaction=True)
def test_the_employee_number_moves_from_external_ids_to_its_column(org_a):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldEmployee = executor.loader.project_state(BEFORE).apps.get_model("teams", "Employee")
    numbered = OldEmployee.objects.create(organization_id=org_a.pk, name="Ada", email="ada@acme.example",
                                          external_ids={"employee_number": "1001", "workday": "W-1"})
    too_long = OldEmployee.objects.create(organization_id=org_a.pk, name="Bo", email="bo@acme.example",
                                          external_ids={"employee_number": "9" * 65})
    plain = OldEmployee.objects.create(organization_id=org_a.pk, name="Cy", email="cy@acme.example",
                                       external_ids={"workday": "W-3"})

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    ada, bo, cy = (Employee.objects.get(pk=e.pk) for e in (numbered, too_long, plain))
    assert (ada.employee_number, ada.external_ids) == ("1001", {"workday": "W-1"})
    # A number longer than the column is left where it was rather than cut.
    assert (bo.employee_number, bo.external_ids) == ("", {"employee_number": "9" * 65})
    assert (cy.employee_number, cy.external_ids) == ("", {"workday": "W-3"})

    # And back: the number returns to external_ids.
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    OldEmployee = executor.loader.project_state(BEFORE).apps.get_model("teams", "Employee")
    assert OldEmployee.objects.get(pk=numbered.pk).external_ids == {"workday": "W-1", "employee_number": "1001"}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
