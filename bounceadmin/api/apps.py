from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "bounceadmin.api"
    verbose_name = "API"
