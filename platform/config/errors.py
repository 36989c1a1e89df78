"""The one base of every service-layer error: a broken domain rule with a stable `code` for clients, a `message`
for people and the HTTP `status` an API answers with. Each app subclasses it under its own name."""
from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
