"""The lookup's one field: an address, whole (a prefix or `%` pattern is the bounce list's
search, not a lookup)."""

from __future__ import annotations

from django import forms

MALFORMED = "Enter a whole address, like name@example.com."


def is_full_address(text: str) -> bool:
    """What the header's search treats as an address to look up (else: a prefix search): it
    has an @ and no % wildcard. The lookup's form then says what else is wrong with it."""
    return "@" in text and "%" not in text


class LookupForm(forms.Form):
    email = forms.CharField(
        label="Address", max_length=320, error_messages={"required": "Enter an address."}
    )

    def clean_email(self) -> str:
        # CharField has stripped it and refused NUL characters already.
        email = self.cleaned_data["email"]
        local, _at, domain = email.rpartition("@")
        if not (local and domain) or "%" in email or any(c.isspace() for c in email):
            raise forms.ValidationError(MALFORMED)
        return email.lower()  # as the lists store addresses
