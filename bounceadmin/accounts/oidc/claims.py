"""What an ID token's claims (already verified by authlib) say about the user here."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from ..roles import ROLES


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str  # "" unless the provider vouches for it (email_verified)
    username_hint: str
    claims: dict

    @classmethod
    def from_claims(cls, claims: dict) -> Identity:
        # Some providers (Amazon Cognito) send email_verified as the string "true".
        verified = claims.get("email_verified") in (True, "true")
        email = str(claims.get("email") or "") if verified else ""
        hint = claims.get("preferred_username") or email or claims["sub"]
        return cls(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=email.strip(),
            username_hint=str(hint)[:150],
            claims=claims,
        )


MAX_ISSUER = MAX_SUBJECT = 255  # OidcIdentity's columns
MAX_EMAIL = 254  # the user's email column (RFC 5321's limit)


def claims_problem(claims: dict) -> str | None:
    """What makes verified claims unusable here (they would fail a column's length or, with a NUL
    character, PostgreSQL itself), or None. Such a sign-in fails, audited, rather than a 500."""
    for name, limit in (("iss", MAX_ISSUER), ("sub", MAX_SUBJECT)):
        value = claims.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"{name} missing or not a string"
        if len(value) > limit:
            return f"{name} longer than {limit} characters"
    email = claims.get("email")
    if email is not None and not isinstance(email, str):
        return "email not a string"
    if email and len(email.strip()) > MAX_EMAIL:
        return f"email longer than {MAX_EMAIL} characters"
    texts = [claims["iss"], claims["sub"], email or "", str(claims.get("preferred_username") or "")]
    if settings.OIDC_SUBUSER_CLAIM:
        texts += _values(claims, settings.OIDC_SUBUSER_CLAIM)
    if any("\x00" in text for text in texts):
        return "a NUL character in a claim"
    return None


def _values(claims: dict, name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def role_from_claims(claims: dict) -> str | None:
    """The highest role OIDC_ROLE_MAP gives any of the role claim's values, or None."""
    mapped = {settings.OIDC_ROLE_MAP.get(v) for v in _values(claims, settings.OIDC_ROLE_CLAIM)}
    held = [role for role in ROLES if role in mapped]
    return held[-1] if held else None


def subusers_from_claims(claims: dict) -> list[str] | None:
    """The subuser usernames the scope claim lists; None (every subuser) when no claim is set."""
    if not settings.OIDC_SUBUSER_CLAIM:
        return None
    return _values(claims, settings.OIDC_SUBUSER_CLAIM)


def amr_satisfies_factor(claims: dict) -> bool:
    """Whether the provider says it checked a second factor this app accepts: a method of the
    ID token's `amr` in OIDC_MFA_AMR, or its `acr` (an assurance level) in OIDC_MFA_ACR."""
    by_method = set(settings.OIDC_MFA_AMR) & set(_values(claims, "amr"))
    by_level = set(settings.OIDC_MFA_ACR) & set(_values(claims, "acr"))
    return bool(by_method or by_level)


def provider_factor(claims: dict) -> str:
    """How the provider says it checked the factor, for the audit's login event."""
    amr = ",".join(_values(claims, "amr"))
    acr = ",".join(_values(claims, "acr"))
    return "provider: " + "; ".join(part for part in (amr, acr and f"acr {acr}") if part)
