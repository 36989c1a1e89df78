"""Queue again webhook deliveries whose attempt is overdue (run from cron or a Kubernetes CronJob)."""
from django.core.management.base import BaseCommand

from webhooks.services import deliveries_resend_due


class Command(BaseCommand):
    help = "Queue again pending webhook deliveries whose next attempt is overdue (e.g. a message lost with Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--overdue-seconds", type=float, default=60.0)

    def handle(self, *args, overdue_seconds: float, **options):
        count = deliveries_resend_due(overdue_seconds=overdue_seconds)
        self.stdout.write(f"queued {count} overdue webhook deliveries")
