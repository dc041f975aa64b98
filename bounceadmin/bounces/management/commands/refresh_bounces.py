from django.core.management.base import BaseCommand, CommandError

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh import RefreshAlreadyRunning, bounces_refresh
from bounceadmin.sendgrid import get_client


class Command(BaseCommand):
    help = (
        "Refresh cached bounces in this process: one line per subuser; exits non-zero when any"
        " subuser failed. Incremental unless --full."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subuser", action="append", default=[], metavar="NAME",
            help="refresh only this subuser (repeatable); default: every enabled subuser",
        )  # fmt: skip
        parser.add_argument(
            "--full", action="store_true",
            help="page the whole list and mark addresses no longer upstream as removed",
        )  # fmt: skip

    def handle(self, *args, subuser: list[str], full: bool, **options):
        subusers = self._select(subuser)
        if not subusers:
            raise CommandError("No subusers to refresh. Run `python manage.py sync_subusers`.")
        client = get_client()
        failed = 0
        try:
            for sub in subusers:
                try:
                    run = bounces_refresh(subuser=sub, full=full, client=client)
                except RefreshAlreadyRunning as exc:
                    failed += 1
                    self.stdout.write(f"{sub.username}: skipped, {exc}")
                    continue
                if run.outcome == RefreshRun.Outcome.OK:
                    self.stdout.write(
                        f"{sub.username}: fetched {run.fetched}, created {run.created},"
                        f" updated {run.updated}, removed {run.removed}"
                        f" ({run.kind}, {run.pages} pages, {run.duration:.1f}s)"
                    )
                else:
                    failed += 1
                    self.stdout.write(f"{sub.username}: FAILED: {run.error}")
        finally:
            client.close()
        if failed:
            raise CommandError(f"{failed} of {len(subusers)} subusers failed")

    def _select(self, names: list[str]) -> list[Subuser]:
        if not names:
            return list(Subuser.objects.filter(enabled=True, upstream_state="active"))
        found = {s.username: s for s in Subuser.objects.filter(username__in=names)}
        unknown = [n for n in names if n not in found]
        if unknown:
            raise CommandError(
                f"Unknown subuser(s): {', '.join(unknown)}. Run `python manage.py sync_subusers`."
            )
        return [found[n] for n in names]
