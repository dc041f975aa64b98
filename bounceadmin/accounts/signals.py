"""Operator changes into the audit log, whichever way they are made (Django admin, add_operator,
the shell): each receiver tells `changes` which operators a write is about, before and after it.
Bulk `QuerySet.update()` sends no signals and so is not seen: nothing in the app uses it on users.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import changes
from .mfa.session import session_signed_in
from .models import Operator

User = get_user_model()

_AUDITED = {*changes.USER_FIELDS, "password"}


def _audited(update_fields) -> bool:
    """A save of other fields only (last_login at every login) is not a change to audit."""
    return update_fields is None or bool(_AUDITED & set(update_fields))


@receiver(pre_save, sender=User)
def _user_saving(sender, instance, raw=False, update_fields=None, **kwargs):
    if not raw and instance.pk is not None and _audited(update_fields):
        changes.changing(instance, [instance.pk])


@receiver(post_save, sender=User)
def _user_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or not (created or _audited(update_fields)):
        return
    if created:
        changes.created(instance, instance.pk)
    # set_password() keeps the raw password here until save() has passed it to the password
    # validators; the hash upgrade at login clears it before saving, so only a real change shows.
    if getattr(instance, "_password", None) is not None:
        changes.password_set(instance, instance.pk)
    changes.changed(instance)


@receiver(pre_delete, sender=User)
def _user_deleting(sender, instance, **kwargs):
    changes.deleted(instance)


@receiver(pre_save, sender=Operator)
def _operator_saving(sender, instance, raw=False, **kwargs):
    if not raw:
        changes.changing(instance, [instance.user_id])


@receiver(post_save, sender=Operator)
def _operator_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        changes.changed(instance)


# The relations that make up an operator's power: (field to the user's side, field to the other).
_RELATIONS = {
    User.groups.through: ("user", "group"),
    User.user_permissions.through: ("user", "permission"),
    Operator.subusers.through: ("operator", "subuser"),
}


def _users_of(sender, instance, reverse: bool, pk_set) -> list[int]:
    """The users a change of one of these relations is about, from either side."""
    of_operator = sender is Operator.subusers.through
    if not reverse:
        return [instance.user_id if of_operator else instance.pk]
    owner, other = _RELATIONS[sender]
    if pk_set is None:  # clear() from the other side: every row of that object
        pk_set = sender.objects.filter(**{other: instance.pk}).values_list(f"{owner}_id", flat=True)
    if of_operator:
        return list(Operator.objects.filter(pk__in=pk_set).values_list("user_id", flat=True))
    return list(pk_set)


def _relation_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action in ("pre_add", "pre_remove", "pre_clear"):
        changes.changing(instance, _users_of(sender, instance, reverse, pk_set))
    elif action in ("post_add", "post_remove", "post_clear"):
        changes.changed(instance)


for _through in _RELATIONS:
    m2m_changed.connect(_relation_changed, sender=_through, dispatch_uid=f"audit-{_through}")


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    """When this session signed in (a password, the code step, single sign-on's callback): a
    user without a password may set up a first factor only shortly after (mfa/views.py)."""
    if request is not None and hasattr(request, "session"):
        session_signed_in(request)
