"""Django's database sessions, taking a session cookie only in the shape Django writes it.

Django accepts any cookie value of 8 characters or more as a session key and looks it up; a NUL in
it (the cookie parser turns `\\000` into one) reaches PostgreSQL, which refuses it: a 500 on every
page, signed in or not. A key Django made is 32 lowercase letters and digits; anything else is no
session.
"""

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key) -> bool:
        return isinstance(key, str) and _KEY.fullmatch(key) is not None
