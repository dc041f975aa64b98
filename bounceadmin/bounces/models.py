"""The bounce cache: subusers, their bounce lists as last seen upstream, and refresh runs."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from bounceadmin.sendgrid.regions import OnBehalfOf, Region

from .classification import Classification, Fault
from .lookups import EmailDomain


class SubuserQuerySet(models.QuerySet):
    def refreshable(self) -> SubuserQuerySet:
        """Enabled here and active upstream: the subusers refreshes run for."""
        return self.filter(enabled=True, upstream_state=Subuser.UpstreamState.ACTIVE)


class Subuser(models.Model):
    class UpstreamState(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled upstream"
        GONE = "gone", "No longer listed upstream"

    username = models.CharField(max_length=128, unique=True)
    # The parent account's own lists, cached as one more "subuser" (scoped like one): called
    # without on-behalf-of. At most one.
    is_parent = models.BooleanField(default=False)
    sendgrid_id = models.BigIntegerField(null=True, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # Ours to set: a disabled subuser is kept with its data but no longer refreshed.
    enabled = models.BooleanField(default=True)
    upstream_state = models.CharField(
        max_length=16, choices=UpstreamState.choices, default=UpstreamState.ACTIVE
    )
    # SendGrid's data region, fixed upstream when the subuser was made: every call for it goes
    # to its region's API host. The parent account is global.
    region = models.CharField(
        max_length=8, choices=[(Region.GLOBAL.value, "Global"), (Region.EU.value, "EU")],
        default=Region.GLOBAL.value,
    )  # fmt: skip
    last_refresh = models.ForeignKey(
        "RefreshRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    refresh_queued_at = models.DateTimeField(null=True, blank=True)
    # A lease, not a lock held by a connection: a killed worker's lease simply expires.
    lock_token = models.CharField(max_length=64, blank=True, default="", editable=False)
    lock_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SubuserQuerySet.as_manager()

    class Meta:
        ordering = ["-is_parent", "username"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_parent"], condition=Q(is_parent=True), name="subuser_one_parent"
            )
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def on_behalf_of(self) -> OnBehalfOf | None:
        """The `on-behalf-of` header its calls carry, knowing its region (the client sends the
        call to that region's host): none for the parent's own lists, always global."""
        return None if self.is_parent else OnBehalfOf(self.username, self.region)

    @property
    def refreshable(self) -> bool:
        return self.enabled and self.upstream_state == self.UpstreamState.ACTIVE

    @property
    def not_refreshable_why(self) -> str:
        """Why it is not refreshed ("disabled here", ...); "" when it is."""
        if not self.enabled:
            return "disabled here"
        if self.upstream_state == self.UpstreamState.ACTIVE:
            return ""
        return {
            self.UpstreamState.DISABLED: "disabled upstream",
            self.UpstreamState.GONE: "no longer listed upstream",
        }.get(self.upstream_state, self.get_upstream_state_display().lower())


class Bounce(models.Model):
    class Type(models.TextChoices):
        HARD = "hard", "Hard"
        SOFT = "soft", "Soft"

    # No index of its own: bounce_unique_subuser_email and bounce_subuser_created start with it.
    subuser = models.ForeignKey(
        Subuser, on_delete=models.CASCADE, related_name="bounces", db_index=False
    )
    email = models.CharField(max_length=320)  # stored lowercased
    status = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    created = models.DateTimeField()
    type = models.CharField(max_length=4, choices=Type.choices)
    classification = models.CharField(max_length=32, choices=Classification.choices)
    fault = models.CharField(max_length=16, choices=Fault.choices)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Null while the address is on the upstream list; set when it left it (the row stays).
    removed_at = models.DateTimeField(null=True, blank=True)
    # Set when the address bounced again after we removed it: the removal it follows.
    repeat_of = models.ForeignKey(
        "deletions.DeletionItem", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="repeats",
    )  # fmt: skip

    class Meta:
        ordering = ["-created", "email"]
        constraints = [
            models.UniqueConstraint(fields=["subuser", "email"], name="bounce_unique_subuser_email")
        ]
        # Each index slows the refresh's bulk writes, so only what a page's query plan uses:
        # low-cardinality columns (type, status, fault, ...) are filtered within these.
        indexes = [
            # Address lookups and prefix searches; text_pattern_ops (PostgreSQL only) lets LIKE
            # 'john%' use it whatever the collation. `%` searches: a trigram index, see 0005.
            # The sort by address: this one on SQLite, (email, id) on PostgreSQL, see 0008.
            models.Index(
                fields=["email"], name="bounce_email_pattern", opclasses=["text_pattern_ops"]
            ),
            # The list's default order (-created, -id), its sort by date and the date filters.
            models.Index(fields=["created", "id"], name="bounce_created"),
            models.Index(fields=["subuser", "created"], name="bounce_subuser_created"),
            # The `domain` filter (an alert's incident at one receiving domain), in the list's
            # order: the very expression the filter compares (lookups.EmailDomain).
            models.Index(EmailDomain("email"), F("created"), F("id"), name="bounce_email_domain"),
            # The overview's per-subuser counts read only this (a covering, partial index).
            models.Index(
                fields=["subuser", "type", "created"],
                name="bounce_active_by_type",
                condition=Q(removed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.subuser_id})"

    def get_absolute_url(self) -> str:
        return reverse("bounces:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class BounceDailyCount(models.Model):
    """A subuser's bounces created on one local day, of one type, removed or not: the overview's
    chart. Days are counted in the zone of the subuser's BounceSummaryState."""

    subuser = models.ForeignKey(Subuser, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    type = models.CharField(max_length=4, choices=Bounce.Type.choices)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subuser", "day", "type"], name="bouncedaily_unique")
        ]
        # Covers the chart over every subuser: read from the index alone.
        indexes = [models.Index(fields=["day", "subuser", "type", "count"], name="bouncedaily_day")]

    def __str__(self) -> str:
        return f"{self.count} {self.type} of {self.subuser_id} on {self.day}"


class BounceActiveCount(models.Model):
    """A subuser's active bounces of one classification and type, and the newest of them: the
    overview's counts and its classification panel."""

    subuser = models.ForeignKey(Subuser, on_delete=models.CASCADE, related_name="+")
    classification = models.CharField(max_length=32, choices=Classification.choices)
    type = models.CharField(max_length=4, choices=Bounce.Type.choices)
    count = models.PositiveIntegerField()
    newest = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subuser", "classification", "type"], name="bounceactive_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} active {self.type} {self.classification} of {self.subuser_id}"


