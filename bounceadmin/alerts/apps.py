from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "bounceadmin.alerts"
    verbose_name = "Alerts"
