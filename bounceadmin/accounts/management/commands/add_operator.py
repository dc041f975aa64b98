import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from bounceadmin.accounts.roles import ROLES
from bounceadmin.accounts.services import OperatorError, operator_save


class Command(BaseCommand):
    help = (
        "Create or update an operator with one role and, optionally, the subusers they may see"
        " (no --subuser: all). The password comes from OPERATOR_PASSWORD, else a prompt."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--subuser", action="append", default=[], metavar="NAME")
        parser.add_argument(
            "--keep-password", action="store_true",
            help="update an existing operator without touching the password",
        )  # fmt: skip

    def handle(self, *args, username: str, role: str, subuser: list[str], keep_password: bool,
               **options):  # fmt: skip
        password = None if keep_password else self._password()
        try:
            change = operator_save(
                username=username, role=role, subusers=subuser or None, password=password
            )
        except OperatorError as exc:
            raise CommandError(str(exc)) from None
        scope = "all subusers" if change.subusers is None else ", ".join(change.subusers)
        verb = "Created" if change.created else "Updated"
        self.stdout.write(f"{verb} operator {username}: role {role}, sees {scope}.")

    def _password(self) -> str | None:
        password = os.environ.get("OPERATOR_PASSWORD")
        if password:
            return password
        try:
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Password (again): ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("No password: set OPERATOR_PASSWORD or run interactively.") from None
        if not first or first != second:
            raise CommandError("The passwords are empty or do not match.")
        return first
