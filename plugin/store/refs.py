"""Which evidence needs which context, and which evidence gives it (the cross-patient index).

A case group is one patient's evidence, but `dwcoder suggest` decides some of it against another patient's:
a record filed under an Encounter of another patient, a DICOM series carrying the StudyInstanceUID of
another patient's ImagingStudy (both a PatientMismatch there). Each row says that the evidence `evidence_key`
needs (role "needs") or gives (role "gives") a context ref:
    "Encounter/<id>"   a clinical record's encounter; given by that Encounter, and by every clinical record naming
                       it (while no Encounter resource is there, the first record naming it decides whose it is)
    "Study/<uid>"      a DICOM instance's StudyInstanceUID; given by each ImagingStudy carrying that identifier
and (role "series") the "Series/<uid>" a DICOM instance is of (the order `dwcoder suggest` places series in).
Reading a group adds the givers of what it needs from other groups (plugin.store.evidence.read_group);
storing a giver marks the groups that need it dirty.
"""
from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base

NEEDS, GIVES, SERIES = "needs", "gives", "series"


class EvidenceRef(Base):
    __tablename__ = "evidence_refs"
    evidence_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # needs | gives | series
    ref: Mapped[str] = mapped_column(String(300), primary_key=True)  # "Encounter/e1", "Study/1.2.3"

    __table_args__ = (Index("ix_evidence_refs_ref_role", "ref", "role"),)
