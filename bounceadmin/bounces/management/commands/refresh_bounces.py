import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh import (
    WORKER_STOPPED,
    RefreshAlreadyRunning,
    bounces_refresh_each,
)
from bounceadmin.bounces.tasks import refresh_subuser
from bounceadmin.queue import publish
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
        parser.add_argument(
            "--enqueue", action="store_true",
            help="put the refreshes on the broker for the workers and wait until each finished",
        )  # fmt: skip
        parser.add_argument(
            "--lists", action="store_true",
            help="then refresh each subuser's other lists too (blocks, invalid emails, spam"
            " reports, unsubscribes), one run each; the workers' refresh does with"
            " REFRESH_OTHER_LISTS",
        )  # fmt: skip
        parser.add_argument(
            "--timeout", type=float, default=3600, metavar="SECONDS",
            help="with --enqueue: give up waiting after this long (default 3600)",
        )  # fmt: skip

    def handle(self, *args, subuser: list[str], full: bool, enqueue: bool, timeout: float,
               lists: bool = False, **options):  # fmt: skip
        subusers = self._select(subuser)
        if not subusers:
            raise CommandError("No subusers to refresh. Run `python manage.py sync_subusers`.")
        if enqueue:
            return self._enqueue_and_wait(subusers, full=full, timeout=timeout)
        client = get_client()
        failed = 0
        try:
            for sub, run in bounces_refresh_each(subusers, full=full, client=client):
                if isinstance(run, RefreshAlreadyRunning):
                    failed += 1
                    self.stdout.write(f"{sub.username}: skipped, {run}")
                    continue
                failed += not self._report(sub, run)
            if lists:
                failed += self._lists(subusers, full=full, client=client)
        finally:
            client.close()
        if failed:
            raise CommandError(f"{failed} of {len(subusers)} subusers failed")

    def _lists(self, subusers: list[Subuser], *, full: bool, client) -> int:
        """Each subuser's other lists, in turn; returns how many subusers had a list fail."""
        from bounceadmin.suppressions.refresh import lists_refresh

        failed = 0
        for sub in subusers:
            runs = lists_refresh(subuser=sub, full=full, client=client)
            ok = True
            for name, run in runs.items():
                if run is None:
                    self.stdout.write(f"{sub.username} {name}: skipped, already running")
                    ok = False
                else:
                    ok = self._report(sub, run, label=f"{sub.username} {name}") and ok
            failed += not ok
        return failed

    def _report(self, sub: Subuser, run: RefreshRun, *, label: str = "") -> bool:
        label = label or sub.username
        if run.outcome == RefreshRun.Outcome.OK:
            self.stdout.write(
                f"{label}: fetched {run.fetched}, created {run.created},"
                f" updated {run.updated}, removed {run.removed}"
                f" ({run.kind}, {run.pages} pages, {run.duration:.1f}s)"
            )
            return True
        self.stdout.write(f"{label}: FAILED: {run.error}")
        return False

    def _enqueue_and_wait(self, subusers: list[Subuser], *, full: bool, timeout: float) -> None:
        since = timezone.now()
        ids = [s.pk for s in subusers]
        Subuser.objects.filter(pk__in=ids).update(refresh_queued_at=since)
        for pk in ids:
            if not publish(refresh_subuser, pk, full):
                raise CommandError("The broker is unreachable: nothing was queued.")
        self.stdout.write(f"Queued {len(ids)} refreshes; waiting for the workers…")
        pending = {s.pk: s for s in subusers}
        failed = 0
        deadline = time.monotonic() + timeout
        while pending:
            # Finished since we asked: ours, or one already running that covered the request;
            # not one whose worker died (closed by the refresh that took over from it).
            runs = (
                RefreshRun.objects.filter(
                    subuser_id__in=pending, list="bounces", finished_at__gte=since
                )
                .exclude(outcome=RefreshRun.Outcome.RUNNING)
                .exclude(error=WORKER_STOPPED)
            )
            queued = set(
                Subuser.objects.filter(pk__in=pending)
                .exclude(refresh_queued_at=None)
                .values_list("pk", flat=True)
            )
            for run in runs.order_by("finished_at"):
                if run.subuser_id in pending and run.subuser_id not in queued:
                    failed += not self._report(pending.pop(run.subuser_id), run)
            if pending and time.monotonic() > deadline:
                names = ", ".join(sorted(s.username for s in pending.values()))
                raise CommandError(f"Timed out waiting for: {names}. Are workers running?")
            if pending:
                time.sleep(0.5)
        if failed:
            raise CommandError(f"{failed} of {len(subusers)} subusers failed")

    def _select(self, names: list[str]) -> list[Subuser]:
        if not names:
            return list(Subuser.objects.refreshable())
        found = {s.username: s for s in Subuser.objects.filter(username__in=names)}
        unknown = [n for n in names if n not in found]
        if unknown:
            raise CommandError(
                f"Unknown subuser(s): {', '.join(unknown)}. Run `python manage.py sync_subusers`."
            )
        return [found[n] for n in names]
