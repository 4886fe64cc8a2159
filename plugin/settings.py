"""The service's settings: from the environment (a `.env` file in the working folder is read first, and
the environment wins over it), validated once at start.

A bad value raises `SettingsError` naming the variable and the value (secrets are never repeated).
Unset means the embedded default:

    DWCODER_HOME        folder for the SQLite file and local state           (default ~/.dwcoder)
    DATABASE_URL        sqlite:///... or postgresql://...                    (default sqlite under DWCODER_HOME)
    REDIS_URL           redis://host:port/db: Celery broker                  (unset: local in-process queue)
    DWCODER_QUEUE       the Celery queue's name (dwcoder): services sharing one Redis database keep apart
    FHIR_BASE_URL       the EHR's FHIR base                                  (unset: embedded ChargeItem store)
    FHIR_VERSION        R4 | R4B | R5                                        (R4)
    FHIR_AUTH           none | bearer | smart                                (none)
    FHIR_BEARER_TOKEN   static token when FHIR_AUTH=bearer
    SMART_TOKEN_URL, SMART_CLIENT_ID, SMART_PRIVATE_KEY (PEM text or a file), SMART_KID,
    SMART_ALG (RS384 | ES384), SMART_SCOPE               when FHIR_AUTH=smart
    DWCODER_PRACTICE    billing practice identifier SYSTEM|VALUE
    DWCODER_CLAIM       dental | medical                                     (unset: from Coverage, else mappings)
    DWCODER_MAPPINGS    practice override folders, separated by the path separator
    WEBHOOK_SOURCES     JSON (or a file holding it): {name: [secrets]} or
                        {name: {"secrets": [...], "max_body_bytes": n, "rate": "20/s", "burst": 40}}
    SUBSCRIPTIONS       JSON (or a file): {subscription id: "Authorization: Bearer ..." | null | {...}}
                        (plugin/sources/config.py documents the object form)
    DWCODER_MAX_BODY_BYTES  default body limit per request (67108864)
    DWCODER_RATE        default requests per second per source (200)
    DWCODER_SETTLE_S    seconds a case's burst of events must be quiet before it is recomputed (0.3)
    DWCODER_EVENT_TIMEOUT_S  an event not finished this long after it was queued is queued again (60)
    DWCODER_SWEEP_EVERY_S    how often the sweeper runs (5; Celery beat or the local queue)
    DWCODER_MAX_ATTEMPTS     attempts of one event before it becomes a dead letter (8)
    DWCODER_TASK_TIME_LIMIT_S  hard limit of one task (120); DWCODER_VISIBILITY_TIMEOUT_S must exceed it (300)
    DWCODER_HOST, DWCODER_PORT   where `dwcoder serve` listens (127.0.0.1, 8000)
    DWCODER_LOG_LEVEL   DEBUG | INFO | WARNING | ERROR (INFO)
    (issue 8) PACS      JSON (or a file): {name: {"dicomweb": url, "auth": "none"|"basic"|"bearer", "user", "password",
                        "token", "secrets": ["whsec_..."], "stations": [...], "ae_titles": [...], "orthanc": url,
                        "timeout_s": 15}}  (plugin/sources/pacs.py checks each entry)
    (issue 8) DWCODER_RECONCILE_EVERY_S  how often Celery beat runs the reconciler (300; 0: never)
    (issue 8) SCANNER_FOLDERS  folders `dwcoder serve` watches (path-separator list; docs/scanners.md)
    (issue 8) SCANNER_PATTERNS  filename patterns: a JSON list or one pattern, e.g. {PatientID}_{date}_{jaw}.stl
    (issue 8) SCANNER_PATIENT_SYSTEM  identifier system of {PatientID} (needed with SCANNER_PATTERNS)
    (issue 8) SCANNER_POLL_S (2), SCANNER_STABLE_POLLS (3), SCANNER_TRUNCATED_AFTER_S (120), SCANNER_MAX_FILE_BYTES (256 MiB)
    CDS_ISSUERS         (issue 10) JSON or a file: the EHRs allowed to call the CDS Hooks service,
                        {"<iss>": {"jwks_urls": ["https://ehr/jwks"], "fhir_servers": ["https://ehr/fhir"]}}
                        (a string value is one JWKS URL); unset: every CDS Hooks call is refused (401)
    CDS_BASE_URL        (issue 10) the service's public base URL as the EHR calls it (the JWT `aud` and card links)
    CDS_JWKS_CACHE_S, CDS_CLOCK_SKEW_S, CDS_MAX_TOKEN_LIFETIME_S, CDS_FETCH_TIMEOUT_S   (issue 10) 300, 60, 600, 0.5
    DWCODER_REJECT_REASONS  (issue 9) JSON object or a file holding it: {"code": "what the reviewer reads", ...}
                        the reasons a reviewer picks when rejecting a line (unset: mappings/<year>/review.yaml)
    DWCODER_SESSION_IDLE_S, DWCODER_SESSION_MAX_S  (issue 9, sign-in) a session ends after this long idle (1800)
                        or this long after sign-in (43200)
    DWCODER_LOGIN       (issue 9) password | oidc | both    (default: oidc when OIDC_ISSUER is set, else password)
    OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL   (issue 9) the OpenID Connect provider,
                        this client, its secret (environment only), https://<host>/login/oidc/callback
    OIDC_SCOPES         (issue 9) "openid profile email"; OIDC_USERNAME_CLAIM (preferred_username),
    OIDC_ROLE_CLAIM (dwcoder_role), OIDC_PRACTICE_CLAIM (dwcoder_practice): the claims read at sign-in
    OIDC_ROLE_VALUES    (issue 9) JSON {claim value: reviewer | admin}  (default: the values reviewer, admin)
    OIDC_PRACTICE       (issue 9) the practice of users whose token has no practice claim (unset: they are refused)
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from plugin.errors import SettingsError

SECRET_NAMES = frozenset({"FHIR_BEARER_TOKEN", "SMART_PRIVATE_KEY", "WEBHOOK_SOURCES", "SUBSCRIPTIONS", "DATABASE_URL", "REDIS_URL",
                          "PACS"})


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    redis_url: str = ""
    queue_name: str = "dwcoder"
    fhir_base_url: str = ""
    fhir_version: str = "R4"
    fhir_auth: str = "none"
    fhir_bearer_token: str = field(default="", repr=False)
    smart_token_url: str = ""
    smart_client_id: str = ""
    smart_private_key: str = field(default="", repr=False)
    smart_kid: str = ""
    smart_alg: str = "RS384"
    smart_scope: str = "system/ChargeItem.cruds system/Provenance.c system/*.rs"
    practice: str = ""
    claim: str | None = None
    mappings: tuple[str, ...] = ()
    webhook_sources: Mapping[str, Any] = field(default_factory=dict, repr=False)
    subscriptions: Mapping[str, Any] = field(default_factory=dict, repr=False)
    max_body_bytes: int = 64 * 1024 * 1024
    rate: float = 200.0
    settle_s: float = 0.3
    event_timeout_s: float = 60.0
    sweep_every_s: float = 5.0
    max_attempts: int = 8
    task_time_limit_s: float = 120.0
    visibility_timeout_s: float = 300.0
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # issue 8: scanner exports
    scanner_folders: tuple[str, ...] = ()
    scanner_patterns: tuple[str, ...] = ()
    scanner_patient_system: str = ""
    scanner_poll_s: float = 2.0
    scanner_stable_polls: int = 3
    scanner_truncated_after_s: float = 120.0
    scanner_max_file_bytes: int = 256 * 1024 * 1024
    # ---- issue 8: PACS over DICOMweb, reconciler
    pacs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    reconcile_every_s: float = 300.0
    # --- issue 10 (CDS Hooks) ---
    cds_issuers: Mapping[str, Any] = field(default_factory=dict)  # iss -> {"jwks_urls": (...), "fhir_servers": (...)}
    cds_base_url: str = ""
    cds_jwks_cache_s: float = 300.0
    cds_clock_skew_s: float = 60.0
    cds_max_token_lifetime_s: float = 600.0
    cds_fetch_timeout_s: float = 0.5
    # --- issue 9 (reviewer queue) ---
    reject_reasons: tuple[tuple[str, str], ...] = ()  # DWCODER_REJECT_REASONS; () = mappings/<year>/review.yaml
    # --- issue 9 (sign-in) ---
    session_idle_s: float = 1800.0
    session_max_s: float = 43200.0
    login: str = "password"                  # password | oidc | both
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_redirect_url: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_username_claim: str = "preferred_username"
    oidc_role_claim: str = "dwcoder_role"
    oidc_practice_claim: str = "dwcoder_practice"
    oidc_role_values: Mapping[str, str] = field(default_factory=lambda: {"reviewer": "reviewer", "admin": "admin"})
    oidc_practice: str = ""

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url

    @property
    def embedded_ehr(self) -> bool:
        return not self.fhir_base_url

    @property
    def database_kind(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> "Settings":
        """Settings from `env` (default: os.environ over the .env file); raises SettingsError."""
        values = dict(_dotenv(dotenv)) if env is None and dotenv else {}
        values.update(os.environ if env is None else env)
        return _build({k: v for k, v in values.items() if v is not None and str(v).strip() != ""})


def load(env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_env(env)


# ------------------------------------------------------------------------------------------ parsing
def _dotenv(path: str | Path) -> dict[str, str]:
    if not Path(path).is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _build(env: dict[str, str]) -> Settings:
    home = Path(env.get("DWCODER_HOME") or Path.home() / ".dwcoder").expanduser()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{home / 'dwcoder.db'}"
    _check_url("DATABASE_URL", database_url, ("sqlite", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgres"))
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    redis_url = env.get("REDIS_URL", "")
    if redis_url:
        _check_url("REDIS_URL", redis_url, ("redis", "rediss"))
    fhir = env.get("FHIR_BASE_URL", "").rstrip("/")
    if fhir:
        _check_url("FHIR_BASE_URL", fhir, ("http", "https"), need_host=True)
    auth = _choice(env, "FHIR_AUTH", ("none", "bearer", "smart"), "none")
    timeout = _number(env, "DWCODER_TASK_TIME_LIMIT_S", 120.0, minimum=1)
    visibility = _number(env, "DWCODER_VISIBILITY_TIMEOUT_S", max(300.0, timeout * 2), minimum=1)
    if visibility <= timeout:
        raise SettingsError(f"DWCODER_VISIBILITY_TIMEOUT_S={visibility:g} must be longer than DWCODER_TASK_TIME_LIMIT_S={timeout:g} "
                            "(else a running task is handed to a second worker)")
    settings = Settings(
        home=home, database_url=database_url, redis_url=redis_url, queue_name=_queue_name(env), fhir_base_url=fhir,
        fhir_version=_choice(env, "FHIR_VERSION", ("R4", "R4B", "R5"), "R4"), fhir_auth=auth,
        fhir_bearer_token=env.get("FHIR_BEARER_TOKEN", ""), smart_token_url=env.get("SMART_TOKEN_URL", ""),
        smart_client_id=env.get("SMART_CLIENT_ID", ""), smart_private_key=_pem(env.get("SMART_PRIVATE_KEY", "")),
        smart_kid=env.get("SMART_KID", ""), smart_alg=_choice(env, "SMART_ALG", ("RS384", "ES384"), "RS384"),
        smart_scope=env.get("SMART_SCOPE", Settings.smart_scope),
        practice=_practice(env.get("DWCODER_PRACTICE", "")),
        claim=_choice(env, "DWCODER_CLAIM", ("dental", "medical"), "") or None,
        mappings=_folders(env.get("DWCODER_MAPPINGS", "")),
        webhook_sources=_webhook_sources(env), subscriptions=_subscriptions(env),
        max_body_bytes=int(_number(env, "DWCODER_MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=1, integer=True)),
        rate=_number(env, "DWCODER_RATE", 200.0, minimum=0.001),
        settle_s=_number(env, "DWCODER_SETTLE_S", 0.3, minimum=0),
        event_timeout_s=_number(env, "DWCODER_EVENT_TIMEOUT_S", 60.0, minimum=1),
        sweep_every_s=_number(env, "DWCODER_SWEEP_EVERY_S", 5.0, minimum=0.1),
        max_attempts=int(_number(env, "DWCODER_MAX_ATTEMPTS", 8, minimum=1, integer=True)),
        task_time_limit_s=timeout, visibility_timeout_s=visibility,
        host=env.get("DWCODER_HOST", "127.0.0.1"),
        port=int(_number(env, "DWCODER_PORT", 8000, minimum=0, integer=True)),
        log_level=_choice(env, "DWCODER_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True),
        pacs=_pacs(env), reconcile_every_s=_number(env, "DWCODER_RECONCILE_EVERY_S", 300.0, minimum=0),
    )
    _check_auth(settings)
    settings = _scanner_settings(env, settings)
    settings = _issue9(settings, env)
    settings = _issue9_signin(settings, env)
    settings = _issue10(settings, env)
    return settings


def _shown(name: str, value: str) -> str:
    return "(hidden)" if name in SECRET_NAMES else repr(value)


def _check_url(name: str, value: str, schemes: tuple[str, ...], need_host: bool = False) -> None:
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise SettingsError(f"{name}={_shown(name, value) if name not in ('DATABASE_URL', 'REDIS_URL') else repr(scheme + '://...')}: "
                            f"the scheme must be one of {', '.join(s + '://' for s in schemes)}")
    if need_host and not parts.hostname:
        raise SettingsError(f"{name}={value!r}: no host name")
    if name == "FHIR_BASE_URL" and (parts.query or parts.fragment):
        raise SettingsError(f"{name}={value!r}: a FHIR base has no query or fragment")


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...], default: str, upper: bool = False) -> str:
    value = env.get(name, default)
    value = value.upper() if upper else value
    if value not in allowed and value != default:
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def _number(env: dict[str, str], name: str, default: float, minimum: float, integer: bool = False) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected {'a whole number' if integer else 'a number'}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum:g}")
    return value


def _queue_name(env: dict[str, str]) -> str:
    value = env.get("DWCODER_QUEUE", "dwcoder")
    if not re.fullmatch(r"[A-Za-z0-9._:-]{1,100}", value):
        raise SettingsError(f"DWCODER_QUEUE={value!r}: letters, digits and . _ : - only (at most 100)")
    return value


def _practice(value: str) -> str:
    if value and (value.count("|") > 1 or value.endswith("|")):
        raise SettingsError(f"DWCODER_PRACTICE={value!r}: expected SYSTEM|VALUE, e.g. http://hl7.org/fhir/sid/us-npi|1234567893")
    return value


def _folders(value: str) -> tuple[str, ...]:
    folders = tuple(p for p in value.split(os.pathsep) if p)
    for folder in folders:
        if not Path(folder).is_dir():
            raise SettingsError(f"DWCODER_MAPPINGS={value!r}: {folder!r} is not a folder")
    return folders


def _pem(value: str) -> str:
    if value and "-----BEGIN" not in value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise SettingsError("SMART_PRIVATE_KEY: neither PEM text nor a readable file (the value is not shown)")
        return path.read_text()
    return value


def _json_setting(env: dict[str, str], name: str) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    if not raw.startswith("{"):
        path = Path(raw).expanduser()
        if not path.is_file():
            raise SettingsError(f"{name}: neither JSON nor a readable file ({raw[:80]!r})")
        raw = path.read_text()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{name}: expected a JSON object keyed by name, got {type(data).__name__}")
    return data


def _webhook_sources(env: dict[str, str]) -> dict[str, Any]:
    """Name -> list of secrets or {"secrets": [...], "max_body_bytes": n, "rate": r, "burst": b}.

    Checked here for shape; plugin.sources.config checks secrets and rates in detail when the app starts."""
    data = _json_setting(env, "WEBHOOK_SOURCES")
    for name, spec in data.items():
        secrets = spec if isinstance(spec, list) else spec.get("secrets") if isinstance(spec, dict) else None
        if not isinstance(secrets, list) or not secrets or not all(isinstance(x, str) and x for x in secrets):
            raise SettingsError(f"WEBHOOK_SOURCES[{name!r}]: expected a non-empty list of secrets, or an object with "
                                "\"secrets\" (values not shown)")
    return data


def _subscriptions(env: dict[str, str]) -> dict[str, Any]:
    """Subscription id -> the channel header line it sends ("Authorization: Bearer ..."), null, or an object."""
    data = _json_setting(env, "SUBSCRIPTIONS")
    for sub_id, spec in data.items():
        if spec is not None and not isinstance(spec, (str, dict)):
            raise SettingsError(f"SUBSCRIPTIONS[{sub_id!r}]: expected the channel header as a string, null or an object")
    return data


def _check_auth(s: Settings) -> None:
    if s.fhir_auth != "none" and not s.fhir_base_url:
        raise SettingsError(f"FHIR_AUTH={s.fhir_auth!r} needs FHIR_BASE_URL")
    if s.fhir_auth == "bearer" and not s.fhir_bearer_token:
        raise SettingsError("FHIR_AUTH='bearer' needs FHIR_BEARER_TOKEN")
    if s.fhir_auth == "smart":
        missing = [n for n, v in (("SMART_TOKEN_URL", s.smart_token_url), ("SMART_CLIENT_ID", s.smart_client_id),
                                  ("SMART_PRIVATE_KEY", s.smart_private_key)) if not v]
        if missing:
            raise SettingsError(f"FHIR_AUTH='smart' needs {', '.join(missing)}")
        _check_url("SMART_TOKEN_URL", s.smart_token_url, ("http", "https"), need_host=True)


# ------------------------------------------------------------------------------------------ issue 8: PACS
def _pacs(env: dict[str, str]) -> dict[str, Any]:
    """PACS name -> its settings, each checked by plugin.sources.pacs.pacs_config (errors name PACS[name])."""
    from plugin.sources.pacs import pacs_config

    data = _json_setting(env, "PACS")
    return {name: pacs_config(name, spec) for name, spec in data.items()}


# ------------------------------------------------------------------------------------------ issue 8: scanner exports
def _scanner_settings(env: dict[str, str], settings: Settings) -> Settings:
    from dataclasses import replace

    folders = tuple(p for p in env.get("SCANNER_FOLDERS", "").split(os.pathsep) if p)
    for folder in folders:
        if not Path(folder).expanduser().is_dir():
            raise SettingsError(f"SCANNER_FOLDERS={env['SCANNER_FOLDERS']!r}: {folder!r} is not a folder")
    patterns = _patterns(env.get("SCANNER_PATTERNS", ""))
    system = env.get("SCANNER_PATIENT_SYSTEM", "").strip()
    if patterns and not system:
        raise SettingsError("SCANNER_PATTERNS needs SCANNER_PATIENT_SYSTEM: the identifier system of {PatientID} "
                            "(e.g. urn:oid:... or the practice management system's MRN system)")
    if "|" in system:
        raise SettingsError(f"SCANNER_PATIENT_SYSTEM={system!r}: the system alone, without '|'")
    return replace(
        settings, scanner_folders=tuple(str(Path(f).expanduser()) for f in folders), scanner_patterns=patterns,
        scanner_patient_system=system,
        scanner_poll_s=_number(env, "SCANNER_POLL_S", 2.0, minimum=0.01),
        scanner_stable_polls=int(_number(env, "SCANNER_STABLE_POLLS", 3, minimum=2, integer=True)),
        scanner_truncated_after_s=_number(env, "SCANNER_TRUNCATED_AFTER_S", 120.0, minimum=0),
        scanner_max_file_bytes=int(_number(env, "SCANNER_MAX_FILE_BYTES", 256 * 1024 * 1024, minimum=1, integer=True)))


def _patterns(raw: str) -> tuple[str, ...]:
    from plugin.errors import ConfigError

    raw = raw.strip()
    if not raw:
        return ()
    if raw.startswith("["):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"SCANNER_PATTERNS={raw!r}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list) or not all(isinstance(p, str) and p for p in data):
            raise SettingsError(f"SCANNER_PATTERNS={raw!r}: expected a JSON list of patterns")
        patterns = tuple(data)
    else:
        patterns = (raw,)
    from plugin.scanners.naming import compile_pattern

    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except ConfigError as exc:
            raise SettingsError(str(exc)) from None
    return patterns
# ------------------------------------------------------------------------------------------ issue 9 (reviewer queue)
def _issue9(settings: Settings, env: dict[str, str]) -> Settings:
    from dataclasses import replace

    return replace(settings, reject_reasons=_reject_reasons(env))


def _reject_reasons(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    data = _json_setting(env, "DWCODER_REJECT_REASONS")
    out = []
    for code, display in data.items():
        if not (isinstance(code, str) and code.strip() and len(code) <= 64 and " " not in code.strip()):
            raise SettingsError(f"DWCODER_REJECT_REASONS: reason code {code!r} must be one word of at most 64 characters")
        if not (isinstance(display, str) and display.strip()):
            raise SettingsError(f"DWCODER_REJECT_REASONS[{code!r}]: expected the words the reviewer reads, got {display!r}")
        out.append((code.strip(), display.strip()))
    return tuple(out)


# ------------------------------------------------------------------------------------------ issue 10 (CDS Hooks)
def _issue10(settings: Settings, env: dict[str, str]) -> Settings:
    from dataclasses import replace

    base = env.get("CDS_BASE_URL", "").rstrip("/")
    if base:
        _check_url("CDS_BASE_URL", base, ("http", "https"), need_host=True)
        if urlsplit(base).query or urlsplit(base).fragment:
            raise SettingsError(f"CDS_BASE_URL={base!r}: a base URL has no query or fragment")
    return replace(
        settings, cds_issuers=_cds_issuers(env), cds_base_url=base,
        cds_jwks_cache_s=_number(env, "CDS_JWKS_CACHE_S", 300.0, minimum=0),
        cds_clock_skew_s=_number(env, "CDS_CLOCK_SKEW_S", 60.0, minimum=0),
        cds_max_token_lifetime_s=_number(env, "CDS_MAX_TOKEN_LIFETIME_S", 600.0, minimum=1),
        cds_fetch_timeout_s=_number(env, "CDS_FETCH_TIMEOUT_S", 0.5, minimum=0.01))


def _cds_issuers(env: dict[str, str]) -> dict[str, Any]:
    """iss -> {"jwks_urls": (url, ...), "fhir_servers": (base, ...)}; every URL http(s) with a host."""
    out: dict[str, Any] = {}
    for iss, spec in _json_setting(env, "CDS_ISSUERS").items():
        where = f"CDS_ISSUERS[{iss!r}]"
        if isinstance(spec, str):
            spec = {"jwks_urls": [spec]}
        if not isinstance(spec, dict):
            raise SettingsError(f"{where}: expected a JWKS URL or an object with \"jwks_urls\"")
        urls = {key: spec.get(key) or [] for key in ("jwks_urls", "fhir_servers")}
        for key, values in urls.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise SettingsError(f"{where}.{key}: expected a list of URLs")
            for value in values:
                _check_url(f"{where}.{key}", value, ("http", "https"), need_host=True)
        if not urls["jwks_urls"]:
            raise SettingsError(f"{where}: no jwks_urls (the EHR's public keys must come from somewhere)")
        out[iss] = {"jwks_urls": tuple(urls["jwks_urls"]),
                    "fhir_servers": tuple(u.rstrip("/") for u in urls["fhir_servers"])}
    return out


# ------------------------------------------------------------------------------------------ issue 9 (sign-in)
def _issue9_signin(settings: Settings, env: dict[str, str]) -> Settings:
    from dataclasses import replace

    idle = _number(env, "DWCODER_SESSION_IDLE_S", 1800.0, minimum=10)
    most = _number(env, "DWCODER_SESSION_MAX_S", 43200.0, minimum=10)
    if most < idle:
        raise SettingsError(f"DWCODER_SESSION_MAX_S={most:g} must be at least DWCODER_SESSION_IDLE_S={idle:g}")
    issuer = env.get("OIDC_ISSUER", "").rstrip("/")
    login = _choice(env, "DWCODER_LOGIN", ("password", "oidc", "both"), "oidc" if issuer else "password")
    oidc = dict(oidc_issuer=issuer, oidc_client_id=env.get("OIDC_CLIENT_ID", ""),
                oidc_client_secret=env.get("OIDC_CLIENT_SECRET", ""), oidc_redirect_url=env.get("OIDC_REDIRECT_URL", ""),
                oidc_scopes=env.get("OIDC_SCOPES", Settings.oidc_scopes),
                oidc_username_claim=env.get("OIDC_USERNAME_CLAIM", Settings.oidc_username_claim),
                oidc_role_claim=env.get("OIDC_ROLE_CLAIM", Settings.oidc_role_claim),
                oidc_practice_claim=env.get("OIDC_PRACTICE_CLAIM", Settings.oidc_practice_claim),
                oidc_role_values=_oidc_role_values(env), oidc_practice=env.get("OIDC_PRACTICE", "").strip())
    if login != "password":
        _check_oidc(oidc)
    return replace(settings, session_idle_s=idle, session_max_s=most, login=login, **oidc)


def _check_oidc(oidc: dict[str, Any]) -> None:
    missing = [name for name, key in (("OIDC_ISSUER", "oidc_issuer"), ("OIDC_CLIENT_ID", "oidc_client_id"),
                                      ("OIDC_CLIENT_SECRET", "oidc_client_secret"),
                                      ("OIDC_REDIRECT_URL", "oidc_redirect_url")) if not oidc[key]]
    if missing:
        raise SettingsError(f"OpenID Connect sign-in needs {', '.join(missing)}")
    for name, key in (("OIDC_ISSUER", "oidc_issuer"), ("OIDC_REDIRECT_URL", "oidc_redirect_url")):
        value = oidc[key]
        _check_url(name, value, ("http", "https"), need_host=True)
        parts = urlsplit(value)
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SettingsError(f"{name}={value!r}: must be https (plain http only on the loopback address)")
        if parts.fragment or (key == "oidc_issuer" and parts.query):
            raise SettingsError(f"{name}={value!r}: no query or fragment")
    if "openid" not in oidc["oidc_scopes"].split():
        raise SettingsError(f"OIDC_SCOPES={oidc['oidc_scopes']!r}: must include openid")
    practice = oidc["oidc_practice"]
    if practice and practice != "*" and (practice.count("|") != 1 or practice.startswith("|") or practice.endswith("|")):
        raise SettingsError(f"OIDC_PRACTICE={practice!r}: expected SYSTEM|VALUE or *")


def _oidc_role_values(env: dict[str, str]) -> dict[str, str]:
    data = _json_setting(env, "OIDC_ROLE_VALUES") or {"reviewer": "reviewer", "admin": "admin"}
    for value, role in data.items():
        if role not in ("reviewer", "admin"):
            raise SettingsError(f"OIDC_ROLE_VALUES[{value!r}]={role!r}: expected reviewer or admin")
    return dict(data)
