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
    └── MappingError                mappings/ (or a practice's override folder) is wrong: names file and rule
        └── ConfigError             a setting has a bad value: names the key and the value

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
