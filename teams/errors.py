"""The teams app's service error (a ServiceError with the app's name), in its own module so that every teams
module can raise it without importing another; and the consent gate, refused with it."""
from __future__ import annotations

from config.errors import ServiceError
from consent.services import ConsentError, require_consent


class TeamsError(ServiceError):
    """A domain rule of teams (employees, selfies, generation, headshots) was broken."""


def consent_required(employee) -> None:
    """consent.services.require_consent, refused as a TeamsError like every other rule of these services (same code,
    message and status), so their callers catch one error type."""
    try:
        require_consent(employee)
    except ConsentError as exc:
        raise TeamsError(exc.code, exc.message, exc.status) from None
