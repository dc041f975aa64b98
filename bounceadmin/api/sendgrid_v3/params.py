"""What the v3 endpoints accept, checked by DRF serializers: a bad value is a 400 in SendGrid's
error shape (`{"errors": [{"field": "limit", "message": …}]}`, api/errors.py), never a 500."""

from __future__ import annotations

from rest_framework import serializers

MAX_PAGE = 500  # SendGrid's maximum, and its default when `limit` is not sent
MAX_OFFSET = 10**9  # past any cache; keeps OFFSET within every database's integer
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds
MAX_EMAIL = 320
MAX_EMAILS = 10_000  # as many as the pages let one request select
SUBUSER_PAGE = 100  # no default is documented for /v3/subusers; the sandbox's


def present(query) -> dict[str, str]:
    """The query string's non-empty values (an empty `limit=` means the default, as upstream)."""
    return {key: value for key, value in query.items() if value != ""}


class ListParams(serializers.Serializer):
    """The query string of every v3 list (bounces, blocks, invalid emails, ...)."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=MAX_PAGE)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    start_time = serializers.IntegerField(min_value=0, max_value=MAX_TIME, required=False)
    end_time = serializers.IntegerField(min_value=0, max_value=MAX_TIME, required=False)
    # A prefix, `%` a wildcard: checked again, and applied, by the bounce list's filterset.
    email = serializers.CharField(max_length=MAX_EMAIL, required=False, trim_whitespace=False)


class SubuserListParams(serializers.Serializer):
    username = serializers.CharField(max_length=128, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=SUBUSER_PAGE)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    region = serializers.ChoiceField(["all", "global", "eu"], default="all")
    include_region = serializers.BooleanField(default=False)


class BounceDeleteBody(serializers.Serializer):
    """SendGrid's bulk delete: `{"emails": [...]}` or `{"delete_all": true}`, never both."""

    emails = serializers.ListField(
        child=serializers.CharField(max_length=MAX_EMAIL), allow_empty=False,
        max_length=MAX_EMAILS, required=False,
    )  # fmt: skip
    delete_all = serializers.BooleanField(required=False)

    def validate(self, data):
        if "emails" in data and "delete_all" in data:
            raise serializers.ValidationError(
                {"delete_all": "delete_all and emails are mutually exclusive: send one."}
            )
        if data.get("delete_all"):
            raise serializers.ValidationError({"delete_all": DELETE_ALL_REFUSED})
        if "emails" not in data:
            raise serializers.ValidationError({"emails": "Send the addresses to remove."})
        return data


DELETE_ALL_REFUSED = (
    "delete_all is not accepted here: removing a whole bounce list must be requested on the"
    " dashboard, where the requester sees what it removes and types a confirmation, and an"
    ' approver decides. Send {"emails": [...]} to request the removal of listed addresses.'
)


class RemovalHeaders(serializers.Serializer):
    """What a DELETE may add, as headers (SendGrid's DELETE has no room for them in the body):
    the request's justification, ticket, and the typed confirmation large requests need."""

    justification = serializers.CharField(max_length=5000, required=False)
    ticket = serializers.CharField(max_length=200, required=False)
    confirmation = serializers.CharField(max_length=100, required=False)

    @classmethod
    def of(cls, request) -> dict[str, str]:
        names = {"justification": "X-Justification", "ticket": "X-Ticket",
                 "confirmation": "X-Confirmation"}  # fmt: skip
        data = {field: utf8(request.headers[h]) for field, h in names.items()
                if request.headers.get(h)}  # fmt: skip
        headers = cls(data=data)
        if not headers.is_valid():
            raise serializers.ValidationError(
                {names[field]: errors for field, errors in headers.errors.items()}
            )
        return headers.validated_data


def utf8(header: str) -> str:
    """A header as its sender wrote it: WSGI hands headers over as Latin-1, clients send UTF-8."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header
