"""The sign-in refusals: SourceRefused subclasses, so plugin/web/problems.py turns them into OperationOutcomes
(SignInRequired is answered there as a redirect to /login for a browser page)."""
from __future__ import annotations

from plugin.errors import SourceRefused


class SignInRequired(SourceRefused):
    """No valid session (none, unknown, expired): 401 for the API, 303 to /login?next=... for a page."""

    def __init__(self, message: str = "sign in first") -> None:
        super().__init__(401, "login", message)


class NotAllowed(SourceRefused):
    """Signed in, but this user may not do this (role too low; a state-changing request without the right
    CSRF token): 403."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


class NotVisible(SourceRefused):
    """A case or line of a practice the user may not see: answered exactly like one that does not exist (404),
    so ids of other practices cannot be probed."""

    def __init__(self, message: str = "no such case or line") -> None:
        super().__init__(404, "not-found", message)


class TooManyAttempts(SourceRefused):
    """Too many failed sign-ins for this username or client address: 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "throttled", "too many failed sign-ins; try again later", retry_after=max(1, retry_after))
