"""The one loader of mappings/: code tables, rules and settings as versioned, schema-checked data.

Layout: `mappings/<year>/{manifest,facts,codes,tables,devices,rules,edits,notices,settings,terminology}.yaml`,
each checked against `mappings/schema/<name>.schema.json`, then cross-checked (every fact, code, table,
step and notice kind a rule names must exist; an unknown name is an error that names the file, the
rule id and the nearest known name). A practice folder (`--mappings DIR`) holds any subset of the same
files: rules and codes with a known id/code replace the base ones, new ones are added, device lists are
appended, settings and notices are merged key by key. `facts.yaml` cannot be overridden: the facts
are what engine/facts.py computes.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml

from plugin.conditions import compile_when
from plugin.errors import ConfigError, MappingError

# The base folder of the yearly code sets (`<year>/` folders, `schema/`, RULE_IDS). DWCODER_CODE_SETS moves it (a
# container image keeps it outside site-packages); DWCODER_MAPPINGS is something else: the practice override folders.
BASE_DIR = Path(os.environ.get("DWCODER_CODE_SETS") or Path(__file__).resolve().parent.parent / "mappings")
FILES = ("manifest", "facts", "codes", "tables", "devices", "rules", "edits", "notices", "settings", "terminology")
OVERRIDABLE = tuple(f for f in FILES if f not in ("manifest", "facts"))
from plugin.mapping_text import MESSAGE_WORDS, PLACEHOLDER, did_you_mean, notice_text  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    valid_from: str
    valid_to: str | None
    phase: int
    steps: frozenset[str]
    claims: frozenset[str]
    when: dict[str, Any]
    code: str | dict | None
    modifiers: list | dict
    quantity: Any
    rationale: str
    documentation: tuple[str, ...]
    alternatives: tuple[dict, ...]
    notices: tuple[dict, ...]
    on_no_code: dict | None
    source: str
    origin: str  # file the rule came from
    test: Callable[[dict[str, Any]], bool]  # `when`, compiled (plugin/conditions.py)

    def valid_on(self, day: str) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class Mappings:
    folders: tuple[str, ...]
    manifest: dict
    facts: dict
    codes: dict[str, dict]
    systems: dict[str, str]
    modifiers: dict[str, str]
    tables: dict
    devices: dict
    rules: list[Rule]
    edits: dict
    notices: dict[str, str | dict]
    settings: dict
    terminology: dict[tuple[str, str], dict] = field(default_factory=dict)  # (system URI, code) -> concept
    by_step: dict[tuple[str, str, int], list[Rule]] = field(default_factory=dict)
    memo: dict = field(default_factory=dict)  # engine caches keyed by these mappings (engine/rules.py)

    @property
    def version(self) -> str:
        extra = "+" + "+".join(Path(f).name for f in self.folders[1:]) if len(self.folders) > 1 else ""
        return f"{self.manifest['version']}{extra}"

    def rules_for(self, step: str, claim: str, phase: int) -> list[Rule]:
        return self.by_step.get((step, claim, phase), [])

    def system_uri(self, code: str) -> str:
        entry = self.codes.get(code)
        return self.systems.get(entry["system"], "") if entry else ""

    def concept(self, system: str, code: str) -> dict | None:
        """The terminology.yaml concept (step, facts, label) a standard-vocabulary coding names, if any."""
        return self.terminology.get((system, code))

    def label(self, code: str) -> str:
        entry = self.codes.get(code)
        return entry["label"] if entry else code

    def lookup(self, table: str, facts: dict[str, Any]) -> Any:
        """A table's value for these facts, or None when the facts fall outside it."""
        spec = self.tables[table]
        if "bands" in spec:
            value = facts.get(spec["by"])
            if value is None:
                return None
            hits = [b["code"] for b in spec["bands"] if value >= b["min"]]
            return hits[-1] if hits else None
        node: Any = spec["map"]
        for key in _as_list(spec["by"]):
            if not isinstance(node, dict) or str(facts.get(key)) not in node:
                return None
            node = node[str(facts.get(key))]
        return node


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------------------ loading
def year_folder(base: Path, year: int | None = None) -> Path:
    """The base folder for a code-set year: that year, else the newest older one, else the newest."""
    years = sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit()) if base.is_dir() else []
    if not years:
        raise ConfigError(f"mappings: no year folder (e.g. 2026/) in {base}")
    fitting = [y for y in years if year is None or y <= year]
    return base / str((fitting or years)[-1])


