"""Delete biometric data past its retention period (BIOMETRIC_RETENTION_DAYS after approval); run daily."""
from django.core.management.base import BaseCommand

from privacy.services import biometric_purge_expired


class Command(BaseCommand):
    help = "Delete selfies, face embeddings and identity profiles whose retention period after approval has ended."

    def handle(self, *args, **options):
        deleted = biometric_purge_expired()
        self.stdout.write(f"{deleted} selfie(s) past retention deleted")
