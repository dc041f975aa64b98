"""What a rule returns: the incidents it sees now, one per subuser and subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.models import Subuser


@dataclass(frozen=True)
class Finding:
    """One incident: the subuser, its subject ("" for the subuser as a whole, else a
    classification or a receiving domain), since when, the window's value against the baseline,
    a one-line summary, and in `details` the filters that select its bounces (the keys of
    `/bounces/`' query string: subuser, classification, domain, fault, since, until)."""

    subuser_id: int
    subject: str
    since: datetime
    value: float
    baseline: float
    summary: str
    details: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str]:
        return (self.subuser_id, self.subject)


def watched_subusers(rule: AlertRule) -> dict[int, str]:
    """The subusers a rule watches, id to username: those chosen, or every enabled one (a
    subuser disabled here gets no new data to alert on). Reads `rule.subusers` through the
    evaluation's prefetch."""
    chosen = {s.pk: s.username for s in rule.subusers.all()}
    if chosen:
        return chosen
    return dict(Subuser.objects.filter(enabled=True).values_list("pk", "username"))


def iso(moment: datetime) -> str:
    """A moment as `/bounces/`' since and until take it (ISO 8601, with its offset)."""
    return moment.isoformat(timespec="seconds")
