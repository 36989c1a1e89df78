"""Domain events other apps listen to (webhooks, directory pushes, audit), sent after the change is committed.

Receivers get keyword arguments only and must not raise into the sender: a failing receiver must never undo an
employee's approval or an admin's edit.
"""
from django.dispatch import Signal

# headshot=<Headshot>, actor=<User|None>: a headshot was approved for the directory.
headshot_approved = Signal()
# employee=<Employee>, created=<bool>, fields=<list[str]>: an employee was created or changed.
employee_changed = Signal()
# organization_id, employee_id, email, external_id, external_ids: an employee and their data were deleted.
employee_deleted = Signal()


def send_on_commit(signal: Signal, **kwargs) -> None:
    from django.db import transaction

    transaction.on_commit(lambda: signal.send_robust(sender=signal, **kwargs))
