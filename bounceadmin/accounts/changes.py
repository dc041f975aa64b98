"""Every change to an operator into the audit log, as one event with what changed before and after.

An operator's power is spread over several rows (the user's flags, its groups and permissions,
the Operator row and its subusers), each saved on its own. The signal receivers (signals.py) call
`changing` before a write and `changed` after it; the state is read from the database on both
sides, so it does not matter which way the change came (Django admin, add_operator, the shell).

Outside `operator_changes()` every write is one event. Inside it (a Django admin form, the
add_operator service) the first write takes the "before" and one event per operator is recorded
at the end, so a form that changes the role, the scope and a flag is one event, not five.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group, Permission

from bounceadmin.audit.context import current_request
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser

from .models import Operator
from .roles import ROLES

# User fields whose change is audited (with `password`, seen through set_password).
USER_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser")


@dataclass
class _Pending:
    before: dict | None  # None: created meanwhile
    password: str = ""  # "set by <actor>" once set_password was saved


_unit: ContextVar[dict[int, _Pending] | None] = ContextVar("operator_changes", default=None)


def operator_state(user_pk: int) -> dict | None:
    """What an operator may do, as audited; never the password hash."""
    user = get_user_model().objects.filter(pk=user_pk).values(*USER_FIELDS, "password").first()
    if user is None:
        return None
    groups = set(Group.objects.filter(user=user_pk).values_list("name", flat=True))
    operator = Operator.objects.filter(user=user_pk).values("all_subusers").first()
    return {
        **{field: user[field] for field in USER_FIELDS},
        "usable_password": is_password_usable(user["password"]),
        "role": ", ".join(role for role in ROLES if role in groups) or None,
        "groups": sorted(groups - set(ROLES)),
        "permissions": sorted(
            f"{app}.{codename}"
            for app, codename in Permission.objects.filter(user=user_pk).values_list(
                "content_type__app_label", "codename"
            )
        ),
        "all_subusers": bool(operator and operator["all_subusers"]),
        "subusers": sorted(
            Subuser.objects.filter(operators__user=user_pk).values_list("username", flat=True)
        ),
    }


@contextmanager
def operator_changes() -> Iterator[None]:
    """Record the operator changes made inside as one event per operator, at the end. Use it
    inside the transaction of the change, so the events commit or roll back with it."""
    if _unit.get() is not None:  # nested: the outermost one records
        yield
        return
    pending: dict[int, _Pending] = {}
    token = _unit.set(pending)
    try:
        yield
    finally:
        _unit.reset(token)
    for user_pk, change in pending.items():
        _record(user_pk, change)


def changing(holder, user_pks: Iterable[int]) -> None:
    """Before a write: remember the state of these operators. Outside a unit it is kept on the
    object the signal is about (`holder`), for `changed` to pick up after the write."""
    unit = _unit.get()
    if unit is None:
        unit = holder.__dict__.setdefault("_operator_changes", {})
        unit.clear()  # a write that failed after its pre-signal left a stale state
    for pk in user_pks:
        if pk is not None and pk not in unit:
            unit[pk] = _Pending(before=operator_state(pk))


def created(holder, user_pk: int) -> None:
    unit = _unit.get()
    if unit is None:
        unit = holder.__dict__.setdefault("_operator_changes", {})
        unit.clear()
    unit.setdefault(user_pk, _Pending(before=None))


def password_set(holder, user_pk: int) -> None:
    unit = _unit.get()
    if unit is None:
        unit = holder.__dict__.get("_operator_changes", {})
    if user_pk in unit:
        unit[user_pk].password = f"set by {_actor_name()}"


def changed(holder) -> None:
    """After a write: outside a unit, record what the write changed."""
    if _unit.get() is not None:
        return
    for user_pk, change in holder.__dict__.pop("_operator_changes", {}).items():
        _record(user_pk, change)


def deleted(user) -> None:
    """A deleted user is recorded at once, with the state it had."""
    before = operator_state(user.pk)
    if before is not None:
        audit_record(
            AuditEvent.Action.OPERATOR_CHANGED,
            details={"operator": before["username"], "deleted": True, "before": before},
        )


def _record(user_pk: int, change: _Pending) -> None:
    after = operator_state(user_pk)
    if after is None:  # deleted meanwhile: recorded by `deleted`
        return
    details: dict = {"operator": after["username"]}
    if change.before is None:
        action = AuditEvent.Action.OPERATOR_CREATED
        details["after"] = after
    else:
        fields = [field for field, value in after.items() if change.before[field] != value]
        if not fields and not change.password:
            return
        # A role change keeps its own action, for the log's filter by action.
        role_changed = "role" in fields
        action = (
            AuditEvent.Action.ROLE_CHANGED if role_changed else AuditEvent.Action.OPERATOR_CHANGED
        )
        details["before"] = {field: change.before[field] for field in fields}
        details["after"] = {field: after[field] for field in fields}
    if change.password:
        details["password"] = change.password
    audit_record(action, details=details)


def _actor_name() -> str:
    request = current_request()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "system"  # the command line, the shell, a task: as the audit log names no actor
