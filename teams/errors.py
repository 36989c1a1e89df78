"""The teams app's service error (a ServiceError with the app's name), in its own module so that every teams
module can raise it without importing the services."""
from __future__ import annotations

from config.errors import ServiceError


class TeamsError(ServiceError):
    """A domain rule of teams (employees, selfies, generation, headshots) was broken."""
