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
