"""Files taken from watched scanner folders (issue 8): each file read once, or held as unmatched with its reason.

    scanner_files   one row per file version seen complete: folder, path (relative to the folder), size, mtime
                    (ns) and sha256; status "taken" (became event `event_id`) or "unmatched" (`reason`: why it
                    could not be linked to one patient; re-examined at every poll until a sidecar or a fixed
                    pattern links it)

The path is the exporter's file name, which may hold a patient identifier: it is shown to the practice
(`dwcoder watch --unmatched`, GET /scanner/unmatched) and never logged.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, now

TAKEN, UNMATCHED = "taken", "unmatched"


class ScannerFile(Base):
    __tablename__ = "scanner_files"
    __table_args__ = (UniqueConstraint("folder", "path", "size", "mtime_ns", name="uq_scanner_files_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mesh-file | dicom-file
    status: Mapped[str] = mapped_column(String(16), index=True)  # taken | unmatched
    reason: Mapped[str] = mapped_column(String(500), default="")
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, onupdate=now)


def find(session, folder: str, path: str, size: int, mtime_ns: int) -> ScannerFile | None:
    return session.scalar(select(ScannerFile).where(ScannerFile.folder == folder, ScannerFile.path == path,
                                                    ScannerFile.size == size, ScannerFile.mtime_ns == mtime_ns))


def taken_with(session, folder: str, path: str, sha256: str) -> ScannerFile | None:
    """The same bytes at the same path taken before (a file only touched, or copied over with itself)."""
    return session.scalar(select(ScannerFile).where(ScannerFile.folder == folder, ScannerFile.path == path,
                                                    ScannerFile.sha256 == sha256, ScannerFile.status == TAKEN).limit(1))


def unmatched(session, folder: str | None = None) -> list[ScannerFile]:
    """Files held unmatched, oldest first (all folders, or one)."""
    q = select(ScannerFile).where(ScannerFile.status == UNMATCHED)
    if folder is not None:
        q = q.where(ScannerFile.folder == folder)
    return list(session.scalars(q.order_by(ScannerFile.first_seen_at, ScannerFile.id)))


def as_dict(row: ScannerFile) -> dict:
    return {"folder": row.folder, "path": row.path, "size": row.size, "sha256": row.sha256, "kind": row.kind,
            "reason": row.reason, "since": row.first_seen_at.isoformat() if row.first_seen_at else None}
