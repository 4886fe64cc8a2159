"""The one evidence model every reader yields.

A reader turns a file into a list of `Evidence` items plus a list of `Problem`s (what it could not
use and why). Nothing here knows about codes: classification for coding happens in engine/facts.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from plugin.errors import InputError


@dataclass(frozen=True)
class Problem:
    """Something skipped: the file or resource, and a plain-words reason (never PHI)."""

    source: str
    reason: str  # the InputError subclass name, e.g. "InvalidDicom"
    message: str

    @classmethod
    def from_error(cls, error: InputError, where: str = "") -> "Problem":
        """The Problem for an InputError; `where` prefixes its source (e.g. the file of a resource)."""
        return cls(f"{where}#{error.source}" if where else error.source, error.reason, error.detail)

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class FhirResource:
    """A validated FHIR resource, kept as its JSON dict (version differences are read in case.py)."""

    source: str  # file it came from
    version: str  # "R4B" or "R5" (R4 validates as R4B; R4-only types are "R4")
    resource: dict[str, Any]
    full_url: str = ""  # Bundle.entry.fullUrl, so "urn:uuid:..." references resolve

    @cached_property
    def type(self) -> str:
        return self.resource["resourceType"]

    @cached_property
    def ref(self) -> str:
        return f"{self.type}/{self.resource.get('id', '')}"


@dataclass(frozen=True)
class DicomSeries:
    """Header facts of one DICOM series (one file read fully is enough where the series agrees)."""

    source: str  # first file (or DICOM JSON file) of the series
    files: tuple[str, ...]
    study_uid: str
    series_uid: str
    patient_id: str
    study_date: str  # ISO date "2026-10-14", or "" when absent
    modality: str
    manufacturer: str = ""
    model_name: str = ""
    station_name: str = ""
    device_serial: str = ""
    institution: str = ""
    image_type: tuple[str, ...] = ()
    series_description: str = ""
    protocol_name: str = ""
    body_part: str = ""
    sop_class_uid: str = ""
    diameter_mm: float | None = None  # ReconstructionDiameter, else Rows/Columns x PixelSpacing
    height_mm: float | None = None  # slices x spacing (or position extent), None for 2D
    contrast: bool | None = None  # ContrastBolusAgent present and not "none"; None if tag absent
    instances: int = 1
    frames: int = 1
    patient_issuer: str = ""  # IssuerOfPatientID: the namespace of patient_id, when the header gives it
    acquisition: tuple[tuple[str, str], ...] = ()  # CT acquisition attributes written (dicom.ACQUISITION)
    voxel_mm: tuple[float, ...] = ()  # (row, column, slice) spacing when all three are measured (> 0)

    @property
    def derived(self) -> bool:
        return bool(self.image_type) and self.image_type[0].upper() == "DERIVED"

    @property
    def ref(self) -> str:
        return f"Series/{self.series_uid}"


@dataclass(frozen=True)
class SurfaceMesh:
    """Facts of one STL / PLY surface mesh; geometry in the file's units (expected mm)."""

    source: str
    format: str  # "stl-binary" | "stl-ascii" | "ply"
    header: str  # STL header / solid name / PLY comments, printable text only
    triangles: int
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    units_note: str = ""  # e.g. "extent 0.06: looks like metres, scaled x1000"
    scale: float = 1.0  # factor applied to get millimetres
    sha256: str = ""  # of the file's bytes: the same scan under two names or from two channels counts once per case

    @property
    def extent_mm(self) -> tuple[float, float, float]:
        return tuple((hi - lo) * self.scale for lo, hi in zip(self.bbox_min, self.bbox_max))  # type: ignore[return-value]

    @property
    def ref(self) -> str:
        return f"File/{self.source.rsplit('/', 1)[-1]}"


Evidence = FhirResource | DicomSeries | SurfaceMesh


@dataclass(frozen=True)
class Notification:
    """A FHIR Subscription notification (R5, or the Backport IG's R4 Parameters / R4B SubscriptionStatus form).

    `form` names it: handshake, heartbeat, query-status, query-event, error, full-resource, id-only or empty.
    `to_fetch` is what the pipeline must fetch from the notifying server before the event can be coded:
    "Type/id" reads for id-only content, and for empty content one `Subscription/<id>/$events?...` request
    for the events it announces (R5 and Backport IG `$events` operation). Both are relative to that server's
    base. Nothing here is ever printed: messages carry only the form, resource types and counts."""

    source: str
    form: str
    type: str  # SubscriptionStatus.type: handshake | heartbeat | event-notification | query-status | query-event
    status: str  # active | error | requested | off | entered-in-error | ""
    subscription: str  # "Subscription/<id>" relative to the server, "" when not given
    topic: str = ""
    events_since_start: int | None = None
    event_numbers: tuple[int, ...] = ()
    to_fetch: tuple[str, ...] = ()
    error: str = ""  # the subscription-error code when status is error

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "form": self.form, "type": self.type, "status": self.status,
                "subscription": self.subscription, "topic": self.topic, "events_since_start": self.events_since_start,
                "event_numbers": list(self.event_numbers), "to_fetch": list(self.to_fetch), "error": self.error}

    def summary(self) -> str:
        """One line for stderr: the form and what to fetch by resource type and count, never an id or a URL."""
        kinds: dict[str, int] = {}
        for ref in self.to_fetch:
            key = "event list" if "/$events" in ref else ref.split("/", 1)[0]
            kinds[key] = kinds.get(key, 0) + 1
        fetch = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        error = f": {self.error}" if self.error else ""
        if self.form == "error":
            state = error
        else:
            state = f", subscription in error{error}" if self.status == "error" else ""
        return f"subscription notification ({self.form}{state})" + (f": fetch {fetch} from the notifying server" if fetch else "")


@dataclass
class ReadResult:
    """What reading some paths gave: evidence and problems, in a stable order; subscription notifications
    (what the pipeline must fetch) and how many valid resources were accepted but are not read by the rules."""

    evidence: list[Evidence] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    ignored: int = 0  # valid resources (and Bundle entries without one, e.g. DELETE requests) the rules do not read
    notes: list[str] = field(default_factory=list)  # documentation files found in folders (README, notes): not read

    def extend(self, other: "ReadResult") -> None:
        self.evidence.extend(other.evidence)
        self.problems.extend(other.problems)
        self.notifications.extend(other.notifications)
        self.ignored += other.ignored
        self.notes.extend(other.notes)

    @property
    def to_fetch(self) -> list[str]:
        """Every resource (or $events request) a notification says must be fetched, each once, in order."""
        return list(dict.fromkeys(ref for n in self.notifications for ref in n.to_fetch))

    @property
    def empty(self) -> bool:
        return not (self.evidence or self.problems or self.notifications or self.ignored)
