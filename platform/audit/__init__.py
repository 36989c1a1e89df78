"""Append-only audit log: every state change and every access to biometric data, with actor, organization, action,
object, time and IP."""
