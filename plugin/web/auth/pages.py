"""The sign-in pages: GET/POST /login (password), GET /login/oidc and /login/oidc/callback (OpenID Connect),
POST /logout. Pages are plain HTML (no script); their refusals are pages too, with the right status.

The login form carries its own token (a random value in an HttpOnly SameSite=Lax cookie and in the form),
so another site cannot sign a browser in to an account of its choosing (login CSRF).
"""
from __future__ import annotations

import hmac
import secrets
from html import escape

from sqlalchemy import delete, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from plugin.errors import SourceRefused
from plugin.store.auth import OidcLogin
from plugin.web.auth import oidc, sessions, throttle, users
from plugin.web.auth.access import is_https, safe_next, session_limits
from plugin.web.intake import in_store

LOGIN_COOKIE, OIDC_COOKIE = "dwcoder_login", "dwcoder_oidc"
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
           "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'"}
MAX_FIELD = 1024


def _service(request: Request):
    return request.app.state.service


def _cookie(request: Request, name: str) -> str:
    return ("__Host-" if is_https(request) else "") + name


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(_cookie(request, name), value, max_age=max_age, path="/", secure=is_https(request),
                        httponly=True, samesite="lax")


def _drop_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(_cookie(request, name), path="/", secure=is_https(request), httponly=True, samesite="lax")


def page(title: str, body: str, status: int = 200, headers: dict | None = None) -> HTMLResponse:
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>{escape(title)} · dwcoder</title><link rel=stylesheet href='/static/review.css'></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def _form(request: Request, token: str, next_url: str, message: str = "", username: str = "") -> str:
    settings = _service(request).settings
    parts = []
    if message:
        parts.append(f"<p role=alert>{escape(message)}</p>")
    if settings.login in ("password", "both"):
        parts.append(
            "<form method=post action='/login'>"
            f"<input type=hidden name=csrf_token value='{escape(token, quote=True)}'>"
            f"<input type=hidden name=next value='{escape(next_url, quote=True)}'>"
            "<p><label for=username>Username</label> "
            f"<input id=username name=username autocomplete=username required autofocus value='{escape(username, quote=True)}'></p>"
            "<p><label for=password>Password</label> "
            "<input id=password name=password type=password autocomplete=current-password required></p>"
            "<p><button type=submit>Sign in</button></p></form>")
    if settings.login in ("oidc", "both"):
        parts.append(f"<p><a href='/login/oidc?next={escape(next_url, quote=True)}'>Sign in with your organization's account</a></p>")
    return "".join(parts)


async def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    token = request.cookies.get(_cookie(request, LOGIN_COOKIE), "")
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    response = page("Sign in", _form(request, token, next_url))
    _set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_submit(request: Request) -> Response:
    service = _service(request)
    form = await request.form()
    token = request.cookies.get(_cookie(request, LOGIN_COOKIE), "")
    offered = str(form.get("csrf_token") or "")
    if len(token) < 32 or not hmac.compare_digest(offered.encode(), token.encode()):
        return page("Sign in", "<p role=alert>This form has expired. <a href='/login'>Open the sign-in page again</a>.</p>", 403)
    next_url = safe_next(str(form.get("next") or "/"))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    if service.settings.login == "oidc":
        return page("Sign in", "<p role=alert>Password sign-in is off here.</p>", 403)
    if not username.strip() or not password or len(username) > 200 or len(password) > MAX_FIELD:
        return page("Sign in", _form(request, token, next_url, "Give a username and a password."), 400)
    now = int(service.clock())
    keys = throttle.keys(username, _client(request))
    wait = await in_store(throttle.blocked_for, service.store, keys, now)
    if wait > 0:
        return _throttled(request, token, next_url, username, wait)
    user = await in_store(users.password_sign_in, service.store, username, password)
    if user is None:
        wait = await in_store(throttle.failed, service.store, keys, now)
        if wait > 0:
            return _throttled(request, token, next_url, username, wait)
        return page("Sign in", _form(request, token, next_url, "Wrong username or password.", username), 401)
    await in_store(throttle.succeeded, service.store, keys[0])
    response = await _signed_in(request, user.id, next_url)
    _drop_cookie(response, request, LOGIN_COOKIE)
    return response


def _throttled(request: Request, token: str, next_url: str, username: str, wait: int) -> Response:
    message = f"Too many failed sign-ins. Try again in {wait} seconds."
    return page("Sign in", _form(request, token, next_url, message, username), 429, headers={"Retry-After": str(wait)})


