"""`manage.py evaluate_alerts`: evaluate the alert rules once, in this process, and print the
unresolved alerts, one line each."""

from django.core.management.base import BaseCommand

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        result = evaluate_alerts()
        self.stdout.write(f"Evaluated: {result.line()}.")
        unresolved = (
            Alert.objects.exclude(state=Alert.State.RESOLVED)
            .select_related("subuser")
            .order_by("opened_at", "id")
        )
        count = 0
        for alert in unresolved:
            count += 1
            since = alert.since.isoformat(timespec="seconds")
            self.stdout.write(
                printable(
                    f"#{alert.pk} {alert.state} {alert.kind} {alert.subuser.username}"
                    f"{' ' + alert.subject if alert.subject else ''} since {since}: {alert.summary}"
                )
            )
        if not count:
            self.stdout.write("No open alerts.")
        if result.failed_rules:
            self.stderr.write(f"Rules that failed: {', '.join(result.failed_rules)}")


def printable(text: str) -> str:
    """Upstream text (a receiving domain) cannot move the terminal's cursor or break the line."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
