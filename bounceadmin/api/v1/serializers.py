"""What `/api/v1/` returns: plain data, names as on the pages."""

from __future__ import annotations

from rest_framework import serializers

from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.timeline import suppressed_drop
from bounceadmin.deletions.models import DeletionItem
from bounceadmin.suppressions.lists import SuppressionList

from .entry_serializers import ChangeSerializer, EntryDetailSerializer


class SubuserSerializer(serializers.ModelSerializer):
    refreshable = serializers.BooleanField(read_only=True)
    last_refresh_outcome = serializers.CharField(
        source="last_refresh.outcome", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Subuser
        fields = ["id", "username", "enabled", "upstream_state", "refreshable",
                  "last_success_at", "last_refresh_outcome"]  # fmt: skip


# --- bounces (api/v1/bounces.py) ---------------------------------------------------------------
class BounceSerializer(serializers.ModelSerializer):
    """A cached bounce as the list shows it. `reason` and `status` are SendGrid's text, as data.
    `repeat_of`: the deletion request whose removal this address bounced again after."""

    subuser = serializers.CharField(source="subuser.username", read_only=True)
    repeat = serializers.SerializerMethodField()
    repeat_of = serializers.IntegerField(
        source="repeat_of_request", allow_null=True, read_only=True
    )

    class Meta:
        model = Bounce
        fields = ["id", "subuser", "email", "status", "type", "classification", "fault",
                  "reason", "created", "first_seen", "last_seen", "removed_at", "repeat",
                  "repeat_of"]  # fmt: skip

    def get_repeat(self, bounce) -> bool:
        return bounce.repeat_of_id is not None


class TimelineBeforeSerializer(serializers.Serializer):
    status = serializers.CharField()
    created = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class TimelineEntrySerializer(serializers.Serializer):
    """One entry of the bounce page's timeline (bounces/timeline.py)."""

    at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["webhook", "refresh", "deletion"])
    kind = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    classification = serializers.CharField()
    outcome = serializers.CharField()
    before = TimelineBeforeSerializer(allow_null=True)
    by = serializers.CharField()
    quote = serializers.CharField()
    error = serializers.CharField()
    link = serializers.CharField(help_text="A page of the dashboard, when the entry has one.")
    bounced_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)


class OpenRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class TimelineSerializer(serializers.Serializer):
    entries = TimelineEntrySerializer(many=True)
    older = serializers.IntegerField(help_text="Older records not listed.")
    drops = serializers.IntegerField(help_text="Sends dropped because the address is suppressed.")
    last_drop = serializers.DateTimeField(allow_null=True)
    open_requests = OpenRequestSerializer(many=True, help_text="Requests still to settle.")


class BounceDetailSerializer(BounceSerializer):
    timeline = TimelineSerializer(read_only=True)

    class Meta(BounceSerializer.Meta):
        fields = [*BounceSerializer.Meta.fields, "timeline"]


# --- lookup (api/v1/lookup.py) -----------------------------------------------------------------
class RequestBriefSerializer(serializers.Serializer):
    """A deletion request, as its page heads it."""

    id = serializers.IntegerField()
    subuser = serializers.CharField(source="subuser.username")
    list = serializers.CharField(help_text="The list it removes from: bounces, blocks...")
    group = serializers.IntegerField(
        source="group.upstream_id", allow_null=True, default=None,
        help_text="The unsubscribe group's id upstream (group unsubscribes only).",
    )  # fmt: skip
    state = serializers.CharField()
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField(source="requested_by.username")
    justification = serializers.CharField()
    ticket = serializers.CharField()
    delete_all = serializers.BooleanField()


class LookupEntrySerializer(BounceSerializer):
    """A cached entry of the address in one subuser's list."""

    pending_requests = serializers.SerializerMethodField(
        help_text="The requests still holding it (undecided, approved or pushing)."
    )
    drops = serializers.IntegerField(
        help_text="Sends to it this subuser's Event Webhook reported dropped as suppressed."
    )
    last_drop = serializers.DateTimeField(allow_null=True)
    can_request_removal = serializers.BooleanField(
        help_text="The token's role may request removals, the entry is on the list, and no "
        "request holds it."
    )

    history = ChangeSerializer(
        many=True, help_text="What refreshes recorded of it (removed, reappeared, bounced "
        "again), newest first."
    )  # fmt: skip

    class Meta(BounceSerializer.Meta):
        fields = [*BounceSerializer.Meta.fields, "pending_requests", "drops", "last_drop",
                  "can_request_removal", "history"]  # fmt: skip

    def get_pending_requests(self, bounce) -> list[int]:
        return [request.pk for request in bounce.pending]


