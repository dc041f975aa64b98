"""The cache of every suppression list but bounces: blocks, invalid emails, spam reports, global
and group unsubscribes, per subuser (the parent account is a `Subuser` with `is_parent`), as last
seen upstream. Rows are never deleted: an entry that left its list keeps its row with
`removed_at`, as bounces do."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from bounceadmin.bounces.lookups import EmailDomain
from bounceadmin.bounces.models import RefreshRun, Subuser

from .lists import OTHER_LISTS, SuppressionList

LIST_CHOICES = [(name.value, name.label) for name in OTHER_LISTS]


class SuppressionGroup(models.Model):
    """An unsubscribe group (SendGrid's ASM group) of a subuser."""

    subuser = models.ForeignKey(Subuser, on_delete=models.CASCADE, related_name="groups")
    upstream_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    # Set when upstream no longer lists the group; its entries are then removed too.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subuser", "name", "upstream_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subuser", "upstream_id"], name="suppressiongroup_unique_upstream"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.upstream_id})"


class Suppression(models.Model):
    # No index of its own: the unique constraints and suppression_subuser_list start with it.
    subuser = models.ForeignKey(
        Subuser, on_delete=models.CASCADE, related_name="suppressions", db_index=False
    )
    list = models.CharField(max_length=24, choices=LIST_CHOICES)
    # Group unsubscribes only.
    group = models.ForeignKey(
        SuppressionGroup, null=True, blank=True, on_delete=models.CASCADE,
        related_name="suppressions", db_index=False,
    )  # fmt: skip
    email = models.CharField(max_length=320)  # stored lowercased
    created = models.DateTimeField()
    status = models.CharField(max_length=32, blank=True)  # blocks
    reason = models.TextField(blank=True)  # blocks, invalid emails
    ip = models.CharField(max_length=64, blank=True)  # spam reports: who reported, as sent
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Null while the address is on the upstream list; set when it left it (the row stays).
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "email"]
        constraints = [
            # An address is on a list once per subuser, and on a group once per group.
            models.UniqueConstraint(
                fields=["subuser", "list", "email"],
                condition=Q(group__isnull=True),
                name="suppression_unique_list_email",
            ),
            models.UniqueConstraint(
                fields=["group", "email"],
                condition=Q(group__isnull=False),
                name="suppression_unique_group_email",
            ),
            models.CheckConstraint(
                condition=Q(list=SuppressionList.GROUP_UNSUBSCRIBES, group__isnull=False)
                | (~Q(list=SuppressionList.GROUP_UNSUBSCRIBES) & Q(group__isnull=True)),
                name="suppression_group_iff_group_list",
            ),
        ]
        indexes = [
            # Lookups and prefix searches by address (text_pattern_ops: LIKE 'john%' on
            # PostgreSQL whatever the collation).
            models.Index(
                fields=["email"], name="suppression_email_pattern", opclasses=["text_pattern_ops"]
            ),
            # The table's default order (-created, -id) and the date filters.
            models.Index(fields=["created", "id"], name="suppression_created"),
            # A refresh's cached rows and the overview's counts per list.
            models.Index(fields=["subuser", "list", "created"], name="suppression_subuser_list"),
            # The `domain` filter (/bounces/' own, shared), in the table's order.
            models.Index(
                EmailDomain("email"), F("created"), F("id"), name="suppression_email_domain"
            ),
            # The `list` filter in the table's order.
            models.Index(fields=["list", "created", "id"], name="suppression_list_created"),
        ]

    def __str__(self) -> str:
        return f"{self.email} on {self.list} of {self.subuser_id}"

    def get_absolute_url(self) -> str:
        return reverse("suppressions:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class SuppressionChange(models.Model):
    """History of a cached entry: when it left its list, came back, or changed."""

    class Kind(models.TextChoices):
        REMOVED = "removed", "Removed upstream"
        REAPPEARED = "reappeared", "Reappeared"
        CHANGED = "changed", "Listed again"

    suppression = models.ForeignKey(Suppression, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    run = models.ForeignKey(RefreshRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")  # fmt: skip
    old_status = models.CharField(max_length=32, blank=True)
    old_reason = models.TextField(blank=True)
    old_created = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["suppression", "at"], name="suppressionchange_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class SuppressionListState(models.Model):
    """One list of one subuser: its last refresh, when one last succeeded, and its active
    entries (the overview's counts per list, kept by the refresh)."""

    subuser = models.ForeignKey(Subuser, on_delete=models.CASCADE, related_name="list_states")
    list = models.CharField(max_length=24, choices=LIST_CHOICES)
    last_refresh = models.ForeignKey(
        RefreshRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    active = models.PositiveIntegerField(default=0)
    newest = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subuser", "list"], name="suppressionliststate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.list} of {self.subuser_id}"
