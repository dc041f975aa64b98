from django.core.management.base import BaseCommand, CommandError

from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.refresh.summaries import bounce_summaries_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the overview's summaries of the bounce cache from the cached bounces (every"
        " subuser, or those named). Refreshes and pushes keep them current, and the overview"
        " rebuilds a subuser's lazily after TIME_ZONE changed; run this to do that at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subuser", action="append", default=[], metavar="NAME")

    def handle(self, *args, subuser, **options):
        subusers = Subuser.objects.order_by("username")
        if subuser:
            subusers = subusers.filter(username__in=subuser)
            unknown = set(subuser) - set(subusers.values_list("username", flat=True))
            if unknown:
                raise CommandError(f"unknown subuser: {', '.join(sorted(unknown))}")
        count = 0
        for pk in subusers.values_list("pk", flat=True):
            bounce_summaries_rebuild(subuser_id=pk)
            count += 1
        self.stdout.write(f"Rebuilt the summaries of {count} subusers.")
