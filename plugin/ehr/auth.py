"""How the client proves who it is to the EHR's FHIR server.

    StaticBearer(token)          a fixed bearer token (development, or a server that issues long-lived ones)
    SmartBackendAuth(...)        SMART Backend Services: the OAuth 2.0 client credentials grant with a
                                 private-key JWT client assertion (RS384 or ES384, `kid` in the header,
                                 a fresh `jti`, `exp` at most 5 minutes ahead). The access token is cached
                                 until shortly before it expires; the token endpoint is configured or
                                 discovered from `<base>/.well-known/smart-configuration`.

An auth object gives the client an Authorization header value (`header`) and forgets a token the server
rejected (`invalidate`). Tokens and keys never appear in logs, messages or reprs.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from plugin.ehr.answers import unavailable, unreachable
from plugin.errors import ConfigError, EhrRefused

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300       # SMART: exp no more than five minutes in the future
REFRESH_MARGIN_S = 30.0          # renew a cached token this long before it expires ...
REFRESH_MARGIN_SHARE = 0.1       # ... or this share of its lifetime, when that is shorter
DEFAULT_TOKEN_LIFETIME_S = 300   # when the token response has no expires_in
DEFAULT_SCOPE = "system/ChargeItem.cruds system/Provenance.c system/*.rs"


class Auth(Protocol):
    def header(self, http: httpx.Client, base_url: str) -> str: ...
    def invalidate(self) -> None: ...


class StaticBearer:
    """A fixed bearer token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ConfigError("FHIR_BEARER_TOKEN: empty bearer token")
        self._token = token

    def __repr__(self) -> str:
        return "StaticBearer(<token hidden>)"

    def header(self, http: httpx.Client, base_url: str) -> str:
        return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """A fixed token cannot be renewed: the next request fails the same way (EhrRefused)."""


class SmartBackendAuth:
    """SMART Backend Services client credentials with a private-key JWT (RS384 or ES384)."""

    def __init__(self, token_url: str | None, client_id: str, private_key_pem: str | bytes, kid: str,
                 alg: str = "RS384", scope: str = DEFAULT_SCOPE, clock=time.time) -> None:
        if alg not in ("RS384", "ES384"):
            raise ConfigError(f"SMART_ALG={alg!r}: expected RS384 or ES384")
        if not client_id:
            raise ConfigError("SMART_CLIENT_ID: empty")
        if not kid:
            raise ConfigError("SMART_KID: empty (the token endpoint finds the public key by kid)")
        self._key = _private_key(private_key_pem, alg)
        self.token_url = token_url or None
        self.client_id = client_id
        self.kid = kid
        self.alg = alg
        self.scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return f"SmartBackendAuth(client_id={self.client_id!r}, kid={self.kid!r}, alg={self.alg!r}, key=<hidden>)"

    def header(self, http: httpx.Client, base_url: str) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch(http, base_url)
            return f"Bearer {self._token}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    # --- the grant ---------------------------------------------------------------------------

    def _fetch(self, http: httpx.Client, base_url: str) -> None:
        token_url = self.token_url or self._discover(http, base_url)
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(token_url),
        }
        body = _call(http, "POST", token_url, "token endpoint", data=form,
                     headers={"Accept": "application/json"})
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise EhrRefused("token endpoint answered without an access_token", 200)
        lifetime = _lifetime(body.get("expires_in"))
        now = self._clock()
        self._token = token
        self._renew_at = now + lifetime - min(REFRESH_MARGIN_S, lifetime * REFRESH_MARGIN_SHARE)

    def assertion(self, token_url: str) -> str:
        """A signed client assertion for `token_url` (iss = sub = client id, aud = token endpoint)."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm=self.alg, headers={"kid": self.kid, "typ": "JWT"})

    def _discover(self, http: httpx.Client, base_url: str) -> str:
        config = _call(http, "GET", f"{base_url.rstrip('/')}/.well-known/smart-configuration",
                       "smart-configuration", headers={"Accept": "application/json"})
        url = config.get("token_endpoint")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise EhrRefused("smart-configuration names no token_endpoint", 200)
        self.token_url = url
        return url


def _private_key(pem: str | bytes, alg: str):
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError("SMART_PRIVATE_KEY: not an unencrypted PEM private key (the value is not shown)") from None
    if alg == "RS384" and not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("SMART_ALG='RS384' needs an RSA private key in SMART_PRIVATE_KEY")
    if alg == "ES384" and not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"):
        raise ConfigError("SMART_ALG='ES384' needs a P-384 EC private key in SMART_PRIVATE_KEY")
    return key


def _lifetime(expires_in) -> float:
    try:
        value = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME_S
    return value if value > 0 else DEFAULT_TOKEN_LIFETIME_S


def _call(http: httpx.Client, method: str, url: str, what: str, **kwargs) -> dict:
    """JSON from the token endpoint or the SMART configuration; errors classified like FHIR calls."""
    try:
        response = http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise unreachable(what, exc) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise unavailable(what, response)
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if not isinstance(body, dict):
        raise EhrRefused(f"{what}: answered {status} without a JSON object", status)
    if status != 200:
        detail = ": ".join(str(body.get(k, ""))[:200] for k in ("error", "error_description") if body.get(k))
        raise EhrRefused(f"{what} refused the client ({status}{' ' + detail if detail else ''})", status)
    return body
