"""The account's API tokens page: an operator makes, lists and revokes their own tokens. A new
token's secret is shown once, in the answer to the POST that made it, and nowhere else."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from bounceadmin.accounts.roles import role_of
from bounceadmin.ids import parse_id

from .forms import TokenForm
from .models import ApiToken
from .tokens import api_token_create, api_token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    secret = None
    form = TokenForm(user=request.user)
    if request.method == "POST" and "revoke" in request.POST:
        token = get_object_or_404(
            ApiToken, pk=parse_id(request.POST.get("revoke")), user=request.user
        )
        if api_token_revoke(token, actor=request.user):
            messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("api_tokens")
    if request.method == "POST":
        form = TokenForm(request.POST, user=request.user)
        if form.is_valid():
            token, secret = api_token_create(
                request.user, name=form.cleaned_data["name"],
                expires_days=form.cleaned_data["expires_days"], actor=request.user,
            )  # fmt: skip
            form = TokenForm(user=request.user)
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    context = {"form": form, "tokens": tokens, "secret": secret, "role": role_of(request.user)}
    return render(request, "api/tokens.html", context, status=400 if form.errors else 200)
