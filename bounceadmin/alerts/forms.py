from django import forms

from .acknowledge import MAX_COMMENT


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What is being done about it (required; the audit log keeps it).",
        error_messages={"required": "Say what is being done about it: a comment is required."},
    )
