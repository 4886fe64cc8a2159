"""DICOMweb (PS3.18) client: only what the coding rules need from a study, never pixel data.

    client = DicomWeb(base_url, auth=("basic", user, password) | ("bearer", token) | None)
    datasets = study_datasets(client, study_uid, stations=())   # DICOM JSON the engine's reader accepts

Per study, three kinds of request, all small JSON:
1. QIDO-RS series     GET {base}/studies/{study}/series?includefield=...   (what each series is, its station)
2. QIDO-RS instances  GET {base}/studies/{study}/series/{series}/instances?includefield=ImagePositionPatient...
   (each instance's slice position and frame count: the extent the field of view needs); for a series of more
   than LIST_ALL_MAX instances, only its first and last (matching InstanceNumber 1 and the series' count)
3. WADO-RS metadata   GET {base}/studies/{study}/series/{series}/instances/{instance}/metadata
   of ONE instance per series where the series agrees (same SOP class and frame count), else one per group.
Pixel data and `BulkDataURI`s are never followed; the metadata kept is cut down to the tags the reader uses
(plugin.evidence.dicom.TAGS), so no URI, inline binary or other header value is stored.

The datasets built: each instance of a series as the representative's header with that instance's own
SOPInstanceUID, InstanceNumber and ImagePositionPatient: exactly what `dwcoder suggest` reads from the Part 10
files (one parsed header per series, every file's slice position). Errors: connection error, timeout, 5xx,
429 -> PacsUnavailable (retried); a study the PACS does not have -> PacsStudyMissing; other 4xx -> PacsRefused.
Messages name the request kind and the status, never a URL with its UIDs (they identify a patient's study).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from plugin.errors import PacsRefused, PacsStudyMissing, PacsUnavailable
from plugin.evidence.dicom import TAGS

logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs full URLs (study UIDs) at INFO

DICOM_JSON = "application/dicom+json"
# Tags (hex) asked of QIDO. Series: what a series is and where it came from; instances: count and extent.
SERIES_FIELDS = ("00080060", "0008103E", "00081010", "00080070", "00181030", "00180015", "00201209", "00100020")
INSTANCE_FIELDS = ("00200032", "00200013", "00280008", "00080016", "00200037")
KEPT = frozenset(f"{int(tag):08X}" for tag in TAGS) | {"00080018", "0020000D", "0020000E", "00200013"}
STATION, SERIES_UID, SOP_UID, SOP_CLASS, POSITION, NUMBER, FRAMES, COUNT = (
    "00081010", "0020000E", "00080018", "00080016", "00200032", "00200013", "00280008", "00201209")
LIST_ALL_MAX = 64  # a larger series is read from its first and last instance where it allows (series_datasets)


@dataclass
class Traffic:
    """What the client sent and received (the benchmark reads it)."""

    requests: int = 0
    bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class DicomWeb:
    def __init__(self, base_url: str, auth: tuple | None = None, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": DICOM_JSON, "User-Agent": "digital-workflow-coder"}
        basic = None
        if auth and auth[0] == "basic":
            basic = httpx.BasicAuth(auth[1], auth[2])
        elif auth and auth[0] == "bearer":
            headers["Authorization"] = f"Bearer {auth[1]}"
        self.base = base_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, headers=headers, auth=basic, follow_redirects=False,
                                 transport=transport)
        self.traffic = Traffic()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "DicomWeb":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def get_json(self, path: str, what: str, params: Any = None, missing_ok: bool = False) -> list[dict]:
        """GET a DICOM JSON array. 204 / empty body: []. 404: [] when `missing_ok`, else PacsStudyMissing."""
        try:
            response = self.http.get(self.base + path, params=params)
        except httpx.TimeoutException:
            raise PacsUnavailable(f"{what}: the PACS did not answer in time") from None
        except httpx.HTTPError as exc:
            raise PacsUnavailable(f"{what}: cannot reach the PACS ({type(exc).__name__})") from None
        self.traffic.requests += 1
        self.traffic.bytes += len(response.content)
        self.traffic.kinds[what] = self.traffic.kinds.get(what, 0) + 1
        status = response.status_code
        if status >= 500 or status == 429:
            raise PacsUnavailable(f"{what}: the PACS answered {status}", status, _retry_after(response))
        if status == 404:
            if missing_ok:
                return []
            raise PacsStudyMissing(f"{what}: the PACS answered 404 (no such study)")
        if status >= 300:
            raise PacsRefused(f"{what}: the PACS refused the request ({status})", status)
        if status == 204 or not response.content.strip():
            return []
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PacsRefused(f"{what}: the PACS answered something that is not JSON", status) from None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PacsRefused(f"{what}: the PACS answered JSON that is not a DICOM JSON array", status)
        return data

    def series(self, study: str) -> list[dict]:
        return self.get_json(f"/studies/{study}/series", "QIDO-RS series",
                             [("includefield", tag) for tag in SERIES_FIELDS], missing_ok=True)

    def instances(self, study: str, series: str, match: tuple[tuple[str, str], ...] = ()) -> list[dict]:
        return self.get_json(f"/studies/{study}/series/{series}/instances", "QIDO-RS instances",
                             list(match) + [("includefield", tag) for tag in INSTANCE_FIELDS])

    def instance_metadata(self, study: str, series: str, instance: str) -> dict:
        found = self.get_json(f"/studies/{study}/series/{series}/instances/{instance}/metadata", "WADO-RS metadata")
        if not found:
            raise PacsStudyMissing("WADO-RS metadata: the PACS returned no dataset for an instance it listed")
        return found[0]

    def series_metadata(self, study: str, series: str) -> list[dict]:
        """The FULL metadata of every instance of a series (what this module avoids; the benchmark's baseline)."""
        return self.get_json(f"/studies/{study}/series/{series}/metadata", "WADO-RS series metadata")

    def studies(self, params: Any) -> list[dict]:
        """QIDO-RS studies search (the reconciler's date window)."""
        return self.get_json("/studies", "QIDO-RS studies", params, missing_ok=True)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


# ---------------------------------------------------------------------- building the study's DICOM JSON
@dataclass
class StudyRead:
    """The study's datasets (DICOM JSON) and the series left out, with why."""

    datasets: list[dict] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (series number or "?", reason)


def study_datasets(client: DicomWeb, study: str, stations: Iterable[str] = ()) -> StudyRead:
    """DICOM JSON for every series of the study the practice's stations made (all series when none listed).

    Raises PacsStudyMissing when the PACS has no such study, PacsUnavailable when it cannot answer."""
    wanted = {s.strip().upper() for s in stations if s.strip()}
    series_list = client.series(study)
    if not series_list:
        raise PacsStudyMissing("QIDO-RS series: the PACS has no series in this study (unknown study)")
    out = StudyRead()
    for number, series in enumerate(sorted(series_list, key=lambda s: value(s, SERIES_UID)), 1):
        uid = value(series, SERIES_UID)
        if not uid:
            out.left_out.append((str(number), "the PACS listed a series without SeriesInstanceUID"))
            continue
        if wanted and value(series, STATION).upper() not in wanted:
            out.left_out.append((str(number), "not acquired at one of the practice's stations"))
            continue
        count = value(series, COUNT)
        out.datasets += series_datasets(client, study, uid, int(count) if count.isdigit() else None)
    return out


def series_datasets(client: DicomWeb, study: str, series: str, count: int | None = None) -> list[dict]:
    """One dataset per instance: the group representative's header with the instance's own position.

    A series of more than LIST_ALL_MAX instances numbered 1..count is read from its first and last instance
    (QIDO-RS matching InstanceNumber): their positions bound the volume, and the instances between are placed
    evenly. That is exactly what the Part 10 reader computes for a regularly spaced series (extent = outer
    positions + one step); listing every instance costs a PACS such as Orthanc about as much as the full metadata.
    Anything else (numbering with gaps, mixed SOP classes or frame counts, no positions) lists every instance."""
    if count is not None and count > LIST_ALL_MAX:
        found = _from_ends(client, study, series, count)
        if found is not None:
            return found
    instances = sorted(client.instances(study, series), key=_order)
    groups: dict[tuple[str, str], list[dict]] = {}
    for item in instances:
        groups.setdefault((value(item, SOP_CLASS), value(item, FRAMES) or "1"), []).append(item)
    out: list[dict] = []
    for members in groups.values():
        rep = kept(client.instance_metadata(study, series, value(members[0], SOP_UID)))
        if not _usable(rep):  # one copy is enough to name what is missing (skipped list); 400 would repeat it
            out.append(rep)
            continue
        for item in members:
            out.append(_copy_for(rep, item))
    return out


def _from_ends(client: DicomWeb, study: str, series: str, count: int) -> list[dict] | None:
    with ThreadPoolExecutor(2) as pool:  # the two small queries at once, and the first instance's metadata as soon
        ends = [pool.submit(client.instances, study, series, (("InstanceNumber", str(n)),)) for n in (1, count)]
        first = ends[0].result()                              # as it is named (while the last one is still asked)
        meta = pool.submit(client.instance_metadata, study, series, value(first[0], SOP_UID)) if len(first) == 1 else None
        last = ends[1].result()
        if meta is None or len(last) != 1:
            return None
        a, b = first[0], last[0]
        p0, p1 = _position(a), _position(b)
        if p0 is None or p1 is None or value(a, SOP_CLASS) != value(b, SOP_CLASS) or value(a, FRAMES) != value(b, FRAMES):
            return None
        rep = kept(meta.result())
    if not _usable(rep):
        return [rep]
    out = []
    for index in range(count):
        share = index / (count - 1)
        item = {NUMBER: {"vr": "IS", "Value": [index + 1]},
                POSITION: {"vr": "DS", "Value": [round(x + (y - x) * share, 6) for x, y in zip(p0, p1)]},
                SOP_UID: {"vr": "UI", "Value": [value(a, SOP_UID) if index == 0 else value(b, SOP_UID)
                                                if index == count - 1 else f"{value(a, SOP_UID)}#{index + 1}"]}}
        out.append(_copy_for(rep, item))
    return out


def _position(item: dict) -> tuple[float, float, float] | None:
    values = (item.get(POSITION) or {}).get("Value") or []
    try:
        numbers = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None
    return numbers if len(numbers) == 3 else None  # type: ignore[return-value]


def kept(dataset: dict) -> dict:
    """Only the tags the reader uses; an element carrying a BulkDataURI or InlineBinary is dropped."""
    return {tag.upper(): element for tag, element in dataset.items()
            if tag.upper() in KEPT and isinstance(element, dict)
            and "BulkDataURI" not in element and "InlineBinary" not in element}


def _copy_for(rep: dict, instance: dict) -> dict:
    """The representative with the instance's own UID, number and position (elements shared, never mutated)."""
    out = dict(rep)
    for tag in (SOP_UID, NUMBER, POSITION):
        if instance.get(tag, {}).get("Value"):
            out[tag] = instance[tag]
        elif tag != SOP_UID:
            out.pop(tag, None)
    return out


def _usable(dataset: dict) -> bool:
    return all(value(dataset, tag) for tag in ("0020000E", "00080060"))


def _order(item: dict) -> tuple:
    number = value(item, NUMBER)
    try:
        n = float(number)
    except ValueError:
        n = float("inf")
    return (n, value(item, SOP_UID))


def value(dataset: dict, tag: str) -> str:
    """The first value of a tag as text ("" when absent)."""
    element = dataset.get(tag) or dataset.get(tag.lower()) or {}
    values = element.get("Value") if isinstance(element, dict) else None
    if not values:
        return ""
    first = values[0]
    if isinstance(first, dict):
        first = first.get("Alphabetic", "")
    return str(first).strip()
