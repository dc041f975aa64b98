"""Deletion pages: request (with a preview), the approval queue, a request's own page, and the
POST-only decisions. Every queryset is scoped through accounts.scoping."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from bounceadmin.accounts.mfa.decorators import fresh_second_factor, second_factor_redirect
from bounceadmin.accounts.mfa.policy import VERIFY, decision_need
from bounceadmin.accounts.mfa.session import checked_at
from bounceadmin.accounts.roles import role_required
from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.audit.selectors import events_for_deletion_request
from bounceadmin.ids import parse_id

from . import selectors, services
from .forms import DecisionForm, DeletionRequestForm
from .models import DeletionRequest
from .preview import deletion_preview
from .selectors import visible_requests

ITEMS_PER_PAGE = 200


@role_required("requester")
def deletion_new(request: HttpRequest) -> HttpResponse:
    """Preview and submit a request for the selection in the query string: `bounce=<id>`
    (repeatable) or `scope=filter` plus the bounce list's filters."""
    bounces, problem = _selection(request)
    if problem:
        messages.error(request, problem)
        return redirect(_back_to_list(request))
    preview = deletion_preview(bounces=bounces)
    if not preview.total and not preview.already_total:
        messages.error(request, "The selection holds no address that is on an upstream list.")
        return redirect(_back_to_list(request))
    whole = [s.subuser.username for s in preview.subusers if s.whole_list]
    form = DeletionRequestForm(request.POST or None, whole_lists=whole)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.deletion_request_create(
                user=request.user,
                bounces=bounces,
                justification=form.cleaned_data["justification"],
                ticket=form.cleaned_data["ticket"],
                selection=_selection_query(request),
                delete_all_subusers=frozenset(form.cleaned_data["delete_all"]),
                confirmation=form.cleaned_data["confirmation"],
            )
        except services.DeletionError as exc:
            form.add_error(None, str(exc))
        else:
            total = sum(r.total for r in created)
            messages.success(
                request,
                f"Requested the removal of {total} address{'es' if total != 1 else ''} in"
                f" {len(created)} request{'s' if len(created) != 1 else ''}; an approver decides.",
            )
            return redirect(created[0] if len(created) == 1 else "deletions:queue")
    context = {
        "preview": preview,
        "form": form,
        "phrase": services.confirmation_phrase(preview.total),
        "confirm_always": services.needs_confirmation(preview.total, delete_all=False),
        "query": request.GET.urlencode(),
    }
    return render(request, "deletions/deletion_new.html", context)


@role_required("viewer")
def deletion_queue(request: HttpRequest) -> HttpResponse:
    history = Paginator(selectors.decided_requests(request.user), 50)
    context = {
        "groups": selectors.pending_by_subuser(request.user),
        "history": history.get_page(request.GET.get("page")),
        "self_approval": services.self_approval_allowed(),
        "decision_form": DecisionForm(),
    }
    return render(request, "deletions/deletion_queue.html", context)


@role_required("viewer")
def deletion_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deletion = get_object_or_404(visible_requests(request.user), pk=pk)
    items = selectors.request_items(deletion, limit=ITEMS_PER_PAGE)
    context = {
        "deletion": deletion,
        "counts": items.counts,
        "failed": items.failed,
        "items": Paginator(items.others, ITEMS_PER_PAGE).get_page(request.GET.get("page")),
        "events": events_for_deletion_request(request.user, deletion.pk),
        "self_approval": services.self_approval_allowed(),
        "decision_form": DecisionForm(),
        "can_withdraw": deletion.state == DeletionRequest.State.PENDING
        and services.may_withdraw(deletion, request.user),
        "refusal": selectors.decision_refusal(deletion, request.user),
        "retry_refusal": services.retry_refusal(deletion, request.user),
    }
    return render(request, "deletions/deletion_detail.html", context)


def _decided(request: HttpRequest, deletion: DeletionRequest, decide, done: str) -> HttpResponse:
    """Read the comment, call one decision service, say how it went, go back."""
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        decide(request_id=deletion.pk, user=request.user, comment=comment)
    except services.DeletionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(pk=deletion.pk))
    return redirect(_back(request, deletion))


