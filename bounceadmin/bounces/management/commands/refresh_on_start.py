from django.core.management.base import BaseCommand

from bounceadmin.bounces.tasks import sync_and_refresh


class Command(BaseCommand):
    help = (
        "Queue a subuser sync followed by a full refresh of every subuser, for the worker to run"
        " as soon as it starts (used by `make run`)."
    )

    def handle(self, *args, **options):
        sync_and_refresh.delay(full=True)
        self.stdout.write("Queued: sync subusers, then a full refresh of each.")
