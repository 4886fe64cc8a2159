"""OpenID Connect sign-in (authorization code flow with PKCE S256, state and nonce), per OpenID Connect Core 1.0.

    start(settings)                       -> (authorization URL, pending)      pending: state, nonce, verifier
    finish(settings, code, pending)       -> Identity (issuer, subject, username, role, practice)

The provider is found by discovery (`<issuer>/.well-known/openid-configuration`, its `issuer` must equal
OIDC_ISSUER); the ID token's signature is checked against the provider's JWKS (asymmetric algorithms only;
an unknown `kid` fetches the JWKS once more), with `iss`, `aud` (= client id; `azp` when there are several),
`exp`, `iat` and `nonce`. Role and practice come from the configured claims of the ID token, else of the
UserInfo answer (whose `sub` must be the ID token's). Tokens are never logged or stored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import jwt

from plugin.errors import SourceRefused
from plugin.web.auth.model import ROLES

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DISCOVERY_TTL_S = 3600
JWKS_TTL_S = 300
LEEWAY_S = 60
TIMEOUT_S = 10.0
PENDING_TTL_S = 600
_cache: dict[str, tuple[float, dict]] = {}


class ProviderUnavailable(SourceRefused):
    def __init__(self, what: str) -> None:
        super().__init__(503, "transient", f"the sign-in provider cannot be reached ({what}); try again", retry_after=5)


class BadAnswer(SourceRefused):
    """The provider's answer cannot be trusted (state, code, ID token): 400, nothing signed in."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "security", message)