class RemovalSerializer(serializers.Serializer):
    """One removal asked for the address: a deletion item and its request."""

    request = serializers.IntegerField(source="request_id")
    subuser = serializers.CharField(source="request.subuser.username")
    list = serializers.CharField(source="request.list", help_text="The list it removes from.")
    group = serializers.IntegerField(
        source="request.group.upstream_id", allow_null=True, default=None,
        help_text="The unsubscribe group's id upstream (group unsubscribes only).",
    )  # fmt: skip
    state = serializers.ChoiceField(
        choices=DeletionItem.State.choices, help_text="done: removed upstream; failed: it stays."
    )
    request_state = serializers.CharField(source="request.state")
    requested_at = serializers.DateTimeField(source="request.requested_at")
    requested_by = serializers.CharField(source="request.requested_by.username")
    pushed_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class LookupEventSerializer(serializers.Serializer):
    subuser = serializers.CharField(source="subuser.username")
    event = serializers.CharField()
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    status = serializers.CharField()
    reason = serializers.CharField()
    classification = serializers.CharField()
    outcome = serializers.CharField()
    suppressed_by = serializers.SerializerMethodField(
        help_text="The suppression list a dropped send hit (e.g. the bounce list), or null."
    )

    def get_suppressed_by(self, event) -> str | None:
        drop = suppressed_drop(event.event, event.reason)
        return drop[1] if drop else None


class VerdictSerializer(serializers.Serializer):
    """The lookup page's answer over every list: suppressed where, or not and since when."""

    suppressed = serializers.BooleanField(
        source="active", help_text="On at least one list (any) of a subuser now."
    )
    summary = serializers.CharField(help_text="The page's verdict, as a sentence.")
    active_lists = serializers.SerializerMethodField(help_text="The lists it is on now.")
    active_subusers = serializers.SerializerMethodField(
        help_text="The subusers (or the parent account) whose mail to it is dropped."
    )
    active_entries = serializers.SerializerMethodField()
    removed_entries = serializers.SerializerMethodField()
    last_refreshed = serializers.DateTimeField(
        allow_null=True, help_text="The last successful refresh of a list the token may see."
    )

    def get_active_lists(self, found) -> list[str]:
        return sorted({entry.list for entry in found.active}, key=SuppressionList.values.index)

    def get_active_subusers(self, found) -> list[str]:
        return sorted({entry.record.subuser.username for entry in found.active})

    def get_active_entries(self, found) -> int:
        return len(found.active)

    def get_removed_entries(self, found) -> int:
        return len(found.removed)


class LookupSerializer(serializers.Serializer):
    email = serializers.CharField()
    suppressed = serializers.BooleanField(
        help_text="On at least one subuser's bounce list now: its sends there are dropped "
        "(`verdict.suppressed` says it for every list)."
    )
    verdict = VerdictSerializer(source="lists")
    entries = LookupEntrySerializer(many=True, help_text="The bounces, by subuser.")
    other_entries = EntryDetailSerializer(
        many=True, help_text="The other lists' entries (blocks, invalid emails, spam reports, "
        "global and group unsubscribes): active first, then by list, subuser and group."
    )  # fmt: skip
    removals = RemovalSerializer(many=True, help_text="Newest first, at most 200.")
    pending_requests = RequestBriefSerializer(many=True)
    webhook_events = LookupEventSerializer(many=True, help_text="Newest first, at most 200.")


# --- audit (api/v1/audit.py) -------------------------------------------------------------------
class AuditEventSerializer(serializers.ModelSerializer):
    """An audit event as the audit page and its CSV show it: `actor` null for the system,
    `action` the code and `action_label` its name on the page."""

    actor = serializers.CharField(source="actor_name", allow_null=True, read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)
    addresses = serializers.ListField(child=serializers.CharField(), read_only=True)
    details = serializers.DictField(read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "action_label", "subuser", "addresses",
                  "details", "source_ip", "deletion_request_id"]  # fmt: skip

    def to_representation(self, event):
        data = super().to_representation(event)
        data["actor"] = data["actor"] or None
        return data
