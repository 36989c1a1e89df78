"""Append-only audit log: every state change and every access to biometric data (actor, organization, action,
object, time, IP). The apps above write their own events through audit.services (teams' domain events: in
teams.audit_events, inside their own transaction)."""
from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
