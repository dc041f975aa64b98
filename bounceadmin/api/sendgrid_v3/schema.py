"""How the v3 endpoints appear in the served OpenAPI (`/api/schema/`): SendGrid's operation ids
and shapes, our differences said in the descriptions."""

from __future__ import annotations

import functools

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from bounceadmin.suppressions.lists import needs_consent

from . import params
from .sources import ListSource

TAGS = ["sendgrid-v3"]
HEADERS_NOTE = (
    " Every answer carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix"
    " seconds) from the token's throttle; list reads add X-Cache-Age (seconds since the oldest"
    " last successful refresh of the list among the subusers answered) and X-Cache-Refreshed-At"
    " (that time, or `never`)."
)


class BounceItem(serializers.Serializer):
    created = serializers.IntegerField(help_text="Unix seconds")
    email = serializers.EmailField()
    reason = serializers.CharField()
    status = serializers.CharField()


class SubuserItem(serializers.Serializer):
    disabled = serializers.BooleanField()
    email = serializers.CharField()
    id = serializers.IntegerField()
    username = serializers.CharField()
    region = serializers.CharField(required=False, help_text="With include_region=true")


class RemovalRequested(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    url = serializers.URLField()
    subuser = serializers.CharField()
    total = serializers.IntegerField(help_text="Addresses requested")


class ErrorItem(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class SendGridErrors(serializers.Serializer):
    errors = ErrorItem(many=True)


ON_BEHALF_OF = OpenApiParameter(
    "on-behalf-of", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="A subuser the token may see. Reads: absent means every subuser the token may"
    " see. Removals: required when the token sees more than one. Another name: 403.",
)  # fmt: skip
REMOVAL_HEADERS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, description=text)
    for name, text in (
        ("X-Justification", "Why (default: requested through this API by token NAME)."),
        ("X-Ticket", "A ticket reference, kept with the request."),
        ("X-Confirmation", "`delete N`, for requests over the confirmation threshold."),
    )
]
ERRORS = {
    code: OpenApiResponse(SendGridErrors, description=text)
    for code, text in {
        400: "Bad parameters or body",
        401: "No usable token",
        403: "Role, or an on-behalf-of the token may not act for",
        429: "Throttled (Retry-After)",
    }.items()
}
REMOVAL = {
    202: OpenApiResponse(
        RemovalRequested,
        description="Requested (pending four-eyes approval); Location is the request's page.",
    ),
    404: OpenApiResponse(SendGridErrors, description="Not on the subuser's list"),
    409: OpenApiResponse(SendGridErrors, description="Already in an open request"),
    **ERRORS,
}

LIST_PARAMETERS = [params.ListParams, ON_BEHALF_OF]
bounce_list = extend_schema_view(
    get=extend_schema(
        operation_id="ListSuppressionBounces", tags=TAGS, parameters=LIST_PARAMETERS,
        responses={200: BounceItem(many=True), **ERRORS},
        description="Active bounces, newest first, as SendGrid's list." + HEADERS_NOTE,
    ),
    delete=extend_schema(
        operation_id="DeleteSuppressionBounces", tags=TAGS, request=params.BounceDeleteBody,
        parameters=[ON_BEHALF_OF, *REMOVAL_HEADERS], responses=REMOVAL,
        description="Requests the removal of `emails` (202, never 204: an approver decides)."
        " `delete_all` is refused: whole lists are requested on the dashboard." + HEADERS_NOTE,
    ),
)  # fmt: skip
bounce_detail = extend_schema_view(
    get=extend_schema(
        operation_id="GetSuppressionBounces", tags=TAGS, parameters=[ON_BEHALF_OF],
        responses={200: BounceItem(many=True), **ERRORS},
        description="The address's active bounces: an array, one per subuser answered."
        + HEADERS_NOTE,
    ),
    delete=extend_schema(
        operation_id="DeleteSuppressionBounce", tags=TAGS, request=None,
        parameters=[ON_BEHALF_OF, *REMOVAL_HEADERS], responses=REMOVAL,
        description="Requests the address's removal (202, never 204: an approver decides)."
        + HEADERS_NOTE,
    ),
)  # fmt: skip
subuser_list = extend_schema(
    operation_id="ListSubuser", tags=TAGS, parameters=[params.SubuserListParams],
    responses={200: SubuserItem(many=True), **ERRORS},
    description="The subusers the token may see." + HEADERS_NOTE,
)  # fmt: skip


