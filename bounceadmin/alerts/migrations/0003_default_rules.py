"""One enabled rule of each kind, so alerts work out of the box (adjust them in Django admin)."""

from django.db import migrations

DEFAULT_RULES = [
    # A subuser's bounces in the last hour at 3× the same hour's median over 14 days, 50 at least.
    {"name": "Bounce spike", "kind": "bounce_spike", "min_count": 50, "factor": 3.0},
    # Reputation, Content, Technical Failure, Frequency or Volume Too High, each on its own.
    {"name": "Classification spike", "kind": "classification_spike", "min_count": 20,
     "factor": 3.0},
    {"name": "Receiving domain spike", "kind": "domain_spike", "min_count": 20, "factor": 4.0},
    # The sender's share of the hour's bounces 30 points over its usual share, 30 bounces at least.
    {"name": "Sender-fault share jump", "kind": "sender_fault_share", "min_count": 30,
     "share_jump": 0.3},
    {"name": "Refreshes failing", "kind": "refresh_failures", "failures_in_row": 3},
    {"name": "Event Webhook silent", "kind": "webhook_silent", "silent_minutes": 240},
]  # fmt: skip


def create(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for fields in DEFAULT_RULES:
        AlertRule.objects.get_or_create(name=fields["name"], defaults=fields)


def remove(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertRule.objects.filter(name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_alert_notify_attempts")]

    operations = [migrations.RunPython(create, remove)]
