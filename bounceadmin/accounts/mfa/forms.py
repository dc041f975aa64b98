from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "inputmode": "text", "spellcheck": "false"}),
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )  # fmt: skip

    @staticmethod
    def refusal(check) -> str:
        if check.throttled:
            return "Too many wrong codes: wait a minute, then try again."
        return "That code is not right, or was used already. Try the next one your app shows."


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app", max_length=16, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )  # fmt: skip
    password = forms.CharField(
        label="Your password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Setting up a second factor asks for your password too.",
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():  # nothing to ask (an account without a password)
            del self.fields["password"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
