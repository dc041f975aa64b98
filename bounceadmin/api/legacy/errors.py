"""A refusal of the legacy surface: its HTTP status and what to say, rendered by render.py in
the documented shapes (`{"message": "error", "errors": [...]}`, or `{"message": "..."}` for the
pages' own messages such as "Email does not exist")."""

from __future__ import annotations


class LegacyError(Exception):
    def __init__(self, *errors: str, status: int = 400, message: str = "error") -> None:
        super().__init__(message, *errors)
        self.errors = list(errors)
        self.status = status
        self.message = message


def email_does_not_exist() -> LegacyError:
    """The pages' answer to a delete of an address that is not on the list."""
    return LegacyError(status=404, message="Email does not exist")
