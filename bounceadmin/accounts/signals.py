"""Operator and role changes into the audit log, whichever way they are made (Django admin,
add_operator, the shell)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record

from .models import Operator
from .roles import ROLES

User = get_user_model()


@receiver(post_save, sender=User)
def _user_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        audit_record(
            AuditEvent.Action.OPERATOR_CREATED, details={"operator": instance.get_username()}
        )


@receiver(m2m_changed, sender=User.groups.through)
def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove") or reverse or not pk_set:
        return
    from django.contrib.auth.models import Group

    names = sorted(
        Group.objects.filter(pk__in=pk_set, name__in=ROLES).values_list("name", flat=True)
    )
    if names:
        key = "added" if action == "post_add" else "removed"
        audit_record(
            AuditEvent.Action.ROLE_CHANGED,
            details={"operator": instance.get_username(), key: names},
        )


@receiver(post_save, sender=Operator)
def _operator_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:
        audit_record(
            AuditEvent.Action.OPERATOR_CHANGED,
            details={
                "operator": instance.user.get_username(),
                "all_subusers": instance.all_subusers,
            },
        )


@receiver(m2m_changed, sender=Operator.subusers.through)
def _scope_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove") or reverse or not pk_set:
        return
    from bounceadmin.bounces.models import Subuser

    names = sorted(Subuser.objects.filter(pk__in=pk_set).values_list("username", flat=True))
    key = "subusers_added" if action == "post_add" else "subusers_removed"
    audit_record(
        AuditEvent.Action.OPERATOR_CHANGED,
        details={"operator": instance.user.get_username(), key: names},
    )
