"""The alerts' pages: the list (current, then past), one alert with its history, and the
POST-only acknowledgement. Thin: scoping in accounts.scoping, reads in selectors, the write in
acknowledge.py, the incident's links in incident.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bounceadmin.accounts.roles import has_role, role_required
from bounceadmin.accounts.scoping import visible_alerts, visible_subusers

from . import selectors
from .acknowledge import ACK_ROLE, AcknowledgeError, alert_acknowledge
from .forms import AcknowledgeForm
from .incident import bounces_url, cleanup_url, incident_filters
from .models import Alert

PAST_PER_PAGE = 50


def _with_links(alert: Alert, user) -> Alert:
    alert.bounces_url = bounces_url(alert)
    alert.cleanup_url = cleanup_url(alert) if has_role(user, "requester") else None
    return alert


@role_required("viewer")
def alert_list(request: HttpRequest) -> HttpResponse:
    names = list(visible_subusers(request.user).values_list("username", flat=True))
    chosen = selectors.AlertFilter.from_query(request.GET, names)
    past = Paginator(selectors.past_alerts(request.user, chosen), PAST_PER_PAGE)
    page = past.get_page(request.GET.get("page"))
    context = {
        "current": [
            _with_links(a, request.user) for a in selectors.current_alerts(request.user, chosen)
        ],
        "past": page,
        "past_rows": [_with_links(a, request.user) for a in page],
        "chosen": chosen,
        "states": Alert.State.choices,
        "subusers": names,
    }
    return render(request, "alerts/alert_list.html", context)


@role_required("viewer")
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(
        visible_alerts(request.user).select_related("rule", "subuser", "acknowledged_by"), pk=pk
    )
    context = {
        "alert": _with_links(alert, request.user),
        "incident": incident_filters(alert)[1:],  # beyond its subuser
        "events": selectors.alert_events(request.user, alert),
        "can_acknowledge": alert.state == Alert.State.OPEN and has_role(request.user, ACK_ROLE),
        "form": AcknowledgeForm(),
    }
    return render(request, "alerts/alert_detail.html", context)


@require_POST
@role_required(ACK_ROLE)
def alert_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(visible_alerts(request.user), pk=pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("alerts:detail", pk=alert.pk)
    try:
        alert_acknowledge(alert=alert, user=request.user, comment=form.cleaned_data["comment"])
    except AcknowledgeError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, f"Acknowledged alert #{alert.pk}.")
    return redirect("alerts:detail", pk=alert.pk)