async def _signed_in(request: Request, user_id: int, next_url: str) -> Response:
    """A new session (never the old id: no session fixation); the old one, if any, ends."""
    service = _service(request)
    old = request.cookies.get(sessions.cookie_name(is_https(request)), "")
    if old:
        await in_store(sessions.end, service.store, old)
    now = int(service.clock())
    idle, most = session_limits(service.settings)
    await in_store(sessions.purge, service.store, now, idle, most)  # the table keeps no dead sessions
    value, _ = await in_store(sessions.create, service.store, user_id, now)
    response = RedirectResponse(next_url, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(sessions.cookie_name(is_https(request)), value, path="/", secure=is_https(request),
                        httponly=True, samesite="lax")
    return response


async def logout(request: Request) -> Response:
    """POST /logout (reviewer access: the session and its CSRF token are checked by the guard)."""
    cookie = sessions.cookie_name(is_https(request))
    await in_store(sessions.end, _service(request).store, request.cookies.get(cookie, ""))
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(cookie, path="/", secure=is_https(request), httponly=True, samesite="lax")
    return response


# ------------------------------------------------------------------------------------------ OpenID Connect
def _oidc_on(request: Request) -> bool:
    return _service(request).settings.login in ("oidc", "both")


def _refusal_page(exc: SourceRefused) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return page("Sign-in failed", f"<p role=alert>{escape(str(exc))}</p><p><a href='/login'>Back to sign-in</a></p>",
                exc.status, headers=headers)


async def oidc_start(request: Request) -> Response:
    if not _oidc_on(request):
        return page("Sign in", "<p>OpenID Connect sign-in is not configured here.</p>", 404)
    service = _service(request)
    try:
        url, pending = await oidc.start(service.settings)
    except SourceRefused as exc:
        return _refusal_page(exc)
    row = dict(state=pending.state, nonce=pending.nonce, verifier=pending.verifier,
               next_url=safe_next(request.query_params.get("next")), created_at=int(service.clock()))
    await in_store(_keep_pending, service.store, row)
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    _set_cookie(response, request, OIDC_COOKIE, pending.state, max_age=oidc.PENDING_TTL_S)
    return response


def _keep_pending(store, row: dict) -> None:
    with store.transaction() as db:
        db.execute(delete(OidcLogin).where(OidcLogin.created_at < row["created_at"] - oidc.PENDING_TTL_S))
        db.add(OidcLogin(**row))


def _take_pending(store, state: str, now: int) -> OidcLogin | None:
    """The pending sign-in of `state`, deleted (one use), if still young."""
    with store.transaction() as db:
        row = db.scalar(select(OidcLogin).where(OidcLogin.state == state))
        if row is None:
            return None
        db.delete(row)
        return row if now - row.created_at <= oidc.PENDING_TTL_S else None


async def oidc_callback(request: Request) -> Response:
    if not _oidc_on(request):
        return page("Sign in", "<p>OpenID Connect sign-in is not configured here.</p>", 404)
    service = _service(request)
    params = request.query_params
    state, code = params.get("state", ""), params.get("code", "")
    cookie_state = request.cookies.get(_cookie(request, OIDC_COOKIE), "")
    try:
        if params.get("error"):
            raise oidc.BadAnswer("the sign-in provider did not sign you in")
        if not state or not code or not hmac.compare_digest(state.encode(), cookie_state.encode()):
            raise oidc.BadAnswer("this sign-in answer does not belong to this browser's sign-in; start again")
        pending = await in_store(_take_pending, service.store, state, int(service.clock()))
        if pending is None:
            raise oidc.BadAnswer("this sign-in has expired or was used already; start again")
        who = await oidc.finish(service.settings, code, oidc.Pending(pending.state, pending.nonce, pending.verifier))
        try:
            user = await in_store(users.oidc_user, service.store, who.issuer, who.subject, who.username, who.role,
                                  who.practice)
        except users.UserError as exc:
            raise oidc.NoAccess(f"your account's claims cannot be used here: {exc}") from None
        if user is None:
            raise oidc.NoAccess("your account is disabled here")
    except SourceRefused as exc:
        response = _refusal_page(exc)
        _drop_cookie(response, request, OIDC_COOKIE)
        return response
    response = await _signed_in(request, user.id, safe_next(pending.next_url))
    _drop_cookie(response, request, OIDC_COOKIE)
    return response

