from django.apps import AppConfig


class SuppressionsConfig(AppConfig):
    name = "bounceadmin.suppressions"
    verbose_name = "Suppression lists"
