"""The one place that decides which subusers' data a user may see.

Every page, export, search and task started by a user builds its querysets from these
functions, never by hand. Superusers and operators marked "all subusers" see everything; other
operators see their listed subusers; a user with no operator record sees nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from bounceadmin.alerts.models import Alert
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.suppressions.models import Suppression

from .models import Operator

ALL = None  # marker: no restriction


def visible_subuser_ids(user) -> frozenset[int] | None:
    """The ids the user may see, or ALL. Memoised on the user object (one per request)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_visible_subuser_ids", False)
    if cached is not False:
        return cached
    if user.is_superuser:
        ids = ALL
    else:
        operator = Operator.objects.filter(user=user).first()
        if operator is None:
            ids = frozenset()
        elif operator.all_subusers:
            ids = ALL
        else:
            ids = frozenset(operator.subusers.values_list("pk", flat=True))
    user._visible_subuser_ids = ids
    return ids


def visible_subusers(user) -> QuerySet[Subuser]:
    ids = visible_subuser_ids(user)
    return Subuser.objects.all() if ids is ALL else Subuser.objects.filter(pk__in=ids)


def visible_bounces(user) -> QuerySet[Bounce]:
    ids = visible_subuser_ids(user)
    return Bounce.objects.all() if ids is ALL else Bounce.objects.filter(subuser_id__in=ids)


def visible_suppressions(user) -> QuerySet[Suppression]:
    """Entries of the other lists (blocks, spam reports, unsubscribes...), the parent account's
    included only for those who may see it, like any subuser's."""
    ids = visible_subuser_ids(user)
    if ids is ALL:
        return Suppression.objects.all()
    return Suppression.objects.filter(subuser_id__in=ids)


def visible_alerts(user) -> QuerySet[Alert]:
    """Alerts about the subusers the user may see (every alert is about one subuser)."""
    ids = visible_subuser_ids(user)
    return Alert.objects.all() if ids is ALL else Alert.objects.filter(subuser_id__in=ids)


def sees_everything(user) -> bool:
    return visible_subuser_ids(user) is ALL
