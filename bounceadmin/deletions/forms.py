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


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)
