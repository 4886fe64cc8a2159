"""Paths in, evidence out: walks folders, tells file kinds apart by content, hands each to its reader.

JSON (.json, or content starting with '{' / '['): DICOM JSON or FHIR. NDJSON (.ndjson): one FHIR
resource per line. DICOM Part 10 ('DICM' at 128): read together, grouped into series. STL / PLY:
surface meshes. Anything else, anything over the size limit, and anything unreadable becomes a
Problem naming the file (a README beside the evidence too: the caller sees everything that was not
read); the rest is still read. Every reader runs under a guard: an unexpected error is an
`UnreadableInput` Problem for that file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from plugin.errors import (EmptyInput, InputError, MalformedJSON, MissingFile, OversizedInput, UnreadableInput,
                           UnsupportedFile)
from plugin.evidence import dicom, fhir, stl
from plugin.evidence.model import Problem, ReadResult

MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_MESH_BYTES = 1024 * 1024 * 1024


def read_paths(paths: list[str | Path]) -> ReadResult:
    """Everything usable under these paths, in a stable order, and what was skipped."""
    result = ReadResult()
    dicom_files: list[Path] = []
    files, walked = _expand(paths, result)
    for path in files:
        try:
            kind = sniff(path)
            if kind == "dicom":
                dicom_files.append(path)
                continue
            if kind == "unknown" and path in walked and is_note(path):
                result.notes.append(str(path))
                continue
            one = _read_one(path, kind)
        except Exception as exc:  # a defect in a reader: this file is named, the others are still read
            one = ReadResult(problems=[Problem.from_error(UnreadableInput.of(exc, str(path)))])
        if one.empty:
            one.problems.append(_problem(path, EmptyInput, "holds nothing the coder reads (no usable FHIR resource, DICOM dataset or mesh)"))
        result.extend(one)
    if dicom_files:
        result.extend(_read_dicom(dicom_files))
    return result


def _read_dicom(files: list[Path]) -> ReadResult:
    """DICOM files are read together (series span files). If that fails unexpectedly, each file is tried alone to
    find the ones at fault (each named as UnreadableInput); the others are read together again, so their series
    stay whole, or, if only the combination fails, each alone."""
    try:
        return dicom.read_dicom_files(files)
    except Exception:
        pass
    result, alone, good = ReadResult(), ReadResult(), []
    for path in files:
        try:
            alone.extend(dicom.read_dicom_files([path]))
            good.append(path)
        except Exception as exc:
            result.problems.append(Problem.from_error(UnreadableInput.of(exc, str(path))))
    try:
        result.extend(dicom.read_dicom_files(good) if good else ReadResult())
    except Exception:
        result.extend(alone)
    return result


def _read_one(path: Path, kind: str) -> ReadResult:
    if kind == "json":
        return read_json_file(path)
    if kind == "ndjson":
        return _read_ndjson(path)
    result = ReadResult()
    if kind == "mesh":
        _read_mesh(path, result)
    else:
        result.problems.append(_problem(path, UnsupportedFile, "not FHIR JSON, DICOM, STL or PLY"))
    return result


def _expand(paths: list[str | Path], result: ReadResult) -> tuple[list[Path], set[Path]]:
    """The files to read, and those of them found by walking a folder (a file named on its own is never taken
    for a note)."""
    files: list[Path] = []
    walked: set[Path] = set()
    named: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = _walk(path)
            files.extend(found)
            walked.update(found)
        elif path.is_file():
            files.append(path)
            named.add(path)
        else:
            result.problems.append(_problem(path, MissingFile, "no such file or folder"))
    return list(dict.fromkeys(files)), walked - named  # a file named and inside a named folder: read once


NOTE_SUFFIXES = frozenset({"", ".md", ".markdown", ".rst", ".txt"})


def is_note(path: Path) -> bool:
    """A documentation file beside the evidence in a folder (README, SOURCES.md, notes.txt): plain UTF-8 text
    with a documentation suffix or none. Binary files without a suffix (a DICOM file missing its preamble) are
    not notes: they stay skipped with their reason."""
    if path.suffix.lower() not in NOTE_SUFFIXES:
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is still text
        return exc.start >= len(head) - 3
    return True


def _walk(folder: Path) -> list[Path]:
    """Files below a folder, following symlinked folders once each (no loops), hidden files left out."""
    seen: set[str] = set()
    found: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, n) for n in sorted(names) if not n.startswith(".") and Path(root, n).is_file()]
    return sorted(found)


def sniff(path: Path) -> str:
    """'dicom', 'json', 'ndjson', 'mesh' or 'unknown', from the first bytes (and the suffix for NDJSON)."""
    with path.open("rb") as fh:
        head = fh.read(132)
    if len(head) == 132 and head[128:132] == b"DICM":
        return "dicom"
    if path.suffix.lower() == ".ndjson":
        return "ndjson"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    if path.suffix.lower() in (".stl", ".ply") or stl.is_mesh_file(path):
        return "mesh"
    if path.suffix.lower() == ".dcm":
        return "dicom"  # a .dcm without preamble: the DICOM reader says what is wrong
    return "unknown"


def read_json_file(path: Path) -> ReadResult:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        return ReadResult(problems=[_problem(path, OversizedInput, f"{size} bytes is over the {MAX_JSON_BYTES}-byte limit for JSON")])
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return ReadResult(problems=[_problem(path, MalformedJSON, f"not valid JSON: {_json_error(exc)}")])
    return read_json_data(str(path), data)


def _json_error(exc: Exception) -> str:
    """Where the JSON breaks (line, column), never the text around it."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return type(exc).__name__


def read_json_data(source: str, data: object) -> ReadResult:
    """Parsed JSON from a file or a request body: DICOM JSON or FHIR. Never raises."""
    try:
        if dicom.looks_like_dicom_json(data):
            return dicom.read_dicom_json(Path(source), data)
        if isinstance(data, list):
            result = ReadResult()
            for index, item in enumerate(data):
                result.extend(fhir.read_fhir_json(f"{source}#[{index}]" if len(data) > 1 else source, item))
            return result
        return fhir.read_fhir_json(source, data)
    except Exception as exc:  # a defect in a reader: this document is named, the rest is still read
        return ReadResult(problems=[Problem.from_error(UnreadableInput.of(exc, source))])


def _read_ndjson(path: Path) -> ReadResult:
    result = ReadResult()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            result.problems.append(_problem(f"{path}:{number}", MalformedJSON, f"not valid JSON: {type(exc).__name__}"))
            continue
        result.extend(read_json_data(f"{path}:{number}", data))
    return result


def _read_mesh(path: Path, result: ReadResult) -> None:
    if path.stat().st_size > MAX_MESH_BYTES:
        result.problems.append(_problem(path, OversizedInput, f"over the {MAX_MESH_BYTES}-byte limit for a mesh"))
        return
    try:
        result.evidence.append(stl.read_mesh(path))
    except InputError as exc:
        result.problems.append(Problem.from_error(exc))


def _problem(path: Path | str, error: type[InputError], message: str) -> Problem:
    return Problem.from_error(error(message, source=str(path)))
