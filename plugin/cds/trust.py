"""Trusting the calling EHR (CDS Hooks 2.0, "Trusting CDS Clients"): the signed JWT of every request.

    Authorization: Bearer <JWT>      header: alg RS384 | ES384 (asymmetric only), kid, typ JWT, optional jku
                                     payload: iss, aud, exp, iat, jti (tenant optional)

Checks, in order (the first that fails refuses the request with 401, nothing else is done):
    a bearer token that is a JWS with an asymmetric algorithm we accept (never `none`, never HMAC)
    `iss` is an allow-listed issuer (CDS_ISSUERS); unknown issuers are refused before any key is fetched
    `jku`, when given, is one of that issuer's JWKS URLs (else the issuer's first JWKS URL is used)
    the key named by `kid` in that JWKS (fetched only from allow-listed URLs, cached CDS_JWKS_CACHE_S; an
        unknown kid makes one early refetch, at most once per REFETCH_GAP_S per URL: key rotation)
    the signature; `aud` is this endpoint's full URL; `exp` in the future, `iat` not in the future, the
        token's lifetime at most CDS_MAX_TOKEN_LIFETIME_S (all with CDS_CLOCK_SKEW_S leeway)
    `jti` never seen before from this issuer (plugin.store.cds.remember_jti: kept until the token expires)
Messages name the check that failed, never the token or a claim value taken from it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import jwt
from jwt.exceptions import InvalidTokenError

from plugin.errors import SourceRefused

ALGORITHMS = ("RS384", "ES384")
REFETCH_GAP_S = 10.0
JWKS_TIMEOUT_S = 2.0
MAX_JWKS_BYTES = 256 * 1024


@dataclass(frozen=True)
class Caller:
    """Who called, once trusted: the issuer, the token's subject (if any) and tenant (if any)."""
    issuer: str
    subject: str = ""
    tenant: str = ""

    @property
    def actor(self) -> str:
        """How decisions made through CDS Hooks name who made them in the audit log."""
        who = self.subject or "ehr"
        return f"cds:{who}@{self.issuer}"[:200]


def refuse(message: str) -> SourceRefused:
    return SourceRefused(401, "security", message)


class KeySets:
    """JWKS per allow-listed URL, fetched on need and cached (thread-safe). Only URLs the caller passes
    after checking them against CDS_ISSUERS are ever fetched."""

    def __init__(self, cache_s: float, clock=time.monotonic) -> None:
        self.cache_s = cache_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, dict[str, dict]]] = {}   # url -> (fetched at, kid -> jwk)
        self._http = httpx.Client(timeout=JWKS_TIMEOUT_S, follow_redirects=False,
                                  headers={"Accept": "application/json", "User-Agent": "digital-workflow-coder"})

    def key(self, url: str, kid: str) -> dict:
        now = self._clock()
        with self._lock:
            fetched_at, keys = self._sets.get(url, (None, {}))
        fresh = fetched_at is not None and now - fetched_at < self.cache_s
        if fresh and kid in keys:
            return keys[kid]
        may_refetch = fetched_at is None or not fresh or now - fetched_at >= REFETCH_GAP_S
        if may_refetch:
            keys = self._fetch(url)
            with self._lock:
                self._sets[url] = (now, keys)
        if kid not in keys:
            raise refuse("no key with the token's kid in the issuer's JWKS")
        return keys[kid]

    def _fetch(self, url: str) -> dict[str, dict]:
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise refuse(f"the issuer's JWKS could not be fetched ({type(exc).__name__})") from None
        if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
            raise refuse(f"the issuer's JWKS could not be fetched (HTTP {response.status_code})")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise refuse("the issuer's JWKS is not a JWK Set")
        return {k["kid"]: k for k in body["keys"] if isinstance(k, dict) and isinstance(k.get("kid"), str)}

    def close(self) -> None:
        self._http.close()


def bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise refuse("a CDS Hooks request carries its JWT as 'Authorization: Bearer <JWT>'")
    return token.strip()


