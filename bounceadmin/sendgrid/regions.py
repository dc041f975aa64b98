"""SendGrid's data regions, and the `on-behalf-of` value that carries a subuser's region.

A subuser's region is fixed when it is created; its data lives only on its region's API host
(`https://api.eu.sendgrid.com` for `eu`), and a call on its behalf must go there. The client picks
the host of every call from the region of the `on-behalf-of` value it is given, so a caller that
passes `Subuser.on_behalf_of` cannot send an EU subuser's call to the global host. A plain string
(tests, the shell) is a global subuser, as SendGrid shows a subuser not pinned to a region; the
parent account (no `on-behalf-of`) is always global, and so is the subuser listing, which lists
every region.
"""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    GLOBAL = "global"
    EU = "eu"


class OnBehalfOf(str):
    """A subuser's username, as sent in `on-behalf-of`, that knows the subuser's region."""

    region: Region

    def __new__(cls, username: str, region: str = Region.GLOBAL) -> OnBehalfOf:
        value = super().__new__(cls, username)
        value.region = Region(region)
        return value

    def __getnewargs__(self) -> tuple[str, str]:  # pickled with errors (Celery results)
        return str(self), str(self.region)

    def __repr__(self) -> str:
        name = repr(str(self))
        return name if self.region == Region.GLOBAL else f"{name} ({self.region})"


def region_of(subuser: str | None) -> Region:
    """The region whose host serves calls on behalf of `subuser` (None: the parent, global)."""
    return getattr(subuser, "region", Region.GLOBAL) if subuser else Region.GLOBAL
