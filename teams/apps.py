from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"

    def ready(self) -> None:
        # The audit log hears teams' events from here, so the audit app (the floor) imports nothing above it.
        from . import audit_events, generation, signals  # lazy: ready() runs once the app registry is ready

        signals.in_transaction.connect(audit_events.domain_event, dispatch_uid="audit.domain_event")
        generation.generation_finished.connect(audit_events.generation_finished,
                                               dispatch_uid="audit.generation_finished")
