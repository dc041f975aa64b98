"""Refreshing the bounce cache from SendGrid: the map.

A refresh of one subuser has four steps (`subuser.SubuserRefresh`):

1. **begin**: take the subuser's lease (`locks`: short, renewed by a heartbeat thread until it
   is freed; a task waits for a held one and takes it over once its holder stops renewing it),
   close any run its dead holder left 'running' (`runs`), record a running `RefreshRun`, and,
   for a full refresh, read the cached rows once (the lease keeps every other writer out until
   the write).
2. **download** (`listing`): page the list through the SendGrid client, 500 a page, each page
   re-reading the end of the one before, until one listing joins up; confirm would-be removals.
   Pages arrive while the next is in flight (`prefetch`), and the type and classification of
   new or changed entries are worked out as they come (`derivation`, in a worker process for
   big refreshes). The network only: no database; it stops early if the lease was taken.
3. **write** (`reconcile`), in the caller's transaction: check the lease is still ours, then new
   rows, changed rows, removals and their history, through `bulkwrite`; then the overview's
   summaries (`summaries`, which count local days with `localday` on SQLite); the leases are
   renewed before it commits (`locks.leases_stand_still` for the others' on SQLite).
4. **finish** (`runs`): record the run, ok or failed (then nothing was written), free the lease.

Two paths take these steps:

- **Celery** (`bounces/tasks.py`, one task per subuser): `bounces_refresh`, the four steps in
  order, one transaction for the write.
- **The command** (`manage.py refresh_bounces`): `bounces_refresh_each` (`pipeline`) begins
  subusers ahead, downloads in a background thread, and writes whole groups of downloaded
  subusers in one transaction with a savepoint each. A first load into an empty cache builds
  the list's indexes at its end (`list_indexes`).

Where SQLite and PostgreSQL differ, the code asks `database`, the one module here that tests
the vendor: how rows are written (multi-row INSERT / COPY), how timestamps are passed and read,
the list indexes' extras, how a local day is computed, and whether a write transaction keeps
every other writer (and so every lease's heartbeat) waiting.
"""

from importlib import import_module

# The public names, imported on first use: the derivation worker process imports
# `refresh.derivation` without Django set up, so this package must not import models on import.
_EXPORTS = {
    "RefreshAlreadyRunning": "errors",
    "WORKER_STOPPED": "errors",
    "bounces_refresh": "subuser",
    "bounces_refresh_each": "pipeline",
    "refresh_mark_interrupted": "runs",
    "stale_before": "runs",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
