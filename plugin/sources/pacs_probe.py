"""`dwcoder doctor`'s check of one configured PACS (issue 8): can the plugin read it, with its credentials?

    probe(config) -> (ok, detail)

1. the DICOMweb root, with the PACS's auth: one QIDO-RS `GET {dicomweb}/studies?limit=1` (a JSON array, maybe empty);
2. for Orthanc (the entry names its REST root, "orthanc"): `GET {orthanc}/system` (its version; the reconciler walks
   /changes there).

The detail says exactly what is wrong: a host:port that cannot be reached, 401 (the setting holding the wrong
credentials is named), 403, 404 (the DICOMweb plugin or the path missing), an answer that is not JSON. URLs are
shown without user info or query; the password and token are never shown.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from plugin.sources.pacs import PacsConfig

TIMEOUT_S = 5.0


def probe(config: PacsConfig) -> tuple[bool, str]:
    """(ok, detail) for one PACS; every failure is reported, none raised."""
    with httpx.Client(timeout=min(config.timeout_s, TIMEOUT_S), follow_redirects=False,
                      headers={"User-Agent": "digital-workflow-coder doctor"}) as http:
        ok, detail = _dicomweb(http, config)
        if not ok or not config.orthanc:
            return ok, detail
        ok_orthanc, orthanc = _orthanc(http, config)
        return ok_orthanc, f"{detail}; {orthanc}"


def _dicomweb(http: httpx.Client, config: PacsConfig) -> tuple[bool, str]:
    where = f"DICOMweb {shown(config.dicomweb)}"
    answer, data, failed = _answer(http, config, "dicomweb", config.dicomweb + "/studies", {"limit": "1"}, "application/dicom+json")
    if failed:
        return False, f"{where}: {failed}"
    if data is None and answer.status_code != 204:
        return False, f"{where}: answered HTTP {answer.status_code} with something that is not JSON " \
                      f"(is PACS[{config.name!r}].dicomweb the DICOMweb root?)"
    if data is not None and not isinstance(data, list):
        return False, f"{where}: answered JSON that is not a DICOM JSON array (not a QIDO-RS answer)"
    return True, f"{where} answers QIDO-RS studies (auth {config.auth})"


def _orthanc(http: httpx.Client, config: PacsConfig) -> tuple[bool, str]:
    where = f"Orthanc {shown(config.orthanc)}"
    _, data, failed = _answer(http, config, "orthanc", config.orthanc + "/system", None, "application/json")
    if failed:
        return False, f"{where}: {failed}"
    if not isinstance(data, dict) or "Version" not in data:
        return False, f"{where}: /system is not Orthanc's (is PACS[{config.name!r}].orthanc Orthanc's REST root?)"
    return True, f"{where} answers /system (Orthanc {str(data['Version'])[:20]})"


def _answer(http: httpx.Client, config: PacsConfig, part: str, url: str, params: Any, accept: str):
    """(response, its JSON or None, "") or (None, None, what went wrong: unreachable, or a refusing status)."""
    answer = _get(http, config, url, params, accept)
    if isinstance(answer, str):
        return None, None, answer
    problem = _status(answer, config, part)
    if problem:
        return None, None, problem
    return answer, _json(answer), ""


def _get(http: httpx.Client, config: PacsConfig, url: str, params: Any, accept: str) -> httpx.Response | str:
    """The answer, or what went wrong reaching it (host:port named, never the URL's user info)."""
    parts = urlsplit(url)
    place = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    try:
        basic = httpx.BasicAuth(config.user, config.password) if config.auth == "basic" else None
        bearer = {"Authorization": f"Bearer {config.token}"} if config.auth == "bearer" else {}
        return http.get(url, params=params, headers={"Accept": accept, **bearer}, auth=basic)
    except httpx.ConnectError:
        return f"cannot reach {place} (connection refused or no such host)"
    except httpx.TimeoutException:
        return f"{place} did not answer in {min(config.timeout_s, TIMEOUT_S):g} s"
    except httpx.HTTPError as exc:
        return f"cannot reach {place} ({type(exc).__name__})"


def _status(answer: httpx.Response, config: PacsConfig, key: str) -> str:
    """What an unusable status means for this setting; "" when the status is fine."""
    status, name = answer.status_code, f"PACS[{config.name!r}]"
    if status == 401:
        if config.auth == "basic":
            return f"answered 401: wrong credentials (check {name}.user and {name}.password)"
        if config.auth == "bearer":
            return f"answered 401: the token was refused (check {name}.token)"
        return f"answered 401: the PACS wants credentials (set {name}.auth with user/password or token)"
    if status == 403:
        return f"answered 403: {name}'s user may not read this (grant it read access)"
    if status == 404:
        if key == "dicomweb":
            return (f"answered 404: no DICOMweb service at this path (is the DICOMweb plugin enabled, and is "
                    f"{name}.dicomweb its root, e.g. Orthanc's http://host:8042/dicom-web?)")
        return f"answered 404: not Orthanc's REST root (check {name}.orthanc, e.g. http://host:8042)"
    if 300 <= status < 400:
        return f"answered {status} (a redirect, e.g. to a sign-in page: point {name}.{key} at the service itself)"
    if status >= 400:
        return f"answered {status}"
    return ""


def _json(answer: httpx.Response) -> Any:
    if not answer.content.strip():
        return None
    try:
        return answer.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def shown(url: str) -> str:
    """scheme://host:port/path: no user info, query or fragment."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
