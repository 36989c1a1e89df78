"""Photo pushes to directories on approval (Microsoft Graph, Google Directory, Slack, BambooHR), with per-employee
sync status."""
from django.apps import AppConfig
from django.db.models.signals import pre_delete


class ConnectorsConfig(AppConfig):
    name = "connectors"

    def ready(self) -> None:
        # Models (and modules that import them) can be imported only once the app registry is ready, i.e. here.
        from teams.models import Employee  # lazy: needs the app registry
        from teams.signals import employee_deleted, headshot_approved  # lazy: needs the app registry

        from . import jobs, receivers  # noqa: F401  # lazy: needs the app registry; jobs declares the actors

        headshot_approved.connect(receivers.on_headshot_approved, dispatch_uid="connectors.headshot_approved")
        employee_deleted.connect(receivers.on_employee_deleted, dispatch_uid="connectors.employee_deleted")
        pre_delete.connect(receivers.before_employee_delete, sender=Employee, dispatch_uid="connectors.employee_pre")
