"""Every error the plugin raises, in one tree.

    CoderError                      base: anything the plugin reports on purpose
    ├── InputError                  one piece of evidence cannot be used (the rest of the case still is)
    │   ├── MalformedJSON           not JSON at all, or truncated
    │   ├── InvalidFHIR             JSON, but not a valid FHIR resource (path and field named)
    │   ├── UnsupportedResource     a resourceType the plugin does not read
    │   ├── UnknownCode             a code the mappings do not know (workflow-step, CDT, CPT)
    │   ├── InvalidDicom            not DICOM, truncated, or missing the tags coding needs
    │   ├── InvalidMesh             corrupt or truncated STL / PLY
    │   ├── OversizedInput          over the size limit for its kind (not read)
    │   ├── EmptyInput              readable, but holds nothing the coder reads
    │   ├── UnsupportedFile         not FHIR JSON, DICOM, STL or PLY
    │   ├── MissingFile             no such file or folder
    │   ├── UnlinkedEvidence        cannot be tied to one patient's case (no patient data, several cases it could
    │   │                           belong to; or a case with no patient to bill): reported, never guessed
    │   ├── PatientMismatch         a record whose encounter (or study) belongs to another patient: reported, not billed
    │   └── UnreadableInput         a reader failed on this file or resource unexpectedly (a defect in the plugin,
    │                               contained: the file or resource is named, the rest is still read)
    ├── MappingError                mappings/ (or a practice's override folder) is wrong: names file and rule
    │   └── ConfigError             a setting has a bad value: names the key and the value
    └── PipelineError               the event service (dwcoder serve, workers)
        ├── SettingsError           (core) an environment / .env setting is missing or bad: names the variable
        ├── StoreUnavailable        (core) the database cannot take the event: the web layer answers 503
        ├── Unprocessable           (core) a stored event cannot be used at all: it goes to the dead letters
        ├── SourceRefused           (sources) the web layer refuses a request: HTTP status + OperationOutcome code
        ├── EhrError                (ehr) talking to the EHR's FHIR server failed
        │   ├── EhrUnavailable      connection error, timeout, 5xx, 429 (retry_after kept): retried with backoff
        │   ├── EhrRefused          any other 4xx (or the server's token endpoint refused us): not retried
        │   └── ForeignUrl          a URL outside the configured FHIR base: refused, never fetched
        ├── PacsError               (PACS, issue 8) talking to a PACS over DICOMweb failed
        │   ├── PacsUnavailable     connection error, timeout, 5xx, 429: retried with backoff
        │   ├── PacsRefused         any other 4xx, or an answer that is not DICOM JSON: dead letter
        │   └── PacsStudyMissing    the PACS does not have the study a notification named: dead letter
        └── ReviewError             (issue 9) a reviewer's decision cannot be made (plugin/review): nothing written
            ├── Conflict            the line changed since the reviewer saw it (stale version): the second is told
            └── DecisionRefused     unknown line, code or modifier; a reject without a listed reason; ...

InputError carries `source` (file name, resource reference) so a message always says where, and
`detail` (the message without it). Readers do not stop at one bad input: they turn the error into a
`Problem` (evidence/model.py, `Problem.from_error`) whose reason is the class name, and read on.
"""
from __future__ import annotations


class CoderError(Exception):
    """Base of every error the plugin raises on purpose."""


class InputError(CoderError):
    """One piece of evidence cannot be used; `source` says which."""

    def __init__(self, message: str, source: str = "") -> None:
        self.source = source
        self.detail = message
        super().__init__(f"{source}: {message}" if source else message)

    @property
    def reason(self) -> str:
        return type(self).__name__


class MalformedJSON(InputError):
    pass


class InvalidFHIR(InputError):
    pass


class UnsupportedResource(InputError):
    pass


class UnknownCode(InputError):
    pass


class InvalidDicom(InputError):
    pass


class InvalidMesh(InputError):
    pass


class OversizedInput(InputError):
    pass


class EmptyInput(InputError):
    pass


class UnsupportedFile(InputError):
    pass


class MissingFile(InputError):
    pass


class UnlinkedEvidence(InputError):
    pass


class PatientMismatch(InputError):
    pass


