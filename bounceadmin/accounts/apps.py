from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "bounceadmin.accounts"
    verbose_name = "Operators"

    def ready(self) -> None:
        # The second factor's settings check; operator and role changes into the audit log.
        from . import checks, signals  # noqa: F401
        from .roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
