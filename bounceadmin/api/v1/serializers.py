"""What `/api/v1/` returns: plain data, names as on the pages."""

from __future__ import annotations

from rest_framework import serializers

from bounceadmin.bounces.models import Bounce, Subuser


class SubuserSerializer(serializers.ModelSerializer):
    refreshable = serializers.BooleanField(read_only=True)
    last_refresh_outcome = serializers.CharField(
        source="last_refresh.outcome", default=None, read_only=True
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
