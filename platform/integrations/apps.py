from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        # receivers connect signals, schema registers the API key scheme with drf-spectacular, jobs declares the
        # app's dramatiq actors.
        from . import jobs, receivers, schema  # noqa: F401  # lazy: needs the app registry (they import models)
