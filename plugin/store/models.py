"""The service's tables (SQLAlchemy 2). The database is the source of truth; queues only carry ids.

    events            every accepted event, deduplicated by `dedup_key`; status queued -> processing -> done | dead
    dead_letters      events that could not be processed, with the reason (class name) and a message without PHI
    patient_links     Patient.id / identifier value -> Patient reference
    evidence_refs     the context each piece of evidence needs / gives across groups (plugin/store/refs.py)
    evidence          the latest version of each piece of evidence, by `key`, in one case group (`case_key`)
    cases             one row per case group: dirty marker, version (bumped by each change), review flag
    suggestions       the current ChargeItem of each charge line, by its identifier (unique: one per line ever)
    postings          append-only history of everything written to the EHR
    subscription_state  eventsSinceSubscriptionStart and heartbeat bookkeeping per FHIR Subscription
    local_charge_items / local_provenance   the embedded EHR (no FHIR_BASE_URL): ChargeItems readable at /fhir

A case group ("case key") is the patient the evidence belongs to ("Patient/p1"; a DICOM PatientID with no
known Patient yet: "PatientID/<value>"; a file that names none: "Unlinked/<event id>"). `dwcoder suggest`
assembles the group's evidence into cases exactly as it does for files given together.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(512), unique=True)
    content_type: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    correlation_id: Mapped[str] = mapped_column(String(64), default="", index=True)  # index: issue 11 (i11_metrics)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeadLetter(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(600), unique=True)  # "Procedure/p1", "Instance/<uid>", "<case>#File/x.stl"
    case_key: Mapped[str] = mapped_column(String(300), index=True)  # "" = practice directory (shared by all)
    kind: Mapped[str] = mapped_column(String(16))  # fhir | dicom-part10 | dicom-json | mesh
    version: Mapped[str] = mapped_column(Text, default="")  # ordering key of FHIR versions (latest wins)
    full_url: Mapped[str] = mapped_column(String(600), default="")
    link: Mapped[str] = mapped_column(String(300), default="", index=True)  # DICOM PatientID awaiting its Patient
    data: Mapped[bytes] = mapped_column(LargeBinary)
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class PatientLink(Base):
    """Patient.id and each Patient.identifier value -> the Patient (how a DICOM PatientID finds its patient)."""

    __tablename__ = "patient_links"
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    patient_ref: Mapped[str] = mapped_column(String(300), primary_key=True)


class Case(Base):
    __tablename__ = "cases"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    dirty: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    computed_version: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str] = mapped_column(String(500), default="")
    correlation_id: Mapped[str] = mapped_column(String(64), default="")


class Suggestion(Base):
    __tablename__ = "suggestions"
    identifier: Mapped[str] = mapped_column(String(64), primary_key=True)  # charge-line UUID
    case_key: Mapped[str] = mapped_column(String(300), index=True)
    coded_case: Mapped[str] = mapped_column(String(300), default="")  # the assembled case ("Encounter/e1")
    resource: Mapped[str] = mapped_column(Text)  # the ChargeItem as suggested (JSON)
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn | held
    fhir_id: Mapped[str] = mapped_column(String(100), default="")
    version_id: Mapped[str] = mapped_column(String(100), default="")  # the version the pipeline last wrote ("": someone else wrote since)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class Posting(Base):
    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_key: Mapped[str] = mapped_column(String(300), index=True)
    identifier: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))  # upsert | withdraw | provenance
    outcome: Mapped[str] = mapped_column(String(16))  # created | updated | unchanged | held | recorded
    fhir_id: Mapped[str] = mapped_column(String(100), default="")
    version_id: Mapped[str] = mapped_column(String(100), default="")
    correlation_id: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SubscriptionState(Base):
    __tablename__ = "subscription_state"
    subscription_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    events_since_start: Mapped[int] = mapped_column(Integer, default=0)
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    heartbeat_period_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class LocalChargeItem(Base):
    __tablename__ = "local_charge_items"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(400), unique=True)  # "system|value"
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32), index=True)
    resource: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


class LocalProvenance(Base):
    __tablename__ = "local_provenance"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(Text)
    recorded: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
