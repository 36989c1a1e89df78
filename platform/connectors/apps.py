"""Photo pushes to directories on approval (Microsoft Graph, Google Directory, Slack, BambooHR), with per-employee
sync status."""
from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from teams.models import Employee
        from teams.signals import employee_deleted, headshot_approved

        from . import receivers

        headshot_approved.connect(receivers.on_headshot_approved, dispatch_uid="connectors.headshot_approved")
        employee_deleted.connect(receivers.on_employee_deleted, dispatch_uid="connectors.employee_deleted")
        pre_delete.connect(receivers.before_employee_delete, sender=Employee, dispatch_uid="connectors.employee_pre")
