"""Teams' domain events (teams.signals) and generation outcomes, written to the audit log.

On teams' side, so the audit app (the floor) imports nothing above it: teams.apps connects these in ready().
`in_transaction` is sent before the commit; a failed write raises AuditWriteError and the change rolls back with it.
"""
from __future__ import annotations

from audit.services import record, record_in_transaction

from . import signals


def domain_event(sender, **kwargs) -> None:
    if sender is signals.employee_changed:
        employee = kwargs["employee"]
        record_in_transaction(action="employee.created" if kwargs.get("created") else "employee.updated",
                              organization=employee.organization_id, object=("employee", employee.pk),
                              detail={"fields": sorted(str(f) for f in kwargs.get("fields") or ())})
    elif sender is signals.employee_deleted:
        # The signal also carries the email and external ids: deliberately not kept.
        record_in_transaction(action="employee.deleted", organization=kwargs["organization_id"],
                              object=("employee", kwargs["employee_id"]))
    elif sender is signals.headshot_approved:
        headshot = kwargs["headshot"]
        record_in_transaction(action="headshot.approved", organization=headshot.organization_id,
                              actor=kwargs.get("actor"), object=("headshot", headshot.pk),
                              detail={"employee_id": headshot.employee_id})


def generation_finished(sender, *, request, **kwargs) -> None:
    """A generation job's outcome: sent after its commit by the worker, so best effort (logged when it fails)."""
    record(action=f"generation.{request.status}", organization=request.organization_id, actor="system",
           object=("generationrequest", request.pk), detail={"employee_id": request.employee_id})
