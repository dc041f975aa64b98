"""`POST /api/v1/deletion-requests/` for a list other than bounces: by entry ids, through the
same service as the entry's page (deletions/other_lists.py), which holds every rule: one list,
spam reports and unsubscribes one at a time with the recipient's consent and the separate
permission (403 without it)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.db.models import Exists, Subquery
from rest_framework import exceptions, status
from rest_framework.response import Response

from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.api import idempotency
from bounceadmin.bounces.models import Subuser
from bounceadmin.deletions import services
from bounceadmin.deletions.other_lists import Consent, held_entry_items, removal_request_create

from .deletion_serializers import CreatedSerializer, DryRunSerializer


def other_list_request(request, data) -> Response:
    entries = visible_suppressions(request.user).filter(pk__in=data["ids"], list=data["list"])
    found = set(entries.values_list("pk", flat=True))
    missing = [pk for pk in dict.fromkeys(data["ids"]) if pk not in found]
    if missing:
        raise exceptions.NotFound(
            f"No entry of {data['list']} you may see has the id "
            + ", ".join(map(str, missing[:10]))
            + (" and more" if len(missing) > 10 else "")
            + "."
        )
    if data["dry_run"]:
        return Response(DryRunSerializer(_preview(entries)).data)
    return idempotency.idempotent(request, lambda: _create(request, data, entries))


def _preview(entries) -> dict:
    """What a request would hold, per subuser, in the bounces' dry-run shape (no samples)."""
    active = entries.filter(removed_at__isnull=True)
    held = active.filter(Exists(held_entry_items())).annotate(
        request_id=Subquery(held_entry_items().values("request_id")[:1])
    )
    counts = Counter(active.exclude(pk__in=held.values("pk")).values_list("subuser_id", flat=True))
    subusers = Subuser.objects.in_bulk(list(counts))
    total = sum(counts.values())
    needed = services.needs_confirmation(total, delete_all=False)
    return {
        "dry_run": True, "total": total,
        "subusers": [{"subuser": subusers[pk], "count": n, "whole_list": False, "sample": []}
                     for pk, n in sorted(counts.items())],
        "left_out": [
            {"email": e.email, "subuser": e.subuser.username, "request_id": e.request_id,
             "reason": f"already requested in #{e.request_id}"}
            for e in held.select_related("subuser").order_by("email")[:20]
        ],
        "left_out_total": held.count(), "confirmation_required": needed,
        "confirm": services.confirmation_phrase(total) if needed else None,
    }  # fmt: skip


def _create(request, data, entries) -> Response:
    consent = data.get("consent")
    try:
        created = removal_request_create(
            user=request.user, entries=entries, justification=data["justification"],
            ticket=data["ticket"], confirmation=data["confirm"],
            consent=Consent(**consent) if consent else None,
            selection=urlencode([("list", data["list"]), *(("id", pk) for pk in data["ids"])]),
        )  # fmt: skip
    except services.NotPermitted as exc:
        raise exceptions.PermissionDenied(str(exc)) from None
    except services.ConfirmationNeeded as exc:
        raise exceptions.ValidationError(
            {"confirm": [f'{exc} Send "confirm": "{exc.phrase}".']}
        ) from None
    except services.DeletionError as exc:
        raise exceptions.ValidationError([str(exc)]) from None
    body = CreatedSerializer({"requests": created}, context={"request": request}).data
    return Response(body, status=status.HTTP_201_CREATED)
