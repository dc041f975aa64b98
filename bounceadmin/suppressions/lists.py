"""SendGrid's suppression lists, as the pages, filters and API name them, and what each allows.

Bounces have their own model (`bounces.Bounce`), tuned for the largest list; the five others
share `Suppression`. A spam report or an unsubscribe records that a recipient asked not to get
mail: removing one needs recorded consent (`CONSENT_LISTS`), one address at a time.
"""

from __future__ import annotations

from django.db import models


class SuppressionList(models.TextChoices):
    BOUNCES = "bounces", "Bounces"
    BLOCKS = "blocks", "Blocks"
    INVALID_EMAILS = "invalid_emails", "Invalid emails"
    SPAM_REPORTS = "spam_reports", "Spam reports"
    GLOBAL_UNSUBSCRIBES = "global_unsubscribes", "Global unsubscribes"
    GROUP_UNSUBSCRIBES = "group_unsubscribes", "Group unsubscribes"


# The lists `Suppression` holds (every one but bounces).
OTHER_LISTS = tuple(name for name in SuppressionList if name != SuppressionList.BOUNCES)

# A recipient's own request not to get mail: removed only with consent evidence, by operators
# with the separate permission, one address at a time, never by filter, in bulk or whole lists.
CONSENT_LISTS = frozenset(
    {
        SuppressionList.SPAM_REPORTS,
        SuppressionList.GLOBAL_UNSUBSCRIBES,
        SuppressionList.GROUP_UNSUBSCRIBES,
    }
)

# What each list's entries carry beyond address and time (SendGrid's list shapes).
HAS_STATUS = frozenset({SuppressionList.BOUNCES, SuppressionList.BLOCKS})
HAS_REASON = frozenset(
    {SuppressionList.BOUNCES, SuppressionList.BLOCKS, SuppressionList.INVALID_EMAILS}
)
HAS_IP = frozenset({SuppressionList.SPAM_REPORTS})


def needs_consent(name: str) -> bool:
    return name in CONSENT_LISTS
