from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "bounceadmin.webhooks"
    verbose_name = "Event Webhook"
