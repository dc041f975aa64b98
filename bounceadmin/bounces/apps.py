from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "bounceadmin.bounces"
    verbose_name = "Bounces"

    def ready(self) -> None:
        from . import lookups  # noqa: F401  registers the `like` lookup
