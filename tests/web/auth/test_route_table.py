"""The route table walked: every row of plugin.web.routes.ROUTES, so a new route cannot escape.

- a row declares a known access, else the app does not start;
- public rows are exactly the ones listed here (a new public route is a decision made in this file);
- signed and cds-jwt rows refuse a request without their credentials (401);
- reviewer / admin rows refuse an anonymous request (page: 303 to /login?next=..., htmx: 401 + HX-Redirect,
  API: 401 OperationOutcome), a reviewer on an admin row (403), and every state-changing one a missing,
  forged or another session's CSRF token (403) while the right token passes the guard;
- a row taking an object (path parameter) refuses a user of another practice (403 or 404) while a user of
  the object's practice is not refused: the factories of objects.py make the object.
"""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

import pytest

from plugin.web.auth.access import ACCESS, SAFE_METHODS, AccessMisconfigured
from plugin.web.routes import ROUTES
from tests.web.auth import objects
from tests.web.auth.conftest import PRACTICE_A, PRACTICE_B

PUBLIC = {("GET", "/healthz"), ("GET", "/openapi.json"), ("GET", "/login"), ("POST", "/login"),
          ("GET", "/login/oidc"), ("GET", "/login/oidc/callback"),
          ("GET", "/cds-services"),                                        # CDS Hooks discovery (spec: unauthenticated)
          ("GET", "/static/{name}"),  # vendored htmx, CSS
          ("GET", "/readyz"), ("GET", "/metrics")}  # probes and the Prometheus scrape: counts only, no patient data
GUARDED = [r for r in ROUTES if r.access in ("reviewer", "admin")]
CHANGING = [r for r in GUARDED if r.method not in SAFE_METHODS]
WITH_OBJECT = [r for r in GUARDED if objects.params_of(r.path) or (r.method, r.path) in objects.REQUEST_FACTORIES]


def _id(route) -> str:
    return f"{route.method} {route.path}"


def test_every_row_declares_a_known_access():
    assert [r for r in ROUTES if r.access not in ACCESS] == []
    assert GUARDED, "no signed-in route at all?"


def test_a_row_without_access_stops_the_app(auth_settings, auth_store, clock):
    from plugin.web import app as app_module
    from tests.web.auth.browser import app_of

    bare = replace(ROUTES[0], access="")
    original = app_module.ROUTES
    app_module.ROUTES = (*original, bare)
    try:
        with pytest.raises(AccessMisconfigured, match="declares no access"):
            app_of(auth_settings, auth_store, clock)
    finally:
        app_module.ROUTES = original


def test_public_rows_are_exactly_the_listed_ones():
    public = {(r.method, r.path) for r in ROUTES if r.access == "public"}
    assert public <= PUBLIC, f"new public route(s) {sorted(public - PUBLIC)}: sign-in is needed, or list it here"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.access in ("signed", "cds-jwt")], ids=_id)
def test_signed_rows_refuse_a_request_without_credentials(route, browser, auth_store):
    objects.load()
    url = route.path
    for name in objects.params_of(route.path):  # an object that exists where there is a factory for it
        value = objects.PARAM_FACTORIES[name](auth_store, PRACTICE_B) if name in objects.PARAM_FACTORIES else "999999"
        url = url.replace("{" + name + "}", value)
    answer = browser().request(route.method, url, content=b"{}",
                               headers={"content-type": "application/json"})
    assert answer.status_code == 401, (answer.status_code, answer.text[:200])


@pytest.mark.parametrize("route", GUARDED, ids=_id)
def test_anonymous_is_refused(route, browser):
    url = objects.dummy_url(route.path)
    b = browser()
    api = b.request(route.method, url, headers={"accept": "application/json"})
    assert api.status_code == 401
    assert api.json()["issue"][0]["code"] == "login"
    htmx = b.request(route.method, url, headers={"HX-Request": "true", "accept": "text/html",
                                                 "HX-Current-URL": "http://dwcoder.test/review?page=2"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=" + quote("/review?page=2", safe="")
    foreign = b.request(route.method, url, headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert foreign.headers["HX-Redirect"] == "/login?next=" + quote(url, safe="")
    if route.method == "GET":
        page = b.request("GET", url + "?status=pending", headers={"accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=" + quote(url + "?status=pending", safe="")


@pytest.mark.parametrize("route", GUARDED, ids=_id)
def test_an_unknown_or_stale_cookie_is_anonymous(route, browser):
    b = browser()
    b.cookies.set("dwcoder_session", "A" * 43, domain="dwcoder.test")
    answer = b.request(route.method, objects.dummy_url(route.path), headers={"accept": "application/json",
                                                                              "X-CSRF-Token": "A" * 43})
    assert answer.status_code == 401


@pytest.mark.parametrize("route", [r for r in GUARDED if r.access == "admin"], ids=_id)
def test_a_reviewer_is_refused_on_admin_rows(route, signed_in):
    b, _ = signed_in("reviewer", "*")
    answer = b.request(route.method, objects.dummy_url(route.path), headers={"X-CSRF-Token": b.csrf()})
    assert answer.status_code == 403


@pytest.mark.parametrize("route", CHANGING, ids=_id)
def test_state_changing_rows_need_the_sessions_csrf_token(route, signed_in):
    b, _ = signed_in("admin", "*")
    other, _ = signed_in("admin", "*")
    url = objects.dummy_url(route.path)
    refused = [
        b.request(route.method, url),                                               # no token
        b.request(route.method, url, headers={"X-CSRF-Token": "forged-" + "x" * 40}),  # forged
        b.request(route.method, url, headers={"X-CSRF-Token": other.csrf()}),       # another session's
        b.request(route.method, url, data={"csrf_token": "forged-" + "x" * 40}),    # forged form field
        b.request(route.method, url, headers={"X-CSRF-Token": b.csrf(), "Sec-Fetch-Site": "cross-site"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all(r.json()["issue"][0]["code"] == "forbidden" for r in refused)
    passed = b.request(route.method, url, headers={"X-CSRF-Token": b.csrf()})
    assert passed.status_code not in (401, 403), "the right token must pass the guard"
    in_form = other.request(route.method, url, data={"csrf_token": other.csrf()})
    assert in_form.status_code not in (401, 403), "the right token in the form must pass the guard"


@pytest.mark.parametrize("route", WITH_OBJECT, ids=_id)
def test_a_user_of_another_practice_is_refused(route, signed_in, auth_store):
    outsider, _ = signed_in(route.access, PRACTICE_A)
    insider, _ = signed_in(route.access, objects.insider_practice(route, PRACTICE_B))
    url, kw = objects.request_for(route, auth_store, PRACTICE_B)
    answer = outsider.request(route.method, url, headers={"X-CSRF-Token": outsider.csrf()}, **kw)
    assert answer.status_code in (403, 404), (answer.status_code, answer.text[:200])
    control = insider.request(route.method, url, headers={"X-CSRF-Token": insider.csrf()}, **kw)
    assert control.status_code not in (401, 403, 404), (control.status_code, control.text[:200])
