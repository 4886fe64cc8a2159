"""Checks of the yearly code sets under the mappings base folder (`dwcoder code-sets check`), run before a new
year is added or changed (docs/code-sets.md):

* every `<year>/` folder loads: schema-valid and cross-checked (plugin.mappings does both);
* its manifest names its own year (`code_set_year`) and a period (`valid.from` .. `valid.to`);
* the periods of consecutive years are contiguous: each starts the day after the previous one ends, none overlap,
  only the newest may be open-ended;
* every rule id is registered in RULE_IDS (ids are immutable; new ids are appended, never reused);
* every code has a label of our own (CDT/CPT descriptors are licensed text and are not shipped).

`check_years(base)` returns the problems as sentences naming the folder; an empty list means all is well.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from plugin import mappings
from plugin.errors import CoderError


def year_folders(base: Path) -> list[Path]:
    return sorted((p for p in base.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def registered_ids(base: Path) -> set[str]:
    path = base / "RULE_IDS"
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def check_years(base: Path) -> list[str]:
    base = Path(base)
    folders = year_folders(base) if base.is_dir() else []
    if not folders:
        return [f"{base}: no year folder (e.g. 2026/)"]
    problems: list[str] = []
    registry = registered_ids(base)
    periods: list[tuple[str, date, date | None]] = []
    for folder in folders:
        try:
            loaded = mappings.load_folder(folder)
        except CoderError as exc:
            problems.append(f"{folder.name}: does not load: {exc}")
            continue
        problems += _check_one(folder, loaded, registry)
        period = _period(folder.name, loaded.manifest, problems)
        if period:
            periods.append((folder.name, *period))
    problems += _check_contiguous(periods)
    problems += _check_same_files(folders)
    return problems


def _check_same_files(folders: list[Path]) -> list[str]:
    """Every year holds the same data files (a file added to one year only, e.g. review.yaml, breaks the others)."""
    names = {folder.name: {p.name for p in folder.glob("*.yaml")} for folder in folders}
    every = set().union(*names.values())
    return [f"{year}: lacks {', '.join(sorted(every - have))} (present in another year)"
            for year, have in sorted(names.items()) if every - have]


def _check_one(folder: Path, loaded, registry: set[str]) -> list[str]:
    out = []
    if str(loaded.manifest.get("code_set_year")) != folder.name:
        out.append(f"{folder.name}: manifest code_set_year is {loaded.manifest.get('code_set_year')}, not {folder.name}")
    unknown = sorted({r.id for r in loaded.rules} - registry)
    if unknown:
        out.append(f"{folder.name}: rule ids not registered in RULE_IDS: {', '.join(unknown)}")
    unlabelled = sorted(code for code, entry in loaded.codes.items() if not str(entry.get("label", "")).strip())
    if unlabelled:
        out.append(f"{folder.name}: codes without a label: {', '.join(unlabelled)}")
    return out


def _period(name: str, manifest: dict, problems: list[str]) -> tuple[date, date | None] | None:
    valid = manifest.get("valid") or {}
    try:
        start = date.fromisoformat(str(valid["from"]))
        end = date.fromisoformat(str(valid["to"])) if valid.get("to") else None
    except (KeyError, ValueError):
        problems.append(f"{name}: manifest valid.from / valid.to are not dates")
        return None
    if end is not None and end < start:
        problems.append(f"{name}: manifest period ends ({end}) before it starts ({start})")
        return None
    return start, end


def _check_contiguous(periods: list[tuple[str, date, date | None]]) -> list[str]:
    out = []
    for (name, _, end), (next_name, next_start, _) in zip(periods, periods[1:]):
        if end is None:
            out.append(f"{name}: open-ended (no valid.to) but {next_name} follows: end it the day before {next_start}")
        elif next_start != end + timedelta(days=1):
            kind = "overlaps" if next_start <= end else "leaves a gap after"
            out.append(f"{next_name}: starts {next_start}, which {kind} {name} (ends {end}): it must start {end + timedelta(days=1)}")
    return out
