"""Password sign-in through the real /login form: the session cookie, login CSRF, open redirects, sign-out."""
from __future__ import annotations

from plugin.web.auth.sessions import COOKIE, SECURE_COOKIE
from tests.web.auth.browser import PASSWORD


def test_sign_in_sets_a_hardened_session_cookie_and_goes_to_next(make_user, browser):
    user = make_user()
    b = browser()
    answer = b.sign_in(user.username, next_url="/review?status=pending")
    assert answer.status_code == 303 and answer.headers["location"] == "/review?status=pending"
    set_cookie = [h for h in answer.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")][0].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "secure" not in set_cookie
    assert len(b.session_cookie()) >= 43  # 256 bits, url-safe base64


def test_over_https_the_cookie_is_secure_with_the_host_prefix(make_user, browser):
    user = make_user()
    b = browser(https=True)
    answer = b.sign_in(user.username)
    cookie = [h for h in answer.headers.get_list("set-cookie") if h.startswith(SECURE_COOKIE + "=")][0].lower()
    assert "secure" in cookie and "httponly" in cookie and "path=/" in cookie and "domain" not in cookie
    assert b.request("POST", "/logout", headers={"X-CSRF-Token": b.csrf()}).status_code == 303


def test_the_stored_session_id_is_a_hash_never_the_cookie_value(make_user, browser, auth_store):
    from sqlalchemy import select

    from plugin.store.auth import AuthSession

    user = make_user()
    b = browser()
    b.sign_in(user.username)
    with auth_store.sessions() as db:
        stored = db.scalars(select(AuthSession.id_hash)).all()
    assert len(stored) == 1 and b.session_cookie() not in stored[0]


def test_wrong_password_and_unknown_user_get_the_same_answer(make_user, browser):
    user = make_user()
    wrong = browser().sign_in(user.username, "not the password at all")
    unknown = browser().sign_in("nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text and "Wrong username or password." in unknown.text
    assert PASSWORD not in wrong.text and "not the password" not in wrong.text


def test_the_login_form_needs_its_own_token(make_user, browser):
    """Login CSRF: a form posted from elsewhere (no token, or a token without its cookie) signs no one in."""
    user = make_user()
    b = browser()
    no_token = b.request("POST", "/login", data={"username": user.username, "password": PASSWORD})
    assert no_token.status_code == 403 and not b.session_cookie()
    token = browser().login_page()  # a token of another browser
    foreign = b.request("POST", "/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD})
    assert foreign.status_code == 403 and not b.session_cookie()


def test_next_never_leaves_the_site(make_user, browser):
    user = make_user()
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        answer = browser().sign_in(user.username, next_url=evil)
        assert answer.status_code == 303 and answer.headers["location"] == "/", evil


def test_sign_in_issues_a_new_session_id(make_user, browser):
    """Session fixation: a cookie value planted before sign-in is never the signed-in session."""
    user = make_user()
    b = browser()
    b.cookies.set(COOKIE, "planted-" + "x" * 40, domain="dwcoder.test")
    b.sign_in(user.username)
    assert b.session_cookie() and not b.session_cookie().startswith("planted-")


def test_logout_ends_the_session_at_the_server(signed_in, browser):
    b, _ = signed_in()
    kept = b.session_cookie()
    assert b.request("POST", "/logout", headers={"X-CSRF-Token": b.csrf()}).status_code == 303
    replay = browser()
    replay.cookies.set(COOKIE, kept, domain="dwcoder.test")
    answer = replay.request("POST", "/logout", headers={"X-CSRF-Token": "x"})
    assert answer.status_code == 401


def test_password_sign_in_off_when_only_oidc(tmp_path, database_url, make_user):
    from plugin.store import Store
    from tests.store.databases import settings_for
    from tests.web.auth.browser import Browser, Clock, app_of

    settings = settings_for(database_url, tmp_path, DWCODER_LOGIN="oidc", OIDC_ISSUER="https://idp.example",
                            OIDC_CLIENT_ID="dwcoder", OIDC_CLIENT_SECRET="s3cret-value",
                            OIDC_REDIRECT_URL="https://dwcoder.example/login/oidc/callback")
    store = Store.from_settings(settings)
    try:
        user = make_user()
        b = Browser(app_of(settings, store, Clock()))
        page = b.request("GET", "/login")
        assert "type=password" not in page.text and "/login/oidc" in page.text
        token = b.cookies.get("dwcoder_login")
        answer = b.request("POST", "/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD})
        assert answer.status_code == 403 and not b.session_cookie()
    finally:
        store.dispose()
