from django import forms

from .models import ApiToken

MAX_DAYS = 3650


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “support tool”.")
    expires_days = forms.IntegerField(
        label="Expires after (days)", required=False, min_value=1, max_value=MAX_DAYS,
        help_text="Empty: never. A token that expires is safer.",
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        if ApiToken.objects.filter(user=self.user, name=name, revoked_at__isnull=True).exists():
            raise forms.ValidationError("You already have a live token of that name.")
        return name
