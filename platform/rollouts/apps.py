from django.apps import AppConfig


class RolloutsConfig(AppConfig):
    name = "rollouts"

    def ready(self) -> None:
        # Connect the scheduler to the generation job's hooks (teams never imports rollouts).
        from teams.generation import generation_finished, generation_may_start  # lazy: needs the app registry

        from . import jobs, services  # noqa: F401  # lazy: needs the app registry; jobs declares the actors

        generation_may_start.connect(services.hold_if_paused, dispatch_uid="rollouts.hold_if_paused")
        generation_finished.connect(services.on_request_finished, dispatch_uid="rollouts.on_request_finished")