@require_http_methods(["GET", "POST"])
@role_required("approver")
@fresh_second_factor()
def deletion_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what approving removes, to confirm; POST: approve."""
    deletion = get_object_or_404(visible_requests(request.user), pk=pk)
    if request.method == "POST":
        return _decided(
            request, deletion,
            partial(services.deletion_approve, factor_checked_at=checked_at(request)),
            "Approved request #{pk}; the push is queued.",
        )  # fmt: skip
    context = {
        "requests": [selectors.approval_summary(deletion, request.user)],
        "next": request.GET.get("next", ""),
        "action": reverse("deletions:approve", args=[deletion.pk]),
    }
    return render(request, "deletions/deletion_approve.html", context)


def _request_page(request: HttpRequest, pk: int) -> str:
    return reverse("deletions:detail", args=[pk])


@require_POST
@role_required("approver")
@fresh_second_factor(back_after_post=_request_page)
def deletion_reject(request: HttpRequest, pk: int) -> HttpResponse:
    deletion = get_object_or_404(visible_requests(request.user), pk=pk)
    reject = partial(services.deletion_reject, factor_checked_at=checked_at(request))
    return _decided(request, deletion, reject, "Rejected request #{pk}.")


@require_POST
@role_required("requester")
def deletion_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    deletion = get_object_or_404(visible_requests(request.user), pk=pk)
    return _decided(
        request, deletion, services.deletion_withdraw,
        "Withdrew request #{pk}; nothing will be removed.",
    )  # fmt: skip


def _subuser_approval_page(request: HttpRequest) -> str:
    query = urlencode({"subuser": request.POST.get("subuser", "")})
    return f"{reverse('deletions:approve_subuser')}?{query}"


@require_http_methods(["GET", "POST"])
@role_required("approver")
@fresh_second_factor(back_after_post=_subuser_approval_page)
def deletion_approve_subuser(request: HttpRequest) -> HttpResponse:
    """GET: every pending request of the subuser this approver may approve, to confirm; POST:
    approve them."""
    params = request.POST if request.method == "POST" else request.GET
    subuser = get_object_or_404(visible_subusers(request.user), username=params.get("subuser"))
    if request.method == "GET":
        pending = visible_requests(request.user).filter(
            subuser=subuser, state=DeletionRequest.State.PENDING
        )
        summaries = [selectors.approval_summary(d, request.user) for d in pending]
        context = {
            "requests": [s for s in summaries if s.may_approve],
            "subuser": subuser,
            "action": reverse("deletions:approve_subuser"),
        }
        return render(request, "deletions/deletion_approve.html", context)
    shown = [pk for pk in map(parse_id, request.POST.getlist("request")) if pk is not None]
    try:
        result = services.deletion_approve_subuser(
            subuser=subuser, user=request.user, request_ids=shown,
            comment=DecisionForm(request.POST).data.get("comment", "")[:2000],
            factor_checked_at=checked_at(request),
        )  # fmt: skip
    except services.SecondFactorNeeded:  # the check went stale since the decorator looked
        need = decision_need(request.user, checked_at(request)) or VERIFY
        return second_factor_redirect(request, need, _subuser_approval_page(request))
    if result.approved:
        numbers = ", ".join(f"#{pk}" for pk in result.approved)
        messages.success(request, f"Approved {numbers} of {subuser}; the pushes are queued.")
    for pk, why in sorted(result.skipped.items()):
        messages.warning(request, f"Request #{pk} was not approved: {why}")
    if not result.approved and not result.skipped:
        messages.warning(request, f"Nothing of {subuser} that you may approve is pending.")
    return redirect("deletions:queue")


@require_POST
@role_required("requester")
def deletion_retry(request: HttpRequest, pk: int) -> HttpResponse:
    deletion = get_object_or_404(visible_requests(request.user), pk=pk)
    try:
        services.deletion_retry_failed(request_id=deletion.pk, user=request.user)
    except services.DeletionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Retrying the failed addresses of request #{deletion.pk}.")
    return redirect(deletion)


def _selection(request: HttpRequest):
    """(bounces queryset, problem) for the selection in the query string."""
    try:
        if ids := request.GET.getlist("bounce"):
            return selectors.selection_by_ids(request.user, ids).bounces, None
        if request.GET.get("scope") == "filter":
            return selectors.selection_by_filter(request.user, request.GET).bounces, None
    except selectors.InvalidSelection as exc:
        return None, str(exc)
    return None, "Nothing was selected: tick the rows to remove, or request by filter."


def _selection_query(request: HttpRequest) -> str:
    """The query string the addresses were chosen with, for the record (without `back`)."""
    query = request.GET.copy()
    query.pop("back", None)
    return query.urlencode()


def _back_to_list(request: HttpRequest) -> str:
    """The bounce list as the requester left it: its filters, sort and page came along in
    `back` (only ever used as a query string of the list)."""
    back = QueryDict(request.GET.get("back", ""))
    query = back.urlencode()
    return reverse("bounces:list") + (f"?{query}" if query else "")


def _back(request: HttpRequest, deletion: DeletionRequest):
    return "deletions:queue" if request.POST.get("next") == "queue" else deletion
