from django.apps import AppConfig


class DeletionsConfig(AppConfig):
    name = "bounceadmin.deletions"
    verbose_name = "Deletion requests"
