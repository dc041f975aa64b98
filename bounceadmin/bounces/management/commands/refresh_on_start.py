from django.conf import settings
from django.core.management.base import BaseCommand

from bounceadmin.bounces.tasks import sync_and_refresh


class Command(BaseCommand):
    help = (
        "Queue a subuser sync followed by a full refresh of every subuser, for the worker to run"
        " as soon as it starts (used by `make run`). On the sandbox (no SENDGRID_API_KEY), also"
        " set each subuser's webhook up to post to the local dashboard."
    )

    def handle(self, *args, **options):
        webhooks_url = ""
        if settings.SENDGRID_SANDBOX:
            # With a real key, the operator runs `webhooks_setup` with their public URL.
            webhooks_url = settings.WEBHOOK_PUBLIC_URL or f"http://127.0.0.1:{settings.WEB_PORT}"
        sync_and_refresh.delay(full=True, webhooks_url=webhooks_url)
        self.stdout.write("Queued: sync subusers, then a full refresh of each.")
        if webhooks_url:
            self.stdout.write(f"Then each subuser's webhook is set up to post to {webhooks_url}.")
