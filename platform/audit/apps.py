"""Append-only audit log: every state change and every access to biometric data (actor, organization, action,
object, time, IP). The receivers of teams' domain events are connected here."""
from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from teams import signals as teams_signals
        from teams.generation import generation_finished

        from . import receivers

        teams_signals.employee_changed.connect(receivers.employee_changed, dispatch_uid="audit.employee_changed")
        teams_signals.employee_deleted.connect(receivers.employee_deleted, dispatch_uid="audit.employee_deleted")
        teams_signals.headshot_approved.connect(receivers.headshot_approved, dispatch_uid="audit.headshot_approved")
        generation_finished.connect(receivers.generation_finished, dispatch_uid="audit.generation_finished")
        connection_created.connect(receivers.allow_truncate_in_test_database, dispatch_uid="audit.truncate")