def folder_on(base: Path, day: str) -> Path:
    """The year folder whose manifest period (`valid.from` .. `valid.to`) holds the day of service (YYYY-MM-DD);
    a day outside every period (or no day) falls back to `year_folder` on the day's year."""
    if len(day) >= 10 and base.is_dir():
        for folder, start, end in _periods(base, _year_stamp(base)):
            if start <= day[:10] and (end is None or day[:10] <= end):
                return Path(folder)
    return year_folder(base, int(day[:4]) if day[:4].isdigit() else None)


def _year_stamp(base: Path) -> tuple:
    """(year folder, manifest mtime) of each year: read on every lookup, so it stays a few system calls."""
    out = []
    for name in sorted(e.name for e in os.scandir(base) if e.name[:1].isdigit() and e.is_dir()):
        try:
            out.append((name, os.stat(os.path.join(base, name, "manifest.yaml")).st_mtime_ns))
        except FileNotFoundError:
            continue
    return tuple(out)


@lru_cache(maxsize=8)
def _periods(base: Path, _stamp: tuple) -> tuple[tuple[str, str, str | None], ...]:
    out = []
    for manifest in sorted(base.glob("[0-9]*/manifest.yaml")):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        valid = data.get("valid") or {}
        if valid.get("from"):
            out.append((str(manifest.parent), str(valid["from"]), str(valid["to"]) if valid.get("to") else None))
    return tuple(out)


def load_on(extra: tuple[str, ...] = (), day: str = "") -> Mappings:
    """The mappings in force on a day of service (the code set whose period holds it) plus override folders."""
    folders = (str(folder_on(BASE_DIR, day)), *(str(Path(e).resolve()) for e in extra))
    return _load_cached(folders, _stamp(folders))


def load(extra: tuple[str, ...] = (), year: int | None = None) -> Mappings:
    """The mappings for a code-set year plus override folders; cached while the files are unchanged."""
    folders = (str(year_folder(BASE_DIR, year)), *(str(Path(e).resolve()) for e in extra))
    return _load_cached(folders, _stamp(folders))


def load_folder(folder: str | Path) -> Mappings:
    """Load one folder as the base (for `dwcoder mappings check DIR` on a full folder)."""
    folder = Path(folder).resolve()
    if not (folder / "rules.yaml").exists() and folder.is_dir():
        folder = year_folder(folder)
    return _load_cached((str(folder),), _stamp((str(folder),)))


def _stamp(folders: tuple[str, ...]) -> tuple:
    """(file, mtime) of every YAML file of the folders: the cache key, so an edited mapping is read again."""
    out = []
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        entries = sorted((e.name, e) for e in os.scandir(folder) if e.name.endswith(".yaml") and e.is_file())
        out += [(name, entry.stat().st_mtime_ns) for name, entry in entries]
    return tuple(out)


@lru_cache(maxsize=16)
def _load_cached(folders: tuple[str, ...], _stamp: tuple) -> Mappings:
    base = Path(folders[0])
    if not base.is_dir():
        raise ConfigError(f"mappings: folder {base} does not exist")
    raw = {name: _read(base / f"{name}.yaml", name, required=True) for name in FILES}
    raw["rules"] = [dict(r, _origin=f"{base.name}/rules.yaml") for r in raw["rules"]]
    for folder in folders[1:]:
        _merge(raw, Path(folder))
    return _build(folders, raw)


def _read(path: Path, name: str, required: bool) -> Any:
    if not path.exists():
        if required:
            raise MappingError(f"{path}: missing (every mappings year folder has {name}.yaml)")
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    _check_schema(data, name, path)
    return data


@lru_cache(maxsize=None)
def _schema(name: str) -> dict:
    return json.loads((BASE_DIR / "schema" / f"{name}.schema.json").read_text())


