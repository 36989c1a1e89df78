"""Domain events other apps listen to (webhooks, directory pushes, audit).

Each event is sent twice by `send_on_commit`: first as `in_transaction` (sender = the event's signal), inside the
change's transaction, for the one listener that must commit or fail with the change (the audit log: its exception
rolls the change back); then the event's own signal after the commit, whose receivers get keyword arguments only
and must not raise into the sender (a failing webhook must never undo an employee's approval or an admin's edit).
"""
from django.db import transaction
from django.dispatch import Signal

# headshot=<Headshot>, actor=<User|None>: a headshot was approved for the directory.
headshot_approved = Signal()
# employee=<Employee>, created=<bool>, fields=<list[str]>: an employee was created or changed.
employee_changed = Signal()
# organization_id, employee_id, email, external_id, external_ids: an employee and their data were deleted.
employee_deleted = Signal()
# sender=<one of the signals above>, and its keyword arguments: the change is about to commit.
in_transaction = Signal()


def send_on_commit(signal: Signal, **kwargs) -> None:
    in_transaction.send(sender=signal, **kwargs)  # not robust: a failed audit write undoes the change
    transaction.on_commit(lambda: signal.send_robust(sender=signal, **kwargs))