class NoAccess(SourceRefused):
    """The provider knows the person but the claims give no dwcoder role or practice: 403."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


@dataclass(frozen=True)
class Pending:
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    username: str
    role: str
    practice: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


async def _get_json(url: str, what: str, headers: dict | None = None) -> dict:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            answer = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{what}: {type(exc).__name__}") from None
    if answer.status_code >= 500:
        raise ProviderUnavailable(f"{what}: HTTP {answer.status_code}")
    if answer.status_code != 200:
        raise BadAnswer(f"the sign-in provider refused the {what} request (HTTP {answer.status_code})")
    try:
        data = answer.json()
    except ValueError:
        raise BadAnswer(f"the sign-in provider's {what} answer is not JSON") from None
    if not isinstance(data, dict):
        raise BadAnswer(f"the sign-in provider's {what} answer is not a JSON object")
    return data


async def _cached(key: str, ttl: float, fetch) -> dict:
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < ttl:
        return hit[1]
    data = await fetch()
    _cache[key] = (time.monotonic(), data)
    return data


async def discovery(issuer: str) -> dict:
    async def fetch() -> dict:
        doc = await _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
        if doc.get("issuer") != issuer:
            raise BadAnswer("the provider's discovery document names another issuer than OIDC_ISSUER")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(doc.get(key), str):
                raise BadAnswer(f"the provider's discovery document has no {key}")
        return doc

    return await _cached("discovery:" + issuer, DISCOVERY_TTL_S, fetch)


async def start(settings) -> tuple[str, Pending]:
    doc = await discovery(settings.oidc_issuer)
    pending = Pending(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                      verifier=secrets.token_urlsafe(64))
    query = urlencode({"response_type": "code", "client_id": settings.oidc_client_id,
                       "redirect_uri": settings.oidc_redirect_url, "scope": settings.oidc_scopes,
                       "state": pending.state, "nonce": pending.nonce, "code_challenge": challenge(pending.verifier),
                       "code_challenge_method": "S256"})
    endpoint = doc["authorization_endpoint"]
    return endpoint + ("&" if "?" in endpoint else "?") + query, pending


async def _token(settings, doc: dict, code: str, verifier: str) -> dict:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.oidc_redirect_url,
            "code_verifier": verifier}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            answer = await client.post(doc["token_endpoint"], data=form,
                                       auth=(settings.oidc_client_id, settings.oidc_client_secret))
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"token: {type(exc).__name__}") from None
    if answer.status_code >= 500:
        raise ProviderUnavailable(f"token: HTTP {answer.status_code}")
    if answer.status_code != 200:
        raise BadAnswer(f"the sign-in provider refused the code (HTTP {answer.status_code}); sign in again")
    try:
        tokens = answer.json()
    except ValueError:
        raise BadAnswer("the provider's token answer is not JSON") from None
    if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
        raise BadAnswer("the provider's token answer has no ID token")
    return tokens


async def _signing_key(doc: dict, kid: str | None, alg: str):
    for attempt in (0, 1):
        key = f"jwks:{doc['jwks_uri']}"
        if attempt:
            _cache.pop(key, None)
        jwks = await _cached(key, JWKS_TTL_S, lambda: _get_json(doc["jwks_uri"], "JWKS"))
        try:
            keys = jwt.PyJWKSet.from_dict(jwks).keys
        except jwt.PyJWTError:
            raise BadAnswer("the provider's JWKS cannot be read") from None
        fits = [k for k in keys if (kid is None or k.key_id == kid) and getattr(k, "public_key_use", None) in (None, "sig")]
        if fits:
            return fits[0].key
    raise BadAnswer("the ID token is signed with a key the provider's JWKS does not hold")


async def verify_id_token(settings, doc: dict, token: str, nonce: str) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise BadAnswer("the ID token is not a JWT") from None
    alg = header.get("alg")
    allowed = [a for a in doc.get("id_token_signing_alg_values_supported", ["RS256"]) if a in ASYMMETRIC] or ["RS256"]
    if alg not in allowed:
        raise BadAnswer(f"the ID token's algorithm {alg!r} is not accepted")
    key = await _signing_key(doc, header.get("kid"), alg)
    try:
        claims = jwt.decode(token, key, algorithms=[alg], audience=settings.oidc_client_id,
                            issuer=settings.oidc_issuer, leeway=LEEWAY_S,
                            options={"require": ["iss", "sub", "aud", "exp", "iat"]})
    except jwt.PyJWTError as exc:
        raise BadAnswer(f"the ID token is not valid ({type(exc).__name__})") from None
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise BadAnswer("the ID token was issued to another client (azp)")
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise BadAnswer("the ID token's nonce is not this sign-in's")
    return claims


async def _userinfo(doc: dict, access_token: str, subject: str) -> dict:
    if not doc.get("userinfo_endpoint") or not access_token:
        return {}
    info = await _get_json(doc["userinfo_endpoint"], "userinfo", headers={"Authorization": f"Bearer {access_token}"})
    if info.get("sub") != subject:
        raise BadAnswer("the provider's userinfo answer is about another person")
    return info


def role_of(settings, value) -> str | None:
    values = value if isinstance(value, list) else [value] if value is not None else []
    roles = {settings.oidc_role_values.get(str(v)) for v in values} & set(ROLES)
    return max(roles, key=ROLES.index) if roles else None


async def finish(settings, code: str, pending: Pending) -> Identity:
    doc = await discovery(settings.oidc_issuer)
    tokens = await _token(settings, doc, code, pending.verifier)
    claims = await verify_id_token(settings, doc, tokens["id_token"], pending.nonce)
    wanted = (settings.oidc_role_claim, settings.oidc_practice_claim, settings.oidc_username_claim)
    if any(name not in claims for name in wanted):
        info = await _userinfo(doc, str(tokens.get("access_token") or ""), claims["sub"])
        claims = {**info, **claims}
    role = role_of(settings, claims.get(settings.oidc_role_claim))
    practice = claims.get(settings.oidc_practice_claim) or settings.oidc_practice
    if role is None:
        raise NoAccess("your account has no dwcoder role (ask your administrator)")
    if not isinstance(practice, str) or not practice:
        raise NoAccess("your account names no practice (ask your administrator)")
    username = claims.get(settings.oidc_username_claim) or claims.get("email") or claims["sub"]
    return Identity(issuer=settings.oidc_issuer, subject=str(claims["sub"]), username=str(username),
                    role=role, practice=practice)
