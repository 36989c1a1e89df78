from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Listen to the domain's signals (teams never imports webhooks).
        from . import events, jobs  # noqa: F401  # lazy: needs the app registry; jobs declares the actors

        events.connect()
