"""An alert's value against its baseline in the rule's own terms, as its notifications word it
("75% of bounces are the sender's fault, against 10%"), not two bare numbers."""

from django import template

from bounceadmin.alerts.notify import how_far as _how_far

register = template.Library()


@register.filter
def how_far(alert) -> str:
    return _how_far(alert)
