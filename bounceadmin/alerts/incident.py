"""What selects an alert's incident among the cached bounces, as the bounce list's own filters
(`subuser`, `classification`, `domain`, `fault`, `since`, `until`): the link to the list, and for
an incident of sender-fault bounces the clean-up link, the deletion preview of exactly those
bounces (`scope=filter`, the same filterset)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from bounceadmin.bounces.classification import Classification, Fault

from .models import Alert

# The bounce list's filters an evaluation writes into `Alert.details`, in the links' order.
FILTER_KEYS = ("classification", "domain", "fault", "since", "until")
# Classifications whose every rule puts the fault on the sender (rules.py); Technical Failure is
# sender-fault only in part, so an incident of it offers the clean-up only when its details say
# fault=sender.
SENDER_FAULT_CLASSIFICATIONS = frozenset(
    {Classification.REPUTATION, Classification.CONTENT, Classification.FREQUENCY_OR_VOLUME}
)


def incident_filters(alert: Alert) -> list[tuple[str, str]]:
    """The filters of the incident's bounces: its subuser, and those of `details` that are set
    (text only: `details` is JSON that a newer evaluation may extend)."""
    details = alert.details if isinstance(alert.details, dict) else {}
    found = [("subuser", alert.subuser.username)]
    for key in FILTER_KEYS:
        value = details.get(key)
        if isinstance(value, str) and value:
            found.append((key, value))
    return found


def is_sender_fault(alert: Alert) -> bool:
    found = dict(incident_filters(alert))
    return (
        found.get("fault") == Fault.SENDER
        or found.get("classification") in SENDER_FAULT_CLASSIFICATIONS
    )


def bounces_url(alert: Alert) -> str:
    """The bounce list filtered to the incident."""
    return f"{reverse('bounces:list')}?{urlencode(incident_filters(alert))}"


def cleanup_url(alert: Alert) -> str | None:
    """The deletion preview of the incident's bounces, for a sender-fault incident; else None.
    The four-eyes flow from there is the deletion pages' own."""
    if not is_sender_fault(alert):
        return None
    query = urlencode([("scope", "filter"), *incident_filters(alert)])
    return f"{reverse('deletions:new')}?{query}"