def _check_schema(data: Any, name: str, path: Path) -> None:
    errors = sorted(jsonschema.Draft202012Validator(_schema(name)).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = _where(data, list(err.absolute_path))
        raise MappingError(f"{path}: {where}: {err.message}")


def _where(data: Any, path: list) -> str:
    """A readable location: the rule id when inside rules, else the key path."""
    if path and isinstance(path[0], int) and isinstance(data, list) and isinstance(data[path[0]], dict):
        rid = data[path[0]].get("id", f"item {path[0]}")
        return f"rule {rid}" + ("." + ".".join(map(str, path[1:])) if path[1:] else "")
    return ".".join(map(str, path)) or "(top)"


def _merge(raw: dict, folder: Path) -> None:
    if not folder.is_dir():
        raise ConfigError(f"--mappings: {folder} is not a folder")
    if (folder / "facts.yaml").exists():
        raise MappingError(f"{folder}/facts.yaml: facts cannot be overridden (they are what the engine computes)")
    for name in OVERRIDABLE:
        data = _read(folder / f"{name}.yaml", name, required=False)
        if data is not None:
            MERGERS[name](raw, data, f"{folder.name}/{name}.yaml")


def _merge_rules(raw: dict, rules: list, origin: str) -> None:
    by_id = {r["id"]: i for i, r in enumerate(raw["rules"])}
    for rule in rules:
        rule = dict(rule, _origin=origin)
        if rule["id"] in by_id:
            raw["rules"][by_id[rule["id"]]] = rule
        else:
            raw["rules"].append(rule)


def _merge_codes(raw: dict, data: dict, origin: str) -> None:
    by_code = {c["code"]: i for i, c in enumerate(raw["codes"]["codes"])}
    for entry in data.get("codes", []):
        if entry["code"] in by_code:
            raw["codes"]["codes"][by_code[entry["code"]]] = entry
        else:
            raw["codes"]["codes"].append(entry)
    raw["codes"]["systems"].update(data.get("systems", {}))
    raw["codes"].setdefault("modifiers", {}).update(data.get("modifiers", {}))


def _merge_terminology(raw: dict, data: dict, origin: str) -> None:
    """A practice's concepts replace base ones with the same system and code, new ones are added."""
    raw["terminology"]["systems"].update(data.get("systems", {}))
    by_key = {(c["system"], c["code"]): i for i, c in enumerate(raw["terminology"]["concepts"])}
    for entry in data.get("concepts", []):
        if (entry["system"], entry["code"]) in by_key:
            raw["terminology"]["concepts"][by_key[(entry["system"], entry["code"])]] = entry
        else:
            raw["terminology"]["concepts"].append(entry)


def _merge_devices(raw: dict, data: dict, origin: str) -> None:
    for kind, spec in data.items():
        target = raw["devices"].setdefault(kind, {})
        for key, value in spec.items():
            target[key] = target.get(key, []) + value if isinstance(value, list) else value


def _merge_deep(target: dict, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_deep(target[key], value)
        else:
            target[key] = value


MERGERS = {
    "rules": _merge_rules,
    "codes": _merge_codes,
    "devices": _merge_devices,
    "terminology": _merge_terminology,
    "tables": lambda raw, data, origin: raw["tables"].update(data),
    "notices": lambda raw, data, origin: raw["notices"].update(data),
    "settings": lambda raw, data, origin: _merge_deep(raw["settings"], data),
    "edits": lambda raw, data, origin: _merge_deep(raw["edits"], data),
}


# ------------------------------------------------------------------------------------------ building
def _build(folders: tuple[str, ...], raw: dict) -> Mappings:
    codes = {c["code"]: c for c in raw["codes"]["codes"]}
    maps = Mappings(
        folders=folders,
        manifest=raw["manifest"],
        facts=raw["facts"],
        codes=codes,
        systems=raw["codes"]["systems"],
        modifiers=raw["codes"].get("modifiers", {}),
        tables=raw["tables"],
        devices=raw["devices"],
        rules=[_rule(r) for r in raw["rules"]],
        edits=raw["edits"],
        notices=raw["notices"],
        settings=raw["settings"],
    )
    from plugin.mapping_checks import check_terminology

    maps.terminology = check_terminology(maps, raw["terminology"])
    from plugin.mapping_checks import check  # the cross-checks live beside, to keep this file short

    check(maps)
    for rule in maps.rules:
        for step in rule.steps:
            for claim in rule.claims:
                maps.by_step.setdefault((step, claim, rule.phase), []).append(rule)
    return maps


def _rule(r: dict) -> Rule:
    return Rule(
        id=r["id"],
        title=r["title"],
        valid_from=r["valid"]["from"],
        valid_to=r["valid"].get("to"),
        phase=r.get("phase", 1),
        steps=frozenset(_as_list(r["step"])),
        claims=frozenset(_as_list(r.get("claim", ["dental", "medical"]))),
        when=r.get("when", {}),
        code=r["code"],
        modifiers=r.get("modifiers", []),
        quantity=r.get("quantity", 1),
        rationale=r.get("rationale", ""),
        documentation=tuple(r.get("documentation", ())),
        alternatives=tuple(dict(a, test=compile_when(a.get("when", {}))) for a in r.get("alternatives", ())),
        notices=tuple(r.get("notices", ())),
        on_no_code=r.get("on_no_code"),
        source=r["source"],
        origin=r["_origin"],
        test=compile_when(r.get("when", {})),
    )


