from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BouncesConfig(AppConfig):
    name = "bounceadmin.bounces"
    verbose_name = "Bounces"

    def ready(self) -> None:
        from bounceadmin import datadir, ids  # noqa: F401  the data-folder check, `<id:...>` paths

        from . import lookups  # noqa: F401  registers the `like` lookup
        from .refresh.list_indexes import list_indexes_after_migrate

        post_migrate.connect(list_indexes_after_migrate, sender=self)
