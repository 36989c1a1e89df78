"""Append-only audit log: every state change and every access to biometric data (actor, organization, action,
object, time, IP). Teams' domain events are written inside their own transaction (receivers.domain_event)."""
from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from teams import signals as teams_signals
        from teams.generation import generation_finished

        from . import receivers

        teams_signals.in_transaction.connect(receivers.domain_event, dispatch_uid="audit.domain_event")
        generation_finished.connect(receivers.generation_finished, dispatch_uid="audit.generation_finished")
