"""The configured sources, read from Settings (plugin/settings.py) and checked once at start.

WEBHOOK_SOURCES: JSON object, name -> a list of secrets, or an object
    {"secrets": ["whsec_..."], "max_body_bytes": 52428800, "rate": "20/s", "burst": 40}
SUBSCRIPTIONS: JSON object, subscription id -> the header line the Subscription's `channel.header`
    sends ("Authorization: Bearer s3cret"; a bare "Bearer s3cret" is an Authorization value), null for
    none, or an object
    {"header": "...", "types": ["Procedure", ...], "heartbeat_period_s": 60, "rate": "50/s", "burst": 100}
`rate` is a number per second or "N/s", "N/min", "N/h". Secrets are "whsec_" + base64 (Standard Webhooks).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from plugin.errors import SettingsError

DEFAULT_MAX_BODY = 50 * 1024 * 1024          # a CBCT slice or a full-arch STL fits; a whole study does not
DEFAULT_RATE = 50.0                          # requests per second per source
DEFAULT_TOLERANCE_S = 300                    # Standard Webhooks' recommended 5 minutes
DEFAULT_REQUERY_TYPES = ("Encounter", "ImagingStudy", "Procedure")
_TOKEN_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_PER = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0}


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY
    rate_per_s: float = DEFAULT_RATE
    burst: int = int(DEFAULT_RATE * 2)


@dataclass(frozen=True)
class WebhookSource:
    name: str
    keys: tuple[bytes, ...] = field(repr=False)   # decoded HMAC keys, every active secret (rotation)
    limits: Limits = Limits()


@dataclass(frozen=True)
class SubscriptionSource:
    subscription_id: str
    header_name: str = ""            # lower-case; "" = no header configured
    header_value: str = field(default="", repr=False)
    types: tuple[str, ...] = DEFAULT_REQUERY_TYPES
    heartbeat_period_s: int | None = None
    limits: Limits = Limits()


@dataclass(frozen=True)
class Sources:
    webhooks: dict[str, WebhookSource] = field(default_factory=dict)
    subscriptions: dict[str, SubscriptionSource] = field(default_factory=dict)
    fhir_base_url: str = ""
    tolerance_s: int = DEFAULT_TOLERANCE_S
    max_body_bytes: int = DEFAULT_MAX_BODY


def sources_from_settings(settings: Any) -> Sources:
    """Sources from plugin.settings.Settings (or any object with those attributes; dicts or JSON strings)."""
    default_max = int(getattr(settings, "max_body_bytes", None) or DEFAULT_MAX_BODY)
    default_rate = float(getattr(settings, "rate", None) or DEFAULT_RATE)
    webhooks = _mapping(getattr(settings, "webhook_sources", None), "WEBHOOK_SOURCES")
    subs = _mapping(getattr(settings, "subscriptions", None), "SUBSCRIPTIONS")
    return Sources(
        webhooks={name: webhook_source(name, spec, default_max, default_rate) for name, spec in webhooks.items()},
        subscriptions={sid: subscription_source(sid, spec, default_max, default_rate) for sid, spec in subs.items()},
        fhir_base_url=str(getattr(settings, "fhir_base_url", None) or ""),
        tolerance_s=int(getattr(settings, "webhook_tolerance_s", None) or DEFAULT_TOLERANCE_S),
        max_body_bytes=default_max,
    )


def webhook_source(name: str, spec: Any, default_max: int = DEFAULT_MAX_BODY,
                   default_rate: float = DEFAULT_RATE) -> WebhookSource:
    if hasattr(spec, "secrets"):  # plugin.settings.WebhookSource
        spec = {k: getattr(spec, k, None) for k in ("secrets", "max_body_bytes", "rate")}
        spec = {k: v for k, v in spec.items() if v is not None}
    if isinstance(spec, (list, tuple, str)):
        spec = {"secrets": spec}
    if not isinstance(spec, dict):
        raise SettingsError(f"WEBHOOK_SOURCES[{name!r}]: expected a list of secrets or an object")
    secrets = spec.get("secrets") or []
    secrets = [secrets] if isinstance(secrets, str) else list(secrets)
    if not secrets:
        raise SettingsError(f"WEBHOOK_SOURCES[{name!r}]: no secrets")
    keys = tuple(secret_key(s, f"WEBHOOK_SOURCES[{name!r}]") for s in secrets)
    return WebhookSource(name, keys, _limits(spec, default_max, default_rate, f"WEBHOOK_SOURCES[{name!r}]"))


def subscription_source(sid: str, spec: Any, default_max: int = DEFAULT_MAX_BODY,
                        default_rate: float = DEFAULT_RATE) -> SubscriptionSource:
    if spec is None or isinstance(spec, str):
        spec = {"header": spec}
    if not isinstance(spec, dict):
        raise SettingsError(f"SUBSCRIPTIONS[{sid!r}]: expected a header line, null or an object")
    where = f"SUBSCRIPTIONS[{sid!r}]"
    name, value = _header(spec.get("header"), where)
    types = tuple(spec.get("types") or DEFAULT_REQUERY_TYPES)
    period = spec.get("heartbeat_period_s")
    if period is not None and (not isinstance(period, int) or period <= 0):
        raise SettingsError(f"{where}.heartbeat_period_s: {period!r} is not a positive whole number of seconds")
    return SubscriptionSource(sid, name, value, types, period, _limits(spec, default_max, default_rate, where))


def secret_key(secret: str, where: str = "secret") -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after the optional "whsec_" prefix."""
    text = secret.removeprefix("whsec_") if isinstance(secret, str) else ""
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        raise SettingsError(f"{where}: a secret is not 'whsec_' + base64 of at least 16 bytes")
    return key


def parse_rate(value: Any, where: str = "rate") -> float:
    """Requests per second from 20, 0.5, "20/s", "600/min", "1000/h"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str) and "/" in value:
        count, _, per = value.partition("/")
        try:
            number = float(count)
        except ValueError:
            number = -1.0
        if number > 0 and per.strip().lower() in _PER:
            return number / _PER[per.strip().lower()]
    raise SettingsError(f"{where}: {value!r} is not a rate (a number per second, or 'N/s', 'N/min', 'N/h')")


def _limits(spec: dict, default_max: int, default_rate: float, where: str) -> Limits:
    rate = parse_rate(spec["rate"], f"{where}.rate") if spec.get("rate") is not None else default_rate
    max_body = spec.get("max_body_bytes", default_max)
    if not isinstance(max_body, int) or max_body <= 0:
        raise SettingsError(f"{where}.max_body_bytes: {max_body!r} is not a positive whole number")
    burst = spec.get("burst", max(1, int(rate * 2)))
    if not isinstance(burst, int) or burst <= 0:
        raise SettingsError(f"{where}.burst: {burst!r} is not a positive whole number")
    return Limits(max_body, rate, burst)


def _header(line: Any, where: str) -> tuple[str, str]:
    """("authorization", "Bearer x") from "Authorization: Bearer x"; a bare value is an Authorization value."""
    if line in (None, ""):
        return "", ""
    if not isinstance(line, str):
        raise SettingsError(f"{where}.header: expected 'Name: value' (as in the Subscription's channel.header)")
    name, colon, value = line.partition(":")
    if colon and _TOKEN_RE.fullmatch(name.strip()):
        return name.strip().lower(), value.strip()
    return "authorization", line.strip()


def _mapping(value: Any, variable: str) -> dict:
    if value in (None, ""):
        return {}
    if hasattr(value, "items") and not isinstance(value, dict):
        value = dict(value.items())
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SettingsError(f"{variable}: not valid JSON") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{variable}: expected a JSON object")
    return value
