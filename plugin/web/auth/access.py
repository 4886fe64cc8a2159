"""Who may call a route, checked in one place: every row of the route table (plugin/web/routes.py) declares
its `access`, and app.py serves each handler through `guard(row)`:

    public     anyone (health, the sign-in pages, discovery); a state-changing public page checks its own token
    signed     the caller proves itself per request: Standard Webhooks signature, Subscription channel header
    cds-jwt    CDS Hooks: the EHR's signed JWT (issue 10)
    reviewer   a signed-in user with role reviewer or admin; state-changing methods also need the CSRF token
    admin      a signed-in admin; the same CSRF rule

A row without a known access stops the service at start (AccessMisconfigured), so no route is served unguarded.
"""
from __future__ import annotations

import functools
import hmac
from urllib.parse import quote, urlsplit

from starlette.requests import Request

from plugin.web.auth import sessions
from plugin.web.auth.model import User, has_role
from plugin.web.auth.refusals import NotAllowed, SignInRequired
from plugin.web.intake import in_store

ACCESS = ("public", "signed", "cds-jwt", "reviewer", "admin")
SIGNED_IN = ("reviewer", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
IDLE_S, MAX_S = 1800.0, 43200.0
_UNREAD = object()


class AccessMisconfigured(RuntimeError):
    """A route row declares no (or an unknown) access: the service does not start."""


def require(role: str) -> str:
    """The access marker of a route row: one of ACCESS."""
    if role not in ACCESS:
        raise AccessMisconfigured(f"unknown access {role!r}: expected one of {', '.join(ACCESS)}")
    return role


def guard(route):
    """The handler of `route`, served only to whom its access allows."""
    access = getattr(route, "access", "")
    if access not in ACCESS:
        raise AccessMisconfigured(f"route {route.method} {route.path} declares no access (one of {', '.join(ACCESS)})")
    if access not in SIGNED_IN:
        return route.handler

    @functools.wraps(route.handler)
    async def guarded(request: Request):
        user = await current_user(request)
        if not has_role(user, access):
            raise NotAllowed(f"this needs the {access} role")
        if request.method not in SAFE_METHODS:
            await check_csrf(request)
        return await route.handler(request)

    return guarded


def _service(request: Request):
    return request.app.state.service


def session_limits(settings) -> tuple[float, float]:
    return getattr(settings, "session_idle_s", IDLE_S), getattr(settings, "session_max_s", MAX_S)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


async def signed_in(request: Request) -> sessions.SignedIn | None:
    """The request's live session, or None (cached on the request)."""
    cached = getattr(request.state, "auth", _UNREAD)
    if cached is not _UNREAD:
        return cached
    token = request.cookies.get(sessions.cookie_name(is_https(request)), "")
    found = None
    if 20 <= len(token) <= 100:
        service = _service(request)
        idle, most = session_limits(service.settings)
        found = await in_store(sessions.load, service.store, token, int(service.clock()), idle, most)
    request.state.auth = found
    return found


async def current_user(request: Request) -> User:
    """The signed-in user; SignInRequired otherwise (a page is redirected to /login?next=..., the API gets 401)."""
    found = await signed_in(request)
    if found is None:
        raise SignInRequired()
    return found.user


async def csrf_token(request: Request) -> str:
    """The session's CSRF token: put it in every form (`<input type=hidden name=csrf_token>`) and send it as
    the X-CSRF-Token header on every htmx / fetch request that changes state."""
    found = await signed_in(request)
    if found is None:
        raise SignInRequired()
    return found.csrf


async def check_csrf(request: Request, form=None) -> None:
    """NotAllowed unless the X-CSRF-Token header (or the form's csrf_token field) equals the session's token,
    and the browser does not flag the request as cross-site."""
    found = await signed_in(request)
    if found is None:
        raise SignInRequired()
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        raise NotAllowed("cross-site request refused")
    offered = request.headers.get(CSRF_HEADER, "")
    if not offered:
        if form is None and request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES:
            form = await request.form()
        offered = str((form or {}).get(CSRF_FIELD, "") or "")
    if not offered or not hmac.compare_digest(offered.encode(), found.csrf.encode()):
        raise NotAllowed("missing or wrong CSRF token; reload the page and try again")


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in ("/" for anything else: no open redirect)."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or value.startswith("/\\") or any(c in value for c in "\r\n\t\\"):
        return "/"
    return value[:1000]


def login_url(request: Request) -> str:
    """/login?next=<here>; for htmx, "here" is the page the request came from (HX-Current-URL, same host only)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    current = request.headers.get("hx-current-url", "")
    if request.headers.get("hx-request") and current:
        parts = urlsplit(current)
        if parts.netloc == request.url.netloc and parts.path.startswith("/"):
            here = parts.path + (f"?{parts.query}" if parts.query else "")
    return "/login?next=" + quote(safe_next(here), safe="")
