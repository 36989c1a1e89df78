from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from . import receivers, schema  # noqa: F401  (signal receivers; the API key scheme for drf-spectacular)
