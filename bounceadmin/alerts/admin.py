"""The alert rules in Django admin, and the alerts they raised (to look at only: the alerts
pages acknowledge them; evaluation opens and resolves them).

Rules are the whole installation's configuration and name any subuser: superusers and operators
with the admin role who see every subuser change them. Alerts are listed to superusers and
admins, each within their subuser scope, like every page. A rule's change is audited with what
it was before and after.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.forms.models import model_to_dict

from bounceadmin.accounts.roles import has_role
from bounceadmin.accounts.scoping import ALL, visible_subuser_ids
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.admin import ScopedAdmin
from bounceadmin.bounces.classification import Classification

from .evaluate import KIND_CHANGED, rule_resolve_all
from .models import Alert, AlertRule
from .rules.classification_spike import DEFAULT_CLASSIFICATIONS

SPIKES = "bounce, classification and domain spikes"
MAX_WINDOW_MINUTES = 24 * 60  # longer, the window would overlap the day before's
MAX_BASELINE_DAYS = 60
# Minutes that become a timedelta off now: a year at most (more overflows the date arithmetic,
# and means nothing for an alert).
MAX_MINUTES = 365 * 24 * 60
MAX_FAILURES_IN_ROW = 1000
MAX_MIN_COUNT = 1_000_000

HELP = {
    "kind": "What the rule watches. Each kind reads only the fields of its section below.",
    "enabled": "Untick to retire the rule: its alerts resolve. A rule that raised alerts cannot"
    " be deleted (their history stays); disable it instead.",
    "window_minutes": f"Spikes and the sender-fault share: the window, ending now, whose bounces"
    f" are counted (at most {MAX_WINDOW_MINUTES}).",
    "baseline_days": "Spikes and the sender-fault share: the same window on each of this many"
    f" past days is the baseline (1 to {MAX_BASELINE_DAYS}).",
    "min_count": f"{SPIKES.capitalize()} and the sender-fault share: fewer bounces than this in"
    " the window never fire, so small subusers page no one.",
    "factor": f"{SPIKES.capitalize()}: fire at this many times the baseline days' median (more"
    " than 1). A median of 0 counts as 1, so a first burst fires on the minimum count.",
    "classifications": "Classification spike: each of these is watched on its own; none ticked:"
    f" {', '.join(DEFAULT_CLASSIFICATIONS)}.",
    "share_jump": "Sender-fault share: fire when the window's share of sender-fault bounces"
    " exceeds the baseline's by this much (0.2 = 20 points; between 0 and 1).",
    "failures_in_row": "Refresh failures: fire when this many bounce refreshes in a row failed."
    f" At most {MAX_FAILURES_IN_ROW}.",
    "silent_minutes": "Webhook silent: fire when a receiving webhook has had no delivery for this"
    f" many minutes (once it had one, or was set up longer ago than that; at most {MAX_MINUTES},"
    " a year).",
    "cooldown_minutes": "After an alert resolves, the same rule and subject stay quiet this many"
    f" minutes (at most {MAX_MINUTES}, a year).",
}


class AlertRuleForm(forms.ModelForm):
    classifications = forms.MultipleChoiceField(
        choices=Classification.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AlertRule
        fields = ["name", "kind", "enabled", "subusers", "notify", "cooldown_minutes",
                  "window_minutes", "baseline_days", "min_count", "factor", "classifications",
                  "share_jump", "failures_in_row", "silent_minutes"]  # fmt: skip
        help_texts = HELP

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classifications"].help_text = HELP["classifications"]

    def clean(self):
        data = super().clean()
        checks = {
            "window_minutes": (1 <= data.get("window_minutes", 1) <= MAX_WINDOW_MINUTES,
                               f"Between 1 and {MAX_WINDOW_MINUTES} minutes."),
            "baseline_days": (1 <= data.get("baseline_days", 1) <= MAX_BASELINE_DAYS,
                              f"Between 1 and {MAX_BASELINE_DAYS} days."),
            "min_count": (1 <= data.get("min_count", 1) <= MAX_MIN_COUNT,
                          f"Between 1 and {MAX_MIN_COUNT}."),
            "factor": (data.get("factor", 2) > 1, "More than 1: at 1 or less every hour fires."),
            "share_jump": (0 < data.get("share_jump", 0.5) < 1, "Between 0 and 1 (0.2 = 20"
                           " points)."),
            "failures_in_row": (1 <= data.get("failures_in_row", 1) <= MAX_FAILURES_IN_ROW,
                                f"Between 1 and {MAX_FAILURES_IN_ROW}."),
            "silent_minutes": (1 <= data.get("silent_minutes", 1) <= MAX_MINUTES,
                               f"Between 1 and {MAX_MINUTES} minutes (a year)."),
            "cooldown_minutes": (data.get("cooldown_minutes", 0) <= MAX_MINUTES,
                                 f"At most {MAX_MINUTES} minutes (a year)."),
        }  # fmt: skip
        for field, (ok, message) in checks.items():
            if field in data and data[field] is not None and not ok:
                self.add_error(field, message)
        return data


def _rules_editor(request) -> bool:
    user = request.user
    if user.is_active and user.is_superuser:
        return True
    return has_role(user, "admin") and visible_subuser_ids(user) is ALL


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "kind", "enabled", "notify", "subusers_watched"]
    list_filter = ["kind", "enabled"]
    filter_horizontal = ["subusers"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "subusers", "notify", "cooldown_minutes"]}),
        ("Spikes and the sender-fault share",
         {"fields": ["window_minutes", "baseline_days", "min_count", "factor"]}),
        ("Classification spike", {"fields": ["classifications"]}),
        ("Sender-fault share", {"fields": ["share_jump"]}),
        ("Refresh failures", {"fields": ["failures_in_row"]}),
        ("Webhook silent", {"fields": ["silent_minutes"]}),
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("subusers")

    @admin.display(description="subusers")
    def subusers_watched(self, obj: AlertRule) -> str:
        names = [s.username for s in obj.subusers.all()]
        return ", ".join(names) if names else "all"

    # Not Django's model permissions: the product's roles (accounts/roles.py) decide.
    def has_module_permission(self, request):
        return _rules_editor(request)

    def has_view_permission(self, request, obj=None):
        return _rules_editor(request)

    def has_add_permission(self, request):
        return _rules_editor(request)

    def has_change_permission(self, request, obj=None):
        return _rules_editor(request)

    def has_delete_permission(self, request, obj=None):
        return _rules_editor(request)

    def save_model(self, request, obj, form, change):
        # Kept on the request (the admin instance is shared by every request) for save_related.
        request._alert_rule_before = (
            _rule_state(AlertRule.objects.get(pk=obj.pk)) if change else None
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the subusers, then the record
        before, after = getattr(request, "_alert_rule_before", None), _rule_state(form.instance)
        if before is not None and before["kind"] != after["kind"]:
            # What it raised watched something else: resolved now, not updated by findings of
            # another kind.
            rule_resolve_all(form.instance, reason=KIND_CHANGED)
        if before is not None:
            changed = [k for k in after if before[k] != after[k]]
            if not changed:
                return
            before = {k: before[k] for k in changed}
            after = {k: after[k] for k in changed}
        audit_record(
            AuditEvent.Action.ALERT_RULE_CHANGED,
            details={"rule": form.instance.name, "before": before, "after": after},
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            # Django's page lists the alerts that stand in the way; say what to do instead.
            messages.warning(
                request,
                "A rule that raised alerts cannot be deleted (their history stays):"
                " untick “Enabled” to disable it instead; its alerts then resolve.",
            )
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        before = _rule_state(obj)
        super().delete_model(request, obj)
        audit_record(
            AuditEvent.Action.ALERT_RULE_CHANGED,
            details={"rule": before["name"], "before": before, "after": None},
        )

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            self.delete_model(request, rule)


def _rule_state(rule: AlertRule) -> dict:
    state = model_to_dict(rule, exclude=["id", "subusers"])
    state["subusers"] = sorted(rule.subusers.values_list("username", flat=True))
    return state


@admin.register(Alert)
class AlertAdmin(ScopedAdmin):
    # The summary says the subject, the value and the baseline.
    list_display = ["opened_at", "state", "summary", "subuser", "resolved_at", "notified_at"]
    list_filter = ["state", "kind", "subuser"]
    list_select_related = ["subuser", "rule"]
    search_fields = ["subject", "summary"]
    date_hierarchy = "opened_at"
    ordering = ["-opened_at", "-id"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def _admin(self, request) -> bool:
        user = request.user
        return (user.is_active and user.is_superuser) or has_role(user, "admin")

    def has_module_permission(self, request):
        return self._admin(request)

    def has_view_permission(self, request, obj=None):
        return self._admin(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