# --- the other lists (lists.py): SendGrid's operation ids, each list's own entry shape --------
OPERATIONS = {  # path: (list, get one, delete all, delete one)
    "blocks": (
        "ListSuppressionBlock",
        "GetSuppressionBlock",
        "DeleteSuppressionBlocks",
        "DeleteSuppressionBlock",
    ),
    "invalid_emails": (
        "ListInvalidEmail",
        "GetInvalidEmail",
        "DeleteInvalidEmails",
        "DeleteInvalidEmail",
    ),
    "spam_reports": ("ListSpamReport", "GetSpamReport", "DeleteSpamReports", "DeleteSpamReport"),
    # SendGrid has no DELETE here (global unsubscribes are removed one by one under /asm/).
    "unsubscribes": ("ListGlobalSuppression", None, "DeleteSuppressionUnsubscribes", None),
}
REFUSED = {
    403: OpenApiResponse(
        SendGridErrors,
        description="Removals of this list are requested on the dashboard, with the recipient's"
        " consent recorded; or the token's role or on-behalf-of does not allow it",
    ),
    **{code: response for code, response in ERRORS.items() if code != 403},
}


@functools.cache
def item_serializer(source: ListSource) -> type[serializers.Serializer]:
    """SendGrid's entry of the list, as a serializer the schema names (`BlocksItem`...)."""
    fields = {
        name: serializers.IntegerField(help_text="Unix seconds") if name == "created"
        else serializers.EmailField() if name == "email" else serializers.CharField()
        for name in source.fields
    }  # fmt: skip
    name = "".join(part.capitalize() for part in source.path.split("_")) + "Item"
    return type(name, (serializers.Serializer,), fields)


def list_schema(source: ListSource):
    list_id, _, delete_id, _ = OPERATIONS[source.path]
    item = item_serializer(source)
    return extend_schema_view(
        get=extend_schema(
            operation_id=list_id, tags=TAGS, parameters=LIST_PARAMETERS,
            responses={200: item(many=True), **ERRORS},
            description=f"Active {source.noun}s, newest first, as SendGrid's list, from the"
            " cache." + HEADERS_NOTE,
        ),
        delete=_delete_schema(source, delete_id, one=False),
    )  # fmt: skip


def entry_schema(source: ListSource):
    _, get_id, _, delete_id = OPERATIONS[source.path]
    return extend_schema_view(
        get=extend_schema(
            operation_id=get_id, tags=TAGS, parameters=[ON_BEHALF_OF],
            responses={200: item_serializer(source)(many=True), **ERRORS},
            description=f"The address's active {source.noun}s: an array, one per subuser"
            " answered." + HEADERS_NOTE,
        ),
        delete=_delete_schema(source, delete_id, one=True),
    )  # fmt: skip


def _delete_schema(source: ListSource, operation_id: str, *, one: bool):
    """A removal request (202) where the list needs no consent; refused (403) where it does."""
    if needs_consent(source.list):
        return extend_schema(
            operation_id=operation_id, tags=TAGS, request=None, parameters=[ON_BEHALF_OF],
            responses=REFUSED,
            description=f"Refused (403): removals of {source.noun}s are requested on the"
            " dashboard, with the recipient's consent recorded.",
        )  # fmt: skip
    return extend_schema(
        operation_id=operation_id, tags=TAGS,
        request=None if one else params.BounceDeleteBody,
        parameters=[ON_BEHALF_OF, *REMOVAL_HEADERS], responses=REMOVAL,
        description=(
            "Requests the address's removal" if one else "Requests the removal of `emails`"
        ) + " (202, never 204: an approver decides)."
        + ("" if one else " `delete_all` is refused: whole lists are requested on the dashboard.")
        + HEADERS_NOTE,
    )  # fmt: skip
