"""What `/api/v1/` returns for an entry of any list (suppressions/entries.py's `Entry`: a bounce
or an entry of another list), as the all-lists page and the lookup show it. A bounce and an
entry of another list may share an id: `list` and `id` together name an entry, and `url` is its
own API link."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import SuppressionChange


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The group's id in SendGrid (its ASM group id).",
                                  source="upstream_id")  # fmt: skip
    name = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
    removed = serializers.SerializerMethodField(help_text="SendGrid no longer lists the group.")

    def get_removed(self, group) -> bool:
        return group.removed_at is not None


class EntrySerializer(serializers.Serializer):
    """An entry of any list. `status`, `reason`, `ip` and the bounce-only fields are "" where
    the entry's list has none; `group` is null but for group unsubscribes."""

    id = serializers.IntegerField(source="record.pk")
    list = serializers.ChoiceField(choices=SuppressionList.choices)
    list_label = serializers.CharField()
    subuser = serializers.CharField(source="record.subuser.username")
    parent_account = serializers.BooleanField(
        source="record.subuser.is_parent", help_text="The parent account's own list."
    )
    group = serializers.SerializerMethodField()
    email = serializers.CharField()
    created = serializers.DateTimeField()
    status = serializers.CharField()
    reason = serializers.CharField()
    ip = serializers.CharField(help_text="Spam reports: the IP SendGrid names.")
    type = serializers.CharField(help_text="Bounces: hard or soft.")
    classification = serializers.CharField(help_text="Bounces only.")
    fault = serializers.CharField(help_text="Bounces only.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    removed_at = serializers.DateTimeField(allow_null=True)
    active = serializers.SerializerMethodField(help_text="On its upstream list now.")
    needs_consent = serializers.BooleanField(
        help_text="A recipient's own request (spam reports, unsubscribes): removed only with "
        "recorded consent."
    )
    url = serializers.SerializerMethodField(help_text="The entry in this API.")

    @extend_schema_field(GroupSerializer(allow_null=True))
    def get_group(self, entry):
        group = getattr(entry.record, "group", None)
        return None if group is None else GroupSerializer(group).data

    def get_active(self, entry) -> bool:
        return entry.removed_at is None

    def get_url(self, entry) -> str:
        name = "api:v1:bounce" if entry.is_bounce else "api:v1:suppression"
        path = reverse(name, args=[entry.record.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ChangeSerializer(serializers.Serializer):
    """One change of an entry of another list, as a refresh recorded it: `before` what it was
    (for `changed`)."""

    kind = serializers.ChoiceField(choices=SuppressionChange.Kind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    at = serializers.DateTimeField()
    old_status = serializers.CharField()
    old_reason = serializers.CharField()
    old_created = serializers.DateTimeField(allow_null=True)


class EntryDetailSerializer(EntrySerializer):
    history = ChangeSerializer(many=True, help_text="Newest first.")
