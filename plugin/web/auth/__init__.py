"""Sign-in and roles (issue 9): what every route codes against.

    User(id, username, role, practice)          role "reviewer" | "admin"; practice SYSTEM|VALUE or "*" (all)
    await current_user(request) -> User         SignInRequired otherwise (page: 303 /login?next=..., API: 401)
    require(role) -> str                        the `access` marker of a route row (access.py lists them)
    await csrf_token(request) -> str            the session's token, for forms and the X-CSRF-Token header
    await check_csrf(request, form=None)        NotAllowed (403) unless the token matches (guard() calls it for
                                                every state-changing reviewer/admin route already)
    can_see(user, practice) -> bool             may this user see a case of this practice?
    check_can_see(user, practice)               NotVisible (404, as if absent) unless can_see

Modules: model.py (User, roles), access.py (guard, current_user, CSRF), sessions.py (server-side sessions),
users.py (users in the store), passwords.py (argon2), throttle.py (failed sign-ins), oidc.py (OpenID Connect),
pages.py (/login, /logout, /login/oidc), refusals.py (the refusals).
"""
from __future__ import annotations

from plugin.web.auth.access import ACCESS, check_csrf, csrf_token, current_user, guard, require
from plugin.web.auth.model import ALL_PRACTICES, ROLES, User, can_see, has_role
from plugin.web.auth.refusals import NotAllowed, NotVisible, SignInRequired, TooManyAttempts


def check_can_see(user: User, practice: str) -> None:
    if not can_see(user, practice):
        raise NotVisible()


__all__ = ["ACCESS", "ALL_PRACTICES", "ROLES", "User", "can_see", "check_can_see", "check_csrf", "csrf_token",
           "current_user", "guard", "has_role", "require", "NotAllowed", "NotVisible", "SignInRequired",
           "TooManyAttempts"]
