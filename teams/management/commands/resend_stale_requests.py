"""Send again generation requests whose queue message was lost (run from cron or a Kubernetes CronJob)."""
from django.core.management.base import BaseCommand

from teams.generation_requests import requests_resend_stale


class Command(BaseCommand):
    help = "Queue again generation requests still 'queued' after GENERATION_REQUEUE_AFTER_SECONDS (a lost message)."

    def handle(self, *args, **options):
        self.stdout.write(f"sent {requests_resend_stale()} stale generation requests again")
