"""`manage.py add_api_token USERNAME --name NAME [--expires-days N]`: a new token for an operator,
printed as the last line of output (for scripts and provisioning)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bounceadmin.api.forms import MAX_DAYS
from bounceadmin.api.models import ApiToken
from bounceadmin.api.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for an operator; prints the token (once) as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what uses it")
        parser.add_argument("--expires-days", type=int, default=None, metavar="N")

    def handle(self, *args, username: str, name: str, expires_days: int | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(f"No active user {username!r}.")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name: 1 to 100 characters.")
        if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
            raise CommandError(f"--expires-days: 1 to {MAX_DAYS}.")
        if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
            raise CommandError(f"{username} already has a live token named {name!r}.")
        token, secret = api_token_create(user, name=name, expires_days=expires_days)
        expiry = f", expires {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else ""
        self.stdout.write(f"Token {name!r} for {username}{expiry}:")
        self.stdout.write(secret)
