"""One entry of any list, bounce or other, as the pages show it: the all-lists table, the
lookup and the detail page read `Entry`, never which model it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from bounceadmin.bounces.models import Bounce

from .lists import CONSENT_LISTS, SuppressionList
from .models import Suppression


@dataclass
class Entry:
    record: Bounce | Suppression
    list: str
    history: list = field(default_factory=list)  # BounceChange or SuppressionChange, newest first
    pending: list = field(default_factory=list)  # DeletionItems of open requests

    @classmethod
    def of(cls, record: Bounce | Suppression) -> Entry:
        if isinstance(record, Bounce):
            return cls(record, SuppressionList.BOUNCES)
        return cls(record, record.list)

    @property
    def is_bounce(self) -> bool:
        return self.list == SuppressionList.BOUNCES

    @property
    def list_label(self) -> str:
        return SuppressionList(self.list).label

    @property
    def group_name(self) -> str:
        group = getattr(self.record, "group", None)
        return group.name if group is not None else ""

    @property
    def url(self) -> str:
        name = "bounces:detail" if self.is_bounce else "suppressions:detail"
        return reverse(name, args=[self.record.pk])

    @property
    def needs_consent(self) -> bool:
        return self.list in CONSENT_LISTS

    def __getattr__(self, name):
        # created, email, subuser, status, reason, removed_at...: the record's (ip, type and
        # classification are "" where its list has none).
        if name.startswith("_") or name == "record":
            raise AttributeError(name)
        return getattr(self.record, name, "")
