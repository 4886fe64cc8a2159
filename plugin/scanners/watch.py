"""The Watcher: polls one folder, takes each complete file once as an event, holds the ones it cannot link.

A file is taken when
  1. its size and mtime were the same at SCANNER_STABLE_POLLS polls in a row (the exporter stopped writing),
  2. it is complete (complete.py); a file still incomplete SCANNER_TRUNCATED_AFTER_S after it stopped changing
     is taken anyway, so that the pipeline dead-letters it with the reader's reason (a truncated STL),
  3. it links to one patient (naming.py: sidecar or pattern; DICOM: its header's PatientID, which a pattern or
     sidecar may confirm but never contradict); otherwise it is held in the unmatched list with the reason
     and looked at again at every poll (a sidecar that appears, or a pattern that was fixed, links it).
Taking = one "mesh-file" / "dicom-file" event (stored, then queued, like a webhook's), whose content type names
the file and its patient (`model/stl; name="20260504_upper.stl"; patient="urn:mrn|MRN-R"`), and one row in
scanner_files (folder, path, size, mtime, sha256, event id): the same file version is never read twice, and
the same bytes at the same path (a file only touched) are not sent again. The event's key is the bytes' hash.

Logs carry counts and event ids only: file names can hold patient identifiers.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete

from plugin.logs import log
from plugin.scanners import complete, naming
from plugin.store import scanner as table
from plugin.store.events import EventIn, accept

MIB = 1024 * 1024
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".json")


@dataclass(frozen=True)
class WatchConfig:
    folder: Path
    patterns: tuple[str, ...] = ()
    patient_system: str = ""
    poll_s: float = 2.0
    stable_polls: int = 3
    truncated_after_s: float = 120.0
    max_file_bytes: int = 256 * MIB
    max_files: int = 20000

    @classmethod
    def from_settings(cls, settings, folder: str | Path) -> "WatchConfig":
        return cls(Path(folder), tuple(settings.scanner_patterns), settings.scanner_patient_system,
                   settings.scanner_poll_s, settings.scanner_stable_polls, settings.scanner_truncated_after_s,
                   settings.scanner_max_file_bytes)


@dataclass
class _Seen:
    sig: tuple[int, int]
    polls: int
    since: float


@dataclass
class PollCounts:
    taken: int = 0
    unmatched: int = 0
    waiting: int = 0
    files: int = 0

    @property
    def busy(self) -> bool:
        return self.waiting > 0


@dataclass
class Watcher:
    store: object
    settings: object
    config: WatchConfig
    clock: object = time.monotonic
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _done: set[tuple[str, int, int]] = field(default_factory=set)
    _held_logged: int = 0

    def __post_init__(self) -> None:
        self.folder = self.config.folder.resolve()
        self.key = str(self.folder)[:500]
        self._patterns = naming.compile_patterns(self.config.patterns)

    # ------------------------------------------------------------------ one poll
    def poll(self) -> PollCounts:
        counts = PollCounts()
        now = self.clock()
        present: dict[str, tuple[int, int]] = {}
        for path in self._candidates():
            rel = path.relative_to(self.folder).as_posix()
            try:
                st = path.stat()
            except OSError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            present[rel] = sig
            counts.files += 1
            seen = self._seen.get(rel)
            if seen is None or seen.sig != sig:
                seen = self._seen[rel] = _Seen(sig, 0, now)
            seen.polls += 1
            if (rel, *sig) in self._done:
                continue
            if seen.polls < self.config.stable_polls:
                counts.waiting += 1
                continue
            outcome = self._consider(path, rel, sig, now - seen.since)
            if outcome in ("taken", "unmatched", "waiting"):
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        self._forget(present)
        if counts.taken or counts.unmatched != self._held_logged:   # not every poll while a file is held
            log("scanner folder polled", taken=counts.taken, unmatched=counts.unmatched, waiting=counts.waiting)
            self._held_logged = counts.unmatched
        return counts

    def _candidates(self):
        found = 0
        for path in sorted(self.folder.rglob("*")):
            name = path.name
            if name.startswith((".", "~")) or name.lower().endswith(TEMP_SUFFIXES) or not path.is_file():
                continue
            if not complete.kind_of(path):
                continue
            found += 1
            if found > self.config.max_files:
                log("scanner folder holds too many files; the rest waits for the next poll", logging.WARNING,
                    limit=self.config.max_files)
                return
            yield path

    def _forget(self, present: dict[str, tuple[int, int]]) -> None:
        """Drop what vanished: in-memory state, and unmatched rows of files no longer there as they were."""
        for rel in set(self._seen) - set(present):
            del self._seen[rel]
        with self.store.sessions() as s:
            gone = [row.id for row in table.unmatched(s, self.key) if present.get(row.path) != (row.size, row.mtime_ns)]
        if gone:   # a write only when something left (SQLite: one writer at a time)
            with self.store.transaction() as s:
                s.execute(delete(table.ScannerFile).where(table.ScannerFile.id.in_(gone),
                                                          table.ScannerFile.status == table.UNMATCHED))

    # ------------------------------------------------------------------ one stable file
    def _consider(self, path: Path, rel: str, sig: tuple[int, int], stable_for: float) -> str:
        with self.store.sessions() as s:
            row = table.find(s, self.key, rel, *sig)
        if row is not None and row.status == table.TAKEN:
            self._done.add((rel, *sig))
            return "done"
        kind = complete.kind_of(path)
        incomplete = complete.check(path)
        if incomplete and stable_for < self.config.truncated_after_s:
            return "waiting"
        if sig[0] > self.config.max_file_bytes:
            if row is not None:
                return "unmatched"
            return self._hold(rel, sig, kind, f"over SCANNER_MAX_FILE_BYTES ({self.config.max_file_bytes} bytes): not read")
        link = self._link(path, kind) if not incomplete else self._link_quiet(path, kind)
        if isinstance(link, naming.Unlinked):
            if row is not None and row.reason == link.reason[:500]:   # held already, for the same reason
                return "unmatched"
            return self._hold(rel, sig, kind, link.reason, _sha256(path))
        return self._take(path, rel, sig, kind, link)

    def _link(self, path: Path, kind: str) -> naming.Link | naming.Unlinked:
        found = naming.link(path, self._patterns, self.config.patient_system)
        if kind != "dicom-file":
            return found
        header_id = complete.dicom_patient_id(path)
        if not header_id:
            return naming.Unlinked("DICOM file without PatientID: the pipeline links DICOM by its header; "
                                   "have the exporting software write the patient's ID")
        if isinstance(found, naming.Link) and found.patient.split("|", 1)[1] != header_id:
            return naming.Unlinked("the DICOM header's PatientID and the file name or sidecar name different patients")
        return naming.Link("", name=path.name, how="dicom-header")

    def _link_quiet(self, path: Path, kind: str) -> naming.Link:
        """An incomplete file goes to the pipeline to be dead-lettered: with its link when it has one."""
        found = naming.link(path, self._patterns, self.config.patient_system) if kind == "mesh-file" else None
        return found if isinstance(found, naming.Link) else naming.Link("", name=path.name, how="none")

    def _take(self, path: Path, rel: str, sig: tuple[int, int], kind: str, link: naming.Link) -> str:
        data = path.read_bytes()
        try:
            st = path.stat()
        except OSError:
            return "waiting"
        if len(data) != sig[0] or (st.st_size, st.st_mtime_ns) != sig:   # changed while being read: later
            self._seen.pop(rel, None)
            return "waiting"
        sha = hashlib.sha256(data).hexdigest()
        with self.store.sessions() as s:
            before = table.taken_with(s, self.key, rel, sha)
        if before is not None:
            self._record(rel, sig, kind, sha, table.TAKEN, "", before.event_id)
            return "done"
        event = EventIn("scanner", kind, f"scanner:sha256:{sha}", content_type(path, kind, link), data)
        [accepted] = accept(self.store, [event])
        if not accepted.duplicate:
            from plugin import queue

            try:
                queue.enqueue(self.settings, queue.TASK_PROCESS_EVENT, accepted.event_id)
            except Exception as exc:  # noqa: BLE001 - stored: the sweeper queues it again
                log("scanner event stored but not queued; the sweeper will queue it", logging.WARNING,
                    event_id=accepted.event_id, error=type(exc).__name__)
        self._record(rel, sig, kind, sha, table.TAKEN, "", accepted.event_id)
        log("scanner file taken", event_id=accepted.event_id, kind=kind, duplicate=accepted.duplicate, how=link.how)
        return "taken"

    def _hold(self, rel: str, sig: tuple[int, int], kind: str, reason: str, sha: str | None = None) -> str:
        self._record(rel, sig, kind, sha, table.UNMATCHED, reason, None)
        return "unmatched"

    def _record(self, rel: str, sig: tuple[int, int], kind: str, sha: str | None, status: str, reason: str,
                event_id: int | None) -> None:
        with self.store.transaction() as s:
            row = table.find(s, self.key, rel, *sig)
            if row is None:
                row = table.ScannerFile(folder=self.key, path=rel[:1000], size=sig[0], mtime_ns=sig[1], kind=kind,
                                        sha256="", status=status, reason="")
                s.add(row)
            row.status, row.reason, row.event_id = status, reason[:500], event_id
            if sha:
                row.sha256 = sha
        if status == table.TAKEN:
            self._done.add((rel, *sig))

    # ------------------------------------------------------------------ running
    def run(self, stop: threading.Event, max_polls: int | None = None) -> None:
        """Poll every poll_s until `stop` is set (or max_polls polls); an error in one poll is logged, not fatal."""
        polls = 0
        while not stop.is_set() and (max_polls is None or polls < max_polls):
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: try again at the next poll
                log("scanner poll failed", logging.WARNING, error=type(exc).__name__)
            polls += 1
            stop.wait(self.config.poll_s)


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def content_type(path: Path, kind: str, link: naming.Link) -> str:
    """The event's content type: the media type, the file's name, and its patient / encounter when linked."""
    mtype = "application/dicom" if kind == "dicom-file" else ("model/ply" if path.suffix.lower() == ".ply" else "model/stl")
    name = (link.name or path.name).replace('"', "_").replace(";", "_")[:100]
    parts = [mtype, f'name="{name}"']
    if link.patient:
        parts.append(f'patient="{link.patient}"')
    if link.encounter:
        parts.append(f'encounter="{link.encounter}"')
    return "; ".join(parts)


def start(store, settings, folders, stop: threading.Event) -> list[threading.Thread]:
    """A polling thread per folder (what `dwcoder serve` runs for SCANNER_FOLDERS)."""
    threads = []
    for folder in folders:
        watcher = Watcher(store, settings, WatchConfig.from_settings(settings, folder))
        thread = threading.Thread(target=watcher.run, args=(stop,), name="dwcoder-scanner", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
