"""What a refresh may fail with."""

from __future__ import annotations

from bounceadmin.sendgrid import SendGridError

INTERRUPTED = "Interrupted: the refresh was stopped before it was written. Nothing was written."
# A run closed by whoever found it 'running' after its worker had died.
WORKER_STOPPED = "Interrupted: the worker stopped before the refresh finished. Nothing was written."


class RefreshAlreadyRunning(Exception):
    """Another refresh of this subuser holds the lease."""


class ListKeptChanging(Exception):
    """No listing joined up within MAX_LISTINGS: the list changed under every one of them."""


class Interrupted(Exception):
    """The refresh was stopped after it began and before it was written."""


# What a download may fail with that fails only its own refresh.
DOWNLOAD_FAILURES = (SendGridError, ListKeptChanging)