def verify(token: str, audiences: tuple[str, ...], settings, keysets: KeySets, remember) -> Caller:
    """The trusted caller, or SourceRefused(401). `remember(issuer, jti, expires_at) -> bool` records the jti."""
    header = _header(token)
    claims = _unverified(token)
    issuer = claims.get("iss")
    trusted = settings.cds_issuers.get(issuer) if isinstance(issuer, str) else None
    if trusted is None:
        raise refuse("unknown issuer: not allow-listed in CDS_ISSUERS")
    url = header.get("jku") or trusted["jwks_urls"][0]
    if url not in trusted["jwks_urls"]:
        raise refuse("jku is not one of the issuer's allow-listed JWKS URLs")
    jwk = keysets.key(url, header["kid"])
    payload = _verified(token, jwk, header["alg"], audiences, issuer, settings)
    _check_times(payload, settings)
    expires = datetime.fromtimestamp(float(payload["exp"]) + settings.cds_clock_skew_s, timezone.utc)
    if not remember(issuer, str(payload["jti"]), expires):
        raise refuse("replayed token: this jti was already used")
    return Caller(issuer, str(payload.get("sub") or ""), str(payload.get("tenant") or ""))


def _header(token: str) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError:
        raise refuse("the bearer token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise refuse(f"JWT alg must be one of {', '.join(ALGORITHMS)} (asymmetric keys only)")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise refuse("JWT header has no kid")
    if header.get("typ", "JWT") != "JWT":
        raise refuse("JWT header typ must be JWT")
    if "jku" in header and not isinstance(header["jku"], str):
        raise refuse("JWT header jku must be a URL")
    return header


def _unverified(token: str) -> dict:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except InvalidTokenError:
        raise refuse("the bearer token is not a JWT") from None
    return claims if isinstance(claims, dict) else {}


def _verified(token: str, jwk: dict, alg: str, audiences: tuple[str, ...], issuer: str, settings) -> dict:
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
    except (InvalidTokenError, ValueError, KeyError, TypeError):
        raise refuse("the issuer's key for this kid does not fit the token's alg") from None
    if jwk.get("alg") not in (None, alg):
        raise refuse("the issuer's key for this kid is for another alg")
    try:
        return jwt.decode(token, key.key, algorithms=[alg], audience=list(audiences), issuer=issuer,
                          leeway=settings.cds_clock_skew_s,
                          options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": False})
    except jwt.InvalidAudienceError:
        raise refuse("JWT aud is not this endpoint's URL") from None
    except jwt.ExpiredSignatureError:
        raise refuse("JWT expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise refuse(f"JWT has no {exc.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise refuse("JWT signature does not verify with the issuer's key") from None
    except InvalidTokenError as exc:
        raise refuse(f"JWT refused ({type(exc).__name__})") from None


def _check_times(payload: dict, settings) -> None:
    now = time.time()
    skew = settings.cds_clock_skew_s
    exp, iat = payload.get("exp"), payload.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise refuse("JWT exp and iat must be numbers")
    if exp + skew < now:
        raise refuse("JWT expired")
    if iat - skew > now:
        raise refuse("JWT iat is in the future")
    if exp - iat > settings.cds_max_token_lifetime_s or exp - now > settings.cds_max_token_lifetime_s + skew:
        raise refuse(f"JWT lifetime over CDS_MAX_TOKEN_LIFETIME_S ({settings.cds_max_token_lifetime_s:g} s)")
    if not isinstance(payload.get("jti"), str) or not payload["jti"] or len(payload["jti"]) > 200:
        raise refuse("JWT jti must be a non-empty string")


def audiences(base_url: str, path: str) -> tuple[str, ...]:
    """The `aud` values accepted for a request to `path`: this endpoint's full URL (with and without a
    trailing slash). For /feedback the service's own URL is accepted too (clients differ)."""
    url = base_url.rstrip("/") + path
    out = [url, url + "/"]
    if path.endswith("/feedback"):
        service = url[: -len("/feedback")]
        out += [service, service + "/"]
    return tuple(out)

