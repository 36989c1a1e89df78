from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # Listen to the domain's signals (teams never imports webhooks).
        from . import events

        events.connect()
