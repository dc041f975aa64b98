"""How the v3 endpoints appear in the served OpenAPI (`/api/schema/`): SendGrid's operation ids
and shapes, our differences said in the descriptions."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from . import params

TAGS = ["sendgrid-v3"]
HEADERS_NOTE = (
    " Every answer carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix"
    " seconds) from the token's throttle; bounce reads add X-Cache-Age (seconds since the oldest"
    " last successful refresh among the subusers answered) and X-Cache-Refreshed-At (that time,"
    " or `never`)."
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

bounce_list = extend_schema(
    operation_id="ListSuppressionBounces", tags=TAGS, parameters=[params.BounceListParams,
                                                                  ON_BEHALF_OF],
    responses={200: BounceItem(many=True), **ERRORS},
    description="Active bounces, newest first, as SendGrid's list." + HEADERS_NOTE,
)  # fmt: skip
bounce_bulk_delete = extend_schema(
    operation_id="DeleteSuppressionBounces", tags=TAGS, request=params.BounceDeleteBody,
    parameters=[ON_BEHALF_OF, *REMOVAL_HEADERS], responses=REMOVAL,
    description="Requests the removal of `emails` (202, never 204: an approver decides)."
    " `delete_all` is refused: whole lists are requested on the dashboard." + HEADERS_NOTE,
)  # fmt: skip
bounce_get = extend_schema(
    operation_id="GetSuppressionBounces", tags=TAGS, parameters=[ON_BEHALF_OF],
    responses={200: BounceItem(many=True), **ERRORS},
    description="The address's active bounces: an array, one per subuser answered."
    + HEADERS_NOTE,
)  # fmt: skip
bounce_delete = extend_schema(
    operation_id="DeleteSuppressionBounce", tags=TAGS, request=None,
    parameters=[ON_BEHALF_OF, *REMOVAL_HEADERS], responses=REMOVAL,
    description="Requests the address's removal (202, never 204: an approver decides)."
    + HEADERS_NOTE,
)  # fmt: skip
subuser_list = extend_schema(
    operation_id="ListSubuser", tags=TAGS, parameters=[params.SubuserListParams],
    responses={200: SubuserItem(many=True), **ERRORS},
    description="The subusers the token may see." + HEADERS_NOTE,
)  # fmt: skip
