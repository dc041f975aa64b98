from django import forms


class DeletionRequestForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Why these addresses should receive mail again (kept in the audit log).",
    )
    ticket = forms.CharField(
        required=False, max_length=200, label="Ticket reference", help_text="Optional."
    )
    delete_all = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Remove the whole list (SendGrid's delete_all)",
        help_text="Also removes whatever bounced since this preview. Needs the typed confirmation.",
    )
    confirmation = forms.CharField(required=False, max_length=100, label="Type to confirm")

    def __init__(self, *args, whole_lists: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        if whole_lists:
            self.fields["delete_all"].choices = [(name, name) for name in whole_lists]
        else:
            del self.fields["delete_all"]

    def clean(self):
        data = super().clean()
        data.setdefault("delete_all", [])
        return data


class EntryRemovalForm(forms.Form):
    """Removing one entry of another list; for a spam report or unsubscribe, with the
    recipient's consent (what they said, when, and where it is kept)."""

    justification = DeletionRequestForm.base_fields["justification"]
    ticket = DeletionRequestForm.base_fields["ticket"]
    consent_statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        label="What the recipient said",
        help_text="Their words, asking to get this mail again.",
    )
    consent_at = forms.DateTimeField(
        label="When they said it",
        help_text="After the opt-out it overrides (its date is above).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    consent_reference = forms.CharField(
        max_length=200,
        label="Where it is kept",
        help_text="A ticket or message reference another operator can open.",
    )

    def __init__(self, *args, consent: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not consent:
            for name in ("consent_statement", "consent_at", "consent_reference"):
                del self.fields[name]


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)
