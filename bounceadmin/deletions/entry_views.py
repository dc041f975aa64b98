"""The page that requests the removal of one entry of another list (a block, an invalid email,
a spam report, an unsubscribe): the rules are the service's (other_lists.py); the page only
shows them before they refuse."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from bounceadmin.accounts.roles import role_required
from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.suppressions.lists import CONSENT_LISTS
from bounceadmin.suppressions.models import Suppression

from .forms import EntryRemovalForm
from .models import DeletionItem, DeletionRequest
from .other_lists import Consent, optout_refusal, removal_request_create
from .services import DeletionError


@role_required("requester")
def entry_removal(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(
        visible_suppressions(request.user).select_related("subuser", "group"), pk=pk
    )
    needs_consent = entry.list in CONSENT_LISTS
    refusal = optout_refusal(request.user) if needs_consent else ""
    pending = DeletionItem.objects.filter(
        suppression=entry,
        request__state__in=DeletionRequest.UNDECIDED_OR_OPEN,
        state__in=(DeletionItem.State.PENDING, DeletionItem.State.PUSHING),
    ).select_related("request")
    form = EntryRemovalForm(request.POST or None, consent=needs_consent)
    if request.method == "POST" and not refusal and form.is_valid():
        data = form.cleaned_data
        consent = None
        if needs_consent:
            consent = Consent(
                statement=data["consent_statement"], at=data["consent_at"],
                reference=data["consent_reference"],
            )  # fmt: skip
        try:
            [created] = removal_request_create(
                user=request.user, entries=Suppression.objects.filter(pk=entry.pk),
                justification=data["justification"], ticket=data["ticket"], consent=consent,
                selection=f"{entry.get_list_display()}: {entry.email}",
            )  # fmt: skip
        except DeletionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Deletion request #{created.pk} submitted for approval.")
            return redirect(created)
    context = {
        "entry": entry, "form": form, "needs_consent": needs_consent, "refusal": refusal,
        "pending": list(pending),
    }  # fmt: skip
    return render(request, "deletions/entry_removal.html", context, status=403 if refusal else 200)