class BounceSummaryState(models.Model):
    """That a subuser's BounceDailyCount and BounceActiveCount rows were built, and in which time
    zone the days were counted: a subuser without one, or with a zone other than the current
    one (TIME_ZONE changed), is rebuilt before the overview reads them."""

    subuser = models.OneToOneField(
        Subuser, on_delete=models.CASCADE, primary_key=True, related_name="summary"
    )
    zone = models.CharField(max_length=64)
    rebuilt_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"summaries of {self.subuser_id} in {self.zone}"


class BounceChange(models.Model):
    """History of a cached bounce: when it left the list, came back, or changed."""

    class Kind(models.TextChoices):
        REMOVED = "removed", "Removed upstream"
        REAPPEARED = "reappeared", "Reappeared"
        CHANGED = "changed", "Bounced again"

    bounce = models.ForeignKey(Bounce, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    run = models.ForeignKey(
        "RefreshRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    # What the entry was before this change.
    old_status = models.CharField(max_length=32, blank=True)
    old_reason = models.TextField(blank=True)
    old_created = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["bounce", "at"], name="bouncechange_bounce_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class RefreshRun(models.Model):
    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    subuser = models.ForeignKey(Subuser, on_delete=models.CASCADE, related_name="refresh_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    reappeared = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)
    # Upstream entries stored other than as sent (e.g. NUL removed from a reason), and entries
    # that could not be stored at all (e.g. an address of 5,000 characters): counts, and the
    # first notes ({"entry", "what", "set_aside"}) for the pages.
    adjusted = models.PositiveIntegerField(default=0)
    set_aside = models.PositiveIntegerField(default=0)
    adjustments = models.JSONField(default=list, blank=True)
    # Which list was refreshed (suppressions.lists.SuppressionList): bounces, or another. Last:
    # in the class body this name hides the builtin `list` the default above needs.
    list = models.CharField(max_length=24, default="bounces")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["subuser", "-started_at"], name="refreshrun_subuser_started"),
            models.Index(
                fields=["outcome"],
                name="refreshrun_running",
                condition=Q(outcome="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} refresh of {self.subuser_id} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def list_label(self) -> str:
        """The list's name as the pages show it ("Bounces", "Spam reports")."""
        from bounceadmin.suppressions.lists import SuppressionList

        return SuppressionList(self.list).label

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
