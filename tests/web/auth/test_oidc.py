"""OpenID Connect sign-in against a real provider process (tests/oidc: panva's oidc-provider): the
authorization code flow with PKCE, state and nonce, driven with httpx through the provider's own login form.

The app under test is reached through ASGI at http://127.0.0.1:8765 (the registered redirect URI's origin);
the provider is a real HTTP server on a spare loopback port.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from plugin.store import Store
from plugin.web.auth import oidc
from tests.oidc.fixture import PRACTICE_A, USERS
from tests.store.databases import settings_for
from tests.web.auth.browser import Browser, Clock, app_of

APP = "http://127.0.0.1:8765"


@pytest.fixture
def oidc_app(tmp_path, database_url, oidc_provider):
    settings = settings_for(database_url, tmp_path, **oidc_provider.env())
    store = Store.from_settings(settings)
    yield app_of(settings, store, Clock()), store
    store.dispose()


def provider_sign_in(authorize_url: str, username: str, password: str) -> httpx.Response:
    """What the person does at the provider: open the authorization URL, fill in its login form. Returns the
    provider's final answer (a redirect to the client's redirect URI, or the form again)."""
    with httpx.Client(timeout=30, follow_redirects=False) as provider:
        answer = provider.get(authorize_url)
        for _ in range(10):
            if answer.status_code not in (302, 303):
                break
            target = answer.headers["location"]
            if target.startswith(APP):
                return answer
            answer = provider.get(httpx.URL(str(answer.url)).join(target))
        assert answer.status_code == 200 and "<form" in answer.text, answer.text[:300]
        action = answer.text.split('action="', 1)[1].split('"', 1)[0]
        answer = provider.post(httpx.URL(str(answer.url)).join(action), data={"username": username, "password": password})
        for _ in range(10):
            if answer.status_code not in (302, 303) or answer.headers["location"].startswith(APP):
                return answer
            answer = provider.get(httpx.URL(str(answer.url)).join(answer.headers["location"]))
        return answer


def start(b: Browser, next_url: str = "/review") -> str:
    answer = b.request("GET", "/login/oidc", params={"next": next_url})
    assert answer.status_code == 303
    return answer.headers["location"]


def callback_path(provider_answer: httpx.Response) -> str:
    assert provider_answer.status_code in (302, 303), provider_answer.text[:300]
    location = provider_answer.headers["location"]
    assert location.startswith(APP + "/login/oidc/callback?")
    return location[len(APP):]


def who(b: Browser) -> tuple[int, str]:
    answer = b.request("GET", "/review", headers={"accept": "application/json"})
    return answer.status_code, answer.text


def test_round_trip_signs_in_with_role_and_practice_from_the_claims(oidc_app, oidc_provider):
    app, store = oidc_app
    b = Browser(app, base_url=APP)
    authorize = start(b)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(oidc_provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0] and query["state"] != query["nonce"]
    assert "code_verifier" not in query
    done = b.request("GET", callback_path(provider_sign_in(authorize, "ana", USERS["ana"]["password"])))
    assert done.status_code == 303 and done.headers["location"] == "/review"
    assert who(b)[0] == 200
    from plugin.web.auth.users import list_users

    [(user, kind, disabled)] = list_users(store)
    assert (user.username, user.role, user.practice, kind, disabled) == ("ana.oidc", "reviewer", PRACTICE_A, "oidc", False)


def test_role_from_a_list_claim_mapped_and_a_second_sign_in_is_the_same_user(oidc_app):
    app, store = oidc_app
    for _ in range(2):
        b = Browser(app, base_url=APP)
        authorize = start(b)
        b.request("GET", callback_path(provider_sign_in(authorize, "root", USERS["root"]["password"])))
        assert who(b)[0] == 200
    from plugin.web.auth.users import list_users

    [(user, _, _)] = list_users(store)
    assert (user.role, user.practice) == ("admin", "*")


def test_wrong_password_at_the_provider_gives_no_code(oidc_app):
    app, _ = oidc_app
    b = Browser(app, base_url=APP)
    answer = provider_sign_in(start(b), "ana", "not her password")
    assert answer.status_code == 401 and "location" not in answer.headers


@pytest.mark.parametrize("user, message", [("norole", "no dwcoder role"), ("nopractice", "names no practice")])
def test_claims_without_role_or_practice_are_refused(oidc_app, user, message):
    app, _ = oidc_app
    b = Browser(app, base_url=APP)
    answer = b.request("GET", callback_path(provider_sign_in(start(b), user, USERS[user]["password"])))
    assert answer.status_code == 403 and message in answer.text
    assert who(b)[0] == 401


def test_the_answer_is_good_once_and_only_in_the_browser_that_asked(oidc_app):
    app, _ = oidc_app
    b = Browser(app, base_url=APP)
    path = callback_path(provider_sign_in(start(b), "ana", USERS["ana"]["password"]))
    thief = Browser(app, base_url=APP)
    stolen = thief.request("GET", path)                     # no state cookie: login CSRF / code injection
    assert stolen.status_code == 400 and who(thief)[0] == 401
    assert b.request("GET", path).status_code == 303        # the right browser
    again = Browser(app, base_url=APP)
    again.cookies = b.cookies
    assert again.request("GET", path).status_code == 400    # replayed: the pending sign-in is gone


def test_a_tampered_state_or_code_is_refused(oidc_app):
    app, _ = oidc_app
    b = Browser(app, base_url=APP)
    path = callback_path(provider_sign_in(start(b), "ana", USERS["ana"]["password"]))
    query = parse_qs(urlsplit(path).query)
    forged_state = b.request("GET", "/login/oidc/callback", params={"code": query["code"][0], "state": "x" * 43})
    assert forged_state.status_code == 400
    b2 = Browser(app, base_url=APP)
    path2 = callback_path(provider_sign_in(start(b2), "ana", USERS["ana"]["password"]))
    state2 = parse_qs(urlsplit(path2).query)["state"][0]
    forged_code = b2.request("GET", "/login/oidc/callback", params={"code": "forged-code", "state": state2})
    assert forged_code.status_code == 400 and "refused the code" in forged_code.text
    assert who(b2)[0] == 401


def test_an_error_answer_from_the_provider_is_refused(oidc_app):
    app, _ = oidc_app
    b = Browser(app, base_url=APP)
    start(b)
    answer = b.request("GET", "/login/oidc/callback", params={"error": "access_denied", "state": "x"})
    assert answer.status_code == 400 and who(b)[0] == 401


def test_claims_in_the_id_token_itself(tmp_path, database_url, oidc_provider_id_token_claims):
    provider = oidc_provider_id_token_claims
    settings = settings_for(database_url, tmp_path, **provider.env())
    store = Store.from_settings(settings)
    try:
        b = Browser(app_of(settings, store, Clock()), base_url=APP)
        b.request("GET", callback_path(provider_sign_in(start(b), "ana", USERS["ana"]["password"])))
        assert who(b)[0] == 200
    finally:
        store.dispose()


def test_unreachable_provider_is_a_503_page(tmp_path, database_url):
    settings = settings_for(database_url, tmp_path, DWCODER_LOGIN="oidc", OIDC_ISSUER="http://127.0.0.1:9",
                            OIDC_CLIENT_ID="dwcoder", OIDC_CLIENT_SECRET="s" * 32, OIDC_REDIRECT_URL=APP + "/login/oidc/callback")
    store = Store.from_settings(settings)
    try:
        answer = Browser(app_of(settings, store, Clock()), base_url=APP).request("GET", "/login/oidc")
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    finally:
        store.dispose()


# ------------------------------------------------------------------------------ the ID token checks
def real_tokens(oidc_app, settings) -> tuple[dict, dict, str]:
    """(discovery, the provider's token answer, the sign-in's nonce) for a real sign-in of ana."""
    import asyncio

    from sqlalchemy import select

    from plugin.store.auth import OidcLogin

    app, store = oidc_app
    b = Browser(app, base_url=APP)
    path = callback_path(provider_sign_in(start(b), "ana", USERS["ana"]["password"]))
    query = parse_qs(urlsplit(path).query)
    with store.sessions() as db:
        pending = db.scalar(select(OidcLogin).where(OidcLogin.state == query["state"][0]))

    async def go():
        doc = await oidc.discovery(settings.oidc_issuer)
        return doc, await oidc._token(settings, doc, query["code"][0], pending.verifier)
    doc, tokens = asyncio.run(go())
    return doc, tokens, pending.nonce


@pytest.fixture
def provider_settings(tmp_path, database_url, oidc_provider):
    return settings_for(database_url, tmp_path, **oidc_provider.env())


def check(settings, doc, token, nonce):
    import asyncio

    return asyncio.run(oidc.verify_id_token(settings, doc, token, nonce))


def test_a_real_id_token_passes_and_each_check_bites(oidc_app, provider_settings):
    from dataclasses import replace

    doc, tokens, nonce = real_tokens(oidc_app, provider_settings)
    claims = check(provider_settings, doc, tokens["id_token"], nonce)
    assert claims["sub"] == "ana" and claims["aud"] == "dwcoder"
    with pytest.raises(oidc.BadAnswer, match="nonce"):
        check(provider_settings, doc, tokens["id_token"], "another sign-in's nonce")
    with pytest.raises(oidc.BadAnswer, match="InvalidAudienceError"):
        check(replace(provider_settings, oidc_client_id="another-client"), doc, tokens["id_token"], nonce)
    with pytest.raises(oidc.BadAnswer, match="InvalidIssuerError"):
        check(replace(provider_settings, oidc_issuer="http://127.0.0.1:1"), doc, tokens["id_token"], nonce)
    head, body, signature = tokens["id_token"].split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(oidc.BadAnswer, match="InvalidSignatureError"):
        check(provider_settings, doc, ".".join([head, body, flipped]), nonce)


def test_tokens_not_signed_by_the_provider_are_refused(oidc_app, provider_settings):
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    doc, _, nonce = real_tokens(oidc_app, provider_settings)
    now = int(time.time())
    claims = {"iss": provider_settings.oidc_issuer, "sub": "root", "aud": "dwcoder", "iat": now, "exp": now + 300,
              "nonce": nonce, "dwcoder_role": "admin", "dwcoder_practice": "*"}
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    same_kid = jwt.encode(claims, own_key, algorithm="RS256", headers={"kid": "test-key-1"})
    with pytest.raises(oidc.BadAnswer, match="InvalidSignatureError"):
        check(provider_settings, doc, same_kid, nonce)
    unknown_kid = jwt.encode(claims, own_key, algorithm="RS256", headers={"kid": "attacker"})
    with pytest.raises(oidc.BadAnswer, match="key the provider's JWKS does not hold"):
        check(provider_settings, doc, unknown_kid, nonce)
    with_secret = jwt.encode(claims, provider_settings.oidc_client_secret, algorithm="HS256")
    with pytest.raises(oidc.BadAnswer, match="algorithm 'HS256' is not accepted"):
        check(provider_settings, doc, with_secret, nonce)
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(oidc.BadAnswer, match="algorithm 'none' is not accepted"):
        check(provider_settings, doc, unsigned, nonce)
