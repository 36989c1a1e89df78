"""After adding a new key at the front of FIELD_ENCRYPTION_KEYS: rewrite every stored secret under it, after which
the old key can be dropped."""
from django.core.management.base import BaseCommand

from config.encryption import encrypted_fields, reencrypt


class Command(BaseCommand):
    help = "Rewrite every encrypted secret (credentials, Slack tokens, webhook secrets) under the newest key."

    def handle(self, *args, **options):
        targets = encrypted_fields()
        rows = reencrypt(targets)
        names = ", ".join(f"{model._meta.label}.{name}" for model, fields in targets for name in fields)
        self.stdout.write(f"re-encrypted {rows} rows ({names}) under the newest FIELD_ENCRYPTION_KEYS key")
