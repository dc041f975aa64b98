from django.core.management.base import BaseCommand, CommandError

from bounceadmin.bounces.models import Subuser
from bounceadmin.webhooks.setup import public_base, webhook_set_up


class Command(BaseCommand):
    help = (
        "Create or update each subuser's signed Event Webhook (on-behalf-of), posting to"
        " PUBLIC_URL/webhooks/sendgrid/<its token>/: one line per subuser; exits non-zero when any"
        " failed. Idempotent; the subusers' other webhooks are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subuser", action="append", default=[], metavar="NAME",
            help="only this subuser (repeatable); default: every subuser",
        )  # fmt: skip
        parser.add_argument(
            "--public-url", required=True, metavar="URL",
            help="where SendGrid reaches this dashboard, e.g. https://dashboard.example",
        )  # fmt: skip
        parser.add_argument(
            "--dry-run", action="store_true",
            help="only read upstream, change nothing, and say what would change",
        )  # fmt: skip
        parser.add_argument(
            "--deferred", action="store_true", help="also send deferred events (temporary delays)"
        )

    def handle(self, *args, subuser: list[str], public_url: str, dry_run: bool, deferred: bool,
               **options):  # fmt: skip
        try:
            public_base(public_url)
        except ValueError as exc:
            raise CommandError(f"--public-url: {exc}") from None
        subusers = self._select(subuser)
        if not subusers:
            raise CommandError("No subusers. Run `python manage.py sync_subusers`.")
        if dry_run:
            self.stdout.write("Dry run: nothing is changed upstream or here.")
        failed = 0
        for sub in subusers:
            result = webhook_set_up(sub, public_url=public_url, dry_run=dry_run, deferred=deferred)
            failed += result.failed
            self.stdout.write(result.line)
        if failed:
            raise CommandError(f"{failed} of {len(subusers)} subusers failed")

    def _select(self, names: list[str]) -> list[Subuser]:
        if not names:
            return list(Subuser.objects.order_by("username"))
        found = {s.username: s for s in Subuser.objects.filter(username__in=names)}
        unknown = [n for n in names if n not in found]
        if unknown:
            raise CommandError(
                f"Unknown subuser(s): {', '.join(unknown)}. Run `python manage.py sync_subusers`."
            )
        return [found[n] for n in dict.fromkeys(names)]
