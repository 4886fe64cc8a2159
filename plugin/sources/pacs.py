"""PACS sources (issue 8): settings of each PACS, the "pacs-study" event, and fetching a study's headers.

PACS setting (JSON, or a file holding it), one entry per PACS:

    {"office": {"dicomweb": "http://orthanc:8042/dicom-web", "auth": "basic", "user": "dwcoder", "password": "...",
                "secrets": ["whsec_..."], "stations": ["CBCT-OP1"], "ae_titles": ["CBCT_OP1"],
                "orthanc": "http://orthanc:8042", "timeout_s": 15}}

`dicomweb` (required): the DICOMweb root (QIDO-RS / WADO-RS). `auth`: none | basic (user, password) | bearer
(token). `secrets`: Standard Webhooks secrets the PACS signs its notifications with (POST /pacs/{name}/stable-study).
`stations` (StationName) and `ae_titles` (the sending AE title, as the notification or Orthanc reports it): which
modalities belong to the practice; empty means all. `orthanc`: Orthanc's REST root, for the reconciler's walk of
/changes (without it the reconciler asks QIDO-RS by StudyDate).

A "pacs-study" event body: {"pacs": name, "study": StudyInstanceUID, "version": "...", "aet": "..."}; its dedup key
is `study_key(name, study, version)`: the same study at the same version is one event, whether the PACS's
notification or the reconciler saw it first. Orthanc's version is the study's LastUpdate; any other PACS, the
number of instances ("n<count>").
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plugin.errors import SettingsError, SourceRefused

_UID = re.compile(r"[0-9]+(\.[0-9]+)*\Z")
_AUTHS = ("none", "basic", "bearer")


@dataclass(frozen=True)
class PacsConfig:
    name: str
    dicomweb: str
    auth: str = "none"
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    stations: tuple[str, ...] = ()
    ae_titles: tuple[str, ...] = ()
    orthanc: str = ""
    timeout_s: float = 15.0

    @property
    def credentials(self) -> tuple | None:
        if self.auth == "basic":
            return ("basic", self.user, self.password)
        if self.auth == "bearer":
            return ("bearer", self.token)
        return None


def pacs_config(name: str, spec: Any) -> PacsConfig:
    """One PACS entry, checked; SettingsError names PACS[name] and the field (secret values never shown)."""
    if isinstance(spec, PacsConfig):
        return spec
    where = f"PACS[{name!r}]"
    if not isinstance(spec, dict):
        raise SettingsError(f"{where}: expected an object with \"dicomweb\"")
    unknown = set(spec) - {"dicomweb", "auth", "user", "password", "token", "secrets", "stations", "ae_titles",
                           "orthanc", "timeout_s"}
    if unknown:
        raise SettingsError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    dicomweb = _url(where, "dicomweb", spec.get("dicomweb"), required=True)
    orthanc = _url(where, "orthanc", spec.get("orthanc"), required=False)
    auth = spec.get("auth", "none")
    if auth not in _AUTHS:
        raise SettingsError(f"{where}.auth={auth!r}: expected one of {', '.join(_AUTHS)}")
    if auth == "basic" and not (spec.get("user") and spec.get("password")):
        raise SettingsError(f"{where}.auth='basic' needs \"user\" and \"password\"")
    if auth == "bearer" and not spec.get("token"):
        raise SettingsError(f"{where}.auth='bearer' needs \"token\"")
    secrets = _strings(where, "secrets", spec.get("secrets", []))
    from plugin.sources.config import secret_key

    for secret in secrets:
        secret_key(secret, f"{where}.secrets")
    timeout = spec.get("timeout_s", 15.0)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise SettingsError(f"{where}.timeout_s={timeout!r}: expected a number of seconds above 0")
    return PacsConfig(name=name, dicomweb=dicomweb, auth=auth, user=str(spec.get("user", "")),
                      password=str(spec.get("password", "")), token=str(spec.get("token", "")), secrets=secrets,
                      stations=_strings(where, "stations", spec.get("stations", [])),
                      ae_titles=_strings(where, "ae_titles", spec.get("ae_titles", [])), orthanc=orthanc,
                      timeout_s=float(timeout))


def _url(where: str, key: str, value: Any, required: bool) -> str:
    if value in (None, "") and not required:
        return ""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{where}.{key}={value!r}: expected an http(s) URL with a host")
    return value.rstrip("/")


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise SettingsError(f"{where}.{key}: expected a list of non-empty strings")
    return tuple(value)


def keys_of(config: PacsConfig) -> tuple[bytes, ...]:
    from plugin.sources.config import secret_key

    return tuple(secret_key(secret, f"PACS[{config.name!r}].secrets") for secret in config.secrets)


# ---------------------------------------------------------------------- the event
def study_key(pacs: str, study: str, version: str) -> str:
    """The dedup key of a study at a version (notification and reconciler use the same one)."""
    raw = f"pacs:{pacs}:{study}:{version}"
    return raw if len(raw) <= 512 else f"pacs:{pacs}:sha256:{hashlib.sha256(raw.encode()).hexdigest()}"


def event_body(pacs: str, study: str, version: str, aet: str = "") -> bytes:
    return json.dumps({"pacs": pacs, "study": study, "version": version, "aet": aet}, sort_keys=True).encode()


def notification(raw: bytes) -> tuple[str, str, str]:
    """(study UID, version, calling AE title) of a stable-study notification; SourceRefused(400/422) otherwise.

    Body: {"study": "1.2.3...", "version": "...", "aet": "..."} (Orthanc's script sends these; a PACS without a
    version may leave it out: the body's hash is then the version, so a repeated notification is a duplicate)."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SourceRefused(400, "invalid", "the notification is not JSON") from None
    if not isinstance(data, dict):
        raise SourceRefused(422, "invalid", "the notification is not a JSON object", "study")
    study = data.get("study")
    if not isinstance(study, str) or not _UID.match(study) or len(study) > 64:
        raise SourceRefused(422, "invalid", "\"study\" must be a StudyInstanceUID (digits and dots, at most 64)", "study")
    version = data.get("version")
    if version in (None, ""):
        version = "sha256:" + hashlib.sha256(raw).hexdigest()[:32]
    if not isinstance(version, (str, int)) or len(str(version)) > 100:
        raise SourceRefused(422, "invalid", "\"version\" must be a string of at most 100 characters", "version")
    aet = data.get("aet") or ""
    if not isinstance(aet, str) or len(aet) > 64:
        raise SourceRefused(422, "invalid", "\"aet\" must be an AE title", "aet")
    return study, str(version), aet.strip()


# ---------------------------------------------------------------------- fetching a study (the worker)
@dataclass
class Fetched:
    """The study's series as (evidence key "Series/<uid>", kind, PatientID, StudyInstanceUID, SeriesInstanceUID,
    DICOM JSON list bytes), and what was
    left out. One row per series, so a study notified again with more instances replaces its series whole."""

    instances: list[tuple[str, str, str, str, str, bytes]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    ignored: str = ""  # the whole study is not the practice's (by AE title): why


def fetch_study(config: PacsConfig, spec: dict, client=None) -> Fetched:
    """What the rules need of the study the event names (raises PacsUnavailable / PacsStudyMissing / PacsRefused)."""
    from plugin.dicomweb import DicomWeb, study_datasets, value

    if config.ae_titles and spec.get("aet") and spec["aet"].upper() not in {a.upper() for a in config.ae_titles}:
        return Fetched(ignored="sent by an AE title that is not one of the practice's")
    own = client is None
    client = client or DicomWeb(config.dicomweb, config.credentials, config.timeout_s)
    try:
        read = study_datasets(client, spec["study"], config.stations)
    finally:
        if own:
            client.close()
    out = Fetched(left_out=read.left_out)
    series: dict[tuple[str, str], list[dict]] = {}
    for dataset in read.datasets:
        series.setdefault((value(dataset, "0020000E"), value(dataset, "00100020")), []).append(dataset)
    for (uid, patient_id), datasets in series.items():  # one row per series: a new version replaces it whole
        raw = json.dumps(datasets, sort_keys=True).encode()
        study_uid = value(datasets[0], "0020000D") or spec["study"]
        out.instances.append((f"Series/{uid or 'sha256:' + hashlib.sha256(raw).hexdigest()}", "dicom-json", patient_id,
                              study_uid, uid, raw))
    return out
