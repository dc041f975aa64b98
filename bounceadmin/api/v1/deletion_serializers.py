"""What `/api/v1/deletion-requests/` reads and returns. The rules (justification, confirmation,
four-eyes, what is left out) are the services'; these only check the shape of the input."""

from __future__ import annotations

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.deletions.forms import DecisionForm, DeletionRequestForm
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.deletions.selectors import MAX_SELECTED
from bounceadmin.ids import MAX_ID
from bounceadmin.suppressions.lists import SuppressionList

MAX_FILTER_LENGTH = 4000  # characters of a filter given as a query string


def _max_length(form, name: str) -> int:
    return form.base_fields[name].max_length


@extend_schema_field(
    {
        "oneOf": [
            {"type": "object", "additionalProperties": {
                "oneOf": [{"type": "string"}, {"type": "integer"},
                          {"type": "array", "items": {"type": "string"}}]}},
            {"type": "string"},
        ],
        "description": "The filters of `/bounces/` (and `GET /api/v1/bounces/`), same names and "
        "meaning: as an object (`{\"subuser\": [\"acme\"], \"fault\": \"sender\"}`) or "
        "as its query string (`subuser=acme&fault=sender`).",
        "example": {"subuser": ["acme"], "fault": "sender"},
    }
)  # fmt: skip
class BounceFilterField(serializers.Field):
    """The bounce list's filters as a QueryDict; a name that is not one of them is refused (a
    misspelt filter must not widen a removal to every bounce)."""

    default_error_messages = {
        "type": "An object of filters, or their query string.",
        "value": "A string, a number, or a list of strings.",
        "unknown": "Not a filter of the bounce list: {names}.",
        "long": f"At most {MAX_FILTER_LENGTH} characters.",
    }

    def to_internal_value(self, data) -> QueryDict:
        params = QueryDict(mutable=True)
        if isinstance(data, str):
            if len(data) > MAX_FILTER_LENGTH:
                self.fail("long")
            params = QueryDict(data.lstrip("?"), mutable=True)
        elif isinstance(data, dict):
            for name, value in data.items():
                values = value if isinstance(value, list) else [value]
                if not all(_scalar(v) for v in values):
                    self.fail("value")
                params.setlist(name, [str(v) for v in values])
        else:
            self.fail("type")
        unknown = sorted(set(params) - set(BounceFilter.base_filters))
        if unknown:
            self.fail("unknown", names=", ".join(repr(n[:50]) for n in unknown[:10]))
        return params

    def to_representation(self, value):
        return value.urlencode()


def _scalar(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class ConsentInputSerializer(serializers.Serializer):
    statement = serializers.CharField(max_length=5000, help_text="What the recipient said.")
    at = serializers.DateTimeField(help_text="When they said it.")
    reference = serializers.CharField(
        max_length=200, help_text="Where it is kept: a ticket or message reference."
    )


class DeletionCreateSerializer(serializers.Serializer):
    list = serializers.ChoiceField(
        choices=SuppressionList.choices, default=SuppressionList.BOUNCES,
        help_text="The list to remove from. Other than bounces: by `ids` only (as in "
        "`GET /api/v1/suppressions/`), no `delete_all`; spam reports and unsubscribes one id "
        "at a time with `consent`, and only with the separate permission.",
    )  # fmt: skip
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False, allow_empty=False, max_length=MAX_SELECTED,
        help_text="Bounce ids (as in `GET /api/v1/bounces/`), or the list's entry ids. Give "
        "`ids` or `filter`.",
    )  # fmt: skip
    consent = ConsentInputSerializer(
        required=False,
        help_text="Spam reports and unsubscribes: the recipient's consent to get mail again.",
    )
    filter = BounceFilterField(required=False)
    justification = serializers.CharField(
        required=False, allow_blank=True,
        max_length=_max_length(DeletionRequestForm, "justification"),
        help_text="Why these addresses should receive mail again (kept in the audit log). "
        "Required, except for a dry run.",
    )  # fmt: skip
    ticket = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=_max_length(DeletionRequestForm, "ticket"),
    )  # fmt: skip
    delete_all = serializers.BooleanField(
        default=False,
        help_text="SendGrid's delete_all: remove each selected subuser's whole list (also what "
        "bounced since). Only when the selection is every active bounce of its subuser(s); "
        "needs `confirm`.",
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Answer the preview per subuser and create nothing."
    )
    confirm = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=_max_length(DeletionRequestForm, "confirmation"),
        help_text="For a large or whole-list request, the phrase the pages ask to type, e.g. "
        "`delete 1234` (a dry run says whether it is needed and which).",
    )  # fmt: skip

    def validate(self, data):
        if ("ids" in data) == ("filter" in data):
            raise serializers.ValidationError("Give either `ids` or `filter`.")
        if data["list"] != SuppressionList.BOUNCES:
            if "filter" in data:
                raise serializers.ValidationError(
                    {"filter": ["Entries of lists other than bounces are requested by `ids`."]}
                )
            if data["delete_all"]:
                raise serializers.ValidationError(
                    {"delete_all": ["Only a bounce list is removed whole."]}
                )
        if not data["dry_run"] and not data.get("justification"):
            raise serializers.ValidationError({"justification": ["This field is required."]})
        return data


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="",
        max_length=_max_length(DecisionForm, "comment"),
        help_text="Optional to approve; required to reject or withdraw (say why).",
    )  # fmt: skip
    otp_code = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=16, write_only=True,
        help_text="To approve or reject, for the roles that need a second factor"
        " (MFA_REQUIRED_ROLES): the six digits your authenticator app shows now. Each code works"
        " once. Without it, the call is refused (403) unless your browser session checked"
        " your second factor recently.",
    )  # fmt: skip


class DeletionItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeletionItem
        fields = ["email", "state", "bounce_id", "suppression_id", "status", "reason", "created",
                  "pushed_at", "error"]  # fmt: skip


class ConsentSerializer(serializers.Serializer):
    """The recipient's consent a spam report's or unsubscribe's removal records."""

    statement = serializers.CharField(source="consent_statement", help_text="What they said.")
    at = serializers.DateTimeField(source="consent_at", help_text="When they said it.")
    reference = serializers.CharField(source="consent_reference", help_text="Where it is kept.")


class DeletionRequestSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    list = serializers.CharField(help_text="The list the addresses are removed from.")
    group = serializers.CharField(source="group.name", default=None,
                                  help_text="Group unsubscribes: the group's name.")  # fmt: skip
    consent = serializers.SerializerMethodField()
    subuser = serializers.CharField(source="subuser.username")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = DeletionRequest
        fields = ["id", "url", "subuser", "list", "group", "consent", "state", "state_label",
                  "total", "delete_all",
                  "justification", "ticket", "selection", "batch", "requested_by",
                  "requested_at", "decided_by", "decided_at", "decision_comment", "finished_at",
                  "attempts"]  # fmt: skip

    def get_url(self, obj) -> str:
        return reverse(
            "api:v1:deletion-request", args=[obj.pk], request=self.context.get("request")
        )

    @extend_schema_field(ConsentSerializer(allow_null=True))
    def get_consent(self, obj) -> dict | None:
        return ConsentSerializer(obj).data if obj.consent_at else None


class DeletionEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor_name")
    at = serializers.DateTimeField()
    comment = serializers.CharField(source="details.comment", default=None)
    api_token = serializers.CharField(source="details.api_token", default=None)


class DeletionRequestDetailSerializer(DeletionRequestSerializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="Addresses per item state."
    )
    items = DeletionItemSerializer(
        source="items_list",
        many=True,
        help_text="The addresses, failed ones first, at most `items_shown`.",
    )
    items_shown = serializers.IntegerField()
    events = DeletionEventSerializer(
        many=True, help_text="Its audit events, newest first: request, decision, retries."
    )

    class Meta(DeletionRequestSerializer.Meta):
        fields = [*DeletionRequestSerializer.Meta.fields, "counts", "items", "items_shown",
                  "events"]  # fmt: skip


class CreatedSerializer(serializers.Serializer):
    requests = DeletionRequestSerializer(many=True, help_text="One per subuser, pending.")


class PreviewBounceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    created = serializers.DateTimeField()


class SubuserPreviewSerializer(serializers.Serializer):
    subuser = serializers.CharField(source="subuser.username")
    count = serializers.IntegerField(help_text="Addresses a request would hold.")
    whole_list = serializers.BooleanField(
        help_text="The selection is every active bounce of this subuser (delete_all allowed)."
    )
    sample = PreviewBounceSerializer(many=True, help_text="The newest few.")


class LeftOutSerializer(serializers.Serializer):
    email = serializers.CharField()
    subuser = serializers.CharField()
    request_id = serializers.IntegerField()
    reason = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    total = serializers.IntegerField()
    subusers = SubuserPreviewSerializer(many=True)
    left_out = LeftOutSerializer(
        many=True, help_text="Addresses an open request already holds (the first few)."
    )
    left_out_total = serializers.IntegerField()
    confirmation_required = serializers.BooleanField()
    confirm = serializers.CharField(
        allow_null=True, help_text="What to send as `confirm`, when it is required."
    )


class ErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)
