"""Delete biometric data past each organization's retention period, and retry erasure files; run daily."""
from django.core.management.base import BaseCommand

from privacy.erasure import erasure_exports_sweep, erasure_files_retry
from privacy.services import biometric_purge_expired


class Command(BaseCommand):
    help = ("Delete selfies, face embeddings and identity profiles whose retention period after approval has ended "
            "(each organization's biometric_retention_days); finish erasures (late exports, files storage refused).")

    def handle(self, *args, **options):
        deleted = biometric_purge_expired()
        self.stdout.write(f"{deleted} selfie(s) past retention deleted")
        swept = erasure_exports_sweep()
        if swept:
            self.stdout.write(f"{swept} export(s) made during an erasure still listed the person; deleted")
        pending = erasure_files_retry()
        if pending:
            self.stderr.write(f"{pending} erased person's file(s) still could not be deleted; see the log")
