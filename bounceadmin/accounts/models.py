"""Operators: a Django user plus the subusers they may see. Roles are Django groups."""

from django.conf import settings
from django.db import models


class Operator(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator"
    )
    # Unrestricted operators see every subuser, also ones imported later.
    all_subusers = models.BooleanField(
        default=False, help_text="See every subuser, including ones added later."
    )
    subusers = models.ManyToManyField(
        "bounces.Subuser", blank=True, related_name="operators",
        help_text="The subusers this operator may see, when not all.",
    )  # fmt: skip

    class Meta:
        permissions = [("manage_operators", "Can manage operators, subusers and settings")]

    def __str__(self) -> str:
        return str(self.user)


class OidcIdentity(models.Model):
    """A user's identity at the OpenID Connect provider: the (issuer, subject) pair the provider
    promises never to reuse, linked at the first sign-in (by verified email, or to a new user an
    admin then grants a role). Matched first at every sign-in, so a changed email at the provider
    still reaches the same user and cannot reach another."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
