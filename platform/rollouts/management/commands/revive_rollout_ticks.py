"""Start again the watchdog tick of rollouts whose tick message was lost (run by the queue-watchdog CronJob)."""
from django.core.management.base import BaseCommand

from rollouts.services import rollouts_feed, rollouts_revive_ticks


class Command(BaseCommand):
    help = "Refill the rollout window and restart overdue rollout ticks (their Redis message was lost)."

    def handle(self, *args, **options):
        fed, revived = rollouts_feed(), rollouts_revive_ticks()
        self.stdout.write(f"queued {fed} waiting rollout requests; restarted {revived} overdue rollout ticks")
