"""From an ID token's verified claims to a user who may sign in, or the reason they may not.

Matching: the (issuer, subject) pair first; else a verified email belonging to exactly one user,
never a superuser (linking the subject to it, so the email is never needed again); else a new
user without a role, for an admin to find and grant one. Every new link is audited. With
OIDC_ROLE_CLAIM the provider decides role and scope, re-read at every sign-in, so a role
removed there is removed here at the next sign-in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser

from ..changes import operator_changes
from ..models import OidcIdentity
from ..roles import ROLES, role_of
from ..services import operator_assign
from .claims import Identity, role_from_claims, subusers_from_claims

DISABLED = "disabled"  # the local user is inactive
NO_ROLE = "no_role"  # known, but no role here (or none mapped from the provider's claim)


@dataclass(frozen=True)
class SignIn:
    user: object
    matched_by: str  # "subject", "email" or "new"
    refusal: str | None = None


@transaction.atomic
def oidc_user_resolve(*, identity: Identity) -> SignIn:
    user, matched_by = _match(identity)
    if not user.is_active:
        return SignIn(user, matched_by, DISABLED)
    # A superuser is above the roles (a local break-glass account): the claim leaves it be.
    if settings.OIDC_ROLE_CLAIM and not user.is_superuser:
        _role_apply(user, identity.claims)
    if role_of(user) is None:
        return SignIn(user, matched_by, NO_ROLE)
    return SignIn(user, matched_by)


def _linked(identity: Identity) -> OidcIdentity | None:
    return (
        OidcIdentity.objects.select_related("user")
        .filter(issuer=identity.issuer, subject=identity.subject)
        .first()
    )


def _match(identity: Identity):
    link = _linked(identity)
    if link is not None:
        return link.user, "subject"
    try:
        with transaction.atomic():  # a savepoint: two first sign-ins at once link only once
            return _link(identity)
    except IntegrityError:
        link = _linked(identity)
        if link is None:
            raise
        return link.user, "subject"


def _link(identity: Identity):
    User = get_user_model()
    if identity.email:
        # Only a user not yet linked to another subject at this issuer: two people at the
        # provider sharing one address must not share one user here.
        same = list(
            User.objects.filter(email__iexact=identity.email).exclude(
                oidc_identities__issuer=identity.issuer
            )[:2]
        )
        # Never a superuser (the local break-glass account, above the roles): an address at
        # the provider must not be enough to take it over. It signs in locally.
        if len(same) == 1 and not same[0].is_superuser:
            return _linked_to(same[0], identity, "email"), "email"
    user = User(username=_free_username(identity), email=identity.email)
    user.set_unusable_password()
    user.save()
    return _linked_to(user, identity, "new"), "new"


def _linked_to(user, identity: Identity, matched_by: str):
    OidcIdentity.objects.create(user=user, issuer=identity.issuer, subject=identity.subject)
    audit_record(
        AuditEvent.Action.SSO_LINKED,
        actor=user,
        details={
            "issuer": identity.issuer,
            "subject": identity.subject,
            "user": user.get_username(),
            "matched_by": matched_by,
        },
    )
    return user


def _free_username(identity: Identity) -> str:
    User = get_user_model()
    name = identity.username_hint
    if not User.objects.filter(username=name).exists():
        return name
    digest = hashlib.sha256(f"{identity.issuer} {identity.subject}".encode()).hexdigest()[:10]
    return f"{name[:139]}-{digest}"


def _role_apply(user, claims: dict) -> None:
    """The provider's role and scope, replacing what was here (operator_assign writes only
    what changed, audited as any operator change)."""
    role = role_from_claims(claims)
    if role is None:
        with operator_changes():
            user.groups.remove(*user.groups.filter(name__in=ROLES))
            if user.is_staff:
                user.is_staff = False
                user.save(update_fields=["is_staff"])
        return
    names = subusers_from_claims(claims)
    scope = None if names is None else list(Subuser.objects.filter(username__in=names))
    operator_assign(user=user, role=role, subusers=scope)
