from django.core.management.base import BaseCommand, CommandError

from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sendgrid import SendGridError


class Command(BaseCommand):
    help = "Import or update the parent account's subusers from SendGrid (/v3/subusers)."

    def handle(self, *args, **options):
        try:
            result = subusers_sync()
        except SendGridError as exc:
            raise CommandError(str(exc)) from None
        for label, names in (("new", result.created), ("updated", result.updated),
                             ("no longer listed upstream", result.gone)):  # fmt: skip
            for name in names:
                self.stdout.write(f"{name}: {label}")
        self.stdout.write(
            f"{len(result.created)} new, {len(result.updated)} updated,"
            f" {len(result.gone)} no longer listed upstream"
        )
