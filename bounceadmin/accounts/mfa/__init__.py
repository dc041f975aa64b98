"""The second factor, over django-otp: an authenticator app (TOTP) and recovery codes.

- `policy.py`: who needs a factor to approve or reject, and how fresh its check must be.
- `devices.py`: reading a user's factor (reads only).
- `services.py`: enrolment, checks, recovery codes, resets; each audited.
- `session.py`: when this browser session last passed a check.
- `decorators.py`: the pages that decide send a user to enrol or re-verify first.
- `views.py`, `forms.py`: `/accounts/two-factor/` (the sign-in's code step is `accounts/login.py`).
"""