class UnreadableInput(InputError):
    """A reader failed unexpectedly on one file or resource; the message names the error class only (never its
    text, which may quote the payload)."""

    @classmethod
    def of(cls, exc: BaseException, source: str) -> "UnreadableInput":
        return cls(f"could not be read ({type(exc).__name__} in the reader); the rest of the input was read", source=source)


class MappingError(CoderError):
    """mappings/ is wrong; the message names the file and the rule or key."""


class ConfigError(MappingError):
    """A setting has a bad value; the message names the key and the value."""


# ------------------------------------------------------------------------------ pipeline (core)
class PipelineError(CoderError):
    """Base of the event service's errors (dwcoder serve, the workers)."""


class SettingsError(PipelineError):
    """A setting from the environment or .env is bad; the message names the variable and the value."""


class StoreUnavailable(PipelineError):
    """The database cannot take the event (down, locked too long, not migrated): answer 503, the sender retries."""


class Unprocessable(PipelineError):
    """A stored event cannot be used at all (its reason is kept with the dead letter); never retried."""

    def __init__(self, message: str, reason: str = "Unprocessable") -> None:
        self.reason = reason
        super().__init__(message)


# ------------------------------------------------------------------------------ pipeline (sources)
class SourceRefused(PipelineError):
    """The web layer refuses a request; nothing of it is stored or queued.

    `status` is the HTTP status, `code` the OperationOutcome issue code, `expression` the FHIRPath of
    the element at fault (invalid FHIR), `retry_after` seconds (429). The message never holds payload values.
    """

    def __init__(self, status: int, code: str, message: str, expression: str = "", retry_after: int | None = None) -> None:
        self.status = status
        self.code = code
        self.expression = expression
        self.retry_after = retry_after
        super().__init__(message)


# ------------------------------------------------------------------------------ pipeline (ehr)
class EhrError(PipelineError):
    """Talking to the EHR's FHIR server failed. `status` is the HTTP status when there was one (else 0).

    Messages name the interaction ("PUT ChargeItem") and the server's OperationOutcome issue text, never a
    URL with its query, a token or resource contents.
    """

    def __init__(self, message: str, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


class EhrUnavailable(EhrError):
    """Connection error, timeout, 5xx or 429: transient, retried with backoff (at least `retry_after` s)."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, status)


class EhrRefused(EhrError):
    """Any other 4xx: the request itself is wrong (invalid resource, forbidden, conflict): not retried.

    `issues` holds the OperationOutcome's issues as (code, expression, text) triples.
    """

    def __init__(self, message: str, status: int = 0, issues: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.issues = issues
        super().__init__(message, status)


class ForeignUrl(EhrError):
    """A URL (found in a payload or a next link) outside the configured FHIR base: never fetched."""


# ------------------------------------------------------------------------------ pipeline (PACS, issue 8)
class PacsError(PipelineError):
    """Talking to a PACS over DICOMweb (or Orthanc's REST API) failed. `status`: the HTTP status, else 0.

    Messages name the request kind ("QIDO-RS series") and the status, never a URL (it holds study UIDs)."""

    def __init__(self, message: str, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


class PacsUnavailable(PacsError):
    """Connection error, timeout, 5xx or 429: transient, retried with the pipeline's backoff."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, status)


class PacsRefused(PacsError):
    """Any other 4xx, or an answer that is not DICOM JSON: the request or the configuration is wrong."""


class PacsStudyMissing(PacsError):
    """The PACS does not have the study a notification named (404, or no series)."""


# ------------------------------------------------------------------------------ review (issue 9)
class ReviewError(PipelineError):
    """A reviewer's decision cannot be made; nothing of it was written (EHR, audit log, queue)."""


class Conflict(ReviewError):
    """Another decision (or a recomputation) changed the line since the reviewer saw it: `current_version`,
    `decided_by` and `state` say what is there now. The second reviewer is told; nothing is overwritten."""

    def __init__(self, message: str, current_version: int = 0, decided_by: str = "", state: str = "") -> None:
        self.current_version = current_version
        self.decided_by = decided_by
        self.state = state
        super().__init__(message)


class DecisionRefused(ReviewError):
    """The decision itself is wrong: unknown line or case, unknown code, impossible modifier, a reject
    without a listed reason; `field` names what is at fault ("code", "modifiers", "reason_code", ...)."""

    def __init__(self, message: str, field: str = "") -> None:
        self.field = field
        super().__init__(message)
